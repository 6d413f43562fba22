"""Currencies, limits, rates and the parsing of amounts: the numbers every Vault rule is built on.

Money is ``Decimal`` from the wire to the ledger and back; an amount arrives as a decimal string
and is refused (never rounded) when it has more places than its currency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

__all__ = [
    "CURRENCIES",
    "Currency",
    "InvalidAmount",
    "ORDINARY_OPENING_BALANCES",
    "RATES",
    "format_amount",
    "parse_amount",
    "plain",
    "to_usd",
]


@dataclass(frozen=True)
class Currency:
    code: str
    kind: str  # fiat | crypto
    decimals: int
    min_stake: Decimal
    max_stake: Decimal
    min_deposit: Decimal
    max_withdrawal: Decimal

    @property
    def unit(self) -> Decimal:
        """The smallest amount: 0.01 for USD, 0.00000001 for BTC."""
        return Decimal(1).scaleb(-self.decimals)

    def public(self) -> dict[str, object]:
        """As ``GET /v1/currencies`` lists it."""
        return {
            "code": self.code,
            "kind": self.kind,
            "decimals": self.decimals,
            "min_stake": format_amount(self.min_stake, self),
            "max_stake": format_amount(self.max_stake, self),
            "min_deposit": format_amount(self.min_deposit, self),
            "max_withdrawal": format_amount(self.max_withdrawal, self),
        }


def _fiat(code: str) -> Currency:
    return Currency(code, "fiat", 2, Decimal("0.10"), Decimal("100.00"), Decimal("1.00"), Decimal("5000.00"))


CURRENCIES: dict[str, Currency] = {
    "USD": _fiat("USD"),
    "EUR": _fiat("EUR"),
    "GBP": _fiat("GBP"),
    "BTC": Currency(
        "BTC",
        "crypto",
        8,
        Decimal("0.00000100"),
        Decimal("0.00100000"),
        Decimal("0.00001000"),
        Decimal("0.10000000"),
    ),
}

# Units of each currency per 1 USD (fixed values; only ``updated_at`` moves).
RATES: dict[str, Decimal] = {
    "USD": Decimal("1"),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "BTC": Decimal("0.0000105"),
}

# Ordinary (non-synthetic) players open with these; synthetic accounts open with zero.
ORDINARY_OPENING_BALANCES: dict[str, Decimal] = {
    "USD": Decimal("1000.00"),
    "EUR": Decimal("1000.00"),
    "GBP": Decimal("1000.00"),
    "BTC": Decimal("0.01000000"),
}

_AMOUNT = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,20})?$")
_CENT = Decimal("0.01")


class InvalidAmount(ValueError):
    """An amount that is not a positive decimal string with at most the currency's places."""


def parse_amount(value: object, currency: Currency | None) -> Decimal:
    """``"10.00"`` -> ``Decimal("10.00")``; refuses numbers, signs, exponents, zero, extra places.

    ``currency`` is None when the currency itself is unknown: the format is still checked (it
    comes first in the contract's order) but the number of places cannot be.
    """
    if not isinstance(value, str) or not _AMOUNT.match(value):
        raise InvalidAmount('amount must be a positive decimal string such as "10.00"')
    amount = Decimal(value)
    if amount <= 0:
        raise InvalidAmount("amount must be positive")
    places = len(value.partition(".")[2])
    if currency is not None and places > currency.decimals:
        raise InvalidAmount(f"{currency.code} amounts have at most {currency.decimals} decimals")
    return amount


def format_amount(amount: Decimal, currency: Currency) -> str:
    """A decimal string with exactly the currency's places (``Decimal("5")`` -> ``"5.00"``)."""
    return plain(amount.quantize(currency.unit))


def plain(amount: Decimal) -> str:
    """A decimal string without exponent notation (``str`` would give ``0E-8`` for zero BTC)."""
    return format(amount, "f")


def to_usd(amount: Decimal, currency: Currency) -> Decimal:
    """``round_half_even(amount / rates[C], 2)``, as the contract defines ``stake_usd``."""
    return (amount / RATES[currency.code]).quantize(_CENT, rounding=ROUND_HALF_EVEN)
