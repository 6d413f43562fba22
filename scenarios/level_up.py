"""A customer's bet crosses a level's threshold: the level moves and a level-up push arrives.

The synthetic account is first reset just below the first level above Bronze (the test hook
``POST /v1/test-accounts/reset`` with the reset secret), so one small bet crosses it. The reset
clears the points, so the new standing must hold exactly that bet's volume and whole points; the
default stake earns a fraction of a point (``ROUNDING_STAKE_USD``), so points rounded the wrong
way fail the journey.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from harness import About, Run, Scenario
from scenarios.kit import (
    ROUNDING_STAKE_USD,
    ConciergeView,
    LevelCrossing,
    VaultAccount,
    expect_earned,
    expect_push,
    place_rewarded_bet,
    ready_to_bet,
)

__all__ = ["LevelUp", "LevelUpOptions"]


class LevelUpOptions(LevelCrossing):
    stake_usd: Decimal = Field(ROUNDING_STAKE_USD, gt=0)  # crosses the level, earns a fraction of a point


class LevelUp(Scenario[LevelUpOptions]):
    """Reset below a level, bet across it: a level-up push and the new level in rewards/me."""

    about = About("level_up", tags=("api", "money", "rewards", "socketio"), interval="5m", timeout="2m")

    async def journey(self, run: Run[LevelUpOptions]) -> None:
        code = run.options.journey_currency(run)
        event = run.contract.events.level_up

        async with run.step("log in"):
            vault = await VaultAccount.log_in(run)
            concierge = await ConciergeView.log_in(run)

        async with run.step("read rules"):
            rules = await concierge.rules()
            level = rules.first_level_up(run)

        vault, facts, stake = await ready_to_bet(run, run.options, code, vault)

        async with run.step("reset rewards"):
            reset = await concierge.reset_below(level, run.options.margin_usd)

        async with run.step("connect socket"):
            socket = await run.socket()

        bet, bet_usd = await place_rewarded_bet(run, vault, facts, stake)

        async with run.step("level-up push"):
            timeout = run.options.level_up_deadline_seconds
            push = await expect_push(run, socket, event, {"level": level.number}, timeout, bet.accepted_at)
            run.expect_equal(f"{event} name", push.payload.get("name"), level.name)

        async with run.step("new level"):
            standing = await concierge.standing()
            run.expect_equal("level in rewards/me", (standing.level, standing.level_name), (level.number, level.name))
            threshold = level.volume_required_usd
            run.expect(
                f"volume_usd {standing.volume_usd} reached the threshold {threshold}", standing.volume_usd >= threshold
            )
            expect_earned(run, rules, reset, standing, bet_usd)
