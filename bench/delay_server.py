"""A loopback HTTP/1.1 server whose answer comes after a known delay, in one write.

``GET /delay/<ms>`` answers 200 after ``ms`` milliseconds; headers and body leave in a single
``transport.write`` so the client gets them in one segment (a response split in two would
meet the client's delayed ACK and add ~40 ms to keep-alive requests, a cost of the server and
not of the probe being measured). Keep-alive and ``Connection: close`` are both honoured.

    python -m bench.delay_server [--port 0] [--cpu N] [--uvloop]   # prints "listening http://127.0.0.1:PORT"

Accuracy runs use the standard event loop (``call_later`` is exact to the epoll millisecond);
throughput runs add ``--uvloop`` so that the server is never the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import cast

from bench.procfs import pin

__all__ = ["DelayedHttp", "delay_of", "main"]

_BODY = b'{"ok": true}\n'  # JSON: a scenario's client reads answers as JSON


def delay_of(target: bytes) -> float:
    """Seconds to wait for a request target such as ``/delay/50`` (anything else: 0)."""
    parts = target.split(b"?", 1)[0].strip(b"/").split(b"/")
    if len(parts) == 2 and parts[0] == b"delay" and parts[1].isdigit():
        return int(parts[1]) / 1000
    return 0.0


def _response(close: bool) -> bytes:
    headers = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + b"Content-Length: %d\r\n" % len(_BODY)
        + (b"Connection: close\r\n" if close else b"")
        + b"\r\n"
    )
    return headers + _BODY


class DelayedHttp(asyncio.Protocol):
    """One connection: each complete request head schedules its answer after the delay."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            request_line, _, header_block = head.partition(b"\r\n")
            fields = request_line.split(b" ")
            target = fields[1] if len(fields) > 1 else b"/"
            close = b"connection: close" in header_block.lower() or request_line.endswith(b"HTTP/1.0")
            asyncio.get_running_loop().call_later(delay_of(target), self._answer, close)

    def _answer(self, close: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(_response(close))  # headers and body in one send
        if close:
            self.transport.close()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(DelayedHttp, host, port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"listening http://{host}:{bound}", flush=True)
    async with server:
        await server.serve_forever()


def _fast_loop() -> None:
    """uvloop when present (it is, through uvicorn[standard])."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.delay_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cpu", type=int, help="pin to this core")
    parser.add_argument("--uvloop", action="store_true", help="use uvloop (throughput runs)")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        pin({args.cpu})
    if args.uvloop:
        _fast_loop()
    try:
        asyncio.run(serve(args.host, args.port))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
