"""Room-Service: the socket.io server that pushes balances, level-ups and chat to browsers.

It relays two bus topics to the owner's private room ``user:<user_id>`` (``BALANCE_CHANGED``
-> ``balance:update``, ``LEVEL_UP`` -> ``rewards:level_up``) and runs a small chat. Chat rooms
live under a ``chat:`` prefix so that no client can join someone else's private room.
WebSocket and long-polling clients are both served (python-socketio's ASGI app).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import engineio.packet
import socketio
from socketio.exceptions import ConnectionRefusedError as SocketRefused
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Scope

from sandbox.accounts import Account
from sandbox.bus import BALANCE_CHANGED, LEVEL_UP
from sandbox.context import SandboxContext
from sandbox.health import AlbDownMiddleware, health_response, liveness_response, utc_timestamp
from sandbox.metrics import RequestMetricsMiddleware, metrics_response

__all__ = ["create_app", "RoomService", "MAX_CHAT_TEXT", "SOCKETIO_PATH"]

SERVICE = "room_service"
SOCKETIO_PATH = "socket.io"
MAX_CHAT_TEXT = 500
MAX_ROOM_NAME = 64
DOWN_WATCH_SECONDS = 0.1

Ack = dict[str, Any]


@dataclass
class Member:
    """One connected socket: whose it is and which chat rooms it joined."""

    user_id: str
    display_name: str
    chat_rooms: set[str] = field(default_factory=set)


def _user_room(user_id: str) -> str:
    return f"user:{user_id}"


def _chat_room(room: str) -> str:
    return f"chat:{room}"


class RoomService:
    """Socket handlers, bus consumers and the fault behaviour of Room-Service."""

    def __init__(self, ctx: SandboxContext, sio: socketio.AsyncServer) -> None:
        self.ctx = ctx
        self.sio = sio
        self.members: dict[str, Member] = {}
        self._pending: set[asyncio.Task[None]] = set()
        sio.on("connect", self.connect)
        sio.on("disconnect", self.disconnect)
        sio.on("chat:join", self.chat_join)
        sio.on("chat:send", self.chat_send)

    # --- sockets -------------------------------------------------------------------------

    async def connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        if self.ctx.faults.is_on("socket_rejects_connections"):
            self._close_transport(sid)
            raise SocketRefused("connections are not accepted")
        if self.ctx.shutting_down:
            self._close_transport(sid)
            raise SocketRefused("shutting_down")
        token = auth.get("token") if isinstance(auth, dict) else None
        account = self.ctx.accounts.account_for_token(token if isinstance(token, str) else None)
        if account is None:
            self.ctx.metrics.room_service.refusal(None, "unauthorized")
            self._close_transport(sid)
            raise SocketRefused("unauthorized")
        self.members[sid] = Member(account.user_id, account.display_name)
        await self.sio.enter_room(sid, _user_room(account.user_id))

    async def disconnect(self, sid: str, reason: object = None) -> None:
        self.members.pop(sid, None)
        if reason == self.sio.reason.CLIENT_DISCONNECT:
            self._end_pending_poll(sid)

    def _end_pending_poll(self, sid: str) -> None:
        """Answer a long-polling client's pending GET at once when it leaves, as Node does.

        python-engineio leaves that GET open until the next ping (25 s), so a polling
        client's ``disconnect()`` would hang that long; an empty (NOOP) answer ends it.
        """
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        eio_socket = self.sio.eio.sockets.get(eio_sid) if eio_sid else None
        if eio_socket is not None and not eio_socket.upgraded:
            eio_socket.queue.put_nowait(engineio.packet.Packet(engineio.packet.NOOP))

    def _close_transport(self, sid: str) -> None:
        """Close the Engine.IO connection under ``sid`` once what is queued for it has gone.

        Used when the server ends the only namespace (a refused connect, a server-side
        disconnect): the transport has no use left, and a python-socketio polling client
        would otherwise keep a GET pending until the next ping (25 s), holding up both the
        client and a graceful server stop. Packets queued before (``connect_error``, the
        socket.io disconnect) still reach the client first.
        """
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        if eio_sid is not None:
            self._spawn(self.sio.eio.disconnect(eio_sid))

    def account_of(self, scope: Scope) -> Account | None:
        """The account behind an Engine.IO request (its ``sid``), once the socket authenticated."""
        sids = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("sid")
        if not sids:
            return None
        sid = self.sio.manager.sid_from_eio_sid(sids[0], "/")
        member = self.members.get(sid) if sid is not None else None
        return self.ctx.accounts.by_id.get(member.user_id) if member is not None else None

    def _refused(self, sid: str, error: str) -> Ack:
        """A refused chat ack, counted for customers (a member's account, or nobody's)."""
        member = self.members.get(sid)
        account = self.ctx.accounts.by_id.get(member.user_id) if member is not None else None
        self.ctx.metrics.room_service.refusal(account, error)
        return {"ok": False, "error": error}

    async def chat_join(self, sid: str, data: object = None) -> Ack:
        if self.ctx.faults.is_on("chat_down"):
            return self._refused(sid, "chat_unavailable")
        member = self.members.get(sid)
        room = data.get("room") if isinstance(data, dict) else None
        if member is None or not _valid_room(room):
            return self._refused(sid, "invalid_room")
        assert isinstance(room, str)
        member.chat_rooms.add(room)
        await self.sio.enter_room(sid, _chat_room(room))
        return {"ok": True}

    async def chat_send(self, sid: str, data: object = None) -> Ack:
        if self.ctx.faults.is_on("chat_down"):
            return self._refused(sid, "chat_unavailable")
        member = self.members.get(sid)
        if member is None or not isinstance(data, dict):
            return self._refused(sid, "invalid_message")
        room, text = data.get("room"), data.get("text")
        if not isinstance(room, str) or room not in member.chat_rooms:
            return self._refused(sid, "not_joined")
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_CHAT_TEXT:
            return self._refused(sid, "invalid_message")
        message_id = uuid.uuid4().hex
        client_msg_id = data.get("client_msg_id")
        message = {
            "room": room,
            "message_id": message_id,
            "display_name": member.display_name,
            "text": text,
            "sent_at": utc_timestamp(),
            "client_msg_id": client_msg_id if isinstance(client_msg_id, str) else None,
        }
        await self.sio.emit("chat:message", message, room=_chat_room(room))
        return {"ok": True, "message_id": message_id}

    # --- bus consumers -------------------------------------------------------------------

    async def on_balance_changed(self, event: dict[str, Any]) -> None:
        if self._down() or self.ctx.faults.is_on("balance_push_dropped"):
            return
        push = {key: event[key] for key in ("currency", "balance", "reason", "ref_id")}
        room = _user_room(str(event["user_id"]))
        delay = self.ctx.faults.number("balance_push_delayed")
        if delay > 0:
            # Late, but the consumer goes on: later events are not held up behind this one.
            self._spawn(self._emit_later(delay, "balance:update", push, room))
        else:
            await self.sio.emit("balance:update", push, room=room)

    async def on_level_up(self, event: dict[str, Any]) -> None:
        if self._down() or self.ctx.faults.is_on("level_up_dropped"):
            return
        push = {"level": event["level"], "name": event["name"]}
        await self.sio.emit("rewards:level_up", push, room=_user_room(str(event["user_id"])))

    async def _emit_later(self, delay: float, event: str, data: dict[str, Any], room: str) -> None:
        await asyncio.sleep(delay)
        await self.sio.emit(event, data, room=room)

    # --- health and lifetime -------------------------------------------------------------

    def chat_check(self) -> tuple[bool, str]:
        if self.ctx.faults.is_on("chat_down"):
            return False, "chat backend unavailable"
        return True, f"chat ok, {len(self.members)} sockets connected"

    def _down(self) -> bool:
        return self.ctx.faults.is_on("room_service_down")

    async def _drop_sockets_when_gone(self) -> None:
        """Disconnect everyone while the service is down or draining.

        A service that is down keeps no connections (its tasks are gone); one that drains
        for a stop tells its clients to go, so that they reconnect elsewhere and the server
        is not held up by open WebSockets and pending long-polls.
        """
        while True:
            if self._down() or self.ctx.shutting_down:
                for sid in list(self.members):
                    # The task closing the transport runs once this disconnect is queued.
                    self._close_transport(sid)
                    await self.sio.disconnect(sid)
            await asyncio.sleep(DOWN_WATCH_SECONDS)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coroutine)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    @contextlib.asynccontextmanager
    async def lifespan(self, _: Starlette) -> AsyncIterator[None]:
        self.ctx.bus.subscribe(BALANCE_CHANGED, self.on_balance_changed)
        self.ctx.bus.subscribe(LEVEL_UP, self.on_level_up)
        self._spawn(self._drop_sockets_when_gone())
        try:
            yield
        finally:
            for task in list(self._pending):
                task.cancel()
            for task in list(self._pending):
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def _valid_room(room: object) -> bool:
    return isinstance(room, str) and 1 <= len(room) <= MAX_ROOM_NAME


def create_app(ctx: SandboxContext) -> ASGIApp:
    """socket.io under ``/socket.io/`` plus ``/health`` and ``/liveness``, behind the ALB."""
    sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")
    service = RoomService(ctx, sio)

    async def health(_: Request) -> Response:
        return health_response(SERVICE, ctx, {"chat": service.chat_check(), "kafka": ctx.bus.check()})

    async def liveness(_: Request) -> Response:
        return liveness_response()

    async def metrics(_: Request) -> Response:
        return metrics_response(ctx.metrics.room_service)

    http = Starlette(
        routes=[Route("/health", health), Route("/liveness", liveness), Route("/metrics", metrics)],
        lifespan=service.lifespan,
    )
    app: ASGIApp = socketio.ASGIApp(sio, other_asgi_app=http, socketio_path=SOCKETIO_PATH)
    app = RequestMetricsMiddleware(
        app, ctx.metrics.room_service, ctx.accounts, account_of=service.account_of, prefixes=(f"/{SOCKETIO_PATH}/",)
    )
    return AlbDownMiddleware(app, ctx, "room_service_down")
