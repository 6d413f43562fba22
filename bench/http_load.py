"""Issue 17, goal 1 beside browsers, before and after: serve mode with Python's switch interval and
its timing thread at the process's priority (``bench.http_serve --as-before``), and as shipped
(``harness.exact_timing``: a 1 ms switch interval, the timing thread raised), in one run.

Each condition is ``bench.http_accuracy``'s under-load condition (serve mode and its Chromium
pinned to one core, every browser journey back to back, our scenario's probes and then
blackbox_exporter's under the same load). The two alternate over ``ROUNDS`` rounds, so that the
machine's own load drifting over the run falls on both; each takes half the probes per round.
Beside the errors, what the setting costs the runner: its CPU per browser run, the browser runs'
wall time and its own event-loop lag.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from bench.http_accuracy import (
    DELAYS_MS,
    FULL_PROBES,
    LOADED,
    QUICK_PROBES,
    Measured,
    ServeCost,
    _accuracy_goal,
    _cores,
    _gaps,
    under_load,
)
from bench.report import BenchOptions, Section, ms, table
from bench.stats import median, percentile
from harness.exact_timing import SWITCH_INTERVAL_SECONDS, TIMING_THREAD_NICE_STEP

__all__ = ["NAME", "before_and_after"]

NAME = "http-load"
TITLE = "1b. HTTP probe beside browsers: before and after serve mode's timing settings"
ROUNDS = 2
BEFORE = "before (5 ms switch interval, timing thread at the runner's nice)"
AFTER = f"after ({SWITCH_INTERVAL_SECONDS * 1000:g} ms, timing thread {TIMING_THREAD_NICE_STEP} nice steps above it)"
LAG_SHOWN_OVER_SECONDS = 0.005


@dataclass
class Pooled:
    """One condition's figures over every round."""

    measured: dict[str, Measured] = field(
        default_factory=lambda: {tool: Measured() for tool in ("blackbox", "blackbox_http", "scenario")}
    )
    runner_cpu_seconds: float = 0.0
    browser_run_seconds: list[float] = field(default_factory=list)
    lag_buckets: dict[float, float] = field(default_factory=dict)  # upper bound -> cumulative count
    load_averages: list[float] = field(default_factory=list)

    def add(self, measured: dict[str, Measured], cost: ServeCost, load_average: float) -> None:
        for tool, m in measured.items():
            for delay, errors in m.errors.items():
                self.measured[tool].errors.setdefault(delay, []).extend(errors)
            self.measured[tool].failures += m.failures
        self.runner_cpu_seconds += cost.runner_cpu_seconds
        self.browser_run_seconds.extend(cost.browser_run_seconds)
        for bound, count in cost.loop_lag_buckets:
            self.lag_buckets[bound] = self.lag_buckets.get(bound, 0.0) + count
        self.load_averages.append(load_average)

    @property
    def cpu_per_browser_run(self) -> float:
        return self.runner_cpu_seconds / max(len(self.browser_run_seconds), 1)

    def lag_p99_bound(self) -> float:
        """The upper bound of the bucket that holds the 99th percentile of the loop's lag."""
        total = self.lag_buckets.get(math.inf, 0.0)
        return next((b for b, count in sorted(self.lag_buckets.items()) if count >= 0.99 * total), math.inf)

    def lag_share_over(self, seconds: float) -> float:
        total = self.lag_buckets.get(math.inf, 0.0)
        return 1 - self.lag_buckets.get(seconds, 0.0) / total if total else 0.0


def _p99(values: list[float]) -> float:
    return percentile(values, 99)


def before_and_after(options: BenchOptions) -> Section:
    count = QUICK_PROBES if options.quick else FULL_PROBES
    per_round = math.ceil(count / ROUNDS)
    tool_core, _ = _cores()
    pooled = {BEFORE: Pooled(), AFTER: Pooled()}
    journeys: list[str] = []
    for round_ in range(ROUNDS):
        order = (BEFORE, AFTER) if round_ % 2 == 0 else (AFTER, BEFORE)
        for condition in order:
            load = os.getloadavg()[0]
            work = options.work_dir / NAME / f"round-{round_}"
            measured, journeys_run, cost = under_load(per_round, work, tool_core, as_before=condition == BEFORE)
            pooled[condition].add(measured, cost, load)
            journeys = list(journeys_run)
    return _section(pooled, per_round, journeys)


def _section(pooled: dict[str, Pooled], per_round: int, journeys: list[str]) -> Section:
    rows = []
    for delay in DELAYS_MS:
        for condition, p in pooled.items():
            ours, theirs = p.measured["scenario"].errors.get(delay, []), p.measured["blackbox"].errors.get(delay, [])
            gap_median, gap_p99 = next((dm, dp) for d, dm, dp in _gaps(p.measured, "scenario") if d == delay)
            figures = [ms(f(values)) if values else "n/a" for values in (ours, theirs) for f in (median, _p99)]
            rows.append((f"{delay} ms", condition, len(ours), *figures, ms(gap_median), ms(gap_p99)))
    accuracy = table(
        (
            "delay",
            "serve mode",
            "probes",
            "ours: error median (ms)",
            "ours: error p99 (ms)",
            "blackbox: error median (ms)",
            "blackbox: error p99 (ms)",
            "gap median (ms)",
            "gap p99 (ms)",
        ),
        rows,
    )
    before, after = pooled[BEFORE], pooled[AFTER]
    cost_rows = [
        (
            condition,
            len(p.browser_run_seconds),
            ms(p.cpu_per_browser_run, 0),
            f"{median(p.browser_run_seconds):.2f}" if p.browser_run_seconds else "n/a",
            f"<= {ms(p.lag_p99_bound(), 1)}",
            f"{p.lag_share_over(LAG_SHOWN_OVER_SECONDS) * 100:.1f}%",
            ", ".join(f"{load:.2f}" for load in p.load_averages),
        )
        for condition, p in pooled.items()
    ]
    cost = table(
        (
            "serve mode",
            "browser runs",
            "runner CPU per browser run (ms)",
            "browser run median (s)",
            "loop lag p99 (ms, bucket)",
            f"loop lag over {ms(LAG_SHOWN_OVER_SECONDS, 0)} ms",
            "load average at each start",
        ),
        cost_rows,
    )
    cpu_ratio = after.cpu_per_browser_run / before.cpu_per_browser_run if before.cpu_per_browser_run else math.inf
    wall_ratio = (
        median(after.browser_run_seconds) / median(before.browser_run_seconds)
        if median(before.browser_run_seconds or [0.0]) > 0 and after.browser_run_seconds
        else math.inf
    )
    goals = [_accuracy_goal(f"{LOADED}, {condition}", p.measured, ("scenario",)) for condition, p in pooled.items()]
    notes = [
        f"{ROUNDS} rounds, each serve mode once per round in alternating order ({per_round} probes per delay, "
        "tool and round): serve mode and its Chromium pinned to core 0, every browser journey "
        f"({', '.join(journeys)}) back to back beside `bench_http_delay`; then blackbox_exporter, on core 0 too, "
        "probes the same delays under the same load (`bench.http_accuracy`'s under-load condition).",
        "Before: `python -m bench.http_serve --as-before`, serve mode without `harness.exact_timing` (Python's "
        "5 ms switch interval, the timing thread at the runner's priority, below Chromium's display threads, "
        "which raise themselves to nice -8 where allowed); after: as shipped (nice relative to the runner's own).",
        f"Cost of the setting: runner CPU per browser run after / before {cpu_ratio:.2f}x, browser run median "
        f"{wall_ratio:.2f}x (the runner process's own threads: its Chromium apart; every browser run finished "
        "by the end of blackbox's probes).",
        "The loop lag is the runner's own `synthetic_runner_event_loop_lag_seconds` over the whole condition.",
    ]
    failures = {
        f"{condition} {tool}": m.failures
        for condition, p in pooled.items()
        for tool, m in p.measured.items()
        if m.failures
    }
    if failures:
        notes.append(f"Failed probes (left out of the errors): {failures}.")
    body = "\n\n".join(
        [
            "Measured duration minus the known injected delay, ours and blackbox_exporter's, per serve mode:",
            accuracy,
            "What the runner spent meanwhile:",
            cost,
            "\n".join(f"- {note}" for note in notes),
        ]
    )
    data = {
        condition: {
            "errors": {tool: {str(d): v for d, v in m.errors.items()} for tool, m in p.measured.items()},
            "runner_cpu_seconds": p.runner_cpu_seconds,
            "browser_run_seconds": p.browser_run_seconds,
            "loop_lag_buckets": {str(b): c for b, c in p.lag_buckets.items()},
            "load_averages": p.load_averages,
        }
        for condition, p in pooled.items()
    }
    return Section(NAME, TITLE, f".venv/bin/python -m bench --only {NAME}", body, goals, data=data)
