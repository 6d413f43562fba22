"""Serve mode under a steady mix of API and browser runs: leaks, lost results, scheduler drift.

Two benchmarks share this code and differ only in how many runs they wait for: section 4 of
``make bench`` (1,000 runs, about two minutes) and ``make soak`` (10,000 runs, about 17
minutes: drift and leaks that only show after many runs). The runner
(``bench.serve_instrumented``: ``runner.py serve`` plus an inside sampler) runs every
scenario, browser ones included, against two targets that are the same sandbox (the second
with the us region's accounts, so no two runs share an account) until that many runs have
started, then gets SIGTERM and drains. Judged:

- RSS and open files of the runner: the last tenth's lowest value against the first's (``bench.tenths``);
- Chromium left behind: every process of the runner's sessions still alive after it exited
  (``bench.leftovers``: its browsers, their renderers, Playwright's driver);
- lost results: runs the schedule planned against ``synthetic_scenario_runs_total`` after the drain;
- scheduler drift (from the JSON log, ``bench.drift``) and the event loop's lag (inside sampler).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.drift import ScenarioSchedule, by_cause, schedules, slot_waits
from bench.leftovers import Count, RunnerSessions
from bench.processes import python_module, stop
from bench.procfs import cpu_seconds
from bench.report import BenchOptions, Goal, Section, table
from bench.sandbox_runtime import load, sandbox_for_bench
from bench.serve import line_time, parse, read_run_lines, running_serve, scrape
from bench.stats import median, percentile
from bench.tenths import TENTHS, Tenths, runs_per_tenth, tenths
from harness.discovery import discover

__all__ = ["LONG", "PLANS", "SHORT", "SoakPlan", "run", "run_long", "soak", "soak_intervals"]


@dataclass(frozen=True)
class SoakPlan:
    name: str
    title: str
    runs: int  # runs started (skips not counted) before SIGTERM
    time_cap_seconds: float  # SIGTERM then, however many have started: a slow machine still ends


SHORT = SoakPlan("soak", "4. Soak: 1,000 runs in serve mode, resources and scheduler drift", 1_000, 600)
LONG = SoakPlan("long-soak", "4b. Long soak: 10,000 runs under `make soak`, leaks and drift", 10_000, 1_800)
PLANS = {plan.name: plan for plan in (SHORT, LONG)}  # by benchmark name (``bench.registry``)
QUICK_RUNS = 20
QUICK_SCENARIOS = ("chat", "rates_freshness", "uptime", "spa_load")  # the smoke test's: one of each kind, ~15 s
MIRRORS = {"sandbox-us": "us"}
TARGETS = 1 + len(MIRRORS)
# Per target. Quick API runs are the bulk (up to 576 a minute over both targets: 10,000 runs in
# about 18 minutes at a third of a core for the runner); browser and payment runs keep the rates of
# the earlier 1,000-run soak (18 and 12 a minute over both targets).
FAST_API_SECONDS = 1.25
SLOW_API_SECONDS = 30.0
BROWSER_SECONDS = 40.0
SLOW_API = frozenset({"deposit_each_currency", "withdraw_each_currency", "guardrails"})
MAX_CONCURRENT_RUNS = 16  # the default (8) would make bursts wait for a slot: drift the runner need not have
SHUTDOWN_MARGIN_SECONDS = 1.0  # a run due this close to SIGTERM may not have been fired yet: not counted
SAMPLE_SECONDS = 1.0  # the inside sampler's period: ten samples or more in each tenth of §4's two minutes
WARM_UP_SECONDS = 20.0  # the first browser launched, every scenario run at least once
LEFTOVER_WAIT_SECONDS = 5.0  # processes still exiting when the runner does get this long
SAMPLED = {  # the inside sampler's figures (``bench.serve_instrumented``), as the tables name them
    "rss_kib": "RSS of the runner (MiB)",
    "fds": "open file handles",
    "chromium_processes": "Chromium processes",
    "tasks": "asyncio tasks",
}
FLAT = 0.05  # growth allowed between the first and the last tenth


def soak_intervals(names: list[str], tags: dict[str, tuple[str, ...]]) -> dict[str, float]:
    """Each scenario's interval against each target."""
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
    runs_wanted: int
    intervals: dict[str, float]
    recorded: dict[tuple[str, str], dict[str, float]]  # (scenario, target) -> result -> count (final metrics)
    logged: int
    planned: dict[tuple[str, str], int]
    schedules: list[ScenarioSchedule]
    sampled: dict[str, Tenths]
    runs_per_tenth: list[int]
    window: tuple[float, float]  # what the tenths divide: from the end of the warm-up to SIGTERM
    seconds: float
    runner_cpu: float  # share of one core, from the start to SIGTERM
    load_average: float  # the machine's, at SIGTERM
    below_at_sigterm: Count  # the runner's children and theirs
    astray_at_sigterm: Count  # of its sessions, but no longer below it: orphaned during the soak
    left_after_exit: Count
    exit_code: int
    loop_lags: list[float]
    missed_warnings: int  # APScheduler's "Run time of job ... was missed by": the loop woke too late
    lost: dict[str, int] = field(default_factory=dict)


def run(options: BenchOptions) -> Section:
    """Section 4 of ``make bench``."""
    return soak(SHORT, options)


def run_long(options: BenchOptions) -> Section:
    """``make soak``."""
    return soak(LONG, options)


def _stats(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _started(client: httpx.Client, url: str) -> int:
    """Runs started so far; 0 while the runner does not answer in time (a traced runner stalls)."""
    try:
        samples = scrape(client, url)
    except httpx.TimeoutException:
        return 0
    total = samples.total("synthetic_scenario_runs_total")
    return int(total - samples.total("synthetic_scenario_runs_total", result="skipped"))


def soak(
    plan: SoakPlan,
    options: BenchOptions,
    *,
    only: Collection[str] | None = None,
    wrapper: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> Section:
    """``only``: these scenarios rather than all; ``wrapper``: a module and its arguments that runs
    ``bench.serve_instrumented`` (``bench.rss_trace``); ``env``: the runner's environment."""
    runs_wanted = QUICK_RUNS if options.quick else plan.runs
    work = options.work_dir / plan.name
    work.mkdir(parents=True, exist_ok=True)
    found = discover()
    names = sorted(only or (QUICK_SCENARIOS if options.quick else found))
    intervals = soak_intervals(names, {n: found[n].tags for n in names})
    stats_path, final_path, log_path = work / "stats.jsonl", work / "final-metrics.txt", work / "runner.log"
    sampler = ["--stats", str(stats_path), "--stats-interval", "0.1" if options.quick else f"{SAMPLE_SECONDS:g}"]
    module, *wrapped = wrapper or ["bench.serve_instrumented"]
    command = python_module(module, *wrapped, *sampler, "--final-metrics", str(final_path))
    with sandbox_for_bench(work) as sandbox, httpx.Client(trust_env=False) as client:
        config, _ = load(
            work,
            sandbox,
            overrides={name: {"interval_seconds": seconds} for name, seconds in intervals.items()},
            only=names,
            mirrors=MIRRORS,
            runner={"shutdown_grace_seconds": 60, "max_concurrent_runs": MAX_CONCURRENT_RUNS},
        )
        with running_serve(config, log_path, command=command, env=env) as runner:
            armed_at = time.time() - 0.3  # the ready line is printed right after the schedule is armed
            cpu_at_start, deadline = cpu_seconds(runner.pid), armed_at + plan.time_cap_seconds
            sessions = RunnerSessions(runner.pid)
            while time.time() < deadline and _started(client, runner.url) < runs_wanted:
                sessions.look()
                time.sleep(1.0)
            runner_cpu = (cpu_seconds(runner.pid) - cpu_at_start) / (time.time() - armed_at)
            load_average = os.getloadavg()[0]
            sessions.look()
            below, astray = sessions.below(), sessions.astray()
            exit_code = stop(runner, timeout=120)
        elapsed = time.time() - armed_at
        left = sessions.left_behind(LEFTOVER_WAIT_SECONDS)
    lines = read_run_lines(log_path)
    shutdown_at = _shutdown_time(log_path) or time.time()
    figures = _figures(runs_wanted, intervals, final_path, lines, armed_at, shutdown_at, stats_path)
    figures.seconds, figures.runner_cpu, figures.load_average = elapsed, runner_cpu, load_average
    figures.below_at_sigterm, figures.astray_at_sigterm, figures.left_after_exit = below, astray, left
    figures.exit_code = exit_code
    figures.missed_warnings = log_path.read_text(errors="replace").count("was missed by")
    return _section(plan, figures)


def _shutdown_time(log_path: Path) -> float | None:
    for raw in log_path.read_text(errors="replace").splitlines():
        if raw.startswith("{") and '"shutting down' in raw:
            return line_time(json.loads(raw))
    return None


def _figures(
    runs_wanted: int,
    intervals: dict[str, float],
    final_path: Path,
    lines: list[dict[str, Any]],
    armed_at: float,
    shutdown_at: float,
    stats_path: Path,
) -> SoakFigures:
    recorded: dict[tuple[str, str], dict[str, float]] = {}
    if final_path.exists():
        for labels, value in parse(final_path.read_text()).select("synthetic_scenario_runs_total"):
            recorded.setdefault((labels["scenario"], labels["target"]), {})[labels["result"]] = value
    found = schedules(lines, intervals, armed_at)
    planned = {(s.scenario, s.target): s.planned_until(shutdown_at - SHUTDOWN_MARGIN_SECONDS) for s in found}
    samples = _stats(stats_path)
    window = (armed_at + min(WARM_UP_SECONDS, (shutdown_at - armed_at) / 5), shutdown_at)  # quick runs are short
    starts = [
        line_time(line) - float(line.get("duration_seconds") or 0) for line in lines if line.get("result") != "skipped"
    ]
    figures = SoakFigures(
        runs_wanted=runs_wanted,
        intervals=intervals,
        recorded=recorded,
        logged=len(lines),
        planned=planned,
        schedules=found,
        sampled={key: tenths([(s["t"], float(s[key])) for s in samples], *window) for key in SAMPLED},
        runs_per_tenth=runs_per_tenth(starts, *window),
        window=window,
        seconds=0.0,
        runner_cpu=0.0,
        load_average=0.0,
        below_at_sigterm=Count(0, 0),
        astray_at_sigterm=Count(0, 0),
        left_after_exit=Count(0, 0),
        exit_code=0,
        loop_lags=[float(lag) for sample in samples for lag in sample.get("lags", [])],
        missed_warnings=0,
    )
    for key, wanted in planned.items():  # recorded may exceed planned: runs due in the last second are not planned
        short = wanted - int(sum(recorded.get(key, {}).values()))
        if short > 0:
            figures.lost["/".join(key)] = short
    return figures


def _cell(value: float | None, scale: float) -> str:
    return "-" if value is None else f"{value * scale:.0f}"


def _growth(figure: Tenths) -> str:
    return "-" if figure.growth is None else f"{figure.growth * 100:+.1f} %"


def _resources(f: SoakFigures) -> str:
    rows: list[tuple[object, ...]] = [("runs started", *f.runs_per_tenth, "")]
    for key, label in SAMPLED.items():
        scale = 1 / 1024 if key == "rss_kib" else 1
        figure = f.sampled[key]
        rows.append((f"{label}, lowest", *(_cell(v, scale) for v in figure.lowest), _growth(figure)))
        rows.append((f"{label}, median", *(_cell(v, scale) for v in figure.medians), ""))
    return table(("tenth", *(str(i + 1) for i in range(TENTHS)), "last vs first (lowest)"), rows)


def _per_scenario(f: SoakFigures) -> str:
    rows = []
    for scenario in sorted(f.intervals):
        mine = [s for s in f.schedules if s.scenario == scenario]
        lateness = [x for s in mine for x in s.lateness]
        results: dict[str, float] = {}
        for (name, _), counts in f.recorded.items():
            if name == scenario:
                for result, count in counts.items():
                    results[result] = results.get(result, 0) + count
        rows.append(
            (
                scenario,
                f"{f.intervals[scenario]:g}",
                len(lateness),
                f"{median(lateness) * 1000:.0f}" if lateness else "-",
                f"{percentile(lateness, 99) * 1000:.0f}" if lateness else "-",
                sum(f.planned.get((scenario, s.target), 0) for s in mine),
                int(sum(results.values())),
                ", ".join(f"{int(v)} {k}" for k, v in sorted(results.items()) if v),
            )
        )
    headers = ("scenario", "interval per target (s)", "runs started", "drift p50 (ms)", "drift p99 (ms)")
    return table((*headers, "planned", "recorded", "results"), rows)


def _goals(f: SoakFigures) -> list[Goal]:
    by_result = _by_result(f)
    started = int(sum(v for k, v in by_result.items() if k != "skipped"))
    goals = [Goal(f"{f.runs_wanted:,} runs", started >= f.runs_wanted, f"{started:,} started in {f.seconds:.0f} s")]
    for key, scale, unit in (("rss_kib", 1 / 1024, " MiB"), ("fds", 1, "")):
        figure = f.sampled[key]
        first, last = figure.lowest[0], figure.lowest[-1]
        goals.append(
            Goal(
                f"{SAMPLED[key]} flat (last tenth's lowest under {FLAT:.0%} above the first's)",
                None if figure.growth is None else figure.growth < FLAT,
                f"{_growth(figure)}: {_cell(first, scale)} -> {_cell(last, scale)}{unit}",
            )
        )
    below, astray, left = f.below_at_sigterm, f.astray_at_sigterm, f.left_after_exit
    goals.append(
        Goal(
            "0 Chromium processes left after SIGTERM",
            None if below.chromium == 0 else left.processes == 0 and astray.processes == 0,  # None: nothing to find
            f"{below.processes} processes below the runner at SIGTERM ({below.chromium} Chromium), "
            f"{astray.processes} of its sessions astray; {left.processes} alive {LEFTOVER_WAIT_SECONDS:g} s after "
            f"it exited ({left.chromium} Chromium)",
        )
    )
    recorded = int(sum(by_result.values()))
    goals.append(
        Goal(
            "0 lost results (every planned run recorded under some result)",
            not f.lost,
            f"{sum(f.planned.values()):,} planned, {recorded:,} in `synthetic_scenario_runs_total`, {f.logged:,} logged"
            + (f"; short: {f.lost}" if f.lost else ""),
        )
    )
    return goals


def _by_result(f: SoakFigures) -> dict[str, float]:
    by_result: dict[str, float] = {}
    for results in f.recorded.values():
        for result, count in results.items():
            by_result[result] = by_result.get(result, 0) + count
    return by_result


def _notes(f: SoakFigures) -> list[str]:
    by_result = _by_result(f)
    lateness = [x for s in f.schedules for x in s.lateness]
    parts, waits = by_cause(f.schedules), slot_waits(f.schedules)
    tenth = (f.window[1] - f.window[0]) / TENTHS
    notes = [
        f"{f.logged:,} results in {f.seconds:.0f} s (SIGTERM once {f.runs_wanted:,} runs had started); by result: "
        + ", ".join(f"{int(v):,} {k}" for k, v in sorted(by_result.items()) if v)
        + f". Runner exit code {f.exit_code}; it used {f.runner_cpu * 100:.0f} % of a core over the soak, and the "
        f"machine's load average was {f.load_average:.2f} at SIGTERM.",
        f"Intervals against each of the {TARGETS} targets: {FAST_API_SECONDS:g} s for quick API scenarios, "
        f"{SLOW_API_SECONDS:g} s for {', '.join(sorted(SLOW_API))}, {BROWSER_SECONDS:g} s for browser ones; "
        f"`runner.max_concurrent_runs` {MAX_CONCURRENT_RUNS}; runner and sandbox share the machine's cores.",
        f"Tenths are of time: from {WARM_UP_SECONDS:g} s after the schedule was armed (browser launched, every "
        f"scenario run) to SIGTERM, ten stretches of {tenth:.0f} s each; the inside sampler reads the runner every "
        f"{SAMPLE_SECONDS:g} s. Each sample is a moment in a busy schedule (every run in flight holds connections, "
        "browser contexts come and go), so a tenth is judged by its lowest value, the runner between runs; what "
        "leaks stays and lifts that too. The runner's RSS does not count its Chromium, counted as processes. "
        "Its run history's SQLite page cache is bounded at 512 KiB, and it hands the C heap's free pages back "
        "once a minute (`harness.memory`): what RSS keeps beyond that is live memory.",
        "Left after SIGTERM: the runner runs in a session of its own, and each Chromium it launches starts "
        "another, which its renderers and helpers share; the benchmark learns those sessions by looking below the "
        "runner every second. Astray: processes of those sessions no longer below the runner while it runs "
        f"(orphaned); left: those still alive {LEFTOVER_WAIT_SECONDS:g} s after the runner exited (`bench.leftovers`).",
        "Drift is a run's start minus its planned time as the runner measures it (`start_delay_seconds` on "
        f"`run finished`, `bench.drift`): over all {len(lateness):,} started runs p50 {median(lateness) * 1000:.0f} "
        f"ms, p99 {percentile(lateness, 99) * 1000:.0f} ms; of it the scheduler's part p99 "
        f"{percentile(parts['scheduler'], 99) * 1000:.0f} ms, the wait for a run slot p99 "
        f"{percentile(parts['run_slot'], 99) * 1000:.0f} ms ({sum(waits.values())} runs waited for one"
        + "".join(f"; {n} {k}" for k, n in sorted(waits.items()))
        + "). A run that comes due while the last is still going is recorded as skipped (never queued), so a "
        "slow scenario's skips are not drift.",
        f"Event loop lag of the runner (how late a 50 ms sleep woke, sampled all along): p50 "
        f"{median(f.loop_lags) * 1000:.1f} ms, p99 {percentile(f.loop_lags, 99) * 1000:.0f} ms, max "
        f"{max(f.loop_lags, default=0) * 1000:.0f} ms.",
        "Planned counts each schedule's grid points from its first planned run to one second before the runner "
        "logged `shutting down` (a run due in that last second may not have been fired yet); recorded sums "
        "`synthetic_scenario_runs_total` from the final metrics written after the drain (a run in flight at "
        "SIGTERM is recorded when it ends, or as aborted).",
    ]
    if f.lost and f.missed_warnings:
        notes.append(
            f"Why runs were lost: APScheduler logged {f.missed_warnings} 'Run time of job ... was missed by' "
            "warnings, each when the runner's loop woke too late for a due run. With `coalesce=True` APScheduler "
            "keeps only the latest of the runs that came due meanwhile; the runner records that one (as skipped) "
            "and the earlier ones vanish without a trace."
        )
    return notes


def _section(plan: SoakPlan, f: SoakFigures) -> Section:
    body = "\n\n".join(
        [
            "The runner process, tenth by tenth:",
            _resources(f),
            "Per scenario (both targets together):",
            _per_scenario(f),
            "\n".join(f"- {n}" for n in _notes(f)),
        ]
    )
    data = {
        "recorded": {"/".join(k): v for k, v in f.recorded.items()},
        "planned": {"/".join(k): v for k, v in f.planned.items()},
        "tenths": {k: {"medians": v.medians, "lowest": v.lowest} for k, v in f.sampled.items()},
        "runs_per_tenth": f.runs_per_tenth,
        "lateness": {f"{s.scenario}/{s.target}": s.lateness for s in f.schedules},
        "loop_lag_p99": percentile(f.loop_lags, 99),
        "left_after_exit": vars(f.left_after_exit),
    }
    command = ".venv/bin/python -m bench --only " + plan.name
    return Section(plan.name, plan.title, command, body, _goals(f), data=data, seconds=f.seconds)
