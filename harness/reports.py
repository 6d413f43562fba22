"""Reports of a one-shot run: a readable table, JUnit XML for CI, and a JSON report.

JUnit: one ``testsuite`` (``mystery-guest``), one ``testcase`` per scenario and target
(``classname`` = target, ``name`` = scenario); a failure's message names the failing step
and reason (and where its artifacts are: the uploaded copy's URL, else the local folder);
skipped runs are ``<skipped>``; flaky passes carry a ``flaky`` property.

A retried run keeps every attempt, as Maven Surefire writes reruns: a flaky pass gets a
``<flakyFailure>`` (``<flakyError>`` for a timeout) per failed attempt, a run that failed
every time a ``<rerunFailure>`` (``<rerunError>``) per earlier attempt; and since not every
CI reader shows those, each attempt is also a line of the case's ``<system-out>`` and of its
failure text.
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
        if r.artifacts_url:
            lines.append(f"  {r.scenario} [{r.target}]: artifacts uploaded to {r.artifacts_url}")
    passed = sum(r.passed for r in results)
    lines.append(f"{passed} passed, {len(results) - passed} not passed, {len(results)} runs")
    return redact("\n".join(lines))


def write_junit(results: Sequence[RunResult], path: Path, now: float | None = None) -> None:
    """Write the JUnit XML; ``now`` (unix time) fixes the timestamp, as the committed examples need."""
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
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)),
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
            ("artifacts_url", r.artifacts_url or ""),
        ):
            ET.SubElement(properties, "property", {"name": key, "value": value})
        summary = f"step '{r.failed_step or '-'}' failed: {r.reason}: {r.message}"
        if r.artifacts_url or r.artifacts_dir:
            summary += f" (artifacts: {r.artifacts_url or r.artifacts_dir})"
        if r.outcome is Outcome.FAILURE or r.outcome is Outcome.ABORTED:
            node = ET.SubElement(case, "failure", {"message": redact(summary), "type": r.reason or "failure"})
            node.text = redact(_steps_text(r))
        elif r.outcome is Outcome.TIMEOUT:
            node = ET.SubElement(case, "error", {"message": redact(summary), "type": "timeout"})
            node.text = redact(_steps_text(r))
        elif r.outcome is Outcome.SKIPPED:
            ET.SubElement(case, "skipped", {"message": redact(r.message)})
        _add_attempts(case, r)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.indent(suite)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def _steps_text(r: RunResult) -> str:
    lines = [f"run {r.run_id} trace {r.trace_id}"]
    for s in r.steps:
        state = "ok" if s.success else f"FAILED {s.reason}: {s.message}"
        lines.append(f"  {s.name}: {s.duration_seconds:.3f}s {state}")
    if r.earlier_attempts:
        lines.append(_attempts_text(r))
    return "\n".join(lines)


def _attempts_text(r: RunResult) -> str:
    """Every attempt, one line each, oldest first."""
    attempts = [*r.earlier_attempts, r.as_attempt()]
    return "\n".join(
        f"attempt {number} of {len(attempts)}: {attempt.describe()}" for number, attempt in enumerate(attempts, start=1)
    )


def _add_attempts(case: ET.Element, r: RunResult) -> None:
    """Surefire's rerun elements for the earlier attempts, and every attempt in system-out."""
    if not r.earlier_attempts:
        return
    kind = "flaky" if r.passed else "rerun"
    for attempt in r.earlier_attempts:
        element = f"{kind}Error" if attempt.outcome is Outcome.TIMEOUT else f"{kind}Failure"
        node = ET.SubElement(
            case, element, {"message": redact(attempt.describe()), "type": attempt.reason or str(attempt.outcome)}
        )
        ET.SubElement(node, "stackTrace").text = redact(attempt.describe())
    ET.SubElement(case, "system-out").text = redact(_attempts_text(r))


def write_json(results: Sequence[RunResult], path: Path, now: float | None = None) -> None:
    report = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "passed": all(r.passed for r in results) and bool(results),
        "results": [r.to_dict() for r in results],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redact(json.dumps(report, indent=2, default=str)))
