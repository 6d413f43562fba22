"""Issue 17 item 1: what blocks serve mode's event loop, idle and under the soak's load.

``runner.py serve`` (``bench.serve_instrumented``) runs every scenario against the sandbox at
the shipped default intervals and start spread (idle-ish), then at the soak's intervals
(``bench.soak.soak_intervals``); each twice, as the runner was before issue 17's loop work
(``--as-before``) and as it is. Each time the runner measures its own loop lag (how late a
50 ms sleep wakes) and records every callback that held the loop for 2 ms or more with its
sampled stacks (``bench.loop_sources``), which name the source of the lag. Beside them: the
machine's load average, the runner's CPU share (its own process, and its Chromium children
apart) and scheduler drift as the runner measured it (started minus planned, by cause, from
its log: ``bench.drift``). ``/metrics`` is scraped as Prometheus would.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.drift import SLOT_WAIT_SECONDS, by_cause, schedules, slot_waits
from bench.loop_sources import OFF_CPU, read_slow_callbacks, shares
from bench.processes import python_module, stop
from bench.procfs import chromium_pids, cpu_seconds
from bench.report import BenchOptions, Goal, Section, table
from bench.sandbox_runtime import load, plans_for, sandbox_for_bench
from bench.serve import read_run_lines, running_serve
from bench.soak import soak_intervals
from bench.stats import median, percentile, summary
from harness.discovery import discover
from sandbox.testing import SandboxHandle

__all__ = ["NAME", "run"]

NAME = "loop"
TITLE = "9. Serve mode's event loop: lag, drift and what blocks it"
FULL_SECONDS = 120.0
QUICK_SECONDS = 3.0
IDLE_START_OFFSET_SECONDS = 60.0  # the runner's default spread of first runs
LOAD_START_OFFSET_SECONDS = 20.0  # the soak's browser interval: room to spread the journeys that share two browsers
IDLE_LAG_GOAL_SECONDS = 0.005
DRIFT_GOAL_SECONDS = 0.1
RAISED_PRIORITY = ["nice", "-n", "-10"]
"""The runner ahead of the machine's other work (where allowed: else ``nice`` runs it as is), so
that its lag is its own; Chromium raises its browser process to -8 by itself."""
SHUTDOWN_GRACE_SECONDS = 2.0  # the drain is not measured here: runs in flight at the end are cut short
SCRAPE_SECONDS = 15.0  # monitoring/prometheus/*.yml's scrape_interval
PROMETHEUS_ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"


@dataclass(frozen=True)
class Setting:
    name: str
    loaded: bool  # the soak's intervals, else the shipped ones
    before: bool  # as the runner was before issue 17's loop work


SETTINGS = (
    Setting("idle, before", loaded=False, before=True),
    Setting("idle, now", loaded=False, before=False),
    Setting("soak's load, before", loaded=True, before=True),
    Setting("soak's load, now", loaded=True, before=False),
)
QUICK_SETTINGS = (SETTINGS[2],)  # the smoke test: the load path and --as-before, in ~20 s


@dataclass
class Condition:
    name: str
    seconds: float
    load_before: float
    load_after: float
    runner_cpu_seconds: float
    chromium_cpu_seconds: float
    lags: list[float]
    drift: list[float]  # started minus planned, every started run
    drift_by_cause: dict[str, list[float]]  # the same runs' drift split by cause (``bench.drift.by_cause``)
    runs: int
    slot_waits: dict[str, int]  # per scenario: runs that waited for a run slot (every one taken)
    browser_waits: dict[str, int]  # per scenario: browser journeys that waited for a browser
    niceness: int
    slow: list[dict[str, Any]] = field(default_factory=list)

    @property
    def runner_share(self) -> float:
        return self.runner_cpu_seconds / self.seconds if self.seconds else 0.0

    @property
    def chromium_share(self) -> float:
        return self.chromium_cpu_seconds / self.seconds if self.seconds else 0.0


def _lags(stats_path: Path) -> list[float]:
    if not stats_path.exists():
        return []
    lines = [json.loads(raw) for raw in stats_path.read_text().splitlines() if raw.strip()]
    return [float(lag) for line in lines for lag in line.get("lags", [])]


def _chromium_cpu(root: int, seen: dict[int, float]) -> None:
    """The latest CPU seconds of every Chromium process below ``root`` (they come and go: keep the last)."""
    for pid in chromium_pids(root):
        try:
            seen[pid] = cpu_seconds(pid)
        except OSError:
            continue


def _measure(
    sandbox: SandboxHandle, work: Path, setting: Setting, intervals: dict[str, float], seconds: float
) -> Condition:
    """One serve process against ``sandbox`` for ``seconds`` after its schedule is armed."""
    work.mkdir(parents=True, exist_ok=True)
    stats, final, slow, log_path = (work / f for f in ("stats.jsonl", "final.txt", "slow.jsonl", "runner.log"))
    command = RAISED_PRIORITY + python_module(
        "bench.serve_instrumented",
        "--stats",
        str(stats),
        "--stats-interval",
        "1",
        "--final-metrics",
        str(final),
        "--slow-callbacks",
        str(slow),
        *(["--as-before"] if setting.before else []),
    )
    overrides = {n: {"interval_seconds": s} for n, s in intervals.items()} if setting.loaded else {}
    start_offset = LOAD_START_OFFSET_SECONDS if setting.loaded else IDLE_START_OFFSET_SECONDS
    config, settings = load(
        work, sandbox, overrides=overrides, runner={"shutdown_grace_seconds": SHUTDOWN_GRACE_SECONDS}
    )
    planned = {p.name: p.interval_seconds for p in plans_for(settings, sorted(discover()))}
    with running_serve(config, log_path, command=command, max_start_offset=start_offset) as runner:
        armed_at, load_before = time.time(), os.getloadavg()[0]
        niceness = os.getpriority(os.PRIO_PROCESS, runner.pid)
        cpu_start = cpu_seconds(runner.pid)
        chromium: dict[int, float] = {}
        next_scrape = armed_at
        with httpx.Client(trust_env=False, headers={"Accept": PROMETHEUS_ACCEPT}) as client:
            while time.time() < armed_at + seconds:
                if time.time() >= next_scrape:  # as Prometheus does: the exposition is work on the loop too
                    client.get(runner.url, timeout=10).raise_for_status()
                    next_scrape += SCRAPE_SECONDS
                time.sleep(1.0)
                _chromium_cpu(runner.pid, chromium)
        runner_cpu = cpu_seconds(runner.pid) - cpu_start
        elapsed, load_after = time.time() - armed_at, os.getloadavg()[0]
        stop(runner, timeout=120)
    lines = read_run_lines(log_path)
    found = schedules(lines, planned, armed_at)
    return Condition(
        setting.name,
        elapsed,
        load_before,
        load_after,
        runner_cpu,
        sum(chromium.values()),
        _lags(stats),
        [x for s in found for x in s.lateness],
        by_cause(found),
        len(lines),
        slot_waits(found),
        slot_waits(found, "browser_slot"),
        niceness,
        read_slow_callbacks(slow),
    )


def run(options: BenchOptions) -> Section:
    seconds = QUICK_SECONDS if options.quick else FULL_SECONDS
    found = discover()
    names = sorted(found)
    loaded = soak_intervals(names, {n: found[n].tags for n in names})
    work = options.work_dir / NAME
    with sandbox_for_bench(work) as sandbox:
        conditions = [
            _measure(sandbox, work / re.sub(r"\W+", "-", setting.name), setting, loaded, seconds)
            for setting in (QUICK_SETTINGS if options.quick else SETTINGS)
        ]
    return _section(conditions, seconds)


def _ms(values: list[float], p: float | None = None) -> str:
    if not values:
        return "-"
    value = max(values) if p is None else percentile(values, p)
    return f"{value * 1000:.1f}"


def _figures_table(conditions: list[Condition]) -> str:
    return table(
        (
            "condition",
            "runs logged",
            "lag p50 (ms)",
            "lag p99 (ms)",
            "lag max (ms)",
            "load avg (start, end)",
            "runner nice",
            "runner CPU (% of a core)",
            "its Chromium (% of a core)",
        ),
        [
            (
                c.name,
                c.runs,
                f"{median(c.lags) * 1000:.1f}" if c.lags else "-",
                _ms(c.lags, 99),
                _ms(c.lags),
                f"{c.load_before:.2f}, {c.load_after:.2f}",
                c.niceness,
                f"{c.runner_share * 100:.0f}",
                f"{c.chromium_share * 100:.0f}",
            )
            for c in conditions
        ],
    )


def _free_slot_drift(c: Condition) -> list[float]:
    """The drift of the runs that found a slot free: what the runner adds when it is not saturated."""
    waits = zip(c.drift_by_cause["run_slot"], c.drift_by_cause["browser_slot"], strict=True)
    return [d for d, slots in zip(c.drift, waits, strict=True) if max(slots) < SLOT_WAIT_SECONDS]


def _named(waits: dict[str, int]) -> str:
    total = sum(waits.values())
    return f"{total} ({', '.join(f'{n} {k}' for k, n in sorted(waits.items()))})" if total else "0"


def _drift_table(conditions: list[Condition]) -> str:
    def p50_p99(values: list[float]) -> str:
        return f"{median(values) * 1000:.0f} / {percentile(values, 99) * 1000:.0f}" if values else "-"

    rows = []
    for c in conditions:
        parts = c.drift_by_cause
        rows.append(
            (
                c.name,
                len(c.drift),
                p50_p99(c.drift),
                _ms(c.drift),
                p50_p99(parts["scheduler"]),
                p50_p99(parts["browser_slot"]),
                p50_p99(parts["run_slot"]),
                p50_p99(parts["setup"]),
                _named(c.slot_waits),
                _named(c.browser_waits),
                p50_p99(_free_slot_drift(c)),
            )
        )
    return table(
        (
            "condition",
            "runs started",
            "drift p50 / p99 (ms)",
            "drift max (ms)",
            "of it: scheduler p50 / p99 (ms)",
            "browser slot p50 / p99 (ms)",
            "run slot p50 / p99 (ms)",
            "setup p50 / p99 (ms)",
            "runs that waited for a run slot",
            "for a browser",
            "drift of the others p50 / p99 (ms)",
        ),
        rows,
    )


def _sources_table(conditions: list[Condition]) -> str:
    by_condition = [shares(c.slow) for c in conditions]
    totals = [sum(s.values()) for s in by_condition]
    sources = sorted({k for s in by_condition for k in s}, key=lambda k: -sum(s.get(k, 0.0) for s in by_condition))
    rows = []
    for source in sources:
        cells: list[str] = [source]
        for found, total in zip(by_condition, totals, strict=True):
            value = found.get(source, 0.0)
            cells.append(f"{value * 1000:.0f} ms ({value / total * 100:.0f} %)" if total and value else "-")
        rows.append(cells)
    rows.append(
        [
            "all callbacks of 2 ms or more",
            *(
                f"{t * 1000:.0f} ms in {len(c.slow)} callbacks, {t / c.seconds * 100:.1f} % of the time"
                for t, c in zip(totals, conditions, strict=True)
            ),
        ]
    )
    return table(("source of the lag", *(c.name for c in conditions)), rows)


def _main_source(callback: dict[str, Any]) -> str:
    found = {k: v for k, v in shares([callback]).items() if k != OFF_CPU}
    return max(found, key=lambda k: found[k]) if found else OFF_CPU


def _on_cpu_table(conditions: list[Condition]) -> str:
    """What the runner's own work holds the loop for: the slow callbacks' CPU time, without the waits."""
    rows = []
    for c in conditions:
        cpu = [float(cb.get("cpu_seconds", cb["seconds"])) for cb in c.slow]
        heavy = [x for x in cpu if x >= IDLE_LAG_GOAL_SECONDS]
        worst = sorted(c.slow, key=lambda cb: -float(cb.get("cpu_seconds", cb["seconds"])))[:3]
        rows.append(
            (
                c.name,
                len(c.slow),
                f"{sum(float(cb['seconds']) for cb in c.slow) * 1000:.0f}",
                f"{sum(cpu) * 1000:.0f}",
                len(heavy),
                "; ".join(f"{float(cb['cpu_seconds']) * 1000:.0f} ms {_main_source(cb)}" for cb in worst) or "-",
            )
        )
    return table(
        (
            "condition",
            "callbacks of 2 ms or more",
            "their wall time (ms)",
            "of it on CPU (ms)",
            f"with {IDLE_LAG_GOAL_SECONDS * 1000:g} ms of CPU or more",
            "most CPU in one callback",
        ),
        rows,
    )


def _drift_goal_detail(c: Condition) -> str:
    """All started runs, and beside them those that found their slots free, with the waits counted."""
    free = _free_slot_drift(c)
    others = f"{percentile(free, 99) * 1000:.0f} ms" if free else "-"
    waited = len(c.drift) - len(free)
    return (
        f"{c.name} {percentile(c.drift, 99) * 1000:.0f} ms over {len(c.drift)} runs; {others} over the {len(free)} "
        f"that found their slots free ({waited} waited: {sum(c.browser_waits.values())} for a browser, "
        f"{sum(c.slot_waits.values())} for a run slot)"
    )


def _section(conditions: list[Condition], seconds: float) -> Section:
    idle = next((c for c in conditions if c.name == SETTINGS[1].name), None)
    now = [c for c in conditions if not c.name.endswith("before") and c.drift]
    goals = [
        Goal(
            "event-loop lag p99 under 5 ms idle",
            idle is not None and bool(idle.lags) and percentile(idle.lags, 99) < IDLE_LAG_GOAL_SECONDS,
            f"p99 {_ms(idle.lags, 99)} ms at shipped intervals" if idle else "not run",
        ),
        Goal(
            "scheduler drift p99 under 100 ms",
            bool(now) and all(percentile(c.drift, 99) < DRIFT_GOAL_SECONDS for c in now),
            "; ".join(_drift_goal_detail(c) for c in now) or "no scenario started twice in the window",
        ),
    ]
    notes = [
        f"Each condition: one `runner.py serve` (with `bench.serve_instrumented`) against its own sandbox for "
        f"{seconds:g} s after the schedule is armed. Idle: the shipped intervals (15 s to 600 s) with the runner's "
        f"default {IDLE_START_OFFSET_SECONDS:g} s start spread, so every browser journey runs once or twice; soak's "
        "load: `bench.soak.soak_intervals` (1 s quick API, 15 s slow API, 20 s browser), "
        f"{LOAD_START_OFFSET_SECONDS:g} s start spread (first runs within 20 s; the shipped default, 60 s, "
        "spreads each of these intervals whole). "
        "'Before' runs the same code with `--as-before` (`bench.serve_instrumented.as_before`): httpcore's "
        "`import sniffio` failing after a search of sys.path on every lock and event it makes, the shared HTTP "
        "client and its TLS context built by the first run, start-up's objects walked by every full garbage "
        "collection (no `gc.freeze`), `/metrics` encoded on the loop, a browser journey queued for its browser "
        "inside its run (holding a run slot meanwhile) rather than before it, first runs at random offsets rather than "
        "an equal step apart per interval (`harness.start_spread`).",
        "Lag: how late a 50 ms sleep in the runner's loop woke, over the whole window. Drift: a run's start minus "
        "its planned time, as the runner measures it (APScheduler's planned run time, logged on `run finished` as "
        "`planned_at` and `start_delay_seconds`, read by `bench.drift`), split by cause: the scheduler (APScheduler's "
        "wake-up and the loop until the job began), a browser journey's wait for one of "
        "`runner.browser.max_concurrent_runs` browsers, the wait for one of `runner.max_concurrent_runs` run slots, "
        f"and setup (building the run before its clock starts). A run that waited {SLOT_WAIT_SECONDS * 1000:g} ms "
        "or more for a slot (every one taken) is counted, by scenario; the last column is the drift of the runs "
        "that found their slots free.",
        "Sources: every callback that held the loop for 2 ms or more, timed around `Handle._run`; a thread samples "
        "the loop thread's stack every millisecond while one runs (switch interval lowered to 1 ms so it gets the "
        "GIL) and the innermost known frame names the source (`bench.loop_sources.SOURCES`); a callback's time is "
        "split evenly over its samples. 'Unsampled' is a callback the sampler did not catch in time.",
        "Off CPU: the part of a slow callback's wall time its thread did not run (`time.thread_time`): "
        "preempted by other processes, or waiting for the GIL held by one of the runner's own threads (the "
        "history writer, `asyncio.to_thread` work, the sampler). The runner runs at nice -10 (`RAISED_PRIORITY`) "
        "so that the other work on a shared machine counts less; at the default priority, on this 2-core machine "
        "shared by several people's tests (whose Chromium browsers raise themselves to nice -8), waiting for a "
        "core was most of every slow callback. The second table keeps only CPU time: the loop held by the "
        "runner's own work, which a quiet machine would still see.",
        "Runner CPU is the runner process's own user+system time over the window; its Chromium processes are "
        "counted apart (the last reading of each). The machine has 2 cores: 100 % is one of them.",
        f"`/metrics` is scraped every {SCRAPE_SECONDS:g} s as Prometheus does (OpenMetrics, with exemplars).",
    ]
    body = "\n\n".join(
        [
            _figures_table(conditions),
            _drift_table(conditions),
            _sources_table(conditions),
            _on_cpu_table(conditions),
            "\n".join(f"- {n}" for n in notes),
        ]
    )
    data = {
        c.name: {
            "lag": summary(c.lags) if c.lags else {},
            "drift": summary(c.drift) if c.drift else {},
            "drift_by_cause": {k: summary(v) for k, v in c.drift_by_cause.items() if v},
            "slot_waits": c.slot_waits,
            "browser_waits": c.browser_waits,
            "sources_seconds": shares(c.slow),
            "runner_cpu_share": c.runner_share,
            "chromium_cpu_share": c.chromium_share,
            "load": [c.load_before, c.load_after],
        }
        for c in conditions
    }
    return Section(NAME, TITLE, ".venv/bin/python -m bench --only loop", body, goals, data=data)
