"""Scheduler drift and lost runs, from the runner's JSON ``run finished`` lines alone.

The runner does not log when a run was planned, only when it ended and how long it took;
APScheduler plans every run of a scenario on one grid (first start + k x interval) and never
starts one early. So a scenario's grid is recovered from the starts' offsets modulo the
interval: they crowd into one arc that begins at the grid's phase (``_phase``), and a start's
lateness is its distance from that phase. A run later than its interval would have been
dropped as missed (``misfire_grace_time`` is the interval), so lateness stays below one
interval; the figure is the lateness relative to the most punctual run, which the log's
millisecond timestamps put within a few milliseconds of its planned time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bench.serve import line_time

__all__ = ["ScenarioSchedule", "schedules"]


@dataclass
class ScenarioSchedule:
    scenario: str
    target: str  # a scenario runs on a grid of its own against each target
    interval: float
    lateness: list[float]  # started minus planned, seconds, for every run that started
    first_planned: float
    results: int  # log lines: every result, skipped ones included

    def planned_until(self, moment: float) -> int:
        """How many runs the grid plans from its first point up to ``moment``."""
        if moment < self.first_planned:
            return 0
        return math.floor((moment - self.first_planned) / self.interval + 1e-9) + 1


def _phase(offsets: list[float], interval: float) -> float:
    """Where the grid's points fall: just after the widest empty stretch of the circle of offsets.

    Starts are never early, so each offset lies within one arc that begins at the grid point and
    is as long as the latest start; outside that arc no start falls. The widest gap between
    neighbouring offsets (around the circle) is outside it.
    """
    ordered = sorted(offsets)
    gaps = [(ordered[(i + 1) % len(ordered)] - ordered[i]) % interval for i in range(len(ordered))]
    if len(ordered) == 1:
        return ordered[0]
    widest = max(range(len(gaps)), key=lambda i: gaps[i])
    return ordered[(widest + 1) % len(ordered)]


def schedules(lines: Iterable[dict[str, Any]], intervals: dict[str, float], armed_at: float) -> list[ScenarioSchedule]:
    """Per scenario and target: lateness of every started run and where its grid begins (at or after ``armed_at``)."""
    starts: dict[tuple[str, str], list[float]] = {}
    counts: dict[tuple[str, str], int] = {}
    for line in lines:
        key = (str(line.get("scenario")), str(line.get("target", "")))
        counts[key] = counts.get(key, 0) + 1
        if line.get("result") == "skipped":
            continue
        starts.setdefault(key, []).append(line_time(line) - float(line.get("duration_seconds") or 0))
    found = []
    for (scenario, target), times in sorted(starts.items()):
        interval = intervals[scenario]
        origin = min(times)
        offsets = [(t - origin) % interval for t in times]
        phase = _phase(offsets, interval)
        lateness = [(o - phase) % interval for o in offsets]
        grid_point = origin + phase
        first_planned = grid_point - math.floor((grid_point - armed_at) / interval) * interval
        found.append(ScenarioSchedule(scenario, target, interval, lateness, first_planned, counts[scenario, target]))
    return found
