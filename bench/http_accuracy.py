"""Issue 17, goal 1 and item 2: our HTTP probe against blackbox_exporter on a loopback target of
known delay, alone and inside serve mode beside browser journeys; CPU per probe with phases exported.

Alone, on a 2-core machine: the tool being measured (blackbox_exporter with ``GOMAXPROCS=1``,
or our probe loop in ``bench.http_worker``) is pinned alone to core 0; the delay server, the
driver of blackbox's ``/probe`` and this process share core 1. Each tool probes the same
target one after the other, never at once.

Under browser load: ``runner.py serve`` (``bench.http_serve``, with its Chromium) is pinned to
core 0 and runs every browser journey back to back beside ``bench_http_delay``, a scenario that
times the delay server through a scenario's client and records each measured time. Once it has
its probes, blackbox_exporter (also on core 0) probes the same delays while the journeys go on.

Error is measured duration minus the injected delay: blackbox's ``probe_duration_seconds``
(and the sum of its ``probe_http_duration_seconds`` phases), ours what the probe reports
(``phases["total"]``, ``Answer.seconds``). CPU per probe is blackbox's /proc utime+stime delta
(its ``/probe`` serving included: that is what running it costs) and our ``time.process_time``
delta in the worker.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.blackbox import parse_probe, probe_url, running_blackbox
from bench.http_serve import NAME as DELAY_SCENARIO
from bench.http_worker import BEFORE_SOCKETS, VARIANTS
from bench.load import hammer, run_fast
from bench.processes import Child, python_module, running
from bench.procfs import ALL_CPUS, cpu_seconds, pin
from bench.report import BenchOptions, Goal, Section, ms, table
from bench.runner_config import write_config
from bench.sandbox_runtime import sandbox_for_bench
from bench.serve import read_run_lines, running_serve, scrape
from bench.stats import median, percentile
from harness.discovery import discover

__all__ = ["NAME", "ServeCost", "main", "run", "under_load"]

NAME = "http"
TITLE = "1. HTTP probe: accuracy and cost against blackbox_exporter"
# 1000 ms is left out: 200 probes of it take 200 s per tool and condition, and the 200 ms row
# already shows what a long wait does to both tools.
DELAYS_MS = (0, 50, 200)
FULL_PROBES = 200
QUICK_PROBES = 3
WARMUP = 3
BROWSER_INTERVAL_SECONDS = 1.0  # shorter than any journey takes: each runs again as soon as it ends
DELAY_SCENARIO_INTERVAL_SECONDS = 0.5
LOAD_TIME_CAP_SECONDS = 300.0
SHUTDOWN_GRACE_SECONDS = 1.0  # the journeys still going when the figures are in are cut short
MEDIAN_GOAL_SECONDS = 0.0005
P99_GOAL_SECONDS = 0.002
CPU_GOAL_RATIO = 2.0
THREAD_COST_PROBES = 100
ALONE, LOADED = "alone", "under browser load"
LOOP_LAG_METRIC = "synthetic_runner_event_loop_lag_seconds"
TOOLS = {
    "blackbox": "blackbox_exporter (`probe_duration_seconds`)",
    "blackbox_http": "blackbox_exporter (sum of `probe_http_duration_seconds`)",
    "exchange": "ours: `exchange()` on a shared client, keep-alive off",
    "scenario": "ours: a scenario's `ServiceClient`, phases exported",
    BEFORE_SOCKETS: "ours before `probes.sockets`: `exchange()` keep-alive off on httpcore's default network layer",
}


@dataclass
class Measured:
    errors: dict[int, list[float]] = field(default_factory=dict)  # delay ms -> measured - delay (s)
    cpu_per_probe: dict[int, float] = field(default_factory=dict)
    failures: int = 0
    connect: list[float] = field(default_factory=list)  # blackbox's connect phase (s)


@dataclass
class Saturation:
    probes: int
    wall_seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.probes / self.wall_seconds

    @property
    def core_busy(self) -> float:
        return self.cpu_seconds / self.wall_seconds

    @property
    def cpu_per_probe(self) -> float:
        return self.cpu_seconds / max(self.probes, 1)


def _cores() -> tuple[int | None, int | None]:
    """(tool core, helper core), or (None, None) on a one-core machine (no pinning)."""
    cpus = sorted(ALL_CPUS)
    return (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)


def _record_blackbox(measured: dict[str, Measured], client: httpx.Client, bb_url: str, target: str, delay: int) -> None:
    answer = parse_probe(client.get(probe_url(bb_url, target), timeout=30).text)
    measured["blackbox"].connect.append(answer.phases.get("connect", 0.0))
    for tool, value in (("blackbox", answer.duration_seconds), ("blackbox_http", answer.http_seconds)):
        measured[tool].errors.setdefault(delay, []).append(value - delay / 1000)
        measured[tool].failures += not answer.success


@dataclass(frozen=True)
class WorkerResult:
    """What ``bench.http_worker`` printed."""

    cpu_seconds: float
    wall_seconds: float
    failures: int
    durations: tuple[float, ...] = ()  # sequential mode
    probes: int = 0  # saturate mode
    rss_kib_added: int = 0  # thread mode


def _worker(args: list[str], tool_core: int | None) -> WorkerResult:
    command = python_module("bench.http_worker", *args)
    if tool_core is not None:
        command += ["--cpu", str(tool_core)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"bench.http_worker failed ({done.returncode}): {done.stderr[-2000:]}")
    raw = json.loads(done.stdout.strip().splitlines()[-1])
    return WorkerResult(
        cpu_seconds=float(raw["cpu_seconds"]),
        wall_seconds=float(raw["wall_seconds"]),
        failures=int(raw["failures"]),
        durations=tuple(float(d) for d in raw.get("durations", ())),
        probes=int(raw.get("probes", 0)),
        rss_kib_added=int(raw.get("rss_kib_added", 0)),
    )


def _alone(
    count: int, work: Path, tool_core: int | None, helper: set[int] | None, variants: Sequence[str] = VARIANTS
) -> dict[str, Measured]:
    """Each tool in turn, sequential probes at every delay: errors and CPU per probe."""
    measured = {tool: Measured() for tool in ("blackbox", "blackbox_http", *variants)}
    server_command = python_module("bench.delay_server")
    with (
        running(server_command, work / "delay.log", ready=r"listening (\S+)", cpus=helper) as server,
        running_blackbox(work, tool_core) as blackbox,
        httpx.Client(trust_env=False) as client,
    ):
        for delay in DELAYS_MS:
            target = f"{server.url}/delay/{delay}"
            for _ in range(WARMUP):
                client.get(probe_url(blackbox.url, target))
            before = cpu_seconds(blackbox.pid)
            for _ in range(count):
                _record_blackbox(measured, client, blackbox.url, target, delay)
            bb_cpu = (cpu_seconds(blackbox.pid) - before) / count
            measured["blackbox"].cpu_per_probe[delay] = measured["blackbox_http"].cpu_per_probe[delay] = bb_cpu
            for variant in variants:
                out = _worker(["sequential", "--url", target, "--count", str(count), "--variant", variant], tool_core)
                measured[variant].errors[delay] = [d - delay / 1000 for d in out.durations]
                measured[variant].cpu_per_probe[delay] = out.cpu_seconds / count
                measured[variant].failures += out.failures
    return measured


def _saturation(
    seconds: float, concurrency: int, work: Path, tool_core: int | None, helper: set[int] | None
) -> tuple[dict[str, Saturation], int]:
    """Each tool alone on its core with ``concurrency`` probes in flight against a 0 ms target; then
    the RSS (KiB) the timing thread adds."""
    saturation: dict[str, Saturation] = {}
    server_command = python_module("bench.delay_server", "--uvloop")
    with (
        running(server_command, work / "delay-fast.log", ready=r"listening (\S+)", cpus=helper) as server,
        running_blackbox(work, tool_core) as blackbox,
    ):
        target = f"{server.url}/delay/0"
        url = probe_url(blackbox.url, target)
        run_fast(hammer(url, 0.5, concurrency, b"probe_success 1"))  # warm up
        before = cpu_seconds(blackbox.pid)
        load = run_fast(hammer(url, seconds, concurrency, b"probe_success 1"))
        saturation["blackbox"] = Saturation(load.requests, load.wall_seconds, cpu_seconds(blackbox.pid) - before)
        for variant in VARIANTS:
            args = ["saturate", "--url", target, "--seconds", str(seconds), "--concurrency", str(concurrency)]
            out = _worker([*args, "--variant", variant], tool_core)
            saturation[variant] = Saturation(out.probes, out.wall_seconds, out.cpu_seconds)
        thread = _worker(["thread", "--url", target, "--count", str(THREAD_COST_PROBES)], tool_core)
    return saturation, thread.rss_kib_added


def _browser_journeys() -> list[str]:
    return sorted(name for name, scenario in discover().items() if "browser" in scenario.tags)


def _recorded(path: Path) -> Iterator[tuple[int, float | None]]:
    if not path.exists():
        return
    for line in path.read_text().splitlines():
        raw = json.loads(line)
        yield int(raw["delay_ms"]), raw["seconds"]


def _wait_for_probes(path: Path, count: int, serve: Child) -> None:
    """Until the delay scenario has recorded ``count`` probes of each delay (or the time cap)."""
    deadline = time.monotonic() + LOAD_TIME_CAP_SECONDS
    while len(list(_recorded(path))) < count * len(DELAYS_MS):
        if serve.process.poll() is not None:
            raise RuntimeError(f"runner.py serve exited ({serve.process.returncode}):\n{serve.log_tail()}")
        if time.monotonic() > deadline:
            break
        time.sleep(1.0)


@dataclass(frozen=True)
class ServeCost:
    """What serve mode spent over one under-load condition, up to the end of blackbox's probes."""

    runner_cpu_seconds: float  # the runner process's own threads (its Chromium apart)
    browser_run_seconds: tuple[float, ...]  # each browser journey's run finished by then
    loop_lag_buckets: tuple[tuple[float, float], ...]  # (upper bound s, cumulative count) of its own lag histogram


def _serve_cost(serve: Child, client: httpx.Client, journeys: Sequence[str]) -> ServeCost:
    samples = scrape(client, serve.url)
    buckets = sorted((float(labels["le"]), value) for labels, value in samples.select(f"{LOOP_LAG_METRIC}_bucket"))
    runs = [  # a journey that came due while its last run went on is counted as skipped: not a run
        line
        for line in read_run_lines(serve.log_path)
        if line.get("scenario") in journeys and line.get("result") != "skipped"
    ]
    return ServeCost(cpu_seconds(serve.pid), tuple(float(line["duration_seconds"]) for line in runs), tuple(buckets))


def under_load(
    count: int, work: Path, tool_core: int | None, *, as_before: bool = False
) -> tuple[dict[str, Measured], Sequence[str], ServeCost]:
    """Serve mode with every browser journey back to back: our scenario's probes, then blackbox's.

    ``as_before``: serve mode without the settings it makes for exact timings (``harness.exact_timing``)."""
    measured = {tool: Measured() for tool in ("blackbox", "blackbox_http", "scenario")}
    journeys = _browser_journeys()
    work = work / ("load-as-before" if as_before else "load")
    record = work / "delay-probes.jsonl"
    record.unlink(missing_ok=True)  # what an earlier condition in this directory recorded
    tool = {tool_core} if tool_core is not None else None
    with (
        sandbox_for_bench(work) as sandbox,
        running(python_module("bench.delay_server"), work / "delay-load.log", ready=r"listening (\S+)") as server,
    ):
        options: dict[str, object] = {
            "url": server.url,
            "delays_ms": list(DELAYS_MS),
            "probes_per_delay": count,
            "record": str(record),
        }
        overrides: dict[str, dict[str, object]] = {
            name: {"interval_seconds": BROWSER_INTERVAL_SECONDS} for name in journeys
        }
        overrides[DELAY_SCENARIO] = {"interval_seconds": DELAY_SCENARIO_INTERVAL_SECONDS, "options": options}
        config = write_config(
            work,
            sandbox.urls,
            overrides=overrides,
            only=[*journeys, DELAY_SCENARIO],
            runner={"shutdown_grace_seconds": SHUTDOWN_GRACE_SECONDS},
        )
        serve_command = python_module("bench.http_serve", *(["--as-before"] if as_before else []))
        with (
            running_serve(config, work / "serve.log", command=serve_command, cpus=tool) as serve,
            running_blackbox(work, tool_core) as blackbox,
            httpx.Client(trust_env=False) as client,
        ):
            _wait_for_probes(record, count, serve)
            for _ in range(count):
                for delay in DELAYS_MS:
                    _record_blackbox(measured, client, blackbox.url, f"{server.url}/delay/{delay}", delay)
            cost = _serve_cost(serve, client, journeys)
    for delay, seconds in _recorded(record):
        if seconds is None:
            measured["scenario"].failures += 1
        else:
            measured["scenario"].errors.setdefault(delay, []).append(seconds - delay / 1000)
    return measured, journeys, cost


def run(options: BenchOptions) -> Section:
    count = QUICK_PROBES if options.quick else FULL_PROBES
    saturate_seconds = 1.0 if options.quick else 5.0
    concurrency = 4 if options.quick else 32
    tool_core, helper_core = _cores()
    helper = {helper_core} if helper_core is not None else None
    work = options.work_dir / NAME
    work.mkdir(parents=True, exist_ok=True)
    loads: dict[str, float] = {}
    if helper is not None:
        pin(helper)
    try:
        loads[ALONE] = os.getloadavg()[0]
        alone = _alone(count, work, tool_core, helper)
        saturation, thread_kib = _saturation(saturate_seconds, concurrency, work, tool_core, helper)
        loads[LOADED] = os.getloadavg()[0]
        loaded, journeys, _ = under_load(count, work, tool_core)
    finally:
        pin(set(ALL_CPUS))
    saturate_note = f"{concurrency} probes in flight for {saturate_seconds:g} s"
    conditions = {ALONE: alone, LOADED: loaded}
    extras = {"thread_kib": thread_kib, "pinned": tool_core is not None}
    return _section(conditions, saturation, saturate_note, count, loads, journeys, extras)


def _gaps(measured: dict[str, Measured], tool: str, reference: str = "blackbox") -> list[tuple[int, float, float]]:
    """(delay, median gap, p99 gap) of ``tool``'s error over ``reference``'s, per delay."""
    gaps = []
    for delay in DELAYS_MS:
        ours, theirs = measured[tool].errors.get(delay, []), measured[reference].errors.get(delay, [])
        if not ours or not theirs:
            gaps.append((delay, float("inf"), float("inf")))
            continue
        gaps.append((delay, median(ours) - median(theirs), percentile(ours, 99) - percentile(theirs, 99)))
    return gaps


def _accuracy_goal(condition: str, measured: dict[str, Measured], tools: Sequence[str]) -> Goal:
    details = []
    met = True
    for tool in tools:
        gaps = _gaps(measured, tool)
        met = met and all(dm <= MEDIAN_GOAL_SECONDS and dp <= P99_GOAL_SECONDS for _, dm, dp in gaps)
        shown = ", ".join(f"{d} ms: {ms(dm)} / {ms(dp)}" for d, dm, dp in gaps)
        details.append(f"{TOOLS[tool].split(': ', 1)[1]}: {shown}")
    return Goal(
        f"{condition}: our error within {ms(MEDIAN_GOAL_SECONDS, 1)} ms (median) and {ms(P99_GOAL_SECONDS, 0)} ms "
        "(p99) of blackbox_exporter's, every delay (gap median / p99, ms)",
        met,
        "; ".join(details),
    )


def _cpu_all(measured: Measured, count: int) -> float:
    return sum(measured.cpu_per_probe[d] for d in DELAYS_MS) / len(DELAYS_MS) if count else 0.0


def _section(
    conditions: dict[str, dict[str, Measured]],
    saturation: dict[str, Saturation],
    saturate_note: str,
    count: int,
    loads: dict[str, float],
    journeys: Sequence[str],
    extras: dict[str, int],
) -> Section:
    """``extras``: ``thread_kib`` (RSS the timing thread adds) and ``pinned`` (two cores or more)."""
    rows = []
    for condition, measured in conditions.items():
        for delay in DELAYS_MS:
            for tool, m in measured.items():
                errors = m.errors.get(delay, [])
                cpu = m.cpu_per_probe.get(delay)
                rows.append(
                    (
                        condition,
                        f"{delay} ms",
                        len(errors),
                        TOOLS[tool],
                        ms(median(errors)) if errors else "n/a",
                        ms(percentile(errors, 99)) if errors else "n/a",
                        ms(cpu) if cpu is not None and tool != "blackbox_http" else "",
                    )
                )
    accuracy = table(
        ("condition", "delay", "probes", "tool", "error median (ms)", "error p99 (ms)", "CPU per probe (ms)"), rows
    )
    alone = conditions[ALONE]
    bb_cpu = _cpu_all(alone["blackbox"], count)
    bb_saturated = saturation["blackbox"].cpu_per_probe
    sat_rows = []
    for tool in ("blackbox", *VARIANTS):
        s = saturation[tool]
        sequential_ratio = _cpu_all(alone[tool], count) / bb_cpu if bb_cpu else float("inf")
        saturated_ratio = s.cpu_per_probe / bb_saturated if bb_saturated else float("inf")
        sat_rows.append(
            (
                TOOLS[tool],
                f"{s.rate:.0f}",
                f"{s.core_busy * 100:.0f}%",
                ms(s.cpu_per_probe, 3),
                f"{sequential_ratio:.1f}x",
                f"{saturated_ratio:.1f}x",
            )
        )
    cost = table(
        (
            "tool",
            "probes/s on one core",
            "core busy",
            "CPU per probe at saturation (ms)",
            "CPU vs blackbox, sequential",
            "CPU vs blackbox, saturated",
        ),
        sat_rows,
    )
    scenario_ratio = _cpu_all(alone["scenario"], count) / bb_cpu if bb_cpu else float("inf")
    saturated_ratio = saturation["scenario"].cpu_per_probe / bb_saturated if bb_saturated else float("inf")
    goals = [
        _accuracy_goal(ALONE, alone, VARIANTS),
        _accuracy_goal(LOADED, conditions[LOADED], ("scenario",)),
        Goal(
            f"CPU per probe with phases exported within {CPU_GOAL_RATIO:g}x of blackbox_exporter's (a scenario's "
            "client, sequential probes)",
            scenario_ratio <= CPU_GOAL_RATIO,
            f"{scenario_ratio:.1f}x sequential, {saturated_ratio:.1f}x at saturation",
        ),
    ]
    failures = {
        f"{condition} {tool}": m.failures
        for condition, measured in conditions.items()
        for tool, m in measured.items()
        if m.failures
    }
    phase_sum = ", ".join(
        f"{d} ms: {ms(dm)}" for d, dm, _ in _gaps(conditions[ALONE], "blackbox_http", reference="blackbox")
    )
    notes = [
        f"{count} probes per delay, tool and condition, after {WARMUP} warm-up probes per tool alone. "
        f"Saturation: {saturate_note} against a 0 ms target.",
        "Alone: the tool under test is pinned alone to core 0 (blackbox with `GOMAXPROCS=1`); the target, the "
        "`/probe` driver and this process share core 1."
        if extras["pinned"]
        else "One core only: nothing was pinned, and the tool shared its core with the target.",
        f"Under browser load: `runner.py serve` with its Chromium pinned to core 0, running {', '.join(journeys)} "
        f"at a {BROWSER_INTERVAL_SECONDS:g} s interval (each journey starts again as soon as it ends) beside "
        f"`{DELAY_SCENARIO}` (every {DELAY_SCENARIO_INTERVAL_SECONDS:g} s, each delay once per run, recorded from "
        "the first browser launch); then blackbox_exporter, on core 0 too, probes the same delays while the "
        "journeys go on. Serve mode as shipped (`harness/exact_timing.py`: 1 ms switch interval, the timing "
        "thread raised above Chromium where allowed; §1b compares it with Python's defaults). Load average at "
        "the start of each condition: "
        + ", ".join(f"{condition} {load:.2f}" for condition, load in loads.items())
        + ".",
        "Percentiles are nearest-rank: p99 of 200 probes is the third-worst probe.",
        "Our duration spans the first socket operation (connect, or the request's first write on a kept-alive "
        "connection) to the body's last byte, from httpcore's trace events, as blackbox's phases span resolve to "
        "transfer; blackbox's `probe_duration_seconds` adds its own handler around them (its phase sum reads "
        f"less by {phase_sum}, alone). The goals compare with `probe_duration_seconds`.",
        "A scenario's client keeps its connection alive (the runtime's client does) and so has no connect to "
        "time; blackbox_exporter opens one per probe, its connect phase "
        + ", ".join(f"{c} {ms(median(m['blackbox'].connect), 3)} ms" for c, m in conditions.items())
        + " (median): the `exchange()` row, keep-alive off, connects every time as blackbox does.",
        "CPU per probe (alone, sequential) is the mean over the delays; a scenario's client exports its "
        "phases to `synthetic_http_phase_duration_seconds` on every probe, as runs do.",
    ]
    notes.append(
        "A scenario's HTTP runs on a loop of its own, in one thread (`harness/http_thread.py`), so that the "
        f"runner's loop lag stays out of what it times; that thread, its loop and {THREAD_COST_PROBES} probes "
        f"through it add {extras['thread_kib'] / 1024:.1f} MiB of RSS (measured apart, same core)."
    )
    if failures:
        notes.append(f"Failed probes (left out of the errors): {failures}.")
    body = "\n\n".join(
        [
            "Measured duration minus the known injected delay, per tool and condition:",
            accuracy,
            "Cost (probes per second with the tool alone on one core, and CPU per probe):",
            cost,
            "\n".join(f"- {note}" for note in notes),
        ]
    )
    data = {
        "errors": {
            condition: {tool: {str(d): v for d, v in m.errors.items()} for tool, m in measured.items()}
            for condition, measured in conditions.items()
        },
        "cpu_per_probe": {tool: {str(d): v for d, v in m.cpu_per_probe.items()} for tool, m in alone.items()},
        "saturation": {t: vars(s) for t, s in saturation.items()},
        "probes_per_delay": count,
        "load_average": loads,
        "thread_rss_kib_added": extras["thread_kib"],
    }
    return Section(NAME, TITLE, ".venv/bin/python -m bench --only http", body, goals, data=data)


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.http_accuracy [--count N] [--before]``: the alone condition only, printed
    (RESULTS.md is left alone); ``--before`` adds ``exchange()`` on httpcore's default network layer."""
    parser = argparse.ArgumentParser(prog="python -m bench.http_accuracy")
    parser.add_argument("--count", type=int, default=FULL_PROBES, help="probes per delay and tool")
    parser.add_argument("--before", action="store_true", help=f"add the {BEFORE_SOCKETS!r} variant")
    args = parser.parse_args(argv)
    variants = (*VARIANTS, BEFORE_SOCKETS) if args.before else VARIANTS
    tool_core, helper_core = _cores()
    helper = {helper_core} if helper_core is not None else None
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    if helper is not None:
        pin(helper)
    with tempfile.TemporaryDirectory(prefix="mg-http-alone-") as work:
        measured = _alone(args.count, Path(work), tool_core, helper, variants)
    for tool, m in measured.items():
        shown = ", ".join(
            f"{d} ms: {ms(median(m.errors[d]))} / {ms(percentile(m.errors[d], 99))}, CPU {ms(m.cpu_per_probe[d])}"
            for d in DELAYS_MS
        )
        print(f"{tool}: error median / p99 (ms): {shown}; failures {m.failures}")
    for variant in variants:
        print(_accuracy_goal(ALONE, measured, (variant,)).line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
