"""A customer deposits in the page and sees the new balance arrive live, without a reload.

The deposit uses the sandbox payment method (synthetic accounts only). The page must change
the shown balance by exactly the amount from the ``balance:update`` push, never by reading
the balance again; the time from the click to the new balance shown is
``synthetic_browser_timing_seconds{metric="deposit_to_balance"}``.
"""

from __future__ import annotations

import time
from decimal import Decimal

from pydantic import Field

from harness import Reason, Run, Scenario
from probes.browser_session import BrowserPage, browser_page
from scenarios._money import Currency, currencies, decimal, rates, usd_value
from scenarios._spa import SpaOptions, await_balance, log_in, open_app, shown_balance, vault_balance_text
from scenarios.bet_settlement import journey_currency

__all__ = ["SpaDepositPush", "expect_from_push"]

PUSH_SETTLE_SECONDS = 1.0


async def expect_from_push(run: Run, page: BrowserPage, code: str, balance: str, since: float, why: str) -> None:
    """The shown change came from a ``balance:update`` the page received, not from a second read."""
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
        s for s in page.watch.responses if s.at >= since and s.method == "GET" and s.path.endswith(run.paths.balance)
    ]
    if not pushed:
        how = f" (it read {run.paths.balance} again instead)" if rereads else ""
        run.fail(Reason.ASSERTION, f"the page shows {code} {balance} after the {why} without a {event} push{how}")


class SpaDepositPush(Scenario):
    """A deposit made in the page raises the shown balance by its amount, live, from the push."""

    name = "spa_deposit_push"
    tags = ("browser", "spa", "money", "socketio")
    interval_seconds = 300.0
    timeout_seconds = 90.0
    moves_money = True

    class Options(SpaOptions):
        currency: str | None = None  # default: the target's first currency
        amount: Decimal | None = Field(None, gt=0)  # default: the currency's minimum deposit
        balance_deadline_seconds: float = Field(30.0, gt=0)  # deposit completed and pushed

    async def journey(self, run: Run) -> None:
        options: SpaDepositPush.Options = run.options  # type: ignore[assignment]
        selectors = run.contract.selectors
        code = journey_currency(run, options.currency)

        async with run.step("read currencies"):
            vault = await run.as_customer("vault")
            known = await currencies(run, vault)
            if code not in known:
                run.fail(Reason.ASSERTION, f"Vault does not list currency {code}")
            currency = known[code]
            rate = (await rates(run, vault)).get(code)
            if rate is None or rate <= 0:
                run.fail(Reason.ASSERTION, f"Vault has no usable rate for {code}")
            amount = self._amount(run, currency, options.amount)

        async with browser_page(run, options.ui_timeout_seconds) as page:
            await open_app(run, page, options)
            await log_in(run, page, options)

            async with run.step(f"balance {code}"):
                before = await shown_balance(run, page, code)
                run.expect_equal(
                    f"{code} balance shown before the deposit", before, await vault_balance_text(run, code)
                )

            async with run.step(f"deposit {code}"):
                run.spend_stake(usd_value(amount, rate))
                await page.select(selectors.deposit_currency, code, "the deposit currency")
                await page.fill(selectors.deposit_amount, currency.text(amount), "the deposit amount")
                expected = currency.text(decimal(before, f"the {code} balance shown") + amount)
                since = time.perf_counter()
                await page.click(selectors.deposit_submit, "the deposit button")
                waited = await await_balance(
                    run, page, code, expected, options.balance_deadline_seconds, since, f"{code} deposit"
                )
                run.metrics.browser_timing("deposit_to_balance", waited)
                await expect_from_push(run, page, code, expected, since, f"{code} deposit")

            async with run.step("balance matches Vault"):
                run.expect_equal(
                    f"{code} balance shown after the deposit",
                    await shown_balance(run, page, code),
                    await vault_balance_text(run, code),
                )

    @staticmethod
    def _amount(run: Run, currency: Currency, configured: Decimal | None) -> Decimal:
        amount = configured if configured is not None else currency.min_deposit
        if amount != amount.quantize(currency.unit) or amount < currency.min_deposit:
            run.fail(
                Reason.ERROR,
                f"options.amount {amount} does not suit {currency.code} "
                f"({currency.decimals} decimals, min_deposit {currency.min_deposit})",
            )
        return amount
