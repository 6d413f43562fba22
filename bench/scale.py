"""Issue item 5: how many API scenario runs per minute one runner sustains on this machine.

The six quick API scenarios (no browser, no slow payment journeys) run in serve mode at
equal intervals chosen for a target rate, one level after another, each level a fresh
runner against the same sandbox. Per level: runs started per minute, the mean of every step's
measured duration (``synthetic_step_duration_seconds``, deltas over the window) against the
idle baseline, a direct outside probe of the sandbox (so that a slow sandbox is not taken for a
slow runner), and the CPU the runner and the sandbox used. The sustained rate is the highest
level whose median step latency stays within 10% of the baseline.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from dataclasses import dataclass, field

import httpx

from bench.processes import python_module
from bench.procfs import cpu_seconds
from bench.report import BenchOptions, Goal, Section, table
from bench.sandbox_runtime import load, sandbox_for_bench
from bench.serve import Samples, running_serve, scrape
from bench.stats import median, percentile
from harness.discovery import discover
from sandbox.testing import SandboxHandle

__all__ = ["NAME", "run"]

NAME = "scale"
TITLE = "5. Scale: API runs per minute one runner sustains"
SCENARIOS = ("bet_settlement", "chat", "level_up", "rates_freshness", "rewards", "uptime")
OUTSIDE_ACCOUNT = "player-01"  # a customer account no scenario uses: only its balance is read
READ_ONLY = frozenset({"chat", "rates_freshness", "uptime"})  # the rest move money: bets, ledger writes
MIRRORS = {"sandbox-us": "us"}  # the same sandbox again, with the us accounts: every scenario runs twice at once
INSTANCES = len(SCENARIOS) * (1 + len(MIRRORS))
FULL_LEVELS = (60, 480, 960, 1920, 3840, 7680)  # target runs per minute over all instances; the first is idle
QUICK_LEVELS = (60, 240)
WINDOW = 30.0
BASELINE_WINDOW = 45.0  # the idle level runs few steps: a longer window gives each step enough samples
DRIFT_LIMIT = 1.10
MIN_STEP_COUNT = 3


@dataclass
class Level:
    target_per_minute: int
    interval: float
    started_per_minute: float = 0.0
    skipped_per_minute: float = 0.0
    failed: int = 0
    step_means: dict[tuple[str, str], float] = field(default_factory=dict)
    outside_ms: float = 0.0
    outside_ledger_ms: float = 0.0
    runner_cpu: float = 0.0  # share of one core
    sandbox_cpu: float = 0.0
    series: int = 0
    drift: float = 1.0  # median over steps of mean / baseline mean
    read_only_drift: float = 1.0
    money_drift: float = 1.0
    worst_step: str = ""
    worst_ratio: float = 1.0
    loop_lag_p99: float = 0.0  # seconds: how late the runner's loop woke, in the window
    load_average: float = 0.0  # the machine's 1-minute load average at the end of the window


def _step_totals(samples: Samples) -> dict[tuple[str, str], tuple[float, float]]:
    """(scenario, step) -> (sum of durations, count), over every target."""
    totals: dict[tuple[str, str], tuple[float, float]] = {}
    for suffix, index in (("_sum", 0), ("_count", 1)):
        for labels, value in samples.select("synthetic_step_duration_seconds" + suffix):
            key = (labels["scenario"], labels["step"])
            pair = list(totals.get(key, (0.0, 0.0)))
            pair[index] += value
            totals[key] = (pair[0], pair[1])
    return totals


def _runs(samples: Samples) -> tuple[float, float, float]:
    total = samples.total("synthetic_scenario_runs_total")
    skipped = samples.total("synthetic_scenario_runs_total", result="skipped")
    failed = samples.total("synthetic_scenario_runs_total", result="failure") + samples.total(
        "synthetic_scenario_runs_total", result="timeout"
    )
    return total - skipped, skipped, failed


class OutsideProbe:
    """From this process, five times a second: Vault's ``/v1/rates`` (no ledger) and a balance read
    of a player account (through the ledger's transaction), each timed."""

    def __init__(self, vault_url: str, token: str) -> None:
        self.vault_url = vault_url
        self.token = token
        self.timings: dict[str, list[float]] = {"rates": [], "balance": []}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        requests = {
            "rates": (self.vault_url + "/v1/rates", {}),
            "balance": (self.vault_url + "/v1/balance", {"Authorization": f"Bearer {self.token}"}),
        }
        with httpx.Client(trust_env=False) as client:
            while not self.stopping.is_set():
                for name, (url, headers) in requests.items():
                    started = time.perf_counter()
                    try:
                        client.get(url, headers=headers, timeout=5).raise_for_status()
                        self.timings[name].append(time.perf_counter() - started)
                    except httpx.HTTPError:
                        pass
                self.stopping.wait(0.2)

    def __enter__(self) -> OutsideProbe:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join()


def _measure(options: BenchOptions, sandbox: SandboxHandle, level: Level, baseline: bool) -> None:
    work = options.work_dir / NAME / f"level-{level.target_per_minute}"
    warmup, window = (3.0, 8.0) if options.quick else (6.0, BASELINE_WINDOW if baseline else WINDOW)
    overrides = {name: {"interval_seconds": level.interval} for name in SCENARIOS}
    concurrency = {"max_concurrent_runs": INSTANCES}  # the default (8) would cap the rate before the runner does
    config, _ = load(work, sandbox, overrides=overrides, only=SCENARIOS, mirrors=MIRRORS, runner=concurrency)
    stats = work / "stats.jsonl"
    command = python_module("bench.serve_instrumented", "--stats", str(stats), "--final-metrics", str(work / "final"))
    with (
        running_serve(config, work / "runner.log", command=command) as runner,
        httpx.Client(trust_env=False) as client,
    ):
        time.sleep(warmup)
        before = scrape(client, runner.url)
        window_start = time.time()
        cpu_runner, cpu_sandbox, started = cpu_seconds(runner.pid), cpu_seconds(sandbox.pid), time.perf_counter()
        with OutsideProbe(sandbox.vault_url, sandbox.login(OUTSIDE_ACCOUNT)) as outside:
            time.sleep(window)
        after = scrape(client, runner.url)
        elapsed = time.perf_counter() - started
        level.load_average = os.getloadavg()[0]
        level.runner_cpu = (cpu_seconds(runner.pid) - cpu_runner) / elapsed
        level.sandbox_cpu = (cpu_seconds(sandbox.pid) - cpu_sandbox) / elapsed
    runs_before, skipped_before, failed_before = _runs(before)
    runs_after, skipped_after, failed_after = _runs(after)
    level.started_per_minute = (runs_after - runs_before) * 60 / elapsed
    level.skipped_per_minute = (skipped_after - skipped_before) * 60 / elapsed
    level.failed = int(failed_after - failed_before)
    level.outside_ms = median(outside.timings["rates"]) * 1000
    level.outside_ledger_ms = median(outside.timings["balance"]) * 1000
    lags = [
        float(lag)
        for line in stats.read_text().splitlines()
        if line.strip() and json.loads(line)["t"] > window_start + 2  # a line covers the 2 s before it
        for lag in json.loads(line)["lags"]
    ]
    level.loop_lag_p99 = percentile(lags, 99) if lags else 0.0
    level.series = after.series
    first, last = _step_totals(before), _step_totals(after)
    for key, (total, count) in last.items():
        total0, count0 = first.get(key, (0.0, 0.0))
        if count - count0 >= MIN_STEP_COUNT:
            level.step_means[key] = (total - total0) / (count - count0)


def _compare(baseline: Level, level: Level) -> None:
    ratios = {
        key: mean / baseline.step_means[key]
        for key, mean in level.step_means.items()
        if key in baseline.step_means and baseline.step_means[key] > 0
    }
    if not ratios:
        return
    level.drift = median(list(ratios.values()))
    level.read_only_drift = median([r for (scenario, _), r in ratios.items() if scenario in READ_ONLY])
    level.money_drift = median([r for (scenario, _), r in ratios.items() if scenario not in READ_ONLY])
    worst = max(ratios, key=lambda key: ratios[key])
    level.worst_step, level.worst_ratio = f"{worst[0]} / {worst[1]}", ratios[worst]


def run(options: BenchOptions) -> Section:
    targets = QUICK_LEVELS if options.quick else FULL_LEVELS
    levels = [Level(t, round(INSTANCES * 60 / t, 3)) for t in targets]
    work = options.work_dir / NAME
    started = time.time()
    with sandbox_for_bench(work) as sandbox:
        for level in levels:
            _measure(options, sandbox, level, baseline=level is levels[0])
            _compare(levels[0], level)
    return _section(levels, time.time() - started)


def _outside_keeps_pace(idle: Level, level: Level) -> bool:
    """The sandbox answers a plain read from outside as fast as at idle (within 10 %, or half a millisecond)."""
    return all(
        now <= before * DRIFT_LIMIT + 0.5
        for before, now in ((idle.outside_ms, level.outside_ms), (idle.outside_ledger_ms, level.outside_ledger_ms))
    )


def _idle_read_ms(idle: Level) -> float:
    """The median of the read-only steps' mean durations at idle, in ms (steps that wait on the network)."""
    means = [m for (scenario, _), m in idle.step_means.items() if scenario in READ_ONLY and m > 0.001]
    return median(means) * 1000 if means else 0.0


def _commentary(levels: list[Level], best: Level) -> list[str]:
    """Where the drift comes from, read from this run's figures."""
    over = [lv for lv in levels if lv.drift > DRIFT_LIMIT]
    if not over:
        top = max(levels, key=lambda lv: lv.started_per_minute)
        return [
            f"No level drifted past {DRIFT_LIMIT:.2f}x: the runner sustains at least {top.started_per_minute:.0f} "
            f"runs/min, the most these {INSTANCES} schedules could start (a scenario never overlaps itself, so "
            "shorter intervals only add skips)."
        ]
    idle, first = levels[0], over[0]
    notes = [
        f"Past {best.started_per_minute:.0f} runs/min, at {first.started_per_minute:.0f}, steps take "
        f"{first.drift:.2f}x their idle time: read-only steps {first.read_only_drift:.2f}x, money-moving steps "
        f"{first.money_drift:.2f}x; the runner used {first.runner_cpu * 100:.0f}% of a core and its loop lag p99 "
        f"went from {idle.loop_lag_p99 * 1000:.0f} ms (idle) to {first.loop_lag_p99 * 1000:.0f} ms (loop lag "
        "also counts waiting for a core while other processes run: see the load average)."
    ]
    outside = (
        f"a read from outside took {idle.outside_ms:.1f} then {first.outside_ms:.1f} ms (rates) and "
        f"{idle.outside_ledger_ms:.1f} then {first.outside_ledger_ms:.1f} ms (balance)"
    )
    if first.read_only_drift <= DRIFT_LIMIT < first.money_drift and first.runner_cpu < 0.7:
        notes.append(
            "So the drift is in what the money-moving steps wait for on the target (bets, the pushes that follow "
            f"them, socket connects), not in the runner: read-only steps keep their pace, {outside}, and the "
            "runner has CPU to spare. Against a platform whose money path keeps up, one runner goes further than "
            "this figure; the figure is what this sandbox on this machine allows."
        )
    elif _outside_keeps_pace(idle, first):
        notes.append(
            f"Read-only steps slow down with the money-moving ones while {outside}: the sandbox keeps its pace, "
            "and the added time is the runner's, waiting for its own loop (see the lag) or for a core it shares "
            f"with the sandbox ({first.sandbox_cpu * 100:.0f}% of a core). Read-only steps take "
            f"{_idle_read_ms(idle):.0f} ms at idle (median over their steps), so tens of milliseconds of loop lag "
            "are a large share of them. Until the sandbox set `TCP_NODELAY`, every request that followed another "
            'on a kept-alive connection waited ~42 ms for a delayed ACK, which hid that share; "read-only steps '
            "keep their pace\" rested on that delay. The figure is therefore the runner's own: its loop lag, not "
            "the target, sets it."
        )
    else:
        notes.append(
            f"Read-only and money-moving steps both slow down, and so does the sandbox ({outside}): the runner (at "
            f"{first.runner_cpu * 100:.0f}% of a core) and the sandbox (at {first.sandbox_cpu * 100:.0f}%) share the "
            "two cores. The figure is the limit of this 2-core machine running both; a runner with its cores to "
            "itself goes further."
        )
    return notes


def _default_runs_per_minute() -> float:
    """Runs per minute of one runner probing one target with every scenario at its default interval."""
    return sum(60 / scenario.interval_seconds for scenario in discover().values())


def _section(levels: list[Level], elapsed: float) -> Section:
    rows = []
    for level in levels:
        rows.append(
            (
                level.target_per_minute,
                f"{level.interval:g}",
                f"{level.started_per_minute:.0f}",
                f"{level.skipped_per_minute:.0f}",
                level.failed,
                f"{level.drift:.2f}x",
                f"{level.read_only_drift:.2f}x",
                f"{level.money_drift:.2f}x",
                f"{level.worst_step} {level.worst_ratio:.2f}x" if level.worst_step else "-",
                f"{level.loop_lag_p99 * 1000:.0f}",
                f"{level.outside_ms:.1f}",
                f"{level.outside_ledger_ms:.1f}",
                f"{level.runner_cpu * 100:.0f}%",
                f"{level.sandbox_cpu * 100:.0f}%",
                f"{level.load_average:.1f}",
            )
        )
    figures = table(
        (
            "target runs/min",
            "interval (s)",
            "runs started/min",
            "skipped/min",
            "failed",
            "step latency vs idle (median)",
            "read-only steps",
            "money steps",
            "worst step",
            "runner loop lag p99 (ms)",
            "outside: rates (ms)",
            "outside: balance read (ms)",
            "runner CPU",
            "sandbox CPU",
            "load average",
        ),
        rows,
    )
    within = list(itertools.takewhile(lambda lv: lv.drift <= DRIFT_LIMIT and lv.failed == 0, levels))
    best = max(within, key=lambda lv: lv.started_per_minute) if within else levels[0]  # before the first drift
    top = max(levels, key=lambda lv: lv.started_per_minute)
    default_rate = _default_runs_per_minute()
    series = levels[-1].series // (1 + len(MIRRORS))  # per target
    goals = [
        Goal(
            "sustained rate found (median step latency within 10% of idle)",
            bool(within),
            f"{best.started_per_minute:.0f} runs/min at {best.runner_cpu * 100:.0f}% of a core for the runner",
        )
    ]
    fleet = (
        f"**Several regions.** One runner per region probes every target from there with its own synthetic "
        f"accounts; runners share nothing, so the fleet scales by adding containers, one per region, each "
        f"carrying its own load. At the shipped default intervals one runner starts {default_rate:.1f} runs "
        f"per minute per target (all {len(discover())} scenarios, browser ones included), against the "
        f"{best.started_per_minute:.0f} API runs per minute measured here before step latencies drift past "
        f"{DRIFT_LIMIT:.2f}x ({best.started_per_minute / default_rate:.0f} times that rate; the runner started up to "
        f"{top.started_per_minute:.0f} a minute, its steps then {top.drift:.2f}x their idle time): the headroom "
        f"is in the runner, and what grows with regions is the platform's synthetic traffic (regions x "
        f"{default_rate:.1f} runs per minute per target) and Prometheus' series (about {series} series per "
        f"runner and target as scraped here, so N regions x T targets x that). Browser runs, not API runs, bound "
        f"a runner: each holds one of `runner.browser.max_concurrent_runs` slots for seconds and a share of one "
        f"Chromium (item 2), so a region with many browser journeys needs a bigger container, not more regions."
    )
    notes = [
        f"Scenarios: {', '.join(SCENARIOS)}, each against two targets that are the same sandbox (the second with "
        f"the us region's accounts, so no two runs share an account): {INSTANCES} schedules, all at the same "
        "interval per level, `runner.max_concurrent_runs` raised to match; each level a fresh `runner.py serve`, "
        "measured over a window after a warm-up; the sandbox, the runner and the outside probe share the machine's "
        "cores.",
        "A scenario never overlaps itself: past its own run time, shorter intervals turn into skips, not runs.",
        "Load average: the machine's, at the end of each window. Anything else running on the 2 cores (a test "
        "suite, a browser) slows the steps as much as the load itself does: compare levels only where it stays "
        "low, and rerun on a quiet machine when it does not.",
        "Step latency: every step's mean duration in the window over its mean at the first (idle) level; the median "
        "over steps is the drift figure. Read-only steps are those of chat, rates_freshness and uptime; the others "
        "move money. Loop lag: how late a 50 ms sleep woke in the runner (``bench.serve_instrumented``). Outside: "
        f"this process reading the sandbox directly (`/v1/rates`, and `{OUTSIDE_ACCOUNT}`'s balance).",
    ]
    notes += _commentary(levels, best)
    body = "\n\n".join([figures, "\n".join(f"- {n}" for n in notes), fleet])
    data = {
        "levels": [
            {k: v for k, v in vars(level).items() if k != "step_means"}
            | {"step_means": {f"{s}/{t}": m for (s, t), m in level.step_means.items()}}
            for level in levels
        ]
    }
    return Section(NAME, TITLE, ".venv/bin/python -m bench --only scale", body, goals, data=data, seconds=elapsed)
