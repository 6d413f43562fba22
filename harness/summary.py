"""A Markdown summary of a one-shot run, fit for ``$GITHUB_STEP_SUMMARY`` or a merge request.

A table with one row per scenario and target, then, for every run that did not pass cleanly,
its failing step, reason and message, every attempt, and links: the CI run's page (where its
uploaded artifacts are listed) and the run's artifacts. The links come from the variables
the CI system sets (GitHub Actions, GitLab CI); elsewhere the artifacts' paths are shown.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.results import Outcome, RunResult
from harness.secrets import redact

__all__ = ["CiLinks", "append_summary", "render_summary", "write_summary"]

_MARKS = {
    Outcome.SUCCESS: "✅",
    Outcome.FAILURE: "❌",
    Outcome.TIMEOUT: "⏱️",
    Outcome.ABORTED: "⛔",
    Outcome.SKIPPED: "⏭️",
}
_FLAKY = "⚠️"


@dataclass(frozen=True)
class CiLinks:
    """Where a reader of the summary finds the run's page and its uploaded artifacts."""

    run_page: str | None = None
    artifacts_base: str | None = None
    """Prefix of a link to one uploaded artifact path (GitLab's artifact browser)."""

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> CiLinks:
        """GitHub Actions: the workflow run's page; GitLab CI: the job's page and artifact browser."""
        if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
            server = env.get("GITHUB_SERVER_URL", "https://github.com")
            return cls(run_page=f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}")
        if env.get("CI_JOB_URL"):
            return cls(run_page=env["CI_JOB_URL"], artifacts_base=f"{env['CI_JOB_URL']}/artifacts/browse/")
        return cls()

    def artifacts(self, path: str) -> str:
        """A Markdown link to one run's artifacts, or the path where none can be made."""
        if self.artifacts_base and not Path(path).is_absolute():
            return f"[`{path}`]({self.artifacts_base}{path})"
        if self.run_page:
            return f"`{path}` (uploaded with [this run's artifacts]({self.run_page}))"
        return f"`{path}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or "-"


def _result(r: RunResult) -> str:
    return f"{r.outcome} (flaky)" if r.flaky else str(r.outcome)


def render_summary(results: Sequence[RunResult], links: CiLinks | None = None) -> str:
    """The summary's Markdown text."""
    links = links or CiLinks()
    failed = sum(r.outcome in (Outcome.FAILURE, Outcome.TIMEOUT, Outcome.ABORTED) for r in results)
    flaky = sum(r.flaky for r in results)
    passed = sum(r.passed and not r.flaky for r in results)
    skipped = sum(r.outcome is Outcome.SKIPPED for r in results)
    verdict = "❌ failed" if failed or not results else "✅ passed"
    counts = f"{failed} failed, {flaky} flaky, {passed} passed, {skipped} skipped"
    lines = [f"## Mystery Guest synthetic checks: {verdict}", "", f"{counts} ({len(results)} runs)."]
    if links.run_page:
        lines[-1] += f" Run page and artifacts: {links.run_page}"
    lines += [
        "",
        "| | Scenario | Target | Result | Duration | Attempts | Failing step | Reason |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ordered = sorted(results, key=lambda r: (r.passed, not r.flaky, r.scenario, r.target))
    for r in ordered:
        mark = _FLAKY if r.flaky else _MARKS[r.outcome]
        lines.append(
            f"| {mark} | {_cell(r.scenario)} | {_cell(r.target)} | {_result(r)} | {r.duration_seconds:.2f} s "
            f"| {r.attempts} | {_cell(r.failed_step or '')} | {_cell(r.reason or '')} |"
        )
    for r in ordered:
        if (r.passed and not r.flaky) or r.outcome is Outcome.SKIPPED:
            continue
        mark = _FLAKY if r.flaky else _MARKS[r.outcome]
        lines += ["", f"### {mark} {r.scenario} on {r.target}: {_result(r)}", ""]
        if not r.passed:
            lines.append(f"Step **{r.failed_step or '-'}** failed: `{r.reason}`: {_cell(r.message)}")
            lines.append("")
        attempts = [*r.earlier_attempts, r.as_attempt()]
        for number, attempt in enumerate(attempts, start=1):
            lines.append(f"- attempt {number} of {len(attempts)}: {_cell(attempt.describe(with_artifacts=False))}")
        for attempt in attempts:
            if attempt.artifacts_dir:
                lines.append(f"- artifacts of run `{attempt.run_id}`: {links.artifacts(attempt.artifacts_dir)}")
    return redact("\n".join(lines) + "\n")


def append_summary(results: Sequence[RunResult], path: Path, links: CiLinks | None = None) -> None:
    """Append, as ``$GITHUB_STEP_SUMMARY`` expects (other steps may have written to it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as summary:
        summary.write(render_summary(results, links))


def write_summary(results: Sequence[RunResult], path: Path) -> None:
    """``run --summary PATH``: append the summary, linked from this CI job's variables."""
    append_summary(results, path, CiLinks.from_environment(os.environ))
