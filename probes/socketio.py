"""The socket.io probe: connect with the ``{token}`` auth payload, await pushes, call with acks.

python-socketio's asyncio client over a real socket. The transport is part of the module:
``websocket`` (what a browser ends up on after the upgrade) or ``polling`` (what a client
behind a proxy falls back to). Events are buffered from the moment of connecting, so a push
that arrives before anyone waits for it is not lost; ``wait_for`` matches on payload fields.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, Literal

import aiohttp
import engineio
import socketio
from pydantic import BaseModel, ConfigDict

from probes.context import ProbeContext
from probes.result import ProbeResult, Reason

__all__ = ["SocketModule", "SocketClient", "open_socket", "probe"]


class SocketModule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = "/socket.io"
    transport: Literal["websocket", "polling"] = "websocket"
    connect_timeout_seconds: float = 5.0
    token: str | None = None  # the auth payload's token (set per run, never in config files)

    def __repr_args__(self) -> Any:  # never show the token
        return [(k, v) for k, v in super().__repr_args__() if k != "token"]


class _EngineIoClient(engineio.AsyncClient):  # type: ignore[misc]
    """python-engineio's client, with every HTTP answer read to its end.

    It never reads the answer to a polling POST, so that connection stays taken until the
    answer is garbage-collected, and aiohttp then logs "Unclosed connection" at ERROR level
    (after runs that passed). A read answer gives its connection back at once."""

    async def _send_request(self, *args: Any, **kwargs: Any) -> Any:
        answer = await super()._send_request(*args, **kwargs)
        if isinstance(answer, aiohttp.ClientResponse):
            try:
                await answer.read()  # engineio's own reads then get the same bytes
            except (aiohttp.ClientError, TimeoutError) as exc:
                answer.release()
                return str(exc)  # what engineio's _send_request returns for a failed request
        return answer


class _SocketIoClient(socketio.AsyncClient):  # type: ignore[misc]
    def _engineio_client_class(self) -> type[engineio.AsyncClient]:
        return _EngineIoClient


class SocketClient:
    """A connected client; every received event is kept with its arrival time."""

    def __init__(self, sio: socketio.AsyncClient, transport: str) -> None:
        self.sio = sio
        self.transport = transport
        self.received: list[tuple[float, str, Any]] = []
        self._arrived = asyncio.Condition()

    async def _on_event(self, event: str, data: Any = None) -> None:
        async with self._arrived:
            self.received.append((time.perf_counter(), event, data))
            self._arrived.notify_all()

    def _match(self, event: str, where: Mapping[str, Any] | None, since: int) -> tuple[float, Any] | None:
        for arrived_at, name, data in self.received[since:]:
            if name != event:
                continue
            if where and not (isinstance(data, dict) and all(data.get(k) == v for k, v in where.items())):
                continue
            return arrived_at, data
        return None

    async def wait_for(
        self, event: str, where: Mapping[str, Any] | None = None, timeout: float = 5.0, since: int = 0
    ) -> ProbeResult:
        """Wait for ``event`` whose payload has the fields of ``where``; ``push_missing`` past the deadline."""
        started = time.perf_counter()

        async def arrived() -> tuple[float, Any]:
            async with self._arrived:
                while (found := self._match(event, where, since)) is None:
                    await self._arrived.wait()
                return found

        try:
            arrived_at, data = await asyncio.wait_for(arrived(), timeout)
        except TimeoutError:
            shown = ", ".join(f"{k}={v}" for k, v in (where or {}).items())
            return ProbeResult.failed(
                Reason.PUSH_MISSING,
                f"no {event} ({shown}) within {timeout:g} s",
                {"wait": time.perf_counter() - started},
            )
        return ProbeResult.ok({"wait": max(0.0, arrived_at - started)}, payload=data, arrived_at=arrived_at)

    async def call(self, event: str, data: Any, timeout: float = 5.0) -> ProbeResult:
        """Emit ``event`` and wait for its ack; ``timeout`` when none comes."""
        started = time.perf_counter()
        try:
            ack = await self.sio.call(event, data, timeout=timeout)
        except socketio.exceptions.TimeoutError:
            return ProbeResult.failed(
                Reason.TIMEOUT, f"no ack for {event} within {timeout:g} s", {"ack": time.perf_counter() - started}
            )
        except socketio.exceptions.SocketIOError as exc:
            return ProbeResult.failed(
                Reason.CONNECT_ERROR, f"{event}: {type(exc).__name__}", {"ack": time.perf_counter() - started}
            )
        return ProbeResult.ok({"ack": time.perf_counter() - started}, ack=ack)

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected)

    async def _close_polling(self) -> None:
        """Say goodbye, then drop the pending long-poll GET instead of waiting it out.

        python-engineio's client waits for that GET on disconnect, and a python-engineio server
        answers it only after its ping timeout (30 s and more), as a browser never waits."""
        eio = self.sio.eio
        closing = asyncio.ensure_future(self.sio.disconnect())
        while eio.state == "connected" and not closing.done():
            await asyncio.sleep(0.01)
        await asyncio.wait_for(eio.queue.join(), 2)  # the DISCONNECT and CLOSE packets are posted
        await asyncio.sleep(0.05)  # ... and their answer is read to its end, freeing the connection
        if eio.http is not None and not eio.http.closed:
            await eio.http.close()
        await asyncio.wait_for(closing, 5)

    async def close(self) -> None:
        try:
            if self.transport == "polling" and self.sio.connected:
                await self._close_polling()
                return
            await asyncio.wait_for(self.sio.disconnect(), 5)
        except (TimeoutError, Exception):  # always leave: a broken peer must not keep us
            pass


async def open_socket(target: str, module: SocketModule, ctx: ProbeContext) -> tuple[ProbeResult, SocketClient | None]:
    """Connect to ``target``; the client is None when the connection failed (reason in the result).

    A refusal (``connect_error``) ends the attempt at once: python-socketio's ``connect`` would
    go on waiting for the polling transport's pending GET before it raises.
    """
    # handle_sigint=False: python-engineio would otherwise take over the loop's SIGINT handler and
    # cancel every task on Ctrl-C, so serve mode could not drain its in-flight runs.
    sio = _SocketIoClient(reconnection=False, logger=False, engineio_logger=False, handle_sigint=False)
    client = SocketClient(sio, module.transport)
    sio.on("*", client._on_event)
    refused: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def on_refused(data: Any = None) -> None:
        if not refused.done():
            refused.set_result(data)

    sio.on("connect_error", on_refused)
    started = time.perf_counter()
    connecting = asyncio.ensure_future(
        sio.connect(
            target.rstrip("/"),
            headers=ctx.headers(),
            auth={"token": module.token or ""},
            transports=[module.transport],
            socketio_path=module.path.strip("/"),
            wait_timeout=module.connect_timeout_seconds,
        )
    )
    try:
        await asyncio.wait(
            {connecting, refused}, timeout=module.connect_timeout_seconds + 1, return_when=asyncio.FIRST_COMPLETED
        )
    except asyncio.CancelledError:
        await _abandon(connecting, sio)
        raise
    phases = {"connect": time.perf_counter() - started}
    if connecting.done() and not refused.done() and connecting.exception() is None:
        return ProbeResult.ok(phases, transport=module.transport), client
    error = connecting.exception() if connecting.done() else None
    await _abandon(connecting, sio)
    if refused.done():  # the server's refusal is {"message": ...}; a transport failure is plain text
        said = refused.result()
        detail = f"server refused: {said}" if isinstance(said, dict) else str(said or "connection failed")[:120]
        return ProbeResult.failed(
            Reason.CONNECT_ERROR, f"socket.io connect ({module.transport}): {detail}", phases
        ), None
    if error is None:
        return ProbeResult.failed(Reason.TIMEOUT, f"socket.io connect ({module.transport}) timed out", phases), None
    return ProbeResult.failed(
        Reason.CONNECT_ERROR, f"socket.io connect ({module.transport}): {str(error)[:120]}", phases
    ), None


async def _abandon(connecting: asyncio.Future[Any], sio: socketio.AsyncClient) -> None:
    """Stop a connection attempt that failed or hangs, and free its HTTP session.

    Closing the session first ends a pending long-poll GET, so the attempt ends on its own."""
    if not connecting.done():
        await asyncio.sleep(0.05)  # a CLOSE being posted is answered, freeing its connection
    http = sio.eio.http
    if http is not None and not http.closed:
        await http.close()
    if not connecting.done():
        await asyncio.wait({connecting}, timeout=1)
    if not connecting.done():
        connecting.cancel()
        await asyncio.wait({connecting}, timeout=1)
    if connecting.done() and not connecting.cancelled():
        connecting.exception()  # retrieved: the failure is already in the result


async def probe(target: str, module: SocketModule, ctx: ProbeContext) -> ProbeResult:
    """Connect and disconnect: can a customer's browser get live updates?"""
    result, client = await open_socket(target, module, ctx)
    if client is not None:
        await client.close()
    return result
