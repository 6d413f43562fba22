"""Scenario HTTP timed on an event loop of its own, in one thread beside the runner's loop.

The runner's loop also carries Playwright's driver traffic and everything serve mode does;
a socket that becomes ready while that loop runs someone else's callback is read late, and
the lateness lands in the probe's timings. Here the exchanges run on a loop that does nothing
else: the runner's loop only hands each one over and awaits its result, so what delays it
delays the step, not what the probe measures. (Both threads share the GIL and the CPU: see
``harness.exact_timing`` for what keeps the runner's loop and Chromium from holding this one up.)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx

from harness import exact_timing
from probes.context import ProbeContext
from probes.http import exchange
from probes.result import HttpResult

__all__ = ["HttpThread"]

T = TypeVar("T")


class HttpThread:
    """One thread, one loop, and ``client``, used on that loop only (a client binds to the loop
    of its first request)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="http-timing", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        exact_timing.put_timing_thread_first()  # looked up on each call: the bench's "before" replaces it
        self._loop.run_forever()

    async def _on_thread(self, work: Coroutine[Any, Any, T]) -> T:
        """Await ``work`` run on this thread's loop; cancelling the caller cancels it there."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self._loop))

    async def exchange(self, method: str, url: str, ctx: ProbeContext, **options: Any) -> HttpResult:
        """``probes.http.exchange`` (same arguments) on this thread's loop and client."""
        return await self._on_thread(exchange(self._client, method, url, ctx, **options))

    async def aclose(self) -> None:
        """Close the client on its loop, then stop the loop and its thread."""
        await self._on_thread(self._client.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.to_thread(self._thread.join)
        self._loop.close()
