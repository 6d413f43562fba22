"""After a settled bet, Concierge credits volume and points exactly, within a deadline.

Concierge learns of bets from Kafka, so the time from the bet to the change in
``/v1/rewards/me`` is the Kafka path's lag (``synthetic_rewards_lag_seconds``). This account's
volume keeps growing run after run (its level climbs too): only the change is checked.

The default stake (``ROUNDING_STAKE_USD``, 1.57 USD) earns a fraction of a point: 1.57 VIP and
15.7 leaderboard points, of which the contract's floor keeps 1 and 15, so a platform that
rounds points half-up (2 and 16) fails the journey; in EUR the stake is 1.45 EUR, worth
1.576... USD, so one that truncates ``stake_usd`` (1.57 instead of 1.58) fails it too.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from pydantic import Field

from harness import About, Reason, Run, Scenario
from scenarios.kit import (
    ROUNDING_STAKE_USD,
    BetOptions,
    ConciergeView,
    Standing,
    VaultAccount,
    expect_earned,
    place_rewarded_bet,
    ready_to_bet,
)

__all__ = ["Rewards", "RewardsOptions"]


class RewardsOptions(BetOptions):
    stake_usd: Decimal = Field(ROUNDING_STAKE_USD, gt=0)  # earns a fraction of a point: see the module
    top_up_stakes: int = Field(20, ge=1)
    rewards_deadline_seconds: float = Field(60.0, gt=0)
    poll_interval_seconds: float = Field(0.5, gt=0)


class Rewards(Scenario[RewardsOptions]):
    """A settled bet earns volume and VIP/leaderboard points by the contract's formula, in time."""

    about = About("rewards", tags=("api", "money", "rewards"), interval="5m", timeout="2m")

    async def journey(self, run: Run[RewardsOptions]) -> None:
        code = run.options.journey_currency(run)

        async with run.step("log in"):
            vault = await VaultAccount.log_in(run)
            concierge = await ConciergeView.log_in(run)

        async with run.step("read rules"):
            rules = await concierge.rules()

        vault, facts, stake = await ready_to_bet(run, run.options, code, vault)

        async with run.step("read rewards"):
            before = await concierge.standing()

        bet, bet_usd = await place_rewarded_bet(run, vault, facts, stake)

        async with run.step("rewards updated"):
            after = await self._wait_for_volume(run, concierge, before, bet.accepted_at)
            expect_earned(run, rules, before, after, bet_usd)

    @staticmethod
    async def _wait_for_volume(
        run: Run[RewardsOptions], concierge: ConciergeView, before: Standing, since: float
    ) -> Standing:
        """Poll ``/v1/rewards/me`` until the volume moves; the wait is the rewards lag."""
        options = run.options
        deadline = since + options.rewards_deadline_seconds
        while True:
            now = await concierge.standing()
            if now.volume_usd != before.volume_usd:
                run.metrics.rewards_lag(time.perf_counter() - since)
                return now
            if time.perf_counter() >= deadline:
                hint = await concierge.health_hint()
                run.fail(
                    Reason.TIMEOUT,
                    f"rewards volume did not move within {options.rewards_deadline_seconds:g} s of the bet{hint}",
                )
            await asyncio.sleep(min(options.poll_interval_seconds, max(0.0, deadline - time.perf_counter())))
