"""Scheduler drift and lost runs, from the runner's JSON ``run finished`` lines.

In serve mode each started run's line says when the schedule planned it (``planned_at``), how
much later it started (``start_delay_seconds``: started minus planned, as measured by the
runner) and why (``start_delay_by_cause``: ``scheduler``, APScheduler's wake-up and the loop;
``browser_slot``, a browser journey's wait for one of ``runner.browser.max_concurrent_runs``;
``run_slot``, the wait for one of ``runner.max_concurrent_runs``; ``setup``, building the run).
Drift is that figure, read as is. A scenario's grid (first planned run + k x interval, one per
target) follows from any of its planned times, and gives how many runs were planned.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bench.serve import line_time
from harness.results import START_DELAY_CAUSES

__all__ = ["SLOT_WAIT_SECONDS", "ScenarioSchedule", "by_cause", "schedules", "slot_waits"]

SLOT_WAIT_SECONDS = 0.001
"""A run that waited this long or longer for a run slot found every one of them taken."""


@dataclass
class ScenarioSchedule:
    scenario: str
    target: str  # a scenario runs on a grid of its own against each target
    interval: float
    lateness: list[float]  # started minus planned, seconds, for every run that started
    first_planned: float
    results: int  # log lines: every result, skipped ones included
    causes: list[dict[str, float]] = field(default_factory=list)  # each started run's lateness by cause

    def planned_until(self, moment: float) -> int:
        """How many runs the grid plans from its first point up to ``moment``."""
        if moment < self.first_planned:
            return 0
        return math.floor((moment - self.first_planned) / self.interval + 1e-9) + 1


def schedules(lines: Iterable[dict[str, Any]], intervals: dict[str, float], armed_at: float) -> list[ScenarioSchedule]:
    """Per scenario and target: the drift of every started run and where its grid begins (at or after ``armed_at``)."""
    started: dict[tuple[str, str], list[dict[str, Any]]] = {}
    counts: dict[tuple[str, str], int] = {}
    for line in lines:
        key = (str(line.get("scenario")), str(line.get("target", "")))
        counts[key] = counts.get(key, 0) + 1
        if line.get("planned_at"):  # skipped runs never started, so have none
            started.setdefault(key, []).append(line)
    found = []
    for (scenario, target), runs in sorted(started.items()):
        interval = intervals[scenario]
        grid_point = line_time({"ts": runs[0]["planned_at"]})  # written as every line's ``ts``
        first_planned = grid_point - math.floor((grid_point - armed_at) / interval + 1e-6) * interval
        found.append(
            ScenarioSchedule(
                scenario,
                target,
                interval,
                [float(run["start_delay_seconds"]) for run in runs],
                first_planned,
                counts[scenario, target],
                [{k: float(v) for k, v in run["start_delay_by_cause"].items()} for run in runs],
            )
        )
    return found


def by_cause(found: Iterable[ScenarioSchedule]) -> dict[str, list[float]]:
    """Every started run's lateness split by cause (``START_DELAY_CAUSES``), all schedules pooled."""
    return {cause: [run.get(cause, 0.0) for s in found for run in s.causes] for cause in START_DELAY_CAUSES}


def slot_waits(found: Iterable[ScenarioSchedule], cause: str = "run_slot") -> dict[str, int]:
    """Per scenario: how many of its runs waited for a slot (``run_slot`` or ``browser_slot``): every one was taken."""
    waited: dict[str, int] = {}
    for s in found:
        count = sum(1 for run in s.causes if run.get(cause, 0.0) >= SLOT_WAIT_SECONDS)
        if count:
            waited[s.scenario] = waited.get(s.scenario, 0) + count
    return waited
