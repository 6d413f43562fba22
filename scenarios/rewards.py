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
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness import Reason, Run, Scenario, StepFailure
from harness.clients import ServiceClient
from probes import health
from scenarios._money import decimal, ensure_funds, rates, stake_usd
from scenarios.bet_settlement import Bet, StakeFacts, journey_currency, place_dice_bet, stake_facts, stake_for

__all__ = [
    "ROUNDING_STAKE_USD",
    "Rewards",
    "Standing",
    "RewardRules",
    "read_rules",
    "read_standing",
    "points_for",
    "concierge_hint",
    "check_stake_usd",
    "expect_earned",
]

# A stake whose points have a fraction of one half or more: floor and half-up part ways.
ROUNDING_STAKE_USD = Decimal("1.57")


@dataclass(frozen=True)
class RewardRules:
    vip_points_per_usd: Decimal
    leaderboard_points_per_usd: Decimal
    levels: tuple[tuple[int, str, Decimal], ...]  # (level, name, volume_required_usd), lowest first


@dataclass(frozen=True)
class Standing:
    volume_usd: Decimal
    vip_points: Decimal
    leaderboard_points: Decimal
    level: int
    level_name: str


def _whole(value: Any, what: str) -> Decimal:
    """Points as the wire has them: a whole number or a decimal string."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return decimal(value, what)


def points_for(stake_in_usd: Decimal, per_usd: Decimal) -> Decimal:
    """The contract's whole points per bet: ``floor(stake_usd * per_usd)``."""
    return (stake_in_usd * per_usd).to_integral_value(rounding=ROUND_FLOOR)


async def check_stake_usd(run: Run, vault: ServiceClient, facts: StakeFacts, bet: Bet) -> Decimal:
    """The bet's ``stake_usd`` is the contract's ``round_half_even(stake / rate, 2)``; returns it."""
    rate = facts.rate
    if bet.stake_usd != stake_usd(bet.stake, rate):  # the rate may have moved just before the bet
        rate = (await rates(run, vault)).get(bet.currency, rate)
    expected = stake_usd(bet.stake, rate)
    run.expect_equal(f"stake_usd of a {bet.stake} {bet.currency} bet at rate {rate}", bet.stake_usd, expected)
    return expected


def expect_earned(run: Run, rules: RewardRules, before: Standing, after: Standing, bet_usd: Decimal) -> None:
    """One bet's volume and whole points (the contract's floor) between two standings."""
    run.expect_equal("volume_usd", after.volume_usd, before.volume_usd + bet_usd)
    run.expect_equal("vip_points", after.vip_points, before.vip_points + points_for(bet_usd, rules.vip_points_per_usd))
    run.expect_equal(
        "leaderboard_points",
        after.leaderboard_points,
        before.leaderboard_points + points_for(bet_usd, rules.leaderboard_points_per_usd),
    )


# pragma: no mutate start
# (Below: calls to Concierge, proven by the sandbox journeys and the detection matrix, not by
# the fast tests `make mutate` runs; docs/mutation.md.)
async def read_rules(run: Run, concierge: ServiceClient) -> RewardRules:
    answer = await concierge.get(run.paths.rewards_rules, expect=("[STATUS] == 200", "has([BODY].levels)"))
    levels = []
    for entry in answer.json["levels"] if isinstance(answer.json["levels"], list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("level"), int):
            raise StepFailure(Reason.UNEXPECTED_BODY, "rules: a level without a whole-number level")
        volume = decimal(entry.get("volume_required_usd"), f"level {entry['level']} volume_required_usd")
        levels.append((entry["level"], str(entry.get("name")), volume))
    if not levels:
        raise StepFailure(Reason.UNEXPECTED_BODY, "rules: no levels")
    return RewardRules(
        decimal(answer.field("vip_points_per_usd"), "vip_points_per_usd"),
        decimal(answer.field("leaderboard_points_per_usd"), "leaderboard_points_per_usd"),
        tuple(sorted(levels, key=lambda level: level[2])),
    )


async def read_standing(run: Run, concierge: ServiceClient) -> Standing:
    answer = await concierge.get(run.paths.rewards_me, expect=("[STATUS] == 200", "has([BODY].volume_usd)"))
    level = answer.field("level")
    if not isinstance(level, dict) or not isinstance(level.get("level"), int):
        raise StepFailure(Reason.UNEXPECTED_BODY, "rewards: level is not {level, name}")
    return Standing(
        decimal(answer.field("volume_usd"), "volume_usd"),
        _whole(answer.field("vip_points"), "vip_points"),
        _whole(answer.field("leaderboard_points"), "leaderboard_points"),
        level["level"],
        str(level.get("name")),
    )


async def concierge_hint(run: Run) -> str:
    """What Concierge's own health says, for a failure message (" (concierge: kafka down)")."""
    module = health.HealthModule(
        health_path=run.paths.health,
        liveness_path=run.paths.liveness,
        timeout_seconds=2,
        max_body_bytes=run.max_body_bytes,
    )
    result = await health.probe(run.target.service_urls()["concierge"], module, run.probe)
    down = sorted(name for name, up in result.details.get("dependencies", {}).items() if not up)
    if down:
        return f" (concierge health: {', '.join(down)} down)"
    return "" if result.success else f" (concierge health: {result.reason})"


class Rewards(Scenario):
    """A settled bet earns volume and VIP/leaderboard points by the contract's formula, in time."""

    name = "rewards"
    tags = ("api", "money", "rewards")
    interval_seconds = 300.0
    timeout_seconds = 120.0
    moves_money = True

    class Options(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")

        currency: str | None = None  # default: the target's first currency
        stake_usd: Decimal = Field(ROUNDING_STAKE_USD, gt=0)  # earns a fraction of a point: see the module
        floor_stakes: int = Field(3, ge=1)
        top_up_stakes: int = Field(20, ge=1)
        deposit_deadline_seconds: float = Field(30.0, gt=0)
        rewards_deadline_seconds: float = Field(60.0, gt=0)
        poll_interval_seconds: float = Field(0.5, gt=0)

    async def journey(self, run: Run) -> None:
        options: Rewards.Options = run.options  # type: ignore[assignment]
        code = journey_currency(run, options.currency)

        async with run.step("log in"):
            vault = await run.as_customer("vault")
            concierge = await run.as_customer("concierge")

        async with run.step("read rules"):
            rules = await read_rules(run, concierge)

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

        async with run.step("read rewards"):
            before = await read_standing(run, concierge)

        async with run.step("place bet"):
            bet = await place_dice_bet(run, vault, facts, stake)

        async with run.step("check stake_usd"):
            bet_usd = await check_stake_usd(run, vault, facts, bet)

        async with run.step("rewards updated"):
            after = await self._wait_for_volume(run, concierge, before, bet.accepted_at, options)
            expect_earned(run, rules, before, after, bet_usd)

    @staticmethod
    async def _wait_for_volume(
        run: Run, concierge: ServiceClient, before: Standing, since: float, options: Rewards.Options
    ) -> Standing:
        """Poll ``/v1/rewards/me`` until the volume moves; the wait is the rewards lag."""
        deadline = since + options.rewards_deadline_seconds
        while True:
            now = await read_standing(run, concierge)
            if now.volume_usd != before.volume_usd:
                run.metrics.rewards_lag(time.perf_counter() - since)
                return now
            if time.perf_counter() >= deadline:
                hint = await concierge_hint(run)
                run.fail(
                    Reason.TIMEOUT,
                    f"rewards volume did not move within {options.rewards_deadline_seconds:g} s of the bet{hint}",
                )
            await asyncio.sleep(min(options.poll_interval_seconds, max(0.0, deadline - time.perf_counter())))


# pragma: no mutate end
