"""``runner.py serve``, plus what the soak needs to see from inside the runner process.

    python -m bench.serve_instrumented --stats FILE [--stats-interval 2] --final-metrics FILE \\
        [--slow-callbacks FILE] serve --config C --listen 127.0.0.1:0 [--max-start-offset 1] ...

Builds the same ``harness.scheduler.Service`` as ``runner.py serve`` (same settings, plans,
logging and runtime) and adds one task that writes, every ``--stats-interval`` seconds, a
JSON line: the asyncio task count (only knowable inside the loop), this process's RSS and
open file handles, its Chromium processes, and the event loop's lag over the interval (how
late a 50 ms sleep wakes up: the delay the runner itself adds to everything it times).
After the drain it writes the final ``/metrics`` text, which a scrape can no longer fetch
once the server has stopped, so that every result of the run, shutdown ones included, can
be counted. ``--slow-callbacks`` also writes every callback that held the loop for 2 ms or
more, with where it spent that time (``bench.loop_sources``); ``--as-before`` undoes what
issue 17 moved off the loop (``as_before``), for a before/after comparison in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.abc
import importlib.machinery
import json
import os
import random
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from types import ModuleType

from aiohttp import web
from prometheus_client import generate_latest
from prometheus_client.exposition import choose_encoder

from bench.loop_sources import SlowCallbackRecorder
from bench.procfs import chromium_pids, fd_count, rss_kib
from config.loader import ConfigError, load_settings
from harness.discovery import ScenarioPlan, SelectionError, discover, plan
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


async def _serve(service: Service, stats: Path, interval: float, slow_callbacks: Path | None) -> int:
    sampler = asyncio.ensure_future(_sample_forever(stats, interval))
    with contextlib.ExitStack() as stack:
        if slow_callbacks is not None:
            recorder = SlowCallbackRecorder(stack.enter_context(slow_callbacks.open("a")))
            recorder.install()
            stack.callback(recorder.uninstall)
        try:
            return await service.serve()
        finally:
            sampler.cancel()


class _MissingSniffio(importlib.abc.MetaPathFinder):
    """``import sniffio`` fails as it did before sniffio was a dependency: after a search of sys.path."""

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None) -> None:
        if name == "sniffio":
            importlib.machinery.PathFinder.find_spec("sniffio_not_installed")
            raise ModuleNotFoundError("No module named 'sniffio'", name=name)


def as_before(service: Service) -> None:
    """The runner as it was before issue 17's loop and drift work: httpcore's sniffio import failing
    on every lock it makes, the shared HTTP client built by the first run, start-up's objects walked
    by every full garbage collection, /metrics encoded on the loop, a browser journey queued for its
    browser inside its run, holding a run slot, first runs at random offsets, free to come due together.
    (The start delay is measured either way.)"""
    sys.modules.pop("sniffio", None)
    sys.meta_path.insert(0, _MissingSniffio())

    @contextlib.asynccontextmanager
    async def browser_queued_inside_the_run(plan: ScenarioPlan) -> AsyncIterator[float]:
        yield time.time()

    async def no_warm_up() -> None:
        return None

    async def metrics_on_the_loop(request: web.Request) -> web.Response:
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encode(service.runtime.metrics.registry), headers={"Content-Type": content_type})

    def random_first_runs() -> dict[str, float]:
        return {
            key: random.uniform(0, min(plan.interval_seconds, service.max_start_offset_seconds))
            for key, plan in service.plans.items()
        }

    setattr(service, "_warm_up", no_warm_up)  # noqa: B010
    setattr(service, "_first_run_offsets", random_first_runs)  # noqa: B010
    setattr(service, "_metrics", metrics_on_the_loop)  # noqa: B010
    setattr(service, "_browser_turn", browser_queued_inside_the_run)  # noqa: B010


def main(argv: list[str] | None = None) -> int:
    ours = argparse.ArgumentParser(prog="python -m bench.serve_instrumented", add_help=False)
    ours.add_argument("--stats", type=Path, required=True)
    ours.add_argument("--stats-interval", type=float, default=2.0)
    ours.add_argument("--final-metrics", type=Path, required=True)
    ours.add_argument("--slow-callbacks", type=Path, help="write the loop's slow callbacks here (JSON lines)")
    ours.add_argument("--as-before", action="store_true", help="undo issue 17's loop work (see as_before)")
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
    if mine.as_before:
        as_before(service)
    code = asyncio.run(_serve(service, mine.stats, mine.stats_interval, mine.slow_callbacks))
    mine.final_metrics.write_bytes(generate_latest(runtime.metrics.registry))
    return code


if __name__ == "__main__":
    sys.exit(main())
