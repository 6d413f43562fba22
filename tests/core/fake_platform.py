"""A tiny stand-in for the platform's HTTP surface, for the runner core's own tests.

The built-in sandbox is the real stand-in; the core's tests use this one because they need
answers the sandbox never gives (a hang, a reset, an HTML page) and start in milliseconds.
It is a real HTTP server on a real socket, in a thread with its own event loop.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from tests.local_server import free_port

KNOWN_TOKEN = "tok-core-test-9f8e7d6c5b4a"


@dataclass
class FakePlatform:
    url: str = ""
    mode: str = "healthy"  # healthy | dependency_down | html | hang | reset
    requests: list[dict[str, str]] = field(default_factory=list)


class RunUptime(Protocol):
    """The ``run_uptime`` fixture: ``runner.py run --scenario uptime FLAGS`` with the fake platform in ``mode``."""

    def __call__(self, mode: str, *flags: str) -> subprocess.CompletedProcess[str]: ...


def _app(state: FakePlatform) -> web.Application:
    async def health(request: web.Request) -> web.StreamResponse:
        state.requests.append(dict(request.headers))
        if state.mode == "hang":
            await asyncio.sleep(30)
        if state.mode == "reset":
            assert request.transport is not None
            request.transport.abort()
            return web.Response()
        if state.mode == "html":
            return web.Response(
                status=503,
                text="<html><body>503 Service Temporarily Unavailable</body></html>",
                content_type="text/html",
            )
        down = state.mode == "dependency_down"
        body = {
            "service": "error" if down else "ok",
            "timestamp": "2026-11-26T00:00:00Z",
            "checks": {
                "database": {"status": "ok", "message": "ok"},
                "chat": {"status": "error" if down else "ok", "message": "chat"},
            },
        }
        return web.json_response(body, status=500 if down else 200)

    async def liveness(request: web.Request) -> web.Response:
        return web.Response(text="OK")

    async def login(request: web.Request) -> web.Response:
        body = await request.json()
        if not body.get("password"):
            return web.json_response({"error": "unauthorized", "message": "bad"}, status=401)
        return web.json_response({"token": KNOWN_TOKEN, "user_id": "u-1"})

    async def me(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {KNOWN_TOKEN}":
            return web.json_response({"error": "unauthorized", "message": "bad token"}, status=401)
        return web.json_response({"error": "internal", "message": json.dumps({"echo": KNOWN_TOKEN})}, status=500)

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/liveness", liveness)
    app.router.add_post("/v1/auth/login", login)
    app.router.add_get("/v1/balance", me)
    return app


async def _cancel_leftovers() -> None:
    """Handlers still hanging (mode "hang") are cancelled so the loop stops cleanly."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@contextmanager
def running_fake_platform() -> Iterator[FakePlatform]:
    state = FakePlatform()
    port = free_port()
    state.url = f"http://127.0.0.1:{port}"
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner = web.AppRunner(_app(state), access_log=None, shutdown_timeout=1.0)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield state
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        asyncio.run_coroutine_threadsafe(_cancel_leftovers(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
