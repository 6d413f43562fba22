"""A customer withdraws in every currency the target offers and sees each withdrawal go out.

For each configured currency: top the account up by a sandbox deposit when it holds less than
the amount, then a small sandbox withdrawal, polled to ``completed`` within a deadline, then
the balance (down by exactly the amount), the history entry (type ``withdrawal``, ``ref_id`` =
the withdrawal id, the negative amount) and the ``balance:update`` push (the new balance).
The withdrawal returns what the top-up added, so the test account stays level. Every currency
is checked even when one fails (``synthetic_currency_success{currency}``).
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
    top_up,
    usd_total,
)

__all__ = ["WithdrawEachCurrency"]


class WithdrawEachCurrency(Scenario):
    """A sandbox withdrawal in each configured currency: completed, balance, history and push."""

    name = "withdraw_each_currency"
    tags = ("api", "money", "socketio")
    interval_seconds = 300.0
    timeout_seconds = 240.0  # a top-up and a withdrawal per currency, each with its deadline
    moves_money = True

    class Options(PaymentOptions):
        pass

    async def journey(self, run: Run) -> None:
        options: WithdrawEachCurrency.Options = run.options  # type: ignore[assignment]

        async with run.step("log in"):
            vault = await run.as_customer("vault")

        async with run.step("read currencies"):
            offered = await currencies(run, vault)
            wanted = [offered[code] for code in run.target.currencies if code in offered]
            fx = await rates(run, vault)
            # The budget pays for the top-ups, counted as if every currency needed one.
            top_ups = ((c, max(amount_for(options, c), c.min_deposit)) for c in wanted)
            run.spend_stake(usd_total(run, top_ups, fx))

        async with run.step("connect socket"):
            socket = await run.socket()

        async def withdraw(code: str) -> None:
            currency = offered.get(code)
            if currency is None:
                run.fail(Reason.ASSERTION, f"Vault does not list currency {code}")
            await self.withdraw(run, vault, socket, currency, amount_for(options, currency), options)

        await each_currency(run, run.target.currencies, lambda code: f"withdraw {code}", withdraw)

    async def withdraw(
        self,
        run: Run,
        vault: ServiceClient,
        socket: SocketClient,
        currency: Currency,
        amount: Decimal,
        options: PaymentOptions,
    ) -> None:
        code = currency.code
        before = await top_up(run, vault, currency, amount, options)
        payment = await open_payment(run, vault, "withdrawal", currency, amount)
        await complete(run, vault, payment, options)
        after = await balance_of(run, vault, code)
        run.expect_equal(f"{code} balance after a withdrawal of {amount} (before {before})", after, before - amount)
        await check_history_entry(run, vault, payment, options.history_limit)
        await check_push(run, socket, payment, after, options)
