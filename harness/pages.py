"""What the status, run-list and run pages show, and their HTML (Jinja2, rendered on the server).

The views are plain data built from the run history (or, for ``run --html``, from one
invocation's results); the JSON API answers the same data. Journeys and their owner teams
are written down once, in ``monitoring/journeys.py``; ``python -m monitoring`` renders them
into ``harness/journeys.json``, which is what the runner reads (it never imports monitoring/).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.history import RunHistory, RunQuery
from harness.results import Outcome, RunResult

__all__ = [
    "ARTIFACT_FILES",
    "STRIP_LENGTH",
    "Cell",
    "RunView",
    "StatusView",
    "artifact_links",
    "render",
    "run_view",
    "status_view",
]

STRIP_LENGTH = 50
ARTIFACT_FILES = ("screenshot.png", "console.log", "trace.zip", "network.har")
"""What a failed browser run leaves (``probes.browser_session``): the only files the pages link."""
NO_JOURNEY = "(no journey)"


@dataclass(frozen=True)
class Journey:
    name: str
    title: str
    team: str
    scenarios: tuple[str, ...]


def _journeys() -> tuple[Journey, ...]:
    data = json.loads((files("harness") / "journeys.json").read_text(encoding="utf-8"))
    return tuple(Journey(j["name"], j["title"], j["team"], tuple(j["scenarios"])) for j in data["journeys"])


JOURNEYS = _journeys()
_env = Environment(loader=PackageLoader("harness", "templates"), autoescape=select_autoescape(default=True))


def when(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def ago(seconds_ago: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds_ago >= size:
            return f"{seconds_ago / size:.0f} {unit} ago"
    return f"{max(seconds_ago, 0):.0f} s ago"


_env.filters.update(when=when, seconds=seconds)


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (the value a share of the runs took at most)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


# -- status --------------------------------------------------------------------------------
@dataclass
class StripRun:
    run_id: str
    outcome: str
    started_at: float
    duration_seconds: float
    reason: str | None

    @property
    def label(self) -> str:
        why = f", {self.reason}" if self.reason else ""
        return f"{self.outcome} at {when(self.started_at)}, {seconds(self.duration_seconds)}{why}"


@dataclass
class Cell:
    scenario: str
    target: str
    state: str  # the last run's outcome, or "no runs"
    last_run_id: str | None
    strip: list[StripRun]  # oldest first
    p50_seconds: float | None
    p95_seconds: float | None
    last_failure_at: float | None

    @property
    def runs_url(self) -> str:
        return "runs?" + urlencode({"scenario": self.scenario, "target": self.target})

    @property
    def since_failure(self) -> str:
        return (
            "no failure kept"
            if self.last_failure_at is None
            else ago(datetime.now(UTC).timestamp() - self.last_failure_at)
        )


@dataclass
class JourneyRow:
    journey: str
    title: str
    target: str
    cells: list[Cell]


@dataclass
class TeamGroup:
    team: str
    rows: list[JourneyRow]


@dataclass
class StatusView:
    generated_at: float
    teams: list[TeamGroup] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cell(history: RunHistory, scenario: str, target: str) -> Cell:
    runs = history.runs(RunQuery(scenario=scenario, target=target, limit=STRIP_LENGTH))
    strip = [StripRun(r.run_id, str(r.outcome), r.started_at, r.duration_seconds, r.reason) for r in reversed(runs)]
    timed = [r.duration_seconds for r in runs if r.outcome not in (Outcome.SKIPPED, Outcome.ABORTED)]
    failure = history.last_failure(scenario, target)
    return Cell(
        scenario,
        target,
        str(runs[0].outcome) if runs else "no runs",
        runs[0].run_id if runs else None,
        strip,
        percentile(timed, 0.5),
        percentile(timed, 0.95),
        failure.started_at if failure else None,
    )


def status_view(history: RunHistory, scheduled: list[tuple[str, str]]) -> StatusView:
    """One row per journey and target, grouped by owner team; scenarios in no journey come last."""
    pairs = list(dict.fromkeys([*scheduled, *history.pairs()]))
    targets = sorted({t for _, t in pairs})
    known = {(s, t) for s, t in pairs}
    teams: dict[str, list[JourneyRow]] = {}
    in_journeys: set[str] = set()
    for journey in JOURNEYS:
        in_journeys.update(journey.scenarios)
        for target in targets:
            scenarios = [s for s in journey.scenarios if (s, target) in known]
            if scenarios:
                cells = [_cell(history, s, target) for s in scenarios]
                teams.setdefault(journey.team, []).append(JourneyRow(journey.name, journey.title, target, cells))
    for target in targets:
        others = sorted(s for s, t in pairs if t == target and s not in in_journeys)
        if others:
            cells = [_cell(history, s, target) for s in others]
            teams.setdefault(NO_JOURNEY, []).append(JourneyRow("", "Scenarios in no journey", target, cells))
    ordered = sorted(teams.items(), key=lambda item: (item[0] == NO_JOURNEY, item[0]))
    return StatusView(datetime.now(UTC).timestamp(), [TeamGroup(team, rows) for team, rows in ordered])


# -- one run -------------------------------------------------------------------------------
@dataclass
class WaterfallStep:
    name: str
    success: bool
    reason: str | None
    message: str
    offset_seconds: float
    duration_seconds: float
    offset_percent: float
    width_percent: float


@dataclass
class RunView:
    result: RunResult
    steps: list[WaterfallStep]
    artifacts: dict[str, str]  # file name -> URL (uploaded, or this runner's own)
    console_log: str | None
    trace_url: str | None

    @property
    def trace_command(self) -> str | None:
        trace = self.artifacts.get("trace.zip")
        return None if trace is None else f"npx playwright show-trace {trace if '://' in trace else 'trace.zip'}"


def artifact_links(result: RunResult, root: Path | None, base: str) -> dict[str, str]:
    """File name -> URL: the uploaded copy where there is one, else this runner's ``/artifacts/``.

    A run folder pruned here (``browser.keep_artifacts_per_scenario``) still links its uploaded copy.
    """
    if not result.artifacts_dir:
        return {}
    uploaded = result.artifacts_url
    folder = Path(result.artifacts_dir).resolve()
    present = [name for name in ARTIFACT_FILES if (folder / name).is_file()]
    if uploaded:
        return {name: uploaded.rstrip("/") + "/" + quote(name) for name in present or ARTIFACT_FILES}
    if root is None or not folder.is_relative_to(root.resolve()):
        return {}
    relative = quote(folder.relative_to(root.resolve()).as_posix())
    return {name: f"{base}artifacts/{relative}/{quote(name)}" for name in present}


CONSOLE_LOG_MAX_BYTES = 64 * 1024


def read_console_log(result: RunResult) -> str | None:
    """The run's console log (scrubbed when written), its first 64 KiB."""
    if not result.artifacts_dir:
        return None
    path = Path(result.artifacts_dir) / "console.log"
    try:
        with path.open("rb") as file:
            data = file.read(CONSOLE_LOG_MAX_BYTES + 1)
    except OSError:
        return None
    text = data[:CONSOLE_LOG_MAX_BYTES].decode(errors="replace")
    return text + ("\n... (cut at 64 KiB)" if len(data) > CONSOLE_LOG_MAX_BYTES else "")


def run_view(result: RunResult, links: dict[str, str], trace_url_template: str | None) -> RunView:
    """Steps laid end to end (they run one after another) as a waterfall over the run's duration."""
    total = max(result.duration_seconds, sum(s.duration_seconds for s in result.steps), 1e-9)
    steps, offset = [], 0.0
    for step in result.steps:
        steps.append(
            WaterfallStep(
                step.name,
                step.success,
                step.reason,
                step.message,
                offset,
                step.duration_seconds,
                100 * offset / total,
                max(0.5, 100 * step.duration_seconds / total),
            )
        )
        offset += step.duration_seconds
    trace_url = None
    if trace_url_template and result.trace_id and result.trace_id != "-":
        trace_url = trace_url_template.replace("{trace_id}", quote(result.trace_id))
    return RunView(result, steps, links, read_console_log(result), trace_url)


# -- HTML ----------------------------------------------------------------------------------
def render(template: str, **context: Any) -> str:
    return _env.get_template(template).render(**context)
