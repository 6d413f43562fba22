"""Two connections of a customer join a chat room; a message sent on one reaches both.

The message carries a fresh ``client_msg_id`` and is matched by it, so other people's
messages in the room (or an earlier run's) never count. Sending to seeing it on the other
connection is the chat's round trip, recorded as ``synthetic_push_latency_seconds{event}``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from pydantic import Field

from harness import About, Reason, Run, Scenario
from probes.socketio import SocketClient
from scenarios.kit import Options

__all__ = ["Chat"]


def _accepted(run: Run[ChatOptions], event: str, ack: Any) -> dict[str, Any]:
    """An ack must be ``{"ok": true, ...}``; a refusal names the platform's error code."""
    if not isinstance(ack, dict):
        run.fail(Reason.UNEXPECTED_BODY, f"{event} ack is not an object")
    if ack.get("ok") is not True:
        code = ack.get("error")
        shown = f" ({code})" if isinstance(code, str) and len(code) < 60 else ""
        run.fail(Reason.UNEXPECTED_BODY, f"{event} refused: ok={ack.get('ok')}{shown}")
    return ack


class ChatOptions(Options):
    room: str = Field("synthetic-probes", min_length=1, max_length=64)  # a room customers do not use
    ack_deadline_seconds: float = Field(5.0, gt=0)
    delivery_deadline_seconds: float = Field(10.0, gt=0)


class Chat(Scenario[ChatOptions]):
    """A chat message is acknowledged and delivered to every connection in the room."""

    about = About("chat", tags=("api", "socketio", "chat", "smoke"), interval="1m", timeout="30s")

    async def journey(self, run: Run[ChatOptions]) -> None:
        events = run.contract.events

        async with run.step("log in"):
            await run.session()

        async with run.step("connect sockets"):
            sender = await run.socket()
            receiver = await run.socket()

        async with run.step("join room"):
            for client in (sender, receiver):
                ack = await run.ack(
                    client, events.chat_join, {"room": run.options.room}, timeout=run.options.ack_deadline_seconds
                )
                _accepted(run, events.chat_join, ack)

        async with run.step("send message"):
            client_msg_id = str(uuid.uuid4())
            text = f"synthetic probe {run.probe.run_id}"
            sent_at = time.perf_counter()
            ack = await run.ack(
                sender,
                events.chat_send,
                {"room": run.options.room, "text": text, "client_msg_id": client_msg_id},
                timeout=run.options.ack_deadline_seconds,
            )
            message_id = _accepted(run, events.chat_send, ack).get("message_id")
            run.expect(
                f"{events.chat_send} ack has a message_id",
                isinstance(message_id, str) and bool(message_id),
                Reason.UNEXPECTED_BODY,
            )

        async with run.step("message delivered"):
            for role, client in (("receiver", receiver), ("sender", sender)):
                await self._delivered(run, client, role, run.options, client_msg_id, message_id, text, sent_at)

    @staticmethod
    async def _delivered(
        run: Run[ChatOptions],
        client: SocketClient,
        role: str,
        options: ChatOptions,
        client_msg_id: str,
        message_id: Any,
        text: str,
        sent_at: float,
    ) -> None:
        event = run.contract.events.chat_message
        push = await run.push(
            client, event, where={"client_msg_id": client_msg_id}, timeout=options.delivery_deadline_seconds
        )
        payload = push.payload
        if role == "receiver":
            run.metrics.push_latency(event, max(0.0, push.arrived_at - sent_at))
        run.expect_equal(f"{event} message_id seen by the {role}", payload.get("message_id"), message_id)
        run.expect_equal(f"{event} room seen by the {role}", payload.get("room"), options.room)
        run.expect_equal(f"{event} text seen by the {role}", payload.get("text"), text)
