"""httpcore's network layer on bare non-blocking sockets and the running asyncio loop.

httpcore's default (anyio) opens a connection through a task group, an event, and an asyncio
transport with its protocol, and wakes a reading task through an event that the protocol sets:
several loop iterations per connection and one more per socket operation, all inside the span
a probe times (0.3 ms of connect alone, where a blocking ``connect`` takes 0.1 ms). Here each
operation is tried on the socket at once, and only when the kernel has nothing yet does it wait
for the socket on the loop's selector: one wake-up per wait, as Go's netpoller does for
blackbox_exporter (a loopback connect, complete when ``connect`` returns, waits for nothing).
TLS runs on an ``ssl.SSLSocket`` the same way. IP literals skip the resolver; names resolve
through the loop's ``getaddrinfo`` and their addresses are raced as anyio races them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import os
import select
import socket
import ssl
from asyncio import staggered
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import httpcore
import httpx

__all__ = ["SocketBackend", "SocketStream", "on_bare_sockets"]

HAPPY_EYEBALLS_DELAY = 0.25  # seconds before the next address is tried, as anyio (httpcore's default) waits

T = TypeVar("T")
Address = tuple[Any, ...]


@contextlib.contextmanager
def _mapped(on_timeout: type[Exception], on_error: type[Exception]) -> Iterator[None]:
    """OS and TLS errors as httpcore's exceptions (httpx maps those to its own), cause kept."""
    try:
        yield
    except TimeoutError as exc:  # before OSError: TimeoutError is one
        raise on_timeout(str(exc) or "timed out") from exc
    except OSError as exc:
        raise on_error(str(exc) or type(exc).__name__) from exc


def _done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _ready(sock: socket.socket, writable: bool, timeout: float | None) -> None:
    """Until ``sock`` is readable (or writable), or ``TimeoutError`` after ``timeout``."""
    loop = asyncio.get_running_loop()
    fd = sock.fileno()
    ready: asyncio.Future[None] = loop.create_future()
    if writable:
        loop.add_writer(fd, _done, ready)
    else:
        loop.add_reader(fd, _done, ready)
    try:
        if timeout is None:
            await ready
        else:
            async with asyncio.timeout(timeout):
                await ready
    finally:
        (loop.remove_writer if writable else loop.remove_reader)(fd)


def _ready_now(sock: socket.socket, events: int) -> bool:
    poll = select.poll()
    poll.register(sock, events)
    return bool(poll.poll(0))


class SocketStream(httpcore.AsyncNetworkStream):
    """One connected non-blocking socket (plain or TLS), read and written on the running loop by
    one reader and one writer at a time, as HTTP/1.1 uses a connection."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    async def _retrying(self, operation: Callable[[], T], timeout: float | None, writing: bool = False) -> T:
        """``operation`` until it no longer would block; TLS may want the other direction."""
        while True:
            try:
                return operation()
            except ssl.SSLWantReadError:
                await _ready(self._sock, False, timeout)
            except ssl.SSLWantWriteError:
                await _ready(self._sock, True, timeout)
            except BlockingIOError:
                await _ready(self._sock, writing, timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _mapped(httpcore.ReadTimeout, httpcore.ReadError):
            return await self._retrying(functools.partial(self._sock.recv, max_bytes), timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        view = memoryview(buffer)
        with _mapped(httpcore.WriteTimeout, httpcore.WriteError):
            while view:
                sent = await self._retrying(functools.partial(self._sock.send, view), timeout, writing=True)
                view = view[sent:]

    async def aclose(self) -> None:
        self._sock.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        try:
            with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
                tls = ssl_context.wrap_socket(
                    self._sock, server_hostname=server_hostname, do_handshake_on_connect=False
                )
                self._sock = tls  # wrapping detached the plain socket: close the TLS one from now on
                await self._retrying(tls.do_handshake, timeout)
        except BaseException:
            self._sock.close()
            raise
        return SocketStream(tls)

    def get_extra_info(self, info: str) -> Any:
        sock = self._sock
        if info == "ssl_object":
            return sock if isinstance(sock, ssl.SSLSocket) else None
        if info == "client_addr":
            return sock.getsockname()
        if info == "server_addr":
            return sock.getpeername()
        if info == "socket":
            return sock
        if info == "is_readable":  # a kept-alive connection the server closed (or wrote to) is not reused
            return sock.fileno() < 0 or _ready_now(sock, select.POLLIN)
        return None


def _ordered(infos: Iterable[tuple[Any, ...]]) -> list[tuple[int, Address]]:
    """(family, address) with the first IPv6 address, then the first IPv4 one, then the rest (as anyio)."""
    v6 = [(family, address) for family, *_, address in infos if family == socket.AF_INET6]
    v4 = [(family, address) for family, *_, address in infos if family == socket.AF_INET]
    return v6[:1] + v4[:1] + v6[1:] + v4[1:]


async def _resolved(host: str, port: int) -> list[tuple[int, Address]]:
    """An IP literal as it is (no resolver thread), a name through the loop's ``getaddrinfo``."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        loop = asyncio.get_running_loop()
        return _ordered(await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
    return [(family, (host, port))]


async def _connected(family: int, address: Address, local_address: str | None) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # httpcore writes head and body apart
        if local_address is not None:
            sock.bind((local_address, 0))
        try:
            sock.connect(address)
        except BlockingIOError:  # under way; on loopback the handshake is already done: no loop turn
            if not _ready_now(sock, select.POLLOUT):
                await _ready(sock, True, None)
            error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error:
                raise OSError(error, os.strerror(error)) from None
    except BaseException:
        sock.close()
        raise
    return sock


class SocketBackend(httpcore.AsyncNetworkBackend):
    """httpcore's ``AsyncNetworkBackend`` on ``SocketStream``: same exceptions, fewer loop turns."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            async with asyncio.timeout(timeout):
                addresses = await _resolved(host, port)
                if not addresses:
                    raise OSError(f"no address for {host}")
                if len(addresses) == 1:
                    sock = await _connected(*addresses[0], local_address)
                else:  # happy eyeballs, as asyncio's create_connection does it
                    attempts = [functools.partial(_connected, f, a, local_address) for f, a in addresses]
                    winner, _, errors = await staggered.staggered_race(attempts, HAPPY_EYEBALLS_DELAY)
                    if winner is None:
                        raise next((e for e in errors if e is not None), OSError(f"cannot connect to {host}"))
                    sock = winner
        for option in socket_options or ():
            sock.setsockopt(*option)
        return SocketStream(sock)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.AsyncNetworkStream:
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            async with asyncio.timeout(timeout):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.setblocking(False)
                    await asyncio.get_running_loop().sock_connect(sock, path)
                except BaseException:
                    sock.close()
                    raise
        for option in socket_options or ():
            sock.setsockopt(*option)
        return SocketStream(sock)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def on_bare_sockets(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """``client`` with its direct connections on ``SocketBackend`` (proxied ones keep httpcore's).

    httpx 0.28 has no public hook for httpcore's network backend, so this sets it on the pool of
    the client's default transport; tests/probes/test_sockets.py fails if an upgrade moves it.
    """
    transport = client._transport
    if not isinstance(transport, httpx.AsyncHTTPTransport) or not isinstance(
        transport._pool, httpcore.AsyncConnectionPool
    ):
        raise TypeError(f"not httpx's default transport and pool: {type(transport).__name__}")
    transport._pool._network_backend = SocketBackend()
    return client
