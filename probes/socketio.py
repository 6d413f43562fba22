"""The socket.io probe: connect with the ``{token}`` auth payload, await pushes, call with acks.

python-socketio's asyncio client over a real socket. The transport is part of the module:
``websocket`` (what a browser ends up on after the upgrade) or ``polling`` (what a client
behind a proxy falls back to). Events are buffered from the moment of connecting, so a push
that arrives before anyone waits for it is not lost; ``wait_for`` matches on payload fields.

A hostile server is held to the HTTP probe's rules: the client's HTTP session follows no
redirect (a redirected handshake or poll fails as ``connect_error``, so the token in the
CONNECT payload never reaches the origin a ``Location`` names), every payload is read up to
``max_payload_bytes`` (``unexpected_body`` past it), and a server that drops the connection
ends a pending ``wait_for`` or ``call`` at once as ``connect_error``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import aiohttp
import engineio
import socketio
from pydantic import BaseModel, ConfigDict, Field

from probes.context import ProbeContext
from probes.http import DEFAULT_MAX_BODY_BYTES, size_text
from probes.result import AckResult, ProbeResult, Push, PushResult, Reason

__all__ = ["SocketModule", "SocketClient", "open_socket", "probe"]


class SocketModule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = "/socket.io"
    transport: Literal["websocket", "polling"] = "websocket"
    connect_timeout_seconds: float = 5.0
    token: str | None = None  # the auth payload's token (set per run, never in config files)
    max_payload_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, ge=1)  # a polling answer or a WebSocket message

    def __repr_args__(self) -> Any:  # never show the token
        return [(k, v) for k, v in super().__repr_args__() if k != "token"]


class _PayloadRefused(ValueError):
    """A payload over the cap: the engine.io request that read it fails (``_send_request``),
    and python-engineio closes the connection as for any failed request."""


@dataclass
class _Guard:
    """The limits the client's HTTP session enforces, and what it refused (for the message)."""

    max_bytes: int
    refused: str | None = None

    def refuse(self, what: str) -> None:
        self.refused = self.refused or what


def _guarded_session(guard: _Guard) -> aiohttp.ClientSession:
    """An aiohttp session for python-engineio that follows no redirect and reads no payload
    over ``guard.max_bytes`` (WebSocket messages are capped by ``max_msg_size`` at connect)."""

    class CappedResponse(aiohttp.ClientResponse):
        async def read(self) -> bytes:
            if self._body is None:
                declared = self.content_length
                body = bytearray()
                if declared is None or declared <= guard.max_bytes:
                    async for chunk in self.content.iter_any():
                        body += chunk
                        if len(body) > guard.max_bytes:
                            break
                if len(body) > guard.max_bytes or (declared or 0) > guard.max_bytes:
                    guard.refuse(f"payload over the {size_text(guard.max_bytes)} cap (max_payload_bytes)")
                    self.close()
                    raise _PayloadRefused(guard.refused)
                self._body = bytes(body)
            return await super().read()

    class CappedWebSocket(aiohttp.ClientWebSocketResponse):
        async def receive(self, timeout: float | None = None) -> aiohttp.WSMessage:
            message = await super().receive(timeout)
            error = message.data if message.type is aiohttp.WSMsgType.ERROR else None
            if isinstance(error, aiohttp.WebSocketError) and error.code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG:
                guard.refuse(f"message over the {size_text(guard.max_bytes)} cap (max_payload_bytes)")
            return message

    async def refuse_redirect(
        session: aiohttp.ClientSession, context: Any, params: aiohttp.TraceRequestRedirectParams
    ) -> None:
        guard.refuse(f"redirect {params.response.status} not followed")
        params.response.close()
        raise aiohttp.ClientConnectionError(guard.refused)

    tracing = aiohttp.TraceConfig()
    tracing.on_request_redirect.append(refuse_redirect)
    return aiohttp.ClientSession(
        response_class=CappedResponse, ws_response_class=CappedWebSocket, trace_configs=[tracing]
    )


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
            except (aiohttp.ClientError, TimeoutError, _PayloadRefused) as exc:
                answer.release()
                return str(exc)  # what engineio's _send_request returns for a failed request
        return answer


class _SocketIoClient(socketio.AsyncClient):  # type: ignore[misc]
    def _engineio_client_class(self) -> type[engineio.AsyncClient]:
        return _EngineIoClient


_Result = TypeVar("_Result", bound=ProbeResult)


class SocketClient:
    """A connected client; every received event is kept with its arrival time."""

    def __init__(self, sio: socketio.AsyncClient, transport: str, guard: _Guard | None = None) -> None:
        self.sio = sio
        self.transport = transport
        self.received: list[tuple[float, str, Any]] = []
        self._arrived = asyncio.Condition()
        self._guard = guard or _Guard(DEFAULT_MAX_BODY_BYTES)
        self.dropped = asyncio.Event()  # the server closed the connection (or it broke)

    async def _on_event(self, event: str, data: Any = None) -> None:
        async with self._arrived:
            self.received.append((time.perf_counter(), event, data))
            self._arrived.notify_all()

    async def _on_disconnect(self, *reason: Any) -> None:
        async with self._arrived:
            self.dropped.set()
            self._arrived.notify_all()

    def _dropped_result(self, kind: type[_Result], waiting_for: str, phases: dict[str, float]) -> _Result:
        """The connection went away while a step waited on it: named now, not at the deadline."""
        if self._guard.refused:
            return kind.failed(Reason.UNEXPECTED_BODY, f"socket.io {self._guard.refused}", phases)
        return kind.failed(Reason.CONNECT_ERROR, f"socket.io connection closed while waiting for {waiting_for}", phases)

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
    ) -> PushResult:
        """Wait for ``event`` whose payload has the fields of ``where``; ``push_missing`` past the deadline."""
        started = time.perf_counter()

        async def arrived() -> tuple[float, Any] | None:
            async with self._arrived:
                while (found := self._match(event, where, since)) is None and not self.dropped.is_set():
                    await self._arrived.wait()
                return found

        shown = ", ".join(f"{k}={v}" for k, v in (where or {}).items())
        try:
            found = await asyncio.wait_for(arrived(), timeout)
        except TimeoutError:
            return PushResult.failed(
                Reason.PUSH_MISSING,
                f"no {event} ({shown}) within {timeout:g} s",
                {"wait": time.perf_counter() - started},
            )
        if found is None:
            return self._dropped_result(PushResult, f"{event} ({shown})", {"wait": time.perf_counter() - started})
        arrived_at, data = found
        return PushResult(success=True, phases={"wait": max(0.0, arrived_at - started)}, push=Push(data, arrived_at))

    async def call(self, event: str, data: Any, timeout: float = 5.0) -> AckResult:
        """Emit ``event`` and wait for its ack; ``timeout`` when none comes."""
        started = time.perf_counter()
        calling = asyncio.ensure_future(self.sio.call(event, data, timeout=timeout))
        dropped = asyncio.ensure_future(self.dropped.wait())
        try:
            await asyncio.wait({calling, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            dropped.cancel()
            if not calling.done():
                calling.cancel()
        if not calling.done() or calling.cancelled():
            return self._dropped_result(AckResult, f"the {event} ack", {"ack": time.perf_counter() - started})
        try:
            ack = calling.result()
        except socketio.exceptions.TimeoutError:
            return AckResult.failed(
                Reason.TIMEOUT, f"no ack for {event} within {timeout:g} s", {"ack": time.perf_counter() - started}
            )
        except socketio.exceptions.SocketIOError as exc:
            return AckResult.failed(
                Reason.CONNECT_ERROR, f"{event}: {type(exc).__name__}", {"ack": time.perf_counter() - started}
            )
        return AckResult(success=True, phases={"ack": time.perf_counter() - started}, ack=ack)

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
        await _close_session(self.sio)
        await asyncio.wait_for(closing, 5)

    async def close(self) -> None:
        try:
            if self.transport == "polling" and self.sio.connected:
                await self._close_polling()
            else:
                await asyncio.wait_for(self.sio.disconnect(), 5)
        except (TimeoutError, Exception):  # always leave: a broken peer must not keep us
            pass
        finally:
            await _close_session(self.sio)


async def open_socket(target: str, module: SocketModule, ctx: ProbeContext) -> tuple[ProbeResult, SocketClient | None]:
    """Connect to ``target``; the client is None when the connection failed (reason in the result).

    A refusal (``connect_error``) ends the attempt at once: python-socketio's ``connect`` would
    go on waiting for the polling transport's pending GET before it raises.
    """
    # handle_sigint=False: python-engineio would otherwise take over the loop's SIGINT handler and
    # cancel every task on Ctrl-C, so serve mode could not drain its in-flight runs.
    guard = _Guard(module.max_payload_bytes)
    sio = _SocketIoClient(
        reconnection=False,
        logger=False,
        engineio_logger=False,
        handle_sigint=False,
        http_session=_guarded_session(guard),
        websocket_extra_options={"max_msg_size": module.max_payload_bytes},
    )
    client = SocketClient(sio, module.transport, guard)
    sio.on("*", client._on_event)
    sio.on("disconnect", client._on_disconnect)
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
    except asyncio.CancelledError:  # the run's deadline: leave at once
        connecting.cancel()
        await _close_session(sio)
        raise
    phases = {"connect": time.perf_counter() - started}
    if connecting.done() and not refused.done() and connecting.exception() is None:
        return ProbeResult.ok(phases), client
    error = connecting.exception() if connecting.done() else None
    await _abandon(connecting, sio)
    if guard.refused:  # a redirect not followed, a payload over the cap
        return ProbeResult.failed(
            Reason.UNEXPECTED_BODY if "cap" in guard.refused else Reason.CONNECT_ERROR,
            f"socket.io connect ({module.transport}): {guard.refused}",
            phases,
        ), None
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
    await _close_session(sio)
    if not connecting.done():
        await asyncio.wait({connecting}, timeout=1)
    if not connecting.done():
        connecting.cancel()
        await asyncio.wait({connecting}, timeout=1)
    if connecting.done() and not connecting.cancelled():
        connecting.exception()  # retrieved: the failure is already in the result


async def _close_session(sio: socketio.AsyncClient) -> None:
    """Close the client's HTTP session: it is ours (python-engineio leaves a given one open)."""
    http = sio.eio.http
    if http is not None and not http.closed:
        await http.close()


async def probe(target: str, module: SocketModule, ctx: ProbeContext) -> ProbeResult:
    """Connect and disconnect: can a customer's browser get live updates?"""
    result, client = await open_socket(target, module, ctx)
    if client is not None:
        await client.close()
    return result
