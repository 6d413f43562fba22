"""A customer chats in the page's room, and the probe's own socket.io client chats back.

The probe's client (the same customer, its own connection) joins the room the page is in
(``lobby``). A message typed in the page must appear in the page's chat and reach the probe's
client; a message the probe's client sends must appear in the page. Messages carry a fresh
marker, so other people's messages in the room never count.
"""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

from pydantic import Field

from harness import About, Reason, Run, Scenario
from scenarios.kit import Spa, SpaOptions

__all__ = ["SpaChat"]


class SpaChatOptions(SpaOptions):
    room: str = Field("lobby", min_length=1, max_length=64)  # the room the page joins
    connected_text: str = "connected"
    ack_deadline_seconds: float = Field(5.0, gt=0)
    delivery_deadline_seconds: float = Field(10.0, gt=0)


class SpaChat(Scenario[SpaChatOptions]):
    """A message from the page shows in the page and reaches the probe; the probe's shows in the page."""

    about = About("spa_chat", tags=("browser", "spa", "chat", "socketio"), interval="2m", timeout="1m")

    async def journey(self, run: Run[SpaChatOptions]) -> None:
        events, deadline = run.contract.events, run.options.delivery_deadline_seconds
        marker = secrets.token_hex(4)

        async with Spa.opened(run, run.options) as app:
            await app.open_and_log_in()

            async with run.step("join the chat"):
                status = await app.connection_not_showing(run.options.connected_text)
                if status is not None:
                    run.fail(Reason.CONNECT_ERROR, f"the page's live connection shows {status!r}")
                probe_client = await run.socket()  # the probe's ear in the room, before anyone speaks
                joined = await run.ack(
                    probe_client, events.chat_join, {"room": run.options.room}, timeout=run.options.ack_deadline_seconds
                )

            async with run.step("message from the page"):
                text = f"page says hello {marker}"
                sent_at = time.perf_counter()
                await app.chat.send(text)
                await app.chat.expect_shown(text, "the page's own message", deadline)
                run.metrics.browser_timing("chat_send_to_shown", time.perf_counter() - sent_at)

            async with run.step("probe receives it"):
                self._accepted(run, events.chat_join, joined)
                push = await run.push(
                    probe_client,
                    events.chat_message,
                    where={"text": text},
                    timeout=run.options.delivery_deadline_seconds,
                )
                run.expect_equal(f"{events.chat_message} room", push.payload.get("room"), run.options.room)

            async with run.step("message from the probe"):
                reply = f"probe says hello {marker}"
                ack = await run.ack(
                    probe_client,
                    events.chat_send,
                    {"room": run.options.room, "text": reply, "client_msg_id": str(uuid.uuid4())},
                    timeout=run.options.ack_deadline_seconds,
                )
                self._accepted(run, events.chat_send, ack)
                await app.chat.expect_shown(reply, "the probe's message", deadline)

    @staticmethod
    def _accepted(run: Run[SpaChatOptions], event: str, ack: Any) -> None:
        if not isinstance(ack, dict) or ack.get("ok") is not True:
            code = ack.get("error") if isinstance(ack, dict) else None
            shown = f" ({code})" if isinstance(code, str) and len(code) < 60 else ""
            run.fail(Reason.UNEXPECTED_BODY, f"the probe's {event} was refused{shown}")
