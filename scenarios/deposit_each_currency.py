"""A customer deposits in every currency the target offers and sees each deposit land.

For each configured currency: a small sandbox deposit, polled to ``completed`` within a
deadline, then the balance (up by exactly the amount), the history entry (type ``deposit``,
``ref_id`` = the deposit id, the amount) and the ``balance:update`` push (the new balance).
Every currency is checked even when one fails, so one broken currency is told apart from a
broken platform (``synthetic_currency_success{currency}``).
"""

from __future__ import annotations

from decimal import Decimal

from harness import Reason, Run, Scenario
from harness.clients import ServiceClient
from probes.socketio import SocketClient
from scenarios._money import Currency, currencies, rates
from scenarios._payments import (
    PaymentOptions,
    amount_for,
    balance_of,
    check_history_entry,
    check_push,
    complete,
    each_currency,
    open_payment,
    usd_total,
)

__all__ = ["DepositEachCurrency"]


class DepositEachCurrency(Scenario):
    """A sandbox deposit in each configured currency: completed, balance, history and push."""

    name = "deposit_each_currency"
    tags = ("api", "money", "socketio")
    interval_seconds = 300.0
    timeout_seconds = 180.0  # a few currencies, each with its completion deadline
    moves_money = True

    class Options(PaymentOptions):
        pass

    async def journey(self, run: Run) -> None:
        options: DepositEachCurrency.Options = run.options  # type: ignore[assignment]

        async with run.step("log in"):
            vault = await run.as_customer("vault")

        async with run.step("read currencies"):
            offered = await currencies(run, vault)
            wanted = [offered[code] for code in run.target.currencies if code in offered]
            fx = await rates(run, vault)
            run.spend_stake(usd_total(run, ((c, amount_for(options, c)) for c in wanted), fx))

        async with run.step("connect socket"):
            socket = await run.socket()

        async def deposit(code: str) -> None:
            currency = offered.get(code)
            if currency is None:
                run.fail(Reason.ASSERTION, f"Vault does not list currency {code}")
            await self.deposit(run, vault, socket, currency, amount_for(options, currency), options)

        await each_currency(run, run.target.currencies, lambda code: f"deposit {code}", deposit)

    async def deposit(
        self,
        run: Run,
        vault: ServiceClient,
        socket: SocketClient,
        currency: Currency,
        amount: Decimal,
        options: PaymentOptions,
    ) -> None:
        code = currency.code
        before = await balance_of(run, vault, code)
        payment = await open_payment(run, vault, "deposit", currency, amount)
        await complete(run, vault, payment, options)
        after = await balance_of(run, vault, code)
        run.expect_equal(f"{code} balance after a deposit of {amount} (before {before})", after, before + amount)
        await check_history_entry(run, vault, payment, options.history_limit)
        await check_push(run, socket, payment, after, options)
