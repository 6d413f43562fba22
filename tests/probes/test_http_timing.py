"""What the HTTP probe's ``total`` spans: the wire, from the first socket operation to the body's
last byte, as blackbox_exporter's phases do, and not the Python work before it."""

from __future__ import annotations

import asyncio
import time

import httpx

from probes.context import ProbeContext
from probes.http import exchange
from tests.core.fake_platform import FakePlatform

WORK_BEFORE_THE_WIRE_SECONDS = 0.3


async def _work_before_sending(request: httpx.Request) -> None:
    """Stands for the client's own work before the request reaches a socket (it runs before connect)."""
    await asyncio.sleep(WORK_BEFORE_THE_WIRE_SECONDS)


async def test_total_spans_the_wire_and_holds_every_phase(fake_platform: FakePlatform) -> None:
    async with httpx.AsyncClient(event_hooks={"request": [_work_before_sending]}) as client:
        for connection in ("new", "kept alive"):
            started = time.perf_counter()
            result = await exchange(client, "GET", f"{fake_platform.url}/health", ProbeContext())
            wall = time.perf_counter() - started
            assert result.success, result.message
            phases = result.phases
            assert ("connect" in phases) == (connection == "new"), phases
            assert phases["total"] <= wall - WORK_BEFORE_THE_WIRE_SECONDS, (connection, phases, wall)
            within = sum(phases.get(name, 0.0) for name in ("connect", "processing", "transfer"))
            assert 0 < within <= phases["total"], (connection, phases)
