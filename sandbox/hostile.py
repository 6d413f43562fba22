"""Hostile targets: a platform that misbehaves as a broken or malicious one would, on loopback.

One server stands for every service of a target (its four URLs point at it) and misbehaves in
one ``mode`` for every request: a 1 GiB ``Content-Length``, an endless chunked body, a body
trickled a byte at a time, headers and then silence, a redirect to itself or to another
origin, an HTML 503, JSON that does not parse or has the wrong types, a ``/health`` with a
thousand checks. In ``healthy`` mode it answers as the contract says (login, rates, health,
socket.io chat), so the socket.io modes can misbehave mid-journey: drop the client while it
waits for an ack or a push, or redirect the socket.io handshake to another origin.

Every request it receives is recorded (``requests``, ``socket_auth``): a second server in
``healthy`` mode is "the other origin" of a redirect, and its records show whether any
credential reached it. ``HangingServer`` accepts connections and never reads or answers.
``running_hostile()`` runs them all on one event loop in a thread, for tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import socketio
from aiohttp import web

__all__ = ["MODES", "HangingServer", "HostileServer", "HostileLoop", "RecordedRequest", "running_hostile"]

GIB = 1 << 30
CHUNK = b" " * (64 << 10)
HTTP_MODES = (
    "huge_body",  # 200 with Content-Length: 1 GiB, and that much sent
    "endless_chunked",  # 200, chunked, never ends
    "trickle",  # 200, Content-Length 10000, one byte every 0.2 s
    "headers_then_stall",  # 200 headers, then nothing
    "redirect_loop",  # 302 to the same URL
    "redirect_away",  # 307 to the same path at the other origin
    "html_503",  # a load balancer's HTML error page
    "invalid_json",  # 200 application/json that does not parse
    "wrong_types",  # 200 JSON with every field of the wrong type
    "many_checks",  # /health with 1,000 unlisted checks, every other one failing
)
SOCKET_MODES = (
    "socket_redirect_away",  # HTTP answers; the socket.io handshake gets 307 to the other origin
    "drop_mid_ack",  # the server disconnects a client that waits for its chat:join ack
    "drop_mid_push",  # chat:send is acked, then the server disconnects before the push
)
MODES = ("healthy", *HTTP_MODES, *SOCKET_MODES)
T = TypeVar("T")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path_qs: str
    headers: dict[str, str]
    body: bytes

    def carries(self, secret: str) -> bool:
        """Whether ``secret`` appears anywhere in the request (URL, headers, body)."""
        text = f"{self.path_qs}\n{self.headers}\n".encode() + self.body
        return secret.encode() in text


@dataclass
class HostileServer:
    """An aiohttp server (HTTP and socket.io on one port) misbehaving as ``mode`` says."""

    mode: str = "healthy"
    other_origin: str = ""  # where redirect_away and socket_redirect_away point
    token: str = "tok-hostile-7c1d9e"  # what a healthy login hands out
    requests: list[RecordedRequest] = field(default_factory=list)
    socket_auth: list[Any] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    def carries(self, secret: str) -> bool:
        """Whether ``secret`` reached this server in any request or socket.io auth payload."""
        return any(r.carries(secret) for r in self.requests) or any(secret in repr(a) for a in self.socket_auth)

    async def start(self) -> str:
        self._runner = web.AppRunner(self._app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{_bound_port(site)}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- the app ------------------------------------------------------------------------------
    def _app(self) -> web.Application:
        sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*", logger=False, engineio_logger=False)
        self._socket_events(sio)

        @web.middleware
        async def record_and_misbehave(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            socket_io = request.path.startswith("/socket.io")
            # python-engineio reads a socket.io body from the stream itself: its credential is
            # recorded by the connect handler (socket_auth) instead
            body = b"" if socket_io else await request.read()
            self.requests.append(RecordedRequest(request.method, request.path_qs, dict(request.headers), body))
            if self.mode == "socket_redirect_away" and socket_io or self.mode == "redirect_away":
                raise web.HTTPTemporaryRedirect(self.other_origin + request.path_qs)
            if self.mode in HTTP_MODES and not socket_io:
                return await self._misbehave(request)
            return await handler(request)

        app = web.Application(middlewares=[record_and_misbehave])
        sio.attach(app, socketio_path="socket.io")
        app.router.add_get("/health", self._health)
        app.router.add_get("/liveness", self._liveness)
        app.router.add_post("/v1/auth/login", self._login)
        app.router.add_get("/v1/rates", self._rates)
        return app

    async def _misbehave(self, request: web.Request) -> web.StreamResponse:
        mode = self.mode
        if mode == "redirect_loop":
            raise web.HTTPFound(request.path_qs)
        if mode == "html_503":
            return web.Response(
                status=503, text="<html><body><h1>503 Service Unavailable</h1></body></html>", content_type="text/html"
            )
        if mode == "invalid_json":
            return web.Response(text='{"rates": {"USD": "1"', content_type="application/json")
        if mode == "wrong_types":
            wrong = {"service": 1, "checks": [], "rates": ["USD"], "updated_at": 7, "token": [], "user_id": {}}
            return web.json_response(wrong)
        if mode == "many_checks":
            if request.path != "/health":
                return _text("OK")
            checks = {f"check-{i:04d}": {"status": "error" if i % 2 else "ok", "message": "x"} for i in range(1000)}
            return web.json_response({"service": "error", "timestamp": _now(), "checks": checks}, status=503)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if mode == "endless_chunked":
            response.enable_chunked_encoding()
        else:
            response.content_length = {"huge_body": GIB, "trickle": 10_000, "headers_then_stall": 100}[mode]
        with contextlib.suppress(ConnectionError):  # the client hung up: that is the point
            await response.prepare(request)
            if mode == "huge_body":
                for _ in range(GIB // len(CHUNK)):
                    await response.write(CHUNK)
            elif mode == "endless_chunked":
                while True:
                    await response.write(CHUNK)
            elif mode == "trickle":
                for _ in range(10_000):
                    await response.write(b" ")
                    await asyncio.sleep(0.2)
            await asyncio.sleep(3600)  # headers_then_stall, or a body that never ends
        return response

    # -- healthy answers --------------------------------------------------------------------------
    async def _liveness(self, request: web.Request) -> web.Response:
        return _text("OK")

    async def _health(self, request: web.Request) -> web.Response:
        checks = {"database": {"status": "ok", "message": "ok"}}
        return web.json_response({"service": "ok", "timestamp": _now(), "checks": checks})

    async def _login(self, request: web.Request) -> web.Response:
        return web.json_response({"token": self.token, "user_id": "u-hostile", "display_name": "Hostile"})

    async def _rates(self, request: web.Request) -> web.Response:
        rates = {"USD": "1", "EUR": "0.92", "GBP": "0.79", "BTC": "0.000011"}
        return web.json_response({"base": "USD", "rates": rates, "updated_at": _now()})

    def _socket_events(self, sio: socketio.AsyncServer) -> None:
        async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
            self.socket_auth.append(auth)

        async def join(sid: str, data: Any) -> Any:
            if self.mode == "drop_mid_ack":
                await sio.disconnect(sid)
                return None
            await sio.enter_room(sid, str(data.get("room")))
            return {"ok": True}

        async def send(sid: str, data: Any) -> Any:
            message = {**data, "message_id": "m-hostile-1"}
            if self.mode == "drop_mid_push":
                asyncio.get_running_loop().call_later(0.05, lambda: asyncio.ensure_future(drop_everyone()))
            else:
                await sio.emit("chat:message", message, room=str(data.get("room")))
            return {"ok": True, "message_id": message["message_id"]}

        async def drop_everyone() -> None:
            for sid in [s for s, _ in sio.manager.get_participants("/", None)]:
                await sio.disconnect(sid)

        sio.on("connect", connect)
        sio.on("chat:join", join)
        sio.on("chat:send", send)


class HangingServer:
    """Accepts every connection, then neither reads nor answers (until stopped)."""

    def __init__(self) -> None:
        self.url = ""
        self._server: asyncio.Server | None = None
        self._held: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._held.append(writer)

        self._server = await asyncio.start_server(hold, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self.url

    async def stop(self) -> None:
        for writer in self._held:
            writer.close()
        if self._server is not None:
            self._server.close()


class HostileLoop:
    """An event loop in a thread where hostile servers run beside the code under test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="hostile-targets")
        self._stops: list[Callable[[], Coroutine[Any, Any, None]]] = []

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def server(self, mode: str = "healthy", other_origin: str = "") -> HostileServer:
        if mode not in MODES:
            raise ValueError(f"unknown hostile mode {mode!r}; one of {', '.join(MODES)}")
        server = HostileServer(mode=mode, other_origin=other_origin)
        self.call(server.start())
        self._stops.append(server.stop)
        return server

    def hanging(self) -> HangingServer:
        server = HangingServer()
        self.call(server.start())
        self._stops.append(server.stop)
        return server

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        for stop in reversed(self._stops):
            with contextlib.suppress(Exception):
                self.call(stop())
        self.call(_cancel_leftovers())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@contextlib.contextmanager
def running_hostile() -> Iterator[HostileLoop]:
    hostile = HostileLoop()
    hostile.start()
    try:
        yield hostile
    finally:
        hostile.stop()


async def _cancel_leftovers() -> None:
    """Handlers still stalling (headers_then_stall, trickle) are cancelled so the loop stops cleanly."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _bound_port(site: web.TCPSite) -> int:
    server = site._server  # aiohttp has no public accessor for the bound port (listen on :0)
    sockets: list[socket.socket] = list(getattr(server, "sockets", None) or [])
    return int(sockets[0].getsockname()[1])


def _text(text: str) -> web.Response:
    return web.Response(text=text)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
