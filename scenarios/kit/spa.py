"""The SPA as its customer sees it, in one browser page: the app, and one object per part of it.

``async with Spa.opened(run, options) as app:`` opens a page for the run; ``app.wallet``,
``app.dice``, ``app.deposit``, ``app.chat`` and ``app.rewards`` are the parts a journey uses.
Every selector comes from ``run.contract.selectors`` (CSS); the balance of currency ``C`` is
the ``balance`` element with ``data-currency="C"``, whose text is Vault's decimal string.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field

from harness import Reason, Run, StepFailure
from harness.browser import BrowserPage, browser_page
from scenarios.kit.money import Currency, usd_value
from scenarios.kit.options import Options
from scenarios.kit.vault import StakeFacts, VaultAccount

__all__ = ["ChatPanel", "DepositForm", "Dice", "RewardsBadge", "Spa", "SpaOptions", "Wallet"]

RENDER_GRACE_SECONDS = 1.0  # a page shows a push it received within this, or it shows it wrong
PUSH_SETTLE_SECONDS = 1.0  # a change shown must come from a push received by then
_SLICE_SECONDS = 0.25

# "shown" once the chat list holds the text; "alert" as soon as the page shows an error instead.
_SHOWN_OR_ALERT = """([list, text, alert]) => {
  const messages = document.querySelector(list);
  if (messages !== null && messages.textContent.includes(text)) return "shown";
  const alerts = [...document.querySelectorAll(alert)].filter((e) => e.getClientRects().length > 0);
  return alerts.length > 0 ? "alert" : false;
}"""


class SpaOptions(Options):
    """Options every browser journey has; deadlines suit the real platform."""

    path: str = "/"  # where the app starts, on the CDN
    ui_timeout_seconds: float = Field(15.0, gt=0)  # an element or page load, at most
    alert_selector: str = "[role=alert]"  # where the page tells its customer something went wrong


class Spa:
    """The app in the run's browser page."""

    def __init__(self, run: Run[Any], page: BrowserPage, options: SpaOptions) -> None:
        self.run = run
        self.page = page
        self.options = options
        self.selectors = run.contract.selectors
        self.wallet = Wallet(self)
        self.dice = Dice(self)
        self.deposit = DepositForm(self)
        self.chat = ChatPanel(self)
        self.rewards = RewardsBadge(self)

    @classmethod
    @contextlib.asynccontextmanager
    async def opened(cls, run: Run[Any], options: SpaOptions) -> AsyncIterator[Spa]:
        """A page of the run's browser for as long as the block runs (artifacts kept on failure)."""
        async with browser_page(run, options.ui_timeout_seconds) as page:
            yield cls(run, page, options)

    async def open_and_log_in(self) -> None:
        """Steps "open the app" and "log in"."""
        await self.open_app()
        await self.log_in()

    async def open_app(self) -> None:
        """Step "open the app": the page loads cleanly and offers its login form."""
        async with self.run.step("open the app"):
            await self.page.goto(self.options.path)
            self.page.expect_clean()
            await self.page.wait_visible(self.selectors.login_username, "the login form")
            self.page.expect_clean()

    async def log_in(self) -> None:
        """Step "log in": the customer types username and password; the wallet appears."""
        run, page, selectors = self.run, self.page, self.selectors
        async with run.step("log in"):
            await page.fill(selectors.login_username, run.username(), "the username field")
            await page.fill_secret(selectors.login_password, run.password(), "the password field")
            await page.click(selectors.login_submit, "the sign-in button")
            try:
                await page.wait_visible(self.wallet.selector(run.target.currencies[0]), "the wallet after signing in")
            except StepFailure as failure:
                alerts = await self.alerts() if failure.reason is Reason.TIMEOUT else ""
                if alerts:
                    raise StepFailure(Reason.PAGE_ERROR, f"no wallet after signing in{alerts}") from None
                raise

    async def alerts(self) -> str:
        """What the page shows as alerts now, for a failure message ('' when nothing)."""
        shown = [text for text in await self.page.visible_texts(self.options.alert_selector) if text]
        return f"; the page says: {' | '.join(shown)[:160]}" if shown else ""

    def requested_since(self, since: float, most: int = 6) -> str:
        """What the page requested of its own origin since ``since``: methods and paths, no query strings."""
        responses = self.page.watch.responses
        seen = dict.fromkeys(f"{s.method} {s.path[:80]} ({s.status})" for s in responses if s.at >= since)
        if not seen:
            return "the page requested nothing of its origin"
        shown = list(seen)[:most]
        more = f" and {len(seen) - most} more" if len(seen) > most else ""
        return f"the page requested: {', '.join(shown)}{more}"

    async def connection_not_showing(self, text: str, seconds: float | None = None) -> str | None:
        """None once the live-connection status shows ``text``; else what it shows at the deadline."""
        status = self.selectors.connection_status
        if await self.page.wait_text(status, text, seconds) is not None:
            return None
        return await self.page.text(status, "the connection status")


class Wallet:
    """The balances the page shows, one element per currency, moved by ``balance:update`` pushes."""

    def __init__(self, app: Spa) -> None:
        self.app = app

    def selector(self, code: str) -> str:
        return f'{self.app.selectors.balance}[data-currency="{code}"]'

    async def shown(self, code: str) -> str:
        return await self.app.page.text(self.selector(code), f"the {code} balance")

    async def expect_vaults(self, vault: VaultAccount, code: str, when: str) -> str:
        """The shown ``code`` balance is Vault's exact string; it is returned."""
        shown = await self.shown(code)
        self.app.run.expect_equal(f"{code} balance shown {when}", shown, await vault.balance_text(code))
        return shown

    async def await_balance(self, code: str, expected: str, deadline_seconds: float, since: float, why: str) -> float:
        """Wait until the page shows ``expected`` as the ``code`` balance; seconds since ``since``.

        When it does not: ``assertion`` as soon as a ``balance:update`` carrying ``expected`` reached
        the page and the page still shows something else a moment later (it shows it wrong), else
        ``push_missing`` at the deadline (no push came).
        """
        page, event = self.app.page, self.app.run.contract.events.balance_update
        selector = self.selector(code)
        deadline = since + deadline_seconds
        while True:
            slice_seconds = max(0.05, min(_SLICE_SECONDS, deadline - time.perf_counter()))
            if await page.wait_text(selector, expected, slice_seconds, probe_alive=False) is not None:
                return time.perf_counter() - since
            pushed = [
                p
                for p in page.watch.pushes_of(event, since)
                if isinstance(p.data, dict) and p.data.get("currency") == code
            ]
            carrying = [p for p in pushed if p.data.get("balance") == expected]
            now = time.perf_counter()
            if carrying and now - carrying[0].at >= RENDER_GRACE_SECONDS:
                shown = await self.shown(code)
                raise StepFailure(
                    Reason.ASSERTION,
                    f"page shows {code} {shown} after the {why}, but the {event} push it received says {expected}",
                )
            if now >= deadline:
                break
        await page.ensure_alive(f"waiting for the {code} balance")
        shown = await self.shown(code)
        others = [p.data for p in pushed]
        seen = f" (it got {len(others)} other {code} {event}: {json.dumps(others)[:120]})" if others else ""
        raise StepFailure(
            Reason.PUSH_MISSING,
            f"no {event} to {code} {expected} reached the page within "
            f"{deadline_seconds:g} s of the {why}; it shows {code} {shown}{seen}",
        )

    async def expect_from_push(self, code: str, balance: str, since: float, why: str) -> None:
        """The shown change came from a ``balance:update`` the page received, not from a second read."""
        run, page = self.app.run, self.app.page
        event = run.contract.events.balance_update
        deadline = time.perf_counter() + PUSH_SETTLE_SECONDS
        while True:
            pushed = [
                p
                for p in page.watch.pushes_of(event, since)
                if isinstance(p.data, dict) and p.data.get("currency") == code and p.data.get("balance") == balance
            ]
            if pushed or time.perf_counter() >= deadline:
                break
            await page.page.wait_for_timeout(50)
        rereads = [
            s
            for s in page.watch.responses
            if s.at >= since and s.method == "GET" and s.path.endswith(run.paths.balance)
        ]
        if not pushed:
            how = f" (it read {run.paths.balance} again instead)" if rereads else ""
            run.fail(Reason.ASSERTION, f"the page shows {code} {balance} after the {why} without a {event} push{how}")


class Dice:
    """The dice form: currency, stake, the bet button and the result."""

    def __init__(self, app: Spa) -> None:
        self.app = app

    async def bet(self, facts: StakeFacts, stake: Decimal) -> dict[str, Any]:
        """Bet ``stake`` through the form; the page's own answer from Vault (settled)."""
        app, run, page, selectors = self.app, self.app.run, self.app.page, self.app.selectors
        code = facts.currency.code
        run.spend_stake(usd_value(stake, facts.rate))
        await page.select(selectors.bet_currency, code, "the bet currency")
        await page.fill(selectors.bet_stake, facts.currency.text(stake), "the stake")
        bets = run.contract.page_request("bet")
        seconds = page.seconds()
        clicked = time.perf_counter()
        try:
            async with page.guard(f"a POST of the page matching {bets}", seconds):
                async with page.page.expect_response(
                    lambda r: r.request.method == "POST" and run.contract.is_page_request("bet", urlsplit(r.url).path),
                    timeout=seconds * 1000,
                ) as answered:
                    await page.click(selectors.bet_submit, "the bet button")
                response = await answered.value
                body = None
                if response.status == 200:
                    with contextlib.suppress(ValueError):
                        body = await response.json()
        except StepFailure as failure:
            if failure.reason is not Reason.TIMEOUT:
                raise
            raise StepFailure(Reason.TIMEOUT, f"{failure.message}; {app.requested_since(clicked)}") from None
        posted = urlsplit(response.url).path
        if response.status != 200:
            raise StepFailure(
                Reason.HTTP_STATUS, f"the page's POST {posted} answered {response.status}{await app.alerts()}"
            )
        if not isinstance(body, dict):
            raise StepFailure(Reason.UNEXPECTED_BODY, f"the page's POST {posted} answered no JSON object")
        if body.get("status") != "settled" or not isinstance(body.get("bet_id"), str):
            raise StepFailure(Reason.UNEXPECTED_BODY, f"the page's bet is not settled: status {body.get('status')!r}")
        return body

    async def result_text(self) -> str:
        selectors = self.app.selectors
        await self.app.page.wait_visible(selectors.bet_result, "the bet result")
        return await self.app.page.text(selectors.bet_result, "the bet result")


class DepositForm:
    """The deposit form: currency, amount and the deposit button (sandbox method)."""

    def __init__(self, app: Spa) -> None:
        self.app = app

    async def fill(self, currency: Currency, amount: Decimal) -> None:
        selectors, page = self.app.selectors, self.app.page
        await page.select(selectors.deposit_currency, currency.code, "the deposit currency")
        await page.fill(selectors.deposit_amount, currency.text(amount), "the deposit amount")

    async def submit(self) -> None:
        await self.app.page.click(self.app.selectors.deposit_submit, "the deposit button")


class ChatPanel:
    """The chat: the input, the send button and the list of messages."""

    def __init__(self, app: Spa) -> None:
        self.app = app

    async def send(self, text: str) -> None:
        selectors, page = self.app.selectors, self.app.page
        await page.fill(selectors.chat_input, text, "the chat input")
        await page.click(selectors.chat_send, "the chat send button")

    async def expect_shown(self, text: str, what: str, deadline_seconds: float) -> None:
        """The text appears in the chat; an error the page shows fails at once."""
        app = self.app
        outcome = await app.page.wait_until(
            _SHOWN_OR_ALERT,
            [app.selectors.chat_messages, text, app.options.alert_selector],
            f"{what} in the chat",
            deadline_seconds,
        )
        if outcome == "shown":
            return
        if outcome == "alert":
            app.run.fail(Reason.PAGE_ERROR, f"{what} is not in the page's chat{await app.alerts()}")
        app.run.fail(Reason.PUSH_MISSING, f"{what} did not appear in the page's chat within {deadline_seconds:g} s")


class RewardsBadge:
    """The level badge and the level-up toast."""

    def __init__(self, app: Spa) -> None:
        self.app = app

    async def expect_level(self, name: str, when: str = "") -> None:
        """The badge shows the level ``name`` (``when``: " after the level-up", for the message)."""
        app = self.app
        if await app.page.wait_text(app.selectors.level_badge, name) is None:
            shown = await app.page.texts(app.selectors.level_badge)
            app.run.fail(Reason.ASSERTION, f"level badge shows {shown[:1]}{when}, expected {name!r}")

    async def expect_toast(self, level: int, name: str, deadline_seconds: float, since: float) -> None:
        """The level-up toast names ``name``; when it does not show, was the push missing or ignored?"""
        run, page, selectors = self.app.run, self.app.page, self.app.selectors
        event = run.contract.events.level_up
        try:
            await page.wait_visible(selectors.level_up_toast, "the level-up toast", deadline_seconds)
        except StepFailure as failure:
            if failure.reason is not Reason.TIMEOUT:
                raise
            pushed = [p.data for p in page.watch.pushes_of(event, since)]
            if any(isinstance(p, dict) and p.get("level") == level for p in pushed):
                run.fail(Reason.ASSERTION, f"the page got {event} {json.dumps(pushed)[:100]} but shows no toast")
            run.fail(
                Reason.PUSH_MISSING,
                f"no {event} to level {level} reached the page within {deadline_seconds:g} s of the bet",
            )
        run.metrics.browser_timing("bet_to_level_up_toast", time.perf_counter() - since)
        shown = await page.text(selectors.level_up_toast, "the level-up toast")
        run.expect(f"the level-up toast ({shown[:80]!r}) names {name!r}", name in shown)
