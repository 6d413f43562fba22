"""Our HTTP probe in a loop, alone in its own process, so that its CPU time is its own.

    python -m bench.http_worker sequential --url URL --count N [--variant exchange|scenario|exchange-anyio] [--cpu C]
    python -m bench.http_worker saturate   --url URL --seconds S --concurrency K [--variant ...] [--cpu C]
    python -m bench.http_worker thread     --url URL --count N [--cpu C]   # memory the timing thread adds

Prints one JSON object: the measured durations (what the probe reports, seconds), failures,
CPU seconds (``time.process_time`` delta around the loop, after a warm-up) and wall seconds.
The variants are the two paths scenarios take: ``exchange`` is ``probes.http.exchange`` on one
shared client with keep-alive off (each probe opens its own connection, as blackbox_exporter
does); ``scenario`` is a scenario's ``ServiceClient`` on a client built as the runtime builds
its own (keep-alive on), its phases exported to ``synthetic_http_phase_duration_seconds`` as
a run exports them. ``exchange-anyio`` is ``exchange`` as it was before ``probes.sockets``, on
httpcore's default network layer (for a before/after comparison). Runs on the standard
asyncio loop, as the runner does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable

import httpx

from bench.procfs import pin, rss_kib
from harness.clients import ServiceClient
from harness.errors import StepFailure
from harness.http_thread import HttpThread
from harness.metrics import RunnerMetrics, ScenarioMetrics
from probes.conditions import parse_conditions
from probes.context import ProbeContext
from probes.http import A_CONNECTION_PER_EXCHANGE, exchange, new_client, trusted_tls_context

__all__ = ["BEFORE_SOCKETS", "VARIANTS", "main", "make_prober"]

WARMUP_PROBES = 3
CONDITIONS = ("[STATUS] == 200",)
VARIANTS = ("exchange", "scenario")
BEFORE_SOCKETS = "exchange-anyio"

Prober = Callable[[], Awaitable[float | None]]  # one probe: its measured seconds, None when it failed


def make_prober(url: str, variant: str) -> tuple[Prober, Callable[[], Awaitable[None]]]:
    """A zero-argument coroutine function probing ``url`` once, and how to close what it holds."""
    if variant in ("exchange", BEFORE_SOCKETS):
        client = (
            new_client(trusted_tls_context(), trust_env=False)
            if variant == "exchange"
            else httpx.AsyncClient(limits=A_CONNECTION_PER_EXCHANGE, trust_env=False, follow_redirects=False)
        )
        conditions = parse_conditions(CONDITIONS)

        async def exchange_once() -> float | None:
            result = await exchange(client, "GET", url, ProbeContext(), conditions=conditions, expect_json=False)
            return result.phases["total"] if result.success else None

        return exchange_once, client.aclose
    if variant == "scenario":
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # the runtime's
        http = HttpThread(new_client(trusted_tls_context(), limits))
        metrics = ScenarioMetrics(RunnerMetrics("bench", (), ()), "http_accuracy", "delay")
        base, _, path = url.partition("/delay/")
        service = ServiceClient(
            "delay", base, http, ProbeContext(), on_phases=lambda phases: metrics.http_phases("probe", phases)
        )

        async def call_once() -> float | None:
            try:
                answer = await service.get(f"/delay/{path}", expect=CONDITIONS)
            except StepFailure:
                return None
            return answer.seconds

        return call_once, http.aclose
    raise ValueError(f"unknown variant {variant!r}")


async def sequential(url: str, count: int, variant: str) -> dict[str, object]:
    probe_once, close = make_prober(url, variant)
    try:
        for _ in range(WARMUP_PROBES):
            await probe_once()
        durations: list[float] = []
        failures = 0
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(count):
            seconds = await probe_once()
            if seconds is None:
                failures += 1
            else:
                durations.append(seconds)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await close()
    return {"durations": durations, "failures": failures, "cpu_seconds": cpu, "wall_seconds": wall}


async def saturate(url: str, seconds: float, concurrency: int, variant: str) -> dict[str, object]:
    probe_once, close = make_prober(url, variant)
    done = failures = 0

    async def worker(deadline: float) -> None:
        nonlocal done, failures
        while time.perf_counter() < deadline:
            failures += await probe_once() is None
            done += 1

    try:
        for _ in range(WARMUP_PROBES):
            await probe_once()
        cpu, wall = time.process_time(), time.perf_counter()
        deadline = wall + seconds
        await asyncio.gather(*(worker(deadline) for _ in range(concurrency)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await close()
    return {"probes": done, "failures": failures, "cpu_seconds": cpu, "wall_seconds": wall}


async def thread_cost(url: str, count: int) -> dict[str, object]:
    """RSS the timing thread adds: ``count`` probes on this loop first, then as many through a ``HttpThread``."""
    async with new_client(trusted_tls_context(), trust_env=False) as client:
        for _ in range(count):
            await exchange(client, "GET", url, ProbeContext(), expect_json=False)
    before, wall = rss_kib(os.getpid()), time.perf_counter()
    http = HttpThread(new_client(trusted_tls_context(), trust_env=False))
    try:
        for _ in range(count):
            await http.exchange("GET", url, ProbeContext(), expect_json=False)
        added = rss_kib(os.getpid()) - before
    finally:
        await http.aclose()
    return {"rss_kib_added": added, "cpu_seconds": 0.0, "wall_seconds": time.perf_counter() - wall, "failures": 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_worker")
    parser.add_argument("mode", choices=["sequential", "saturate", "thread"])
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT/delay/MS")
    parser.add_argument("--variant", choices=(*VARIANTS, BEFORE_SOCKETS), default="exchange")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--cpu", type=int, help="pin to this core")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        pin({args.cpu})
    if args.mode == "sequential":
        output = asyncio.run(sequential(args.url, args.count, args.variant))
    elif args.mode == "thread":
        output = asyncio.run(thread_cost(args.url, args.count))
    else:
        output = asyncio.run(saturate(args.url, args.seconds, args.concurrency, args.variant))
    print(json.dumps(output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
