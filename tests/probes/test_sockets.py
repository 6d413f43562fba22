"""``probes.sockets``, httpcore's network layer on bare sockets, under the probes' own clients:
plain and TLS exchanges, host names resolved (every address tried), a kept-alive connection the
server closed is not reused, and a refused or untrusted target is reported as such."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from probes.context import ProbeContext
from probes.http import exchange, new_client, trusted_tls_context
from probes.result import Reason
from probes.sockets import SocketStream
from tests.probes.test_tls_probe import make_cert, serving

ANSWER = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"ok": true}'
KEPT_ALIVE = httpx.Limits(max_keepalive_connections=5)


@contextlib.asynccontextmanager
async def answering_server(context: ssl.SSLContext | None = None, close_after: bool = False) -> AsyncIterator[int]:
    """A loopback server answering every request with ``ANSWER`` (keep-alive), and closing the
    connection right after the first answer when ``close_after``; yields its port."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(ANSWER)
                await writer.drain()
                if close_after:
                    break
        writer.close()

    async with serving(handle, context) as port:
        yield port


async def test_a_probe_client_exchanges_on_bare_sockets() -> None:
    async with answering_server() as port, new_client(trusted_tls_context()) as client:
        async with client.stream("GET", f"http://127.0.0.1:{port}/") as response:
            assert isinstance(response.extensions["network_stream"], SocketStream)
        result = await exchange(client, "GET", f"http://127.0.0.1:{port}/", ProbeContext())
    assert result.success, result.message
    assert {"connect", "processing", "transfer", "total"} <= set(result.phases), result.phases


async def test_a_host_name_is_resolved_and_every_address_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    """The name resolves to an IPv6 address nothing listens on, then to the IPv4 one that answers."""
    resolve = socket.getaddrinfo

    def v6_first(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host != "probe.test":
            return resolve(host, port, *args, **kwargs)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", v6_first)
    async with answering_server() as port, new_client(trusted_tls_context()) as client:
        result = await exchange(client, "GET", f"http://probe.test:{port}/", ProbeContext())
    assert result.success, result.message


async def test_a_kept_alive_connection_the_server_closed_is_not_reused() -> None:
    async with answering_server(close_after=True) as port, new_client(trusted_tls_context(), KEPT_ALIVE) as client:
        first = await exchange(client, "GET", f"http://127.0.0.1:{port}/", ProbeContext())
        await asyncio.sleep(0.1)  # the server's close reaches the client's socket
        second = await exchange(client, "GET", f"http://127.0.0.1:{port}/", ProbeContext())
    assert first.success and second.success, (first.message, second.message)
    assert "connect" in second.phases, second.phases


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, never listening: refused
        async with new_client(trusted_tls_context()) as client:
            result = await exchange(client, "GET", f"http://127.0.0.1:{port}/", ProbeContext())
    assert result.reason is Reason.CONNECT_ERROR, result.message


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
async def test_tls_is_verified_and_timed(tmp_path: Path) -> None:
    cert = make_cert(tmp_path, 30)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert.cert, cert.key)
    trusting = ssl.create_default_context(cafile=cert.cert)
    async with answering_server(server_context) as port:
        url = f"https://127.0.0.1:{port}/"
        async with new_client(trusting, KEPT_ALIVE) as client:
            first = await exchange(client, "GET", url, ProbeContext())
            again = await exchange(client, "GET", url, ProbeContext())
        async with new_client(trusted_tls_context()) as client:  # certifi's bundle: the certificate is untrusted
            untrusted = await exchange(client, "GET", url, ProbeContext())
    assert first.success and again.success, (first.message, again.message)
    assert "tls" in first.phases and "tls" not in again.phases, (first.phases, again.phases)
    assert untrusted.reason is Reason.TLS_ERROR, untrusted.message
