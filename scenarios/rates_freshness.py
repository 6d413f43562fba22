"""Vault's exchange rates cover every configured currency and are fresh.

Rates price every stake in USD (rewards, limits, the stake budget): a stale table means
customers are credited at yesterday's rates.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from harness import About, Reason, Run, Scenario
from scenarios.kit import Options, decimal

__all__ = ["RatesFreshness"]


def _instant(value: object) -> datetime | None:
    """An ISO 8601 time with a zone (``2026-11-24T10:00:00Z``), or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


class RatesFreshnessOptions(Options):
    max_age_seconds: float = Field(15 * 60, gt=0)
    max_clock_skew_seconds: float = Field(5 * 60, ge=0)  # an updated_at this far ahead is accepted


class RatesFreshness(Scenario[RatesFreshnessOptions]):
    """A rate for every configured currency, updated within the configured age."""

    about = About("rates_freshness", tags=("api", "rates", "smoke"), interval="1m", timeout="20s")

    @classmethod
    def needs_account(cls, options: BaseModel) -> bool:
        return False

    async def journey(self, run: Run[RatesFreshnessOptions]) -> None:

        async with run.step("read rates"):
            answer = await run.vault.get(
                run.paths.rates, expect=("[STATUS] == 200", "has([BODY].rates)", "has([BODY].updated_at)")
            )
            table = answer.field("rates")
            if not isinstance(table, dict):
                run.fail(Reason.UNEXPECTED_BODY, "rates: rates is not a mapping")
            base = answer.json.get("base", "USD")

        async with run.step("rates for every currency"):
            missing = []
            for code in run.target.currencies:
                present = code == base or code in table
                if present and code in table:
                    present = decimal(table[code], f"rate {code}") > 0
                run.metrics.currency_success(code, present)
                if not present:
                    missing.append(code)
            run.expect(f"no positive rate for {', '.join(missing)}", not missing)

        async with run.step("rates fresh"):
            updated_at = _instant(answer.field("updated_at"))
            if updated_at is None:
                run.fail(Reason.UNEXPECTED_BODY, "rates: updated_at is not an ISO 8601 time with a zone")
            age = (datetime.now(UTC) - updated_at).total_seconds()
            run.expect(
                f"rates updated {age:.0f} s ago, more than {run.options.max_age_seconds:g} s",
                age <= run.options.max_age_seconds,
            )
            run.expect(f"rates updated_at {-age:.0f} s in the future", age >= -run.options.max_clock_skew_seconds)
