"""Our HTTP probe in a loop, alone in its own process, so that its CPU time is its own.

    python -m bench.http_worker sequential --url URL --count N [--variant probe|shared] [--cpu C]
    python -m bench.http_worker saturate   --url URL --seconds S --concurrency K [--variant ...] [--cpu C]
    python -m bench.http_worker client     --url URL --count N [--cpu C]    # CPU to build one httpx.AsyncClient

Prints one JSON object: the measured durations (``phases["total"]``, seconds), failures, CPU
seconds (``time.process_time`` delta around the loop, after a warm-up) and wall seconds.
Variants: ``probe`` is ``probes.http.probe`` as a scenario author calls it (a new
``httpx.AsyncClient`` per probe); ``shared`` is ``probes.http.exchange`` over one shared client
with keep-alive off, so that each probe still opens its own connection, as blackbox_exporter does.
Runs on the standard asyncio loop, as the runner does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable

import httpx

from bench.procfs import pin
from probes import ProbeContext, ProbeResult
from probes.conditions import parse_conditions
from probes.http import HttpModule, exchange, probe

__all__ = ["main", "make_prober"]

WARMUP_PROBES = 3
CONDITIONS = ("[STATUS] == 200",)

Prober = Callable[[], Awaitable[ProbeResult]]


def make_prober(url: str, variant: str) -> tuple[Prober, Callable[[], Awaitable[None]]]:
    """A zero-argument coroutine function probing ``url`` once, and how to close what it holds."""
    base, _, path = url.partition("/delay/")
    if variant == "probe":
        module = HttpModule(path=f"/delay/{path}", conditions=CONDITIONS)

        async def probe_once() -> ProbeResult:
            return await probe(base, module, ProbeContext())

        async def nothing() -> None:
            return None

        return probe_once, nothing
    if variant == "shared":
        client = httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0), trust_env=False)
        conditions = parse_conditions(CONDITIONS)

        async def exchange_once() -> ProbeResult:
            return await exchange(client, "GET", url, ProbeContext(), conditions=conditions, expect_json=False)

        return exchange_once, client.aclose
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
            result = await probe_once()
            durations.append(result.phases["total"])
            failures += not result.success
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
            result = await probe_once()
            done += 1
            failures += not result.success

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


async def client_cost(count: int) -> dict[str, object]:
    """CPU seconds to build (and close) one ``httpx.AsyncClient``, as ``probes.http.probe`` does per probe."""
    cpu = time.process_time()
    for _ in range(count):
        client = httpx.AsyncClient(follow_redirects=False)
        await client.aclose()
    return {"cpu_seconds": (time.process_time() - cpu) / count, "wall_seconds": 0.0, "failures": 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_worker")
    parser.add_argument("mode", choices=["sequential", "saturate", "client"])
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT/delay/MS")
    parser.add_argument("--variant", choices=["probe", "shared"], default="probe")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--cpu", type=int, help="pin to this core")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        pin({args.cpu})
    if args.mode == "sequential":
        output = asyncio.run(sequential(args.url, args.count, args.variant))
    elif args.mode == "client":
        output = asyncio.run(client_cost(args.count))
    else:
        output = asyncio.run(saturate(args.url, args.seconds, args.concurrency, args.variant))
    print(json.dumps(output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
