"""Scenario HTTP on a loop of its own (``harness.http_thread``): the runner's loop stalling does
not land in the probe's timing, cancelling the caller cancels the request, closing stops the thread."""

from __future__ import annotations

import asyncio
import socketserver
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from harness.http_thread import HttpThread
from probes.context import ProbeContext
from probes.result import Reason
from tests.core.fake_platform import FakePlatform

STALL_SECONDS = 1.0
ANSWER_AFTER_SECONDS = 0.2


class _SlowAnswer(socketserver.BaseRequestHandler):
    """Answers one request after ``ANSWER_AFTER_SECONDS``, from a thread of the server's own."""

    def handle(self) -> None:
        self.request.recv(65536)
        time.sleep(ANSWER_AFTER_SECONDS)
        self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")


@pytest.fixture(scope="module")
def slow_url() -> Iterator[str]:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SlowAnswer) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{server.server_address[1]}/"
        server.shutdown()


def _timing_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "http-timing"]


async def test_a_stalled_runner_loop_stays_out_of_the_probes_timing(slow_url: str) -> None:
    """On the runner's own loop, this probe would read the answer only after the stall: total > 1 s."""
    http = HttpThread(httpx.AsyncClient())
    try:
        started = time.perf_counter()
        pending = asyncio.ensure_future(http.exchange("GET", slow_url, ProbeContext()))
        await asyncio.sleep(ANSWER_AFTER_SECONDS / 2)  # the request is out, its answer not yet back
        time.sleep(STALL_SECONDS)  # the runner's loop does something else, blocking, meanwhile
        result = await pending
        wall = time.perf_counter() - started
    finally:
        await http.aclose()
    assert result.success, result.message
    assert wall >= STALL_SECONDS
    assert result.phases["total"] < STALL_SECONDS, result.phases


async def test_cancelling_the_caller_cancels_the_request_and_closing_stops_the_thread(
    fake_platform: FakePlatform,
) -> None:
    fake_platform.mode = "hang"
    http = HttpThread(httpx.AsyncClient())
    assert len(_timing_threads()) == 1
    pending = asyncio.ensure_future(http.exchange("GET", f"{fake_platform.url}/health", ProbeContext()))
    await asyncio.sleep(0.2)
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    await http.aclose()  # would wait for a request still hanging on the thread's loop
    assert _timing_threads() == []


async def test_a_failing_target_is_a_result_through_the_thread(fake_platform: FakePlatform) -> None:
    fake_platform.mode = "reset"
    http = HttpThread(httpx.AsyncClient())
    try:
        result = await http.exchange("GET", f"{fake_platform.url}/health", ProbeContext())
    finally:
        await http.aclose()
    assert result.reason is Reason.CONNECT_ERROR
