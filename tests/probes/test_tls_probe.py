"""The TLS probe against real local TLS servers with self-signed certificates made by ``openssl``.

Each expiry is compared with what ``openssl x509 -enddate`` says of the same certificate, for a
UTCTime (before 2050) and a GeneralizedTime (from 2050 on) validity.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from probes.context import ProbeContext
from probes.result import Reason
from probes.tls import TlsModule, not_after_of, probe

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


@dataclass(frozen=True)
class Cert:
    cert: Path
    key: Path

    def not_after(self) -> float:
        """What openssl itself reads as the expiry (``notAfter=Dec 26 01:06:54 2026 GMT``)."""
        out = subprocess.run(
            ["openssl", "x509", "-in", str(self.cert), "-noout", "-enddate"], check=True, capture_output=True, text=True
        ).stdout
        return float(ssl.cert_time_to_seconds(out.strip().removeprefix("notAfter=")))


def make_cert(folder: Path, days: int) -> Cert:
    cert, key = folder / f"cert-{days}.pem", folder / f"key-{days}.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            str(days),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return Cert(cert, key)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Cert]:
    folder = tmp_path_factory.mktemp("tls")
    return {"month": make_cert(folder, 30), "decades": make_cert(folder, 365 * 30)}


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def serving(handle: Handler, context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """``handle`` serving each connection on a free loopback port (TLS with ``context``); yields the port."""
    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def tls_server(cert: Cert) -> AsyncIterator[int]:
    """A real TLS server on a free loopback port that answers nothing and closes."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert.cert, cert.key)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async with serving(handle, context) as port:
        yield port


@contextlib.asynccontextmanager
async def plain_server(answer_nothing: bool) -> AsyncIterator[int]:
    """A TCP server that either says something that is not TLS or says nothing at all."""
    held: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if answer_nothing:
            held.append(writer)
            return
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    async with serving(handle) as port:
        try:
            yield port
        finally:
            for writer in held:
                writer.close()


async def test_reads_the_expiry_of_a_verified_certificate(certs: dict[str, Cert]) -> None:
    cert = certs["month"]
    async with tls_server(cert) as port:
        result = await probe(f"https://127.0.0.1:{port}", TlsModule(ca_file=cert.cert), ProbeContext())
    assert result.success, result.message
    assert result.not_after == cert.not_after()
    assert result.tls_version is not None and result.tls_version.startswith("TLS")
    assert result.phases["handshake"] >= 0


async def test_the_trust_store_is_loaded_once_and_again_when_the_ca_file_changes(
    certs: dict[str, Cert], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading a CA store is tens of ms of CPU on the runner's event loop: once per CA file version."""
    loaded: list[str | None] = []
    real = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        loaded.append(kwargs.get("cafile"))
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    ca_file = tmp_path / "ca.pem"
    shutil.copy(certs["month"].cert, ca_file)
    module = TlsModule(ca_file=ca_file)
    async with tls_server(certs["month"]) as port:
        for _ in range(3):
            assert (await probe(f"https://127.0.0.1:{port}", module, ProbeContext())).success
        later = ca_file.stat().st_mtime_ns + 1_000_000_000  # a rotated CA file: read again
        os.utime(ca_file, ns=(later, later))
        assert (await probe(f"https://127.0.0.1:{port}", module, ProbeContext())).success
    assert loaded == [str(ca_file), str(ca_file)]


async def test_the_default_trust_store_follows_ssl_cert_file(
    certs: dict[str, Cert], monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenSSL's default store honours SSL_CERT_FILE; a cached context must not outlive a change of it."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    async with tls_server(certs["month"]) as port:
        untrusted = await probe(f"https://127.0.0.1:{port}", TlsModule(), ProbeContext())
        monkeypatch.setenv("SSL_CERT_FILE", str(certs["month"].cert))
        trusted = await probe(f"https://127.0.0.1:{port}", TlsModule(), ProbeContext())
    assert untrusted.reason is Reason.TLS_ERROR
    assert trusted.success, trusted.message


async def test_reads_a_generalized_time_expiry_without_verifying(certs: dict[str, Cert]) -> None:
    cert = certs["decades"]
    async with tls_server(cert) as port:
        result = await probe(f"127.0.0.1:{port}", TlsModule(verify=False), ProbeContext())
    assert result.success, result.message
    assert result.not_after == cert.not_after()
    assert cert.not_after() > 2524608000  # 2050-01-01: the GeneralizedTime branch was taken


async def test_an_untrusted_certificate_is_a_tls_error(certs: dict[str, Cert]) -> None:
    async with tls_server(certs["month"]) as port:
        result = await probe(f"https://127.0.0.1:{port}", TlsModule(), ProbeContext())
    assert not result.success
    assert result.reason is Reason.TLS_ERROR
    assert "certificate" in result.message


async def test_a_wrong_host_name_is_a_tls_error(certs: dict[str, Cert]) -> None:
    cert = certs["month"]
    async with tls_server(cert) as port:
        result = await probe(
            f"https://127.0.0.1:{port}", TlsModule(ca_file=cert.cert, server_name="casino.example"), ProbeContext()
        )
    assert result.reason is Reason.TLS_ERROR
    assert "casino.example" in result.message or "match" in result.message


async def test_a_server_that_does_not_speak_tls_is_a_tls_error() -> None:
    async with plain_server(answer_nothing=False) as port:
        result = await probe(f"https://127.0.0.1:{port}", TlsModule(verify=False), ProbeContext())
    assert result.reason is Reason.TLS_ERROR


async def test_a_silent_server_times_out() -> None:
    async with plain_server(answer_nothing=True) as port:
        result = await probe(f"https://127.0.0.1:{port}", TlsModule(timeout_seconds=0.5), ProbeContext())
    assert result.reason is Reason.TIMEOUT


async def test_a_closed_port_is_a_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await probe(f"https://127.0.0.1:{port}", TlsModule(), ProbeContext())
    assert result.reason is Reason.CONNECT_ERROR


def test_garbage_is_not_a_certificate() -> None:
    with pytest.raises(ValueError):
        not_after_of(b"\x30\x03\x02\x01\x01")
    with pytest.raises(ValueError):
        not_after_of(b"not DER at all")
