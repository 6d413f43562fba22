"""Issue item 4: serve mode, every scenario at a short interval, for 1,000 recorded results.

The runner (``bench.serve_instrumented``: ``runner.py serve`` plus an inside sampler) runs all
scenarios, browser ones included, against the sandbox until ``synthetic_scenario_runs_total``
sums to 1,000, then gets SIGTERM and drains. Compared at the start and the end: RSS, open
file handles, Chromium processes and asyncio tasks of the runner. Scheduler drift and lost
results come from its JSON log (``bench.drift``) and its final metrics.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.drift import ScenarioSchedule, schedules
from bench.processes import python_module, stop
from bench.report import BenchOptions, Goal, Section, table
from bench.sandbox_runtime import load, sandbox_for_bench
from bench.serve import line_time, parse, read_run_lines, running_serve, scrape
from bench.stats import median, percentile
from harness.discovery import discover

__all__ = ["NAME", "run", "soak_intervals"]

NAME = "soak"
TITLE = "4. Soak: 1,000 runs in serve mode, resources and scheduler drift"
FULL_RESULTS = 1000
QUICK_RESULTS = 40
TIME_CAP_SECONDS = 900.0
FAST_API_SECONDS = 1.0
SLOW_API_SECONDS = 15.0
BROWSER_SECONDS = 20.0
SLOW_API = frozenset({"deposit_each_currency", "withdraw_each_currency", "guardrails"})
SHUTDOWN_MARGIN_SECONDS = 1.0  # a run due this close to SIGTERM may not have been fired yet: not counted
START_SAMPLE_AFTER_SECONDS = 20.0  # the first browser launched, every scenario run at least once


def soak_intervals(names: list[str], tags: dict[str, tuple[str, ...]]) -> dict[str, float]:
    """Short intervals that keep two cores busy without starving the browser scenarios."""
    intervals = {}
    for name in names:
        if "browser" in tags[name]:
            intervals[name] = BROWSER_SECONDS
        elif name in SLOW_API:
            intervals[name] = SLOW_API_SECONDS
        else:
            intervals[name] = FAST_API_SECONDS
    return intervals


@dataclass
class SoakFigures:
    results_target: int
    recorded: dict[str, dict[str, float]]  # scenario -> result -> count (final metrics)
    logged: int
    planned: dict[str, int]
    schedules: list[ScenarioSchedule]
    start: dict[str, float]
    end: dict[str, float]
    first_half_floor: dict[str, float]
    second_half_floor: dict[str, float]
    seconds: float
    exit_code: int
    loop_lags: list[float]
    missed_warnings: int  # APScheduler's "Run time of job ... was missed by": the loop woke too late


def _stats(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run(options: BenchOptions) -> Section:
    target_results = QUICK_RESULTS if options.quick else FULL_RESULTS
    work = options.work_dir / NAME
    work.mkdir(parents=True, exist_ok=True)
    found = discover()
    names = sorted(found)
    intervals = soak_intervals(names, {n: found[n].tags for n in names})
    stats_path, final_path, log_path = work / "stats.jsonl", work / "final-metrics.txt", work / "runner.log"
    command = python_module("bench.serve_instrumented", "--stats", str(stats_path), "--final-metrics", str(final_path))
    with sandbox_for_bench(work) as sandbox, httpx.Client(trust_env=False) as client:
        config, _ = load(
            work,
            sandbox,
            overrides={name: {"interval_seconds": seconds} for name, seconds in intervals.items()},
            runner={"shutdown_grace_seconds": 60},
        )
        with running_serve(config, log_path, command=command) as runner:
            armed_at = time.time() - 0.3  # the ready line is printed right after the schedule is armed
            deadline = armed_at + TIME_CAP_SECONDS
            while time.time() < deadline:
                samples = scrape(client, runner.url)
                started = samples.total("synthetic_scenario_runs_total") - samples.total(
                    "synthetic_scenario_runs_total", result="skipped"
                )
                if started >= target_results:
                    break
                time.sleep(1.0)
            exit_code = stop(runner, timeout=120)
        elapsed = time.time() - armed_at
    lines = read_run_lines(log_path)
    shutdown_at = _shutdown_time(log_path) or time.time()
    figures = _figures(target_results, final_path, lines, intervals, armed_at, shutdown_at, stats_path, elapsed)
    figures.exit_code = exit_code
    figures.missed_warnings = log_path.read_text(errors="replace").count("was missed by")
    return _section(figures, intervals)


def _shutdown_time(log_path: Path) -> float | None:
    for raw in log_path.read_text(errors="replace").splitlines():
        if raw.startswith("{") and '"shutting down' in raw:
            return line_time(json.loads(raw))
    return None


def _figures(
    target: int,
    final_path: Path,
    lines: list[dict[str, Any]],
    intervals: dict[str, float],
    armed_at: float,
    shutdown_at: float,
    stats_path: Path,
    elapsed: float,
) -> SoakFigures:
    recorded: dict[str, dict[str, float]] = {}
    if final_path.exists():
        for labels, value in parse(final_path.read_text()).select("synthetic_scenario_runs_total"):
            recorded.setdefault(labels["scenario"], {})[labels["result"]] = value
    found = schedules(lines, intervals, armed_at)
    planned = {s.scenario: s.planned_until(shutdown_at - SHUTDOWN_MARGIN_SECONDS) for s in found}
    samples = _stats(stats_path)
    last = samples[-1]["t"] if samples else armed_at
    settle = min(START_SAMPLE_AFTER_SECONDS, (last - armed_at) / 2)
    settled = [s for s in samples if s["t"] >= armed_at + settle] or samples
    middle = settled[0]["t"] + (last - settled[0]["t"]) / 2 if settled else last
    keys = ("rss_kib", "fds", "chromium_processes", "tasks")

    def floor(part: list[dict[str, Any]]) -> dict[str, float]:
        return {k: min(s[k] for s in part) for k in keys} if part else {}

    return SoakFigures(
        target,
        recorded,
        len(lines),
        planned,
        found,
        {k: settled[0][k] for k in keys} if settled else {},
        {k: settled[-1][k] for k in keys} if settled else {},
        floor([s for s in settled if s["t"] < middle]),
        floor([s for s in settled if s["t"] >= middle]),
        elapsed,
        0,
        [float(lag) for sample in samples for lag in sample.get("lags", [])],
        0,
    )


def _section(f: SoakFigures, intervals: dict[str, float]) -> Section:
    by_result: dict[str, float] = {}
    for results in f.recorded.values():
        for result, count in results.items():
            by_result[result] = by_result.get(result, 0) + count
    total_recorded = int(sum(by_result.values()))
    total_planned = sum(f.planned.values())
    lost = {  # recorded may exceed planned: runs due in the last second before shutdown are not counted as planned
        s: f.planned[s] - int(sum(f.recorded.get(s, {}).values()))
        for s in f.planned
        if f.planned[s] > int(sum(f.recorded.get(s, {}).values()))
    }
    all_lateness = [x for s in f.schedules for x in s.lateness]
    resource_rows = [
        ("RSS of the runner (MiB)", "rss_kib", 1 / 1024),
        ("open file handles", "fds", 1),
        ("Chromium processes", "chromium_processes", 1),
        ("asyncio tasks", "tasks", 1),
    ]
    resources = table(
        ("runner process", "start", "end", "lowest, first half", "lowest, second half"),
        [
            (
                label,
                f"{f.start.get(key, 0) * scale:.0f}",
                f"{f.end.get(key, 0) * scale:.0f}",
                f"{f.first_half_floor.get(key, 0) * scale:.0f}",
                f"{f.second_half_floor.get(key, 0) * scale:.0f}",
            )
            for label, key, scale in resource_rows
        ],
    )
    drift_rows = []
    for s in f.schedules:
        drift_rows.append(
            (
                s.scenario,
                f"{intervals[s.scenario]:g}",
                len(s.lateness),
                f"{median(s.lateness) * 1000:.0f}",
                f"{percentile(s.lateness, 99) * 1000:.0f}",
                f.planned[s.scenario],
                int(sum(f.recorded.get(s.scenario, {}).values())),
                ", ".join(f"{int(v)} {k}" for k, v in sorted(f.recorded.get(s.scenario, {}).items()) if v),
            )
        )
    drift = table(
        (
            "scenario",
            "interval (s)",
            "runs started",
            "drift p50 (ms)",
            "drift p99 (ms)",
            "planned",
            "recorded",
            "results",
        ),
        drift_rows,
    )
    rss_growth = (f.end.get("rss_kib", 0) - f.start.get("rss_kib", 0)) / 1024
    goals = [
        Goal(
            "zero lost results (every planned run recorded under some result)",
            not lost,
            f"{total_planned} planned, {total_recorded} in `synthetic_scenario_runs_total`, {f.logged} logged"
            + (f"; short: {lost}" if lost else ""),
        ),
        Goal(
            "no leak: the lowest count of Chromium processes, file handles and tasks no higher in the second half",
            all(
                f.second_half_floor.get(k, 0) <= f.first_half_floor.get(k, 0) * 1.1 + 2
                for k in ("chromium_processes", "fds", "tasks")
            ),
            f"RSS {rss_growth:+.0f} MiB from start to end",
        ),
    ]
    notes = [
        f"{f.logged} results in {f.seconds:.0f} s (stopped once {f.results_target} runs had started); by result: "
        + ", ".join(f"{int(v)} {k}" for k, v in sorted(by_result.items()) if v)
        + f". Runner exit code {f.exit_code}.",
        f"Intervals: {FAST_API_SECONDS:g} s for quick API scenarios, {SLOW_API_SECONDS:g} s for "
        f"{', '.join(sorted(SLOW_API))}, {BROWSER_SECONDS:g} s for browser ones; runner and sandbox share the 2 cores.",
        f"Start is the first sample {START_SAMPLE_AFTER_SECONDS:g} s after the schedule was armed (browser launched); "
        "end is the last sample before SIGTERM; samples every 2 s from inside the runner's loop. Both are moments "
        "in a busy schedule (browser contexts and runs come and go), so a leak is judged by the lowest counts, "
        "between runs: what leaks stays, and raises the second half's lowest count above the first's.",
        "Drift is a run's start minus its planned time, recovered from the log (`bench.drift`): over all "
        f"{len(all_lateness)} started runs p50 {median(all_lateness) * 1000:.0f} ms, "
        f"p99 {percentile(all_lateness, 99) * 1000:.0f} ms. A run that comes due while the last is still going is "
        "recorded as skipped (never queued), so a slow scenario's skips are not drift; a run that comes due while "
        "`runner.max_concurrent_runs` (8) runs are in flight waits for a slot, and that wait is drift.",
        f"Event loop lag of the runner (how late a 50 ms sleep woke, sampled all along): p50 "
        f"{median(f.loop_lags) * 1000:.1f} ms, p99 {percentile(f.loop_lags, 99) * 1000:.0f} ms, max "
        f"{max(f.loop_lags, default=0) * 1000:.0f} ms.",
        "Planned counts the grid points from the first planned run to one second before the runner logged "
        "`shutting down` (a run due in that last second may not have been fired yet: the scheduler wakes up to a "
        "loop lag late); recorded sums `synthetic_scenario_runs_total` from the final metrics written after the "
        "drain (a run in flight at SIGTERM is recorded when it ends, or as aborted).",
    ]
    if lost and f.missed_warnings:
        notes.append(
            f"Why runs were lost: APScheduler logged {f.missed_warnings} 'Run time of job ... was missed by' "
            "warnings, each when the runner's loop woke too late for a due run. With `coalesce=True` APScheduler "
            "keeps only the latest of the runs that came due meanwhile; the runner records that one (as skipped) "
            "and the earlier ones vanish without a trace. Only a loop stalled for more than an interval loses "
            "runs, so 1 s intervals on an overloaded machine do and minute-long intervals practically never; "
            "counting the coalesced runs as skipped (or `coalesce=False`) would close the gap."
        )
    body = "\n\n".join(["Runner process:", resources, "Per scenario:", drift, "\n".join(f"- {n}" for n in notes)])
    data = {
        "recorded": f.recorded,
        "planned": f.planned,
        "start": f.start,
        "end": f.end,
        "first_half_floor": f.first_half_floor,
        "second_half_floor": f.second_half_floor,
        "lateness": {s.scenario: s.lateness for s in f.schedules},
        "loop_lag_p99": percentile(f.loop_lags, 99),
    }
    return Section(NAME, TITLE, ".venv/bin/python -m bench --only soak", body, goals, data=data, seconds=f.seconds)
