"""A lean HTTP/1.1 load driver: K keep-alive connections sending GETs back to back.

Used to saturate blackbox_exporter's ``/probe``; it must cost far less per request than the
exporter, so it speaks raw HTTP over asyncio streams (uvloop when present) instead of httpx.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = ["LoadResult", "hammer", "run_fast"]


@dataclass(frozen=True)
class LoadResult:
    requests: int
    failures: int  # answers without the expected marker (e.g. ``probe_success 1``)
    wall_seconds: float


async def _read_body(reader: asyncio.StreamReader, head: bytes) -> bytes:
    lowered = head.lower()
    if b"transfer-encoding: chunked" in lowered:
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
            if size == 0:
                return b"".join(chunks)
    for line in lowered.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return await reader.readexactly(int(line.split(b":", 1)[1]))
    raise ValueError("answer with neither Content-Length nor chunked encoding")


async def hammer(url: str, seconds: float, concurrency: int, marker: bytes = b"") -> LoadResult:
    """GET ``url`` over ``concurrency`` keep-alive connections for ``seconds``; count the answers."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: bench-load\r\n\r\n".encode()
    done = failures = 0

    async def connection(deadline: float) -> None:
        nonlocal done, failures
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                body = await _read_body(reader, head)
                done += 1
                failures += not (head.startswith(b"HTTP/1.1 200") and marker in body)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection(started + seconds) for _ in range(concurrency)))
    return LoadResult(done, failures, time.perf_counter() - started)


def run_fast(coroutine: Coroutine[Any, Any, LoadResult]) -> LoadResult:
    """Run on uvloop when it is installed, else on the standard loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)
