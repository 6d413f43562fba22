"""The socket.io probe against a real python-socketio server under uvicorn on a free port.

The server is small and made for the test: it accepts one token, pushes on request, acks
``echo`` and never acks ``ignored``. Both transports are exercised; misbehaving peers (a closed
port, a server that never answers) come out as bounded reasons, not exceptions.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import socketio

from probes.context import ProbeContext
from probes.result import Reason
from probes.socketio import SocketClient, SocketModule, open_socket, probe
from tests.local_server import misbehaving_server, serving_asgi

TOKEN = "tok-socketio-probe-test-4d5e6f"
TRANSPORTS = ["websocket", "polling"]


@dataclass
class Server:
    url: str
    sio: socketio.AsyncServer
    connected: set[str] = field(default_factory=set)
    seen_headers: list[dict[str, str]] = field(default_factory=list)
    transports: list[str] = field(default_factory=list)  # each connection's, as the server saw it


@contextlib.asynccontextmanager
async def socketio_server() -> AsyncIterator[Server]:
    sio = socketio.AsyncServer(async_mode="asgi")
    state = Server("", sio)

    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if not isinstance(auth, dict) or auth.get("token") != TOKEN:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized")
        state.seen_headers.append({k: v for k, v in environ.items() if k.startswith("HTTP_")})
        state.connected.add(sid)
        state.transports.append(sio.transport(sid))

    async def disconnect(sid: str, reason: Any = None) -> None:
        state.connected.discard(sid)

    async def push_me(sid: str, data: Any) -> dict[str, bool]:
        for ref in data["refs"]:
            await sio.emit("balance:update", {"ref_id": ref, "balance": "1.00"}, to=sid)
        return {"ok": True}

    async def echo(sid: str, data: Any) -> Any:
        return data

    sio.on("connect", connect)
    sio.on("disconnect", disconnect)
    sio.on("push_me", push_me)
    sio.on("echo", echo)
    async with serving_asgi(socketio.ASGIApp(sio)) as url:
        state.url = url
        yield state


async def _wait_until(condition: Any, seconds: float = 10.0) -> bool:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return True
        await asyncio.sleep(0.02)
    return bool(condition())


@contextlib.asynccontextmanager
async def connected(url: str, transport: str) -> AsyncIterator[SocketClient]:
    result, client = await open_socket(url, SocketModule(transport=transport, token=TOKEN), ProbeContext())
    assert result.success and client is not None, result.message
    try:
        yield client
    finally:
        await client.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_connects_with_the_token_over_each_transport(transport: str) -> None:
    async with socketio_server() as server:
        ctx = ProbeContext()
        result = await probe(server.url, SocketModule(transport=transport, token=TOKEN), ctx)
        assert result.success, result.message
        assert server.transports == [transport]
        assert result.phases["connect"] > 0
        assert server.seen_headers[-1]["HTTP_X_SYNTHETIC_PROBE"] == ctx.run_id
        assert await _wait_until(lambda: not server.connected), "the probe left its connection open"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_refused_token_is_a_connect_error(transport: str) -> None:
    async with socketio_server() as server:
        result = await probe(server.url, SocketModule(transport=transport, token="wrong"), ProbeContext())
    assert (result.success, result.reason) == (False, Reason.CONNECT_ERROR) and "unauthorized" in result.message


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_pushes_are_matched_by_payload_even_when_they_came_first(transport: str) -> None:
    async with socketio_server() as server, connected(server.url, transport) as client:
        ack = await client.call("push_me", {"refs": ["bet-1", "bet-2"]})
        assert ack.success and ack.ack == {"ok": True}
        assert await _wait_until(lambda: len(client.received) == 2)
        second = await client.wait_for("balance:update", {"ref_id": "bet-2"}, timeout=5)
        first = await client.wait_for("balance:update", {"ref_id": "bet-1"}, timeout=5)
    assert second.push is not None and second.push.payload == {"ref_id": "bet-2", "balance": "1.00"}
    assert first.push is not None and first.push.arrived_at <= second.push.arrived_at


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_push_that_never_comes_is_push_missing(transport: str) -> None:
    async with socketio_server() as server, connected(server.url, transport) as client:
        await client.call("push_me", {"refs": ["bet-1"]})
        result = await client.wait_for("balance:update", {"ref_id": "bet-9"}, timeout=0.3)
    assert (result.success, result.reason) == (False, Reason.PUSH_MISSING) and "ref_id=bet-9" in result.message


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_acks_come_back_and_a_missing_ack_is_a_timeout(transport: str) -> None:
    async with socketio_server() as server, connected(server.url, transport) as client:
        echoed = await client.call("echo", {"room": "lobby"})
        ignored = await client.call("no_handler_here", {"room": "lobby"}, timeout=0.3)
    assert echoed.success and echoed.ack == {"room": "lobby"}
    assert not ignored.success and ignored.reason is Reason.TIMEOUT


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_close_tells_the_server(transport: str) -> None:
    async with socketio_server() as server:
        async with connected(server.url, transport) as client:
            assert await _wait_until(lambda: len(server.connected) == 1)
        assert not client.connected
        assert await _wait_until(lambda: not server.connected), "the server still holds the socket"


async def test_a_closed_port_is_a_connect_error() -> None:
    async with misbehaving_server("refused") as url:
        result = await probe(url, SocketModule(token=TOKEN), ProbeContext())
    assert result.reason is Reason.CONNECT_ERROR


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_silent_server_is_a_timeout(transport: str) -> None:
    async with misbehaving_server("hang") as url:
        module = SocketModule(transport=transport, token=TOKEN, connect_timeout_seconds=0.5)
        result = await probe(url, module, ProbeContext())
    assert not result.success
    assert result.reason in (Reason.TIMEOUT, Reason.CONNECT_ERROR)


def test_the_token_never_shows_in_the_module_repr() -> None:
    assert TOKEN not in repr(SocketModule(token=TOKEN))
