"""The socket.io client against hostile servers, over both transports: a redirected handshake
is refused (the token never reaches the other origin), a payload over the cap is refused,
and a healthy server still connects with the same guards on."""

from __future__ import annotations

import pytest

from probes.context import ProbeContext
from probes.result import Reason
from probes.socketio import SocketModule, open_socket
from sandbox.hostile import HostileLoop

TOKEN = "tok-guard-test-41b7e2"
TRANSPORTS = ("websocket", "polling")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_redirected_handshake_is_refused(hostile: HostileLoop, transport: str) -> None:
    other = hostile.server("healthy")
    redirecting = hostile.server("socket_redirect_away", other_origin=other.url)
    module = SocketModule(transport=transport, token=TOKEN, connect_timeout_seconds=3)
    result, client = await open_socket(redirecting.url, module, ProbeContext())
    assert client is None and result.reason is Reason.CONNECT_ERROR, result
    assert "redirect 307 not followed" in result.message
    assert redirecting.requests and not other.requests and not other.carries(TOKEN)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_payload_over_the_cap_is_refused(hostile: HostileLoop, transport: str) -> None:
    server = hostile.server("healthy")
    module = SocketModule(transport=transport, token=TOKEN, connect_timeout_seconds=3, max_payload_bytes=16)
    result, client = await open_socket(server.url, module, ProbeContext())
    assert client is None and result.reason is Reason.UNEXPECTED_BODY, result
    assert "over the 16 bytes cap (max_payload_bytes)" in result.message


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_healthy_server_connects_with_the_guards_on(hostile: HostileLoop, transport: str) -> None:
    server = hostile.server("healthy")
    result, client = await open_socket(server.url, SocketModule(transport=transport, token=TOKEN), ProbeContext())
    assert result.success and client is not None, result
    await client.close()
    assert server.socket_auth == [{"token": TOKEN}]
