"""Sandbox deposits and withdrawals, checked the way a customer would see them.

Shared by the deposit, withdrawal and guardrail journeys: open a payment (with an
``Idempotency-Key``), wait for it to leave ``pending``, then check the balance, the history
entry and the ``balance:update`` push, each matched by the payment's id (``ref_id``).
``each_currency`` runs one check per configured currency and reports every one of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness import Reason, Run, StepFailure
from harness.clients import ServiceClient
from probes.socketio import SocketClient
from scenarios._money import Currency, balances, decimal, idempotency_headers, poll_status, usd_value

__all__ = [
    "Deadlines",
    "Kind",
    "Payment",
    "PaymentOptions",
    "amount_for",
    "balance_of",
    "check_history_entry",
    "check_push",
    "complete",
    "each_currency",
    "open_payment",
    "settle",
    "top_up",
    "usd_total",
]

Kind = Literal["deposit", "withdrawal"]


class Deadlines(BaseModel):
    """How long a payment may take; defaults suit the real platform (the sandbox is faster)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    completion_deadline_seconds: float = Field(60.0, gt=0)  # pending -> completed
    poll_interval_seconds: float = Field(1.0, gt=0)
    push_deadline_seconds: float = Field(10.0, gt=0)
    history_limit: int = Field(20, ge=1, le=1000)  # newest entries searched for a ref_id


class PaymentOptions(Deadlines):
    """Options of a payment journey: the amount per currency and the deadlines."""

    amounts: dict[str, Decimal] = Field(default_factory=dict)  # per currency; else its min_deposit

    @field_validator("amounts", mode="before")
    @classmethod
    def _no_floats(cls, value: Any) -> Any:
        """Money is written as quoted decimal strings: a YAML float would not be exact."""
        if isinstance(value, dict):
            for code, amount in value.items():
                if isinstance(amount, float):
                    raise ValueError(f'{code}: write amounts as decimal strings, e.g. "1.00"')
        return value

    @field_validator("amounts")
    @classmethod
    def _positive(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for code, amount in value.items():
            if not amount.is_finite() or amount <= 0:
                raise ValueError(f"{code}: amounts must be positive")
        return value


@dataclass(frozen=True)
class Payment:
    kind: Kind
    payment_id: str
    currency: Currency
    amount: Decimal


def amount_for(options: PaymentOptions, currency: Currency) -> Decimal:
    """The configured amount of ``currency``, or its minimum deposit (the smallest real one)."""
    return options.amounts.get(currency.code, currency.min_deposit)


def usd_total(run: Run, amounts: Iterable[tuple[Currency, Decimal]], fx: dict[str, Decimal]) -> Decimal:
    """What the amounts are worth in USD, for the stake budget; a missing rate fails the step."""
    total = Decimal(0)
    for currency, amount in amounts:
        rate = fx.get(currency.code)
        if rate is None or rate <= 0:
            run.fail(Reason.UNEXPECTED_BODY, f"rates: no usable rate for {currency.code}")
        total += usd_value(amount, rate)
    return total


async def balance_of(run: Run, vault: ServiceClient, code: str) -> Decimal:
    return (await balances(run, vault)).get(code, Decimal(0))


async def open_payment(run: Run, vault: ServiceClient, kind: Kind, currency: Currency, amount: Decimal) -> Payment:
    """POST a sandbox deposit or withdrawal; the answer must carry its id."""
    path = run.paths.deposits if kind == "deposit" else run.paths.withdrawals
    id_field = f"{kind}_id"
    body = {"currency": currency.code, "amount": currency.text(amount), "method": "sandbox"}
    answer = await vault.post(
        path,
        body,
        headers=idempotency_headers(run),
        expect=("[STATUS] == 200", f"has([BODY].{id_field})", "has([BODY].status)"),
    )
    return Payment(kind, str(answer.json[id_field]), currency, amount)


async def settle(run: Run, vault: ServiceClient, payment: Payment, options: Deadlines) -> str:
    """Wait for the payment to leave ``pending`` (``timeout`` past the deadline); its final status."""
    template = run.paths.deposit if payment.kind == "deposit" else run.paths.withdrawal
    return await poll_status(
        run,
        vault,
        template.format(id=payment.payment_id),
        f"{payment.kind} {payment.currency.code}",
        options.completion_deadline_seconds,
        interval=options.poll_interval_seconds,
    )


async def complete(run: Run, vault: ServiceClient, payment: Payment, options: Deadlines) -> None:
    """The payment must end ``completed``; any other final status fails the step."""
    status = await settle(run, vault, payment, options)
    code = payment.currency.code
    run.expect(f"{payment.kind} {code} ended {status[:20]!r}, expected 'completed'", status == "completed")


async def top_up(run: Run, vault: ServiceClient, currency: Currency, needed: Decimal, options: Deadlines) -> Decimal:
    """Deposit what is missing for ``needed`` (at least the minimum deposit); the new balance."""
    balance = await balance_of(run, vault, currency.code)
    if balance >= needed:
        return balance
    payment = await open_payment(run, vault, "deposit", currency, max(needed - balance, currency.min_deposit))
    await complete(run, vault, payment, options)
    return await balance_of(run, vault, currency.code)


async def check_history_entry(run: Run, vault: ServiceClient, payment: Payment, limit: int) -> None:
    """Exactly one history entry with the payment's ``ref_id``: its type and signed amount."""
    code = payment.currency.code
    answer = await vault.get(f"{run.paths.transactions}?limit={limit}")
    if not isinstance(answer.json, list):
        run.fail(Reason.UNEXPECTED_BODY, "transactions: expected a JSON list")
    mine = [e for e in answer.json if isinstance(e, dict) and e.get("ref_id") == payment.payment_id]
    run.expect_equal(f"{code} history entries of the {payment.kind}", len(mine), 1)
    entry = mine[0]
    run.expect_equal(f"{code} history entry type", entry.get("type"), payment.kind)
    run.expect_equal(f"{code} history entry currency", entry.get("currency"), code)
    signed = payment.amount if payment.kind == "deposit" else -payment.amount
    amount = decimal(entry.get("amount"), f"{code} history entry amount")
    run.expect_equal(f"{code} history entry amount", amount, signed)


async def check_push(run: Run, socket: SocketClient, payment: Payment, balance: Decimal, options: Deadlines) -> None:
    """The ``balance:update`` push of this payment (by ``ref_id``) carries the new balance."""
    code = payment.currency.code
    event = run.contract.events.balance_update
    push = await run.push(socket, event, where={"ref_id": payment.payment_id}, timeout=options.push_deadline_seconds)
    payload = push.details["payload"]
    run.expect_equal(f"{event} currency", payload.get("currency"), code)
    run.expect_equal(f"{event} reason", payload.get("reason"), payment.kind)
    pushed = decimal(payload.get("balance"), f"pushed {code} balance")
    run.expect_equal(f"{code} balance pushed", pushed, balance)


async def each_currency(
    run: Run,
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
