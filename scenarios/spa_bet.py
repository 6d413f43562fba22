"""A customer bets in the page: the result is shown and the shown balance is Vault's.

The account is topped up through the API first (below a floor of stakes), so the page opens
on a funded wallet. The page's own bet answer (its ``POST`` matching
``contract.page_requests.bet``, by default any path ending in ``/v1/bets``) names the bet; Vault's
``GET /v1/bets/{id}`` must agree with it, the payout must follow the contract
(``stake * multiplier`` on a win, ``0`` on a loss) and the page must show the payout, then
the balance after the bet from the ``balance:update`` push.
"""

from __future__ import annotations

import contextlib
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field

from harness import Reason, Run, Scenario, StepFailure
from probes.browser_session import BrowserPage, browser_page
from scenarios._money import decimal, ensure_funds, usd_value
from scenarios._spa import (
    SpaOptions,
    await_balance,
    log_in,
    open_app,
    page_alerts,
    requested_since,
    shown_balance,
    vault_balance_text,
)
from scenarios.bet_settlement import StakeFacts, journey_currency, stake_facts, stake_for
from scenarios.spa_deposit_push import expect_from_push

__all__ = ["SpaBet", "bet_in_page"]


async def bet_in_page(
    run: Run, page: BrowserPage, options: SpaOptions, facts: StakeFacts, stake: Decimal
) -> dict[str, Any]:
    """Bet ``stake`` through the page's form; the page's own answer from Vault (settled)."""
    selectors = run.contract.selectors
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
        raise StepFailure(Reason.TIMEOUT, f"{failure.message}; {requested_since(page, clicked)}") from None
    posted = urlsplit(response.url).path
    if response.status != 200:
        alerts = await page_alerts(page, options)
        raise StepFailure(Reason.HTTP_STATUS, f"the page's POST {posted} answered {response.status}{alerts}")
    if not isinstance(body, dict):
        raise StepFailure(Reason.UNEXPECTED_BODY, f"the page's POST {posted} answered no JSON object")
    if body.get("status") != "settled" or not isinstance(body.get("bet_id"), str):
        raise StepFailure(Reason.UNEXPECTED_BODY, f"the page's bet is not settled: status {body.get('status')!r}")
    return body


class SpaBet(Scenario):
    """A dice bet through the page: the result is shown and the shown balance is Vault's."""

    name = "spa_bet"
    tags = ("browser", "spa", "money", "socketio")
    interval_seconds = 300.0
    timeout_seconds = 90.0
    moves_money = True

    class Options(SpaOptions):
        currency: str | None = None  # default: the target's first currency
        stake_usd: Decimal | None = Field(None, gt=0)  # default: the currency's minimum stake
        floor_stakes: int = Field(3, ge=1)  # top up when the balance is below this many stakes
        top_up_stakes: int = Field(50, ge=1)  # ... to this many stakes (at least the minimum deposit)
        deposit_deadline_seconds: float = Field(30.0, gt=0)
        balance_deadline_seconds: float = Field(15.0, gt=0)  # the bet's balance:update shown

    async def journey(self, run: Run) -> None:
        options: SpaBet.Options = run.options  # type: ignore[assignment]
        code = journey_currency(run, options.currency)

        async with run.step("read limits and rates"):
            vault = await run.as_customer("vault")
            facts = await stake_facts(run, vault, code)
            stake = stake_for(facts, options.stake_usd)

        async with run.step(f"top up {code}"):
            await ensure_funds(
                run,
                vault,
                facts.currency,
                stake * options.floor_stakes,
                stake * options.top_up_stakes,
                options.deposit_deadline_seconds,
            )

        async with browser_page(run, options.ui_timeout_seconds) as page:
            await open_app(run, page, options)
            await log_in(run, page, options)

            async with run.step(f"balance {code}"):
                before = await shown_balance(run, page, code)
                run.expect_equal(f"{code} balance shown before the bet", before, await vault_balance_text(run, code))

            async with run.step("place bet"):
                since = time.perf_counter()
                bet = await bet_in_page(run, page, options, facts, stake)

            async with run.step("result shown"):
                await self._result(run, page, bet, stake, code)

            async with run.step("balance after bet"):
                balance_after = str(bet.get("balance_after"))
                decimal(balance_after, f"bet {code} balance_after")
                await await_balance(
                    run, page, code, balance_after, options.balance_deadline_seconds, since, f"{code} bet"
                )
                await expect_from_push(run, page, code, balance_after, since, f"{code} bet")

            async with run.step("balance matches Vault"):
                run.expect_equal(
                    f"{code} balance shown after the bet",
                    await shown_balance(run, page, code),
                    await vault_balance_text(run, code),
                )

    @staticmethod
    async def _result(run: Run, page: BrowserPage, bet: dict[str, Any], stake: Decimal, code: str) -> None:
        """Vault agrees with the page's bet, the payout follows the contract, the page shows it."""
        selectors = run.contract.selectors
        vault = await run.as_customer("vault")
        stored = (await vault.get(run.paths.bet.format(id=bet["bet_id"]))).json
        if not isinstance(stored, dict):
            run.fail(Reason.UNEXPECTED_BODY, "GET bet: not an object")
        for field in ("outcome", "payout", "balance_after"):
            run.expect_equal(
                f"bet {code} {field} (Vault's GET vs the page's answer)", stored.get(field), bet.get(field)
            )
        outcome = bet.get("outcome")
        multiplier = decimal(bet.get("multiplier"), f"bet {code} multiplier")
        payout = decimal(bet.get("payout"), f"bet {code} payout")
        if outcome not in ("win", "loss"):
            run.fail(Reason.UNEXPECTED_BODY, f"bet {code}: outcome {str(outcome)[:20]!r} is neither win nor loss")
        run.expect_equal(
            f"bet {code} payout on a {outcome}", payout, stake * multiplier if outcome == "win" else Decimal(0)
        )
        await page.wait_visible(selectors.bet_result, "the bet result")
        shown = await page.text(selectors.bet_result, "the bet result")
        run.expect(
            f"the bet result shown ({shown[:80]!r}) names the payout {bet['payout']}", str(bet["payout"]) in shown
        )
