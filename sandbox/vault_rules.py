"""The order in which Vault refuses money-moving requests, kept in one place.

The contract fixes it: amount format -> currency -> limits -> balance. A guardrail account can
hold less than ``max_stake``, so an over-limit stake must be refused as ``stake_above_limit``
before the balance is looked at. The balance itself is checked by the ledger, atomically with
the debit.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from sandbox.api_errors import ApiError
from sandbox.faults import Faults
from sandbox.money import CURRENCIES, Currency, InvalidAmount, format_amount, parse_amount

__all__ = ["Purpose", "check_amount", "insufficient_funds", "require_sandbox_method"]

Purpose = Literal["stake", "deposit", "withdrawal"]
_AMOUNT_FIELD: dict[Purpose, str] = {"stake": "stake", "deposit": "amount", "withdrawal": "amount"}


def check_amount(body: Mapping[str, Any], purpose: Purpose, faults: Faults) -> tuple[Currency, Decimal]:
    """The currency and amount of a request, or the first refusal in the contract's order."""
    raw_currency = body.get("currency")
    currency = CURRENCIES.get(raw_currency) if isinstance(raw_currency, str) else None
    try:
        amount = parse_amount(body.get(_AMOUNT_FIELD[purpose]), currency)
    except InvalidAmount as exc:
        raise ApiError(422, "invalid_amount", str(exc)) from None
    if currency is None:
        known = ", ".join(CURRENCIES)
        raise ApiError(422, "unsupported_currency", f"currency must be one of {known}")
    _check_limits(amount, currency, purpose, faults)
    return currency, amount


def _check_limits(amount: Decimal, currency: Currency, purpose: Purpose, faults: Faults) -> None:
    def refuse(code: str, limit: Decimal, side: str) -> ApiError:
        shown = format_amount(limit, currency)
        return ApiError(422, code, f"{purpose} is {side} the limit of {shown} {currency.code}")

    if purpose == "stake" and not faults.is_on("stake_limit_not_enforced"):
        if amount < currency.min_stake:
            raise refuse("stake_below_limit", currency.min_stake, "below")
        if amount > currency.max_stake:
            raise refuse("stake_above_limit", currency.max_stake, "above")
    if purpose == "deposit" and amount < currency.min_deposit:
        raise refuse("deposit_below_limit", currency.min_deposit, "below")
    if purpose == "withdrawal" and not faults.is_on("withdrawal_limit_not_enforced"):
        if amount > currency.max_withdrawal:
            raise refuse("withdrawal_above_limit", currency.max_withdrawal, "above")


def insufficient_funds(currency: Currency) -> ApiError:
    return ApiError(422, "insufficient_funds", f"the {currency.code} balance is too low")


def require_sandbox_method(body: Mapping[str, Any], synthetic: bool) -> None:
    """Only the ``sandbox`` method exists here, and only synthetic accounts may use it."""
    if body.get("method") != "sandbox":
        raise ApiError(422, "method_not_allowed", 'the only payment method here is "sandbox"')
    if not synthetic:
        raise ApiError(403, "forbidden", "the sandbox method is for synthetic accounts only")
