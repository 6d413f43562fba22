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

from harness import Reason, Run, Scenario
from probes.browser_session import BrowserPage, browser_page
from scenarios._spa import SpaOptions, log_in, open_app, page_alerts

__all__ = ["SpaChat"]

# "shown" once the chat list holds the text; "alert" as soon as the page shows an error instead.
_SHOWN_OR_ALERT = """([list, text, alert]) => {
  const messages = document.querySelector(list);
  if (messages !== null && messages.textContent.includes(text)) return "shown";
  const alerts = [...document.querySelectorAll(alert)].filter((e) => e.getClientRects().length > 0);
  return alerts.length > 0 ? "alert" : false;
}"""


class SpaChat(Scenario):
    """A message from the page shows in the page and reaches the probe; the probe's shows in the page."""

    name = "spa_chat"
    tags = ("browser", "spa", "chat", "socketio")
    interval_seconds = 120.0
    timeout_seconds = 60.0

    class Options(SpaOptions):
        room: str = Field("lobby", min_length=1, max_length=64)  # the room the page joins
        connected_text: str = "connected"
        ack_deadline_seconds: float = Field(5.0, gt=0)
        delivery_deadline_seconds: float = Field(10.0, gt=0)

    async def journey(self, run: Run) -> None:
        options: SpaChat.Options = run.options  # type: ignore[assignment]
        selectors, events = run.contract.selectors, run.contract.events
        marker = secrets.token_hex(4)

        async with browser_page(run, options.ui_timeout_seconds) as page:
            await open_app(run, page, options)
            await log_in(run, page, options)

            async with run.step("join the chat"):
                connected = await page.wait_text(selectors.connection_status, options.connected_text)
                if connected is None:
                    status = await page.text(selectors.connection_status, "the connection status")
                    run.fail(Reason.CONNECT_ERROR, f"the page's live connection shows {status!r}")
                probe_client = await run.socket()  # the probe's ear in the room, before anyone speaks
                joined = await run.ack(
                    probe_client, events.chat_join, {"room": options.room}, timeout=options.ack_deadline_seconds
                )

            async with run.step("message from the page"):
                text = f"page says hello {marker}"
                sent_at = time.perf_counter()
                await page.fill(selectors.chat_input, text, "the chat input")
                await page.click(selectors.chat_send, "the chat send button")
                await self._shown(run, page, options, text, "the page's own message")
                run.metrics.browser_timing("chat_send_to_shown", time.perf_counter() - sent_at)

            async with run.step("probe receives it"):
                self._accepted(run, events.chat_join, joined)
                push = await run.push(
                    probe_client, events.chat_message, where={"text": text}, timeout=options.delivery_deadline_seconds
                )
                run.expect_equal(f"{events.chat_message} room", push.details["payload"].get("room"), options.room)

            async with run.step("message from the probe"):
                reply = f"probe says hello {marker}"
                ack = await run.ack(
                    probe_client,
                    events.chat_send,
                    {"room": options.room, "text": reply, "client_msg_id": str(uuid.uuid4())},
                    timeout=options.ack_deadline_seconds,
                )
                self._accepted(run, events.chat_send, ack)
                await self._shown(run, page, options, reply, "the probe's message")

    @staticmethod
    async def _shown(run: Run, page: BrowserPage, options: SpaChat.Options, text: str, what: str) -> None:
        """The text appears in the page's chat; an error the page shows fails at once."""
        selector = run.contract.selectors.chat_messages
        outcome = await page.wait_until(
            _SHOWN_OR_ALERT,
            [selector, text, options.alert_selector],
            f"{what} in the chat",
            options.delivery_deadline_seconds,
        )
        if outcome == "shown":
            return
        if outcome == "alert":
            run.fail(Reason.PAGE_ERROR, f"{what} is not in the page's chat{await page_alerts(page, options)}")
        run.fail(
            Reason.PUSH_MISSING,
            f"{what} did not appear in the page's chat within {options.delivery_deadline_seconds:g} s",
        )

    @staticmethod
    def _accepted(run: Run, event: str, ack: Any) -> None:
        if not isinstance(ack, dict) or ack.get("ok") is not True:
            code = ack.get("error") if isinstance(ack, dict) else None
            shown = f" ({code})" if isinstance(code, str) and len(code) < 60 else ""
            run.fail(Reason.UNEXPECTED_BODY, f"the probe's {event} was refused{shown}")
