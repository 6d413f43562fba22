"""The bases of the journeys' options: one place for the fields many journeys share.

A journey declares its options once, as the type argument of ``Scenario``::

    class RewardsOptions(BetOptions):
        rewards_deadline_seconds: float = Field(60.0, gt=0)

    class Rewards(Scenario[RewardsOptions]): ...

Defaults suit the real platform's minutes; tests set the sandbox's seconds in config.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness import Run, RunSkipped
from scenarios.kit.money import Currency
from scenarios.kit.vault import Wait

__all__ = [
    "ROUNDING_STAKE_USD",
    "BetOptions",
    "CurrencyOption",
    "Deadlines",
    "LevelCrossing",
    "Options",
    "PaymentOptions",
    "amount_for",
]


# A stake whose points have a fraction of one half or more: floor and half-up part ways. In EUR
# it is 1.45 EUR, worth 1.576... USD, so a platform truncating ``stake_usd`` parts ways too.
ROUNDING_STAKE_USD = Decimal("1.57")


class Options(BaseModel):
    """Every journey's options: frozen, and an unknown key is a config error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class CurrencyOption(Options):
    currency: str | None = None  # default: the target's first currency

    def journey_currency(self, run: Run[Any]) -> str:
        """The option's currency, or the target's first; it must be one the target lists."""
        code = self.currency or run.target.currencies[0]
        if code not in run.target.currencies:
            raise RunSkipped(f"options.currency {code} is not one of target {run.target_name}'s currencies")
        return code


class BetOptions(CurrencyOption):
    """A journey that bets: the stake, and the top-up that keeps the account able to bet."""

    stake_usd: Decimal | None = Field(None, gt=0)  # default: the currency's minimum stake
    floor_stakes: int = Field(3, ge=1)  # top up when the balance is below this many stakes
    top_up_stakes: int = Field(50, ge=1)  # ... to this many stakes (at least the minimum deposit)
    deposit_deadline_seconds: float = Field(30.0, gt=0)

    @property
    def top_up_wait(self) -> Wait:
        return Wait(self.deposit_deadline_seconds)


class LevelCrossing(BetOptions):
    """A journey that resets the account just below a level and bets across it."""

    margin_usd: Decimal = Field(Decimal("0.50"), gt=0)  # reset to this far below the threshold
    stake_usd: Decimal = Field(Decimal("1.00"), gt=0)  # the bet that crosses it
    top_up_stakes: int = Field(20, ge=1)
    level_up_deadline_seconds: float = Field(60.0, gt=0)  # the Kafka path: bet -> Concierge -> push

    @model_validator(mode="after")
    def _bet_crosses(self) -> LevelCrossing:
        if self.stake_usd <= self.margin_usd:
            raise ValueError("stake_usd must be above margin_usd, or the bet does not cross the threshold")
        return self


class Deadlines(Options):
    """How long a payment may take; defaults suit the real platform (the sandbox is faster)."""

    completion_deadline_seconds: float = Field(60.0, gt=0)  # pending -> completed
    poll_interval_seconds: float = Field(1.0, gt=0)
    push_deadline_seconds: float = Field(10.0, gt=0)
    history_limit: int = Field(20, ge=1, le=1000)  # newest entries searched for a ref_id

    @property
    def completion(self) -> Wait:
        return Wait(self.completion_deadline_seconds, self.poll_interval_seconds)


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


def amount_for(options: PaymentOptions, currency: Currency) -> Decimal:
    """The configured amount of ``currency``, or its minimum deposit (the smallest real one)."""
    return options.amounts.get(currency.code, currency.min_deposit)
