"""A customer's bet crosses a level's threshold: the level moves and a level-up push arrives.

The synthetic account is first reset just below the first level above Bronze (the test hook
``POST /v1/test-accounts/reset`` with the reset secret), so one small bet crosses it. The reset
clears the points, so the new standing must hold exactly that bet's volume and whole points; the
default stake earns a fraction of a point (``scenarios.rewards.ROUNDING_STAKE_USD``), so points
rounded the wrong way fail the journey.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness import Reason, Run, Scenario
from scenarios._money import ensure_funds
from scenarios.bet_settlement import journey_currency, place_dice_bet, stake_facts, stake_for
from scenarios.rewards import ROUNDING_STAKE_USD, check_stake_usd, expect_earned, read_rules, read_standing

__all__ = ["LevelUp"]


class LevelUp(Scenario):
    """Reset below a level, bet across it: a level-up push and the new level in rewards/me."""

    name = "level_up"
    tags = ("api", "money", "rewards", "socketio")
    interval_seconds = 300.0
    timeout_seconds = 120.0
    moves_money = True

    class Options(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")

        currency: str | None = None  # default: the target's first currency
        margin_usd: Decimal = Field(Decimal("0.50"), gt=0)  # reset to this far below the threshold
        stake_usd: Decimal = Field(ROUNDING_STAKE_USD, gt=0)  # the bet that crosses it
        floor_stakes: int = Field(3, ge=1)
        top_up_stakes: int = Field(20, ge=1)
        deposit_deadline_seconds: float = Field(30.0, gt=0)
        level_up_deadline_seconds: float = Field(60.0, gt=0)

        @model_validator(mode="after")
        def _bet_crosses(self) -> LevelUp.Options:
            if self.stake_usd <= self.margin_usd:
                raise ValueError("stake_usd must be above margin_usd, or the bet does not cross the threshold")
            return self

    async def journey(self, run: Run) -> None:
        options: LevelUp.Options = run.options  # type: ignore[assignment]
        code = journey_currency(run, options.currency)
        events, headers = run.contract.events, run.contract.headers

        async with run.step("log in"):
            vault = await run.as_customer("vault")
            concierge = await run.as_customer("concierge")

        async with run.step("read rules"):
            rules = await read_rules(run, concierge)
            above_start = [level for level in rules.levels if level[2] > 0]
            if not above_start:
                run.fail(Reason.UNEXPECTED_BODY, "rules: no level above the first")
            target_level, target_name, threshold = above_start[0]

        async with run.step("read limits and rates"):
            facts = await stake_facts(run, vault, code)
            stake = stake_for(facts, options.stake_usd)

        async with run.step(f"top up {code}"):
            await ensure_funds(
                run,
                vault,
                facts.currency,
                stake * options.floor_stakes,
                stake * options.top_up_stakes,
                options.deposit_deadline_seconds,
            )

        async with run.step("reset rewards"):
            volume = (threshold - options.margin_usd).quantize(Decimal("0.01"))
            await concierge.post(
                run.paths.rewards_reset, {"volume_usd": str(volume)}, headers={headers.reset_secret: run.reset_secret()}
            )
            reset = await read_standing(run, concierge)
            run.expect_equal("volume_usd after the reset", reset.volume_usd, volume)
            run.expect("level below the target after the reset", reset.level < target_level)

        async with run.step("connect socket"):
            socket = await run.socket()

        async with run.step("place bet"):
            bet = await place_dice_bet(run, vault, facts, stake)

        async with run.step("check stake_usd"):
            bet_usd = await check_stake_usd(run, vault, facts, bet)

        async with run.step("level-up push"):
            push = await run.push(
                socket, events.level_up, where={"level": target_level}, timeout=options.level_up_deadline_seconds
            )
            run.metrics.push_latency(events.level_up, max(0.0, push.details["arrived_at"] - bet.accepted_at))
            run.expect_equal(f"{events.level_up} name", push.details["payload"].get("name"), target_name)

        async with run.step("new level"):
            standing = await read_standing(run, concierge)
            run.expect_equal("level in rewards/me", (standing.level, standing.level_name), (target_level, target_name))
            run.expect(
                f"volume_usd {standing.volume_usd} reached the threshold {threshold}", standing.volume_usd >= threshold
            )
            expect_earned(run, rules, reset, standing, bet_usd)
