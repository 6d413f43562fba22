"""Reports of a one-shot run: a readable table, JUnit XML for CI, and a JSON report.

JUnit: one ``testsuite`` (``mystery-guest``), one ``testcase`` per scenario and target
(``classname`` = target, ``name`` = scenario); a failure's message names the failing step
and reason; skipped runs are ``<skipped>``; flaky passes carry a ``flaky`` property.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from harness.results import Outcome, RunResult
from harness.secrets import redact

__all__ = ["render_table", "write_junit", "write_json"]


def render_table(results: Sequence[RunResult]) -> str:
    rows = [("SCENARIO", "TARGET", "RESULT", "DURATION", "FAILING STEP", "REASON")]
    for r in results:
        outcome = f"{r.outcome} (flaky)" if r.flaky else str(r.outcome)
        rows.append(
            (r.scenario, r.target, outcome, f"{r.duration_seconds:.2f}s", r.failed_step or "-", r.reason or "-")
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    for r in results:
        if r.outcome not in (Outcome.SUCCESS,) and r.message:
            lines.append(f"  {r.scenario} [{r.target}]: {r.message}")
        if r.artifacts_dir and r.outcome is not Outcome.SUCCESS:
            lines.append(f"  {r.scenario} [{r.target}]: artifacts in {r.artifacts_dir}")
    passed = sum(r.passed for r in results)
    lines.append(f"{passed} passed, {len(results) - passed} not passed, {len(results)} runs")
    return redact("\n".join(lines))


def write_junit(results: Sequence[RunResult], path: Path) -> None:
    failures = sum(r.outcome in (Outcome.FAILURE, Outcome.ABORTED) for r in results)
    errors = sum(r.outcome is Outcome.TIMEOUT for r in results)
    skipped = sum(r.outcome is Outcome.SKIPPED for r in results)
    suite = ET.Element(
        "testsuite",
        {
            "name": "mystery-guest",
            "tests": str(len(results)),
            "failures": str(failures),
            "errors": str(errors),
            "skipped": str(skipped),
            "time": f"{sum(r.duration_seconds for r in results):.3f}",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
        },
    )
    for r in results:
        case = ET.SubElement(
            suite, "testcase", {"classname": r.target, "name": r.scenario, "time": f"{r.duration_seconds:.3f}"}
        )
        properties = ET.SubElement(case, "properties")
        for key, value in (
            ("run_id", r.run_id),
            ("trace_id", r.trace_id),
            ("region", r.region),
            ("attempts", str(r.attempts)),
            ("flaky", str(r.flaky).lower()),
            ("artifacts", r.artifacts_dir or ""),
        ):
            ET.SubElement(properties, "property", {"name": key, "value": value})
        summary = f"step '{r.failed_step or '-'}' failed: {r.reason}: {r.message}"
        if r.artifacts_dir:
            summary += f" (artifacts: {r.artifacts_dir})"
        if r.outcome is Outcome.FAILURE or r.outcome is Outcome.ABORTED:
            node = ET.SubElement(case, "failure", {"message": redact(summary), "type": r.reason or "failure"})
            node.text = redact(_steps_text(r))
        elif r.outcome is Outcome.TIMEOUT:
            node = ET.SubElement(case, "error", {"message": redact(summary), "type": "timeout"})
            node.text = redact(_steps_text(r))
        elif r.outcome is Outcome.SKIPPED:
            ET.SubElement(case, "skipped", {"message": redact(r.message)})
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def _steps_text(r: RunResult) -> str:
    lines = [f"run {r.run_id} trace {r.trace_id}"]
    for s in r.steps:
        state = "ok" if s.success else f"FAILED {s.reason}: {s.message}"
        lines.append(f"  {s.name}: {s.duration_seconds:.3f}s {state}")
    return "\n".join(lines)


def write_json(results: Sequence[RunResult], path: Path) -> None:
    report = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "passed": all(r.passed for r in results) and bool(results),
        "results": [r.to_dict() for r in results],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redact(json.dumps(report, indent=2, default=str)))
