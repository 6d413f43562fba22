"""Money helpers shared by the journeys: balances, currency facts, sandbox top-ups, polling.

Every amount is a ``Decimal`` parsed from the wire's decimal strings; nothing is a float.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from harness import Reason, Run, StepFailure
from harness.clients import ServiceClient

__all__ = [
    "Currency",
    "decimal",
    "balances",
    "currencies",
    "ensure_funds",
    "poll_status",
    "idempotency_headers",
    "usd_value",
    "stake_usd",
    "rates",
]


def decimal(value: Any, what: str) -> Decimal:
    """A wire decimal string as ``Decimal``; anything else fails the step as ``unexpected_body``."""
    if not isinstance(value, str):
        raise StepFailure(Reason.UNEXPECTED_BODY, f"{what}: expected a decimal string, got {type(value).__name__}")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise StepFailure(Reason.UNEXPECTED_BODY, f"{what}: not a decimal: {value[:20]!r}") from None


@dataclass(frozen=True)
class Currency:
    code: str
    decimals: int
    min_deposit: Decimal
    max_withdrawal: Decimal

    @property
    def unit(self) -> Decimal:
        """The smallest unit, e.g. 0.01 for USD, 0.00000001 for BTC."""
        return Decimal(1).scaleb(-self.decimals)

    def text(self, amount: Decimal) -> str:
        """The wire form with exactly the currency's decimals."""
        return str(amount.quantize(self.unit))


# pragma: no mutate start
# (Below, to ``stake_usd``: calls to Vault, proven by the sandbox journeys and the detection
# matrix, not by the fast tests `make mutate` runs; docs/mutation.md.)
def idempotency_headers(run: Run, key: str | None = None) -> dict[str, str]:
    return {run.contract.headers.idempotency_key: key or str(uuid.uuid4())}


async def currencies(run: Run, vault: ServiceClient) -> dict[str, Currency]:
    answer = await vault.get(run.paths.currencies)
    if not isinstance(answer.json, list):
        raise StepFailure(Reason.UNEXPECTED_BODY, "currencies: expected a JSON list")
    found = {}
    for entry in answer.json:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("code"), str)
            or not isinstance(entry.get("decimals"), int)
        ):
            raise StepFailure(Reason.UNEXPECTED_BODY, "currencies: entry without code or decimals")
        code = entry["code"]
        found[code] = Currency(
            code,
            entry["decimals"],
            decimal(entry.get("min_deposit"), f"{code}.min_deposit"),
            decimal(entry.get("max_withdrawal"), f"{code}.max_withdrawal"),
        )
    return found


async def balances(run: Run, vault: ServiceClient) -> dict[str, Decimal]:
    answer = await vault.get(run.paths.balance, expect=("[STATUS] == 200", "has([BODY].balances)"))
    raw = answer.json["balances"]
    if not isinstance(raw, dict):
        raise StepFailure(Reason.UNEXPECTED_BODY, "balance: balances is not a mapping")
    return {code: decimal(value, f"balance {code}") for code, value in raw.items()}


async def poll_status(
    run: Run, vault: ServiceClient, path: str, what: str, deadline_seconds: float, interval: float = 0.1
) -> str:
    """Poll ``path`` until its status leaves ``pending``; fail with ``timeout`` past the deadline."""
    deadline = time.monotonic() + deadline_seconds
    status = "pending"
    while True:
        answer = await vault.get(path, expect=("[STATUS] == 200", "has([BODY].status)"))
        status = str(answer.json["status"])
        if status != "pending":
            return status
        if time.monotonic() >= deadline:
            raise StepFailure(Reason.TIMEOUT, f"{what} still pending after {deadline_seconds:g} s")
        await asyncio.sleep(interval)


async def ensure_funds(
    run: Run,
    vault: ServiceClient,
    currency: Currency,
    floor: Decimal,
    top_up_to: Decimal,
    deadline_seconds: float = 15.0,
) -> Decimal:
    """Top the account up to ``top_up_to`` with a sandbox deposit when it is below ``floor``."""
    balance = (await balances(run, vault)).get(currency.code, Decimal(0))
    if balance >= floor:
        return balance
    amount = max(top_up_to - balance, currency.min_deposit)
    answer = await vault.post(
        run.paths.deposits,
        {"currency": currency.code, "amount": currency.text(amount), "method": "sandbox"},
        headers=idempotency_headers(run),
        expect=("[STATUS] == 200", "has([BODY].deposit_id)"),
    )
    deposit_id = str(answer.json["deposit_id"])
    status = str(answer.json.get("status"))
    if status == "pending":
        status = await poll_status(
            run, vault, run.paths.deposit.format(id=deposit_id), f"top-up deposit {currency.code}", deadline_seconds
        )
    if status != "completed":
        raise StepFailure(Reason.UNEXPECTED_BODY, f"top-up deposit {currency.code} ended {status}")
    return (await balances(run, vault)).get(currency.code, Decimal(0))


async def rates(run: Run, vault: ServiceClient) -> dict[str, Decimal]:
    answer = await vault.get(run.paths.rates, expect=("[STATUS] == 200", "has([BODY].rates)"))
    raw = answer.json["rates"]
    if not isinstance(raw, dict):
        raise StepFailure(Reason.UNEXPECTED_BODY, "rates: rates is not a mapping")
    found = {code: decimal(value, f"rate {code}") for code, value in raw.items()}
    found.setdefault(str(answer.json.get("base", "USD")), Decimal(1))
    return found


# pragma: no mutate end
def stake_usd(stake: Decimal, rate: Decimal) -> Decimal:
    """The contract's ``round_half_even(stake / rates[C], 2)``."""
    return (stake / rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def usd_value(amount: Decimal, rate: Decimal) -> Decimal:
    """An amount in USD for the stake budget (rounded up to a cent: the budget never under-counts)."""
    return (amount / rate).quantize(Decimal("0.01"), rounding=ROUND_CEILING)
