"""Servers for the length of a test, on a free loopback port: an aiohttp app, an ASGI app under uvicorn,
a raw HTTP server that misbehaves on purpose, or an ``http.server`` handler in a thread (for sync tests)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import struct
import threading
from collections.abc import AsyncIterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import uvicorn
from aiohttp import web

from sandbox.health import ALB_503_BODY

__all__ = [
    "MISBEHAVIOURS",
    "QuietHandler",
    "free_port",
    "misbehaving_server",
    "serving",
    "serving_asgi",
    "serving_in_a_thread",
]


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """``app`` on a free loopback port; its base URL. A request still held at the end waits 0.5 s."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # noqa: SLF001
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def serving_asgi(app: Any, *, lifespan: Literal["on", "off"] = "off") -> AsyncIterator[str]:
    """``app`` under uvicorn on a free loopback port; its base URL, once uvicorn says it has started."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan=lifespan, log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


class QuietHandler(BaseHTTPRequestHandler):
    """An ``http.server`` handler that logs nothing: the test output stays readable."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the http.server API)
        """Not logged."""


def serving_in_a_thread(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """``handler`` on a free loopback port, served by a daemon thread; ``shutdown()`` the server when done."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# What a target that misbehaves in each way does to a journey's first call.
MISBEHAVIOURS = {
    "refused": "connect_error",
    "reset": "connect_error",
    "hang": "timeout",
    "html503": "http_status",
    "wrong_json": "unexpected_body",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


HEALTHY_BODY = json.dumps(
    {
        "service": "ok",
        "timestamp": "2026-11-26T00:00:00Z",
        "checks": {"database": {"status": "ok", "message": "ok"}},
    }
).encode()


def _response(status: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


@contextlib.asynccontextmanager
async def misbehaving_server(kind: str, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """A raw asyncio HTTP server on a free port; ``kind``: refused, reset, hang, html503,
    wrong_json or healthy (``/liveness`` and ``/health`` only). Yields its base URL."""
    scheme = "https" if ssl_context else "http"
    if kind == "refused":
        yield f"http://127.0.0.1:{free_port()}"
        return
    held: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        length = 0
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if length:
            await reader.readexactly(length)
        path = head.split(b" ")[1].split(b"?")[0]
        if kind == "hang":
            held.append(writer)
            return
        if kind == "reset":
            raw = writer.get_extra_info("socket")
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        if kind == "html503":
            writer.write(_response("503 Service Temporarily Unavailable", "text/html", ALB_503_BODY.encode()))
        elif kind == "wrong_json":
            writer.write(_response("200 OK", "application/json", b'{"unexpected": "shape", "items": [1, 2]}'))
        elif path == b"/liveness":
            writer.write(_response("200 OK", "text/plain", b"OK"))
        elif path == b"/health":
            writer.write(_response("200 OK", "application/json", HEALTHY_BODY))
        else:
            writer.write(_response("404 Not Found", "application/json", b'{"error": "not_found", "message": "-"}'))
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ssl_context)
    try:
        yield f"{scheme}://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
