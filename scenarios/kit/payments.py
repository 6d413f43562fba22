"""Sandbox deposits and withdrawals, checked the way a customer would see them.

Open a payment (with an ``Idempotency-Key``), wait for it to complete, then check the balance,
the history entry and the ``balance:update`` push, each matched by the payment's id
(``ref_id``). ``each_currency`` runs one check per configured currency and reports every one;
``move_in_each_currency`` is the whole deposit (or withdrawal) journey.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from typing import Any

from harness import Reason, Run, StepFailure
from probes.socketio import SocketClient
from scenarios.kit.money import Currency, decimal, usd_value
from scenarios.kit.options import Deadlines, PaymentOptions, amount_for
from scenarios.kit.pushes import expect_balance_push
from scenarios.kit.vault import Kind, Payment, VaultAccount

__all__ = ["check_history_entry", "check_push", "each_currency", "move_in_each_currency", "usd_total"]


def usd_total(run: Run[Any], amounts: Iterable[tuple[Currency, Decimal]], fx: dict[str, Decimal]) -> Decimal:
    """What the amounts are worth in USD, for the stake budget; a missing rate fails the step."""
    total = Decimal(0)
    for currency, amount in amounts:
        rate = fx.get(currency.code)
        if rate is None or rate <= 0:
            run.fail(Reason.UNEXPECTED_BODY, f"rates: no usable rate for {currency.code}")
        total += usd_value(amount, rate)
    return total


async def check_history_entry(vault: VaultAccount, payment: Payment, limit: int) -> None:
    """Exactly one history entry with the payment's ``ref_id``: its type and signed amount."""
    run, code = vault.run, payment.currency.code
    mine = await vault.history(payment.payment_id, limit)
    run.expect_equal(f"{code} history entries of the {payment.kind}", len(mine), 1)
    entry = mine[0]
    run.expect_equal(f"{code} history entry type", entry.get("type"), payment.kind)
    run.expect_equal(f"{code} history entry currency", entry.get("currency"), code)
    signed = payment.amount if payment.kind == "deposit" else -payment.amount
    amount = decimal(entry.get("amount"), f"{code} history entry amount")
    run.expect_equal(f"{code} history entry amount", amount, signed)


async def check_push(
    run: Run[Any], socket: SocketClient, payment: Payment, balance: Decimal, options: Deadlines
) -> None:
    """The ``balance:update`` push of this payment (by ``ref_id``) carries the new balance."""
    code, timeout = payment.currency.code, options.push_deadline_seconds
    await expect_balance_push(run, socket, payment.payment_id, code, payment.kind, balance, timeout)


async def each_currency(
    run: Run[Any],
    codes: Iterable[str],
    step: Callable[[str], str],
    check: Callable[[str], Awaitable[None]],
) -> None:
    """Run ``check`` for every currency in its own step, record each one's success, then fail
    naming every failing currency (with the reason of the first, whose step is the run's)."""
    failures: dict[str, StepFailure] = {}
    for code in codes:
        try:
            async with run.step(step(code)):
                await check(code)
        except StepFailure as failure:
            failures[code] = failure
        run.metrics.currency_success(code, code not in failures)
    if failures:
        first = next(iter(failures.values()))
        detail = "; ".join(f"{code}: {failure.message}" for code, failure in failures.items())
        raise StepFailure(first.reason, f"failed in {', '.join(failures)}: {detail}")


async def move_in_each_currency(run: Run[Any], options: PaymentOptions, kind: Kind) -> None:
    """The deposit and the withdrawal journeys: one sandbox payment of ``kind`` per configured
    currency, each completed, with its balance change, history entry and push checked.

    A withdrawal first tops the account up (when it holds less than the amount), so it returns
    what the top-up added and the account stays level; the budget pays for every top-up.
    """
    verb = "deposit" if kind == "deposit" else "withdraw"
    async with run.step("log in"):
        vault = await VaultAccount.log_in(run)

    async with run.step("read currencies"):
        offered = await vault.currencies()
        wanted = [offered[code] for code in run.target.currencies if code in offered]
        fx = await vault.rates()
        if kind == "withdrawal":  # the budget pays for the top-ups, as if every currency needed one
            costs = ((c, max(amount_for(options, c), c.min_deposit)) for c in wanted)
        else:
            costs = ((c, amount_for(options, c)) for c in wanted)
        run.spend_stake(usd_total(run, costs, fx))

    async with run.step("connect socket"):
        socket = await run.socket()

    async def move(code: str) -> None:
        currency = offered.get(code)
        if currency is None:
            run.fail(Reason.ASSERTION, f"Vault does not list currency {code}")
        amount = amount_for(options, currency)
        if kind == "deposit":
            before = await vault.balance(code)
        else:
            before = await vault.top_up(currency, amount, amount, options.completion)
        payment = await vault.open_payment(kind, currency, amount)
        await vault.complete(payment, options.completion)
        after = await vault.balance(code)
        moved = amount if kind == "deposit" else -amount
        run.expect_equal(f"{code} balance after a {kind} of {amount} (before {before})", after, before + moved)
        await check_history_entry(vault, payment, options.history_limit)
        await check_push(run, socket, payment, after, options)

    await each_currency(run, run.target.currencies, lambda code: f"{verb} {code}", move)
