"""A customer deposits in the page and sees the new balance arrive live, without a reload.

The deposit uses the sandbox payment method (synthetic accounts only). The page must change
the shown balance by exactly the amount from the ``balance:update`` push, never by reading
the balance again; the time from the click to the new balance shown is
``synthetic_browser_timing_seconds{metric="deposit_to_balance"}``.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from pydantic import Field

from harness import About, Reason, Run, Scenario
from scenarios.kit import Currency, CurrencyOption, Spa, SpaOptions, VaultAccount, decimal, usd_value

__all__ = ["SpaDepositPush"]


class SpaDepositPushOptions(SpaOptions, CurrencyOption):
    amount: Decimal | None = Field(None, gt=0)  # default: the currency's minimum deposit
    balance_deadline_seconds: float = Field(30.0, gt=0)  # deposit completed and pushed


class SpaDepositPush(Scenario[SpaDepositPushOptions]):
    """A deposit made in the page raises the shown balance by its amount, live, from the push."""

    about = About("spa_deposit_push", tags=("browser", "spa", "money", "socketio"), interval="5m", timeout="90s")

    async def journey(self, run: Run[SpaDepositPushOptions]) -> None:
        code = run.options.journey_currency(run)

        async with run.step("read currencies"):
            vault = await VaultAccount.log_in(run)
            currency = await vault.currency(code)
            rate = await vault.rate(code)
            amount = self._amount(run, currency, run.options.amount)

        async with Spa.opened(run, run.options) as app:
            await app.open_and_log_in()

            async with run.step(f"balance {code}"):
                before = await app.wallet.expect_vaults(vault, code, "before the deposit")

            async with run.step(f"deposit {code}"):
                run.spend_stake(usd_value(amount, rate))
                await app.deposit.fill(currency, amount)
                expected = currency.text(decimal(before, f"the {code} balance shown") + amount)
                since = time.perf_counter()
                await app.deposit.submit()
                deadline = run.options.balance_deadline_seconds
                waited = await app.wallet.await_balance(code, expected, deadline, since, f"{code} deposit")
                run.metrics.browser_timing("deposit_to_balance", waited)
                await app.wallet.expect_from_push(code, expected, since, f"{code} deposit")

            async with run.step("balance matches Vault"):
                await app.wallet.expect_vaults(vault, code, "after the deposit")

    @staticmethod
    def _amount(run: Run[Any], currency: Currency, configured: Decimal | None) -> Decimal:
        amount = configured if configured is not None else currency.min_deposit
        if amount != amount.quantize(currency.unit) or amount < currency.min_deposit:
            run.fail(
                Reason.ERROR,
                f"options.amount {amount} does not suit {currency.code} "
                f"({currency.decimals} decimals, min_deposit {currency.min_deposit})",
            )
        return amount
