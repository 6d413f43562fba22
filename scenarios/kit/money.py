"""Money on the wire: decimal strings, currency facts, USD values, idempotency keys.

Every amount is a ``Decimal`` parsed from the wire's decimal strings; nothing is a float.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from harness import Reason, Run, StepFailure

__all__ = ["Currency", "decimal", "idempotency_headers", "stake_usd", "usd_value"]


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
def idempotency_headers(run: Run[Any], key: str | None = None) -> dict[str, str]:
    return {run.contract.headers.idempotency_key: key or str(uuid.uuid4())}


# pragma: no mutate end
def stake_usd(stake: Decimal, rate: Decimal) -> Decimal:
    """The contract's ``round_half_even(stake / rates[C], 2)``."""
    return (stake / rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def usd_value(amount: Decimal, rate: Decimal) -> Decimal:
    """An amount in USD for the stake budget (rounded up to a cent: the budget never under-counts)."""
    return (amount / rate).quantize(Decimal("0.01"), rounding=ROUND_CEILING)
