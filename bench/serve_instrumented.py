"""``runner.py serve``, plus what the soak needs to see from inside the runner process.

    python -m bench.serve_instrumented --stats FILE [--stats-interval 2] --final-metrics FILE \\
        serve --config C --listen 127.0.0.1:0 [--max-start-offset 1] ...

Builds the same ``harness.scheduler.Service`` as ``runner.py serve`` (same settings, plans,
logging and runtime) and adds one task that writes, every ``--stats-interval`` seconds, a
JSON line: the asyncio task count (only knowable inside the loop), this process's RSS and
open file handles, its Chromium processes, and the event loop's lag over the interval (how
late a 50 ms sleep wakes up: the delay the runner itself adds to everything it times).
After the drain it writes the final ``/metrics`` text, which a scrape can no longer fetch
once the server has stopped, so that every result of the run, shutdown ones included, can
be counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

from prometheus_client import generate_latest

from bench.procfs import chromium_pids, fd_count, rss_kib
from config.loader import ConfigError, load_settings
from harness.discovery import SelectionError, discover, plan
from harness.logs import setup_logging
from harness.runtime import Runtime
from harness.scheduler import Service
from runner import build_parser

__all__ = ["main", "sample_line"]


LAG_TICK_SECONDS = 0.05


def _process_figures() -> dict[str, object]:
    """This process as /proc sees it; scanning /proc takes milliseconds, so it runs in a thread."""
    pid = os.getpid()
    return {"rss_kib": rss_kib(pid), "fds": fd_count(pid), "chromium_processes": len(chromium_pids(pid))}


async def sample_line(lags: list[float]) -> dict[str, object]:
    """One sample of this process, with the loop lags since the last; only the task count is read in the loop."""
    line: dict[str, object] = {"t": time.time(), "tasks": len(asyncio.all_tasks())}
    line.update(await asyncio.to_thread(_process_figures))
    line["lags"] = [round(lag, 5) for lag in lags]
    return line


async def _measure_lag(lags: list[float]) -> None:
    while True:
        started = time.perf_counter()
        await asyncio.sleep(LAG_TICK_SECONDS)
        lags.append(max(0.0, time.perf_counter() - started - LAG_TICK_SECONDS))


async def _sample_forever(path: Path, interval: float) -> None:
    lags: list[float] = []
    lag_task = asyncio.ensure_future(_measure_lag(lags))
    try:
        with path.open("a") as out:
            while True:
                await asyncio.sleep(interval)
                out.write(json.dumps(await sample_line(lags)) + "\n")
                out.flush()
                lags.clear()
    finally:
        lag_task.cancel()


async def _serve(service: Service, stats: Path, interval: float) -> int:
    sampler = asyncio.ensure_future(_sample_forever(stats, interval))
    try:
        return await service.serve()
    finally:
        sampler.cancel()


def main(argv: list[str] | None = None) -> int:
    ours = argparse.ArgumentParser(prog="python -m bench.serve_instrumented", add_help=False)
    ours.add_argument("--stats", type=Path, required=True)
    ours.add_argument("--stats-interval", type=float, default=2.0)
    ours.add_argument("--final-metrics", type=Path, required=True)
    mine, rest = ours.parse_known_args(argv)
    args = build_parser().parse_args(rest)
    if args.command != "serve":
        print("only the serve command is instrumented", file=sys.stderr)
        return 2
    try:
        settings = load_settings(Path(args.config), scenario_names=discover())
        if args.region:
            settings = settings.model_copy(
                update={"runner": settings.runner.model_copy(update={"region": args.region})}
            )
        plans = plan(settings, discover(), names=args.scenario, tags=args.tag, targets=args.target)
    except (ConfigError, SelectionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.runner.log_level)
    runtime = Runtime(settings, artifacts_dir=Path(args.artifacts) if args.artifacts else None)
    service = Service(
        runtime,
        plans,
        args.listen or settings.runner.listen,
        settings.runner.shutdown_grace_seconds,
        max_start_offset_seconds=args.max_start_offset,
    )
    code = asyncio.run(_serve(service, mine.stats, mine.stats_interval))
    mine.final_metrics.write_bytes(generate_latest(runtime.metrics.registry))
    return code


if __name__ == "__main__":
    sys.exit(main())
