"""The journey's customer at Concierge: the reward rules, its standing, a reset below a level.

Points are whole numbers (``floor(stake_usd * points_per_usd)``); a level is reached at its
``volume_required_usd``. The reset is the sandbox's test hook and needs the reset secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any, NamedTuple

from harness import Reason, Run, StepFailure
from probes import health
from scenarios.kit.customer import CustomerOf
from scenarios.kit.money import decimal

__all__ = ["ConciergeView", "Level", "RewardRules", "Standing", "expect_earned", "points_for"]


class Level(NamedTuple):
    number: int
    name: str
    volume_required_usd: Decimal


@dataclass(frozen=True)
class RewardRules:
    vip_points_per_usd: Decimal
    leaderboard_points_per_usd: Decimal
    levels: tuple[Level, ...]  # lowest first

    def first_level_up(self, run: Run[Any]) -> Level:
        """The first level above the one every account starts at; none fails the step."""
        above_start = [level for level in self.levels if level.volume_required_usd > 0]
        if not above_start:
            run.fail(Reason.UNEXPECTED_BODY, "rules: no level above the first")
        return above_start[0]


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


def expect_earned(run: Run[Any], rules: RewardRules, before: Standing, after: Standing, bet_usd: Decimal) -> None:
    """One bet's volume and whole points (the contract's floor) between two standings."""
    run.expect_equal("volume_usd", after.volume_usd, before.volume_usd + bet_usd)
    run.expect_equal("vip_points", after.vip_points, before.vip_points + points_for(bet_usd, rules.vip_points_per_usd))
    run.expect_equal(
        "leaderboard_points",
        after.leaderboard_points,
        before.leaderboard_points + points_for(bet_usd, rules.leaderboard_points_per_usd),
    )


# pragma: no mutate start
# (Calls to Concierge, proven by the sandbox journeys and the detection matrix, not by the fast
# tests `make mutate` runs; docs/mutation.md.)
class ConciergeView(CustomerOf):
    """What Concierge shows the synthetic customer, through the run's logged-in client."""

    service = "concierge"

    async def rules(self) -> RewardRules:
        answer = await self.client.get(self.run.paths.rewards_rules, expect=("[STATUS] == 200", "has([BODY].levels)"))
        levels = []
        for entry in answer.json["levels"] if isinstance(answer.json["levels"], list) else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("level"), int):
                raise StepFailure(Reason.UNEXPECTED_BODY, "rules: a level without a whole-number level")
            volume = decimal(entry.get("volume_required_usd"), f"level {entry['level']} volume_required_usd")
            levels.append(Level(entry["level"], str(entry.get("name")), volume))
        if not levels:
            raise StepFailure(Reason.UNEXPECTED_BODY, "rules: no levels")
        return RewardRules(
            decimal(answer.field("vip_points_per_usd"), "vip_points_per_usd"),
            decimal(answer.field("leaderboard_points_per_usd"), "leaderboard_points_per_usd"),
            tuple(sorted(levels, key=lambda level: level.volume_required_usd)),
        )

    async def standing(self) -> Standing:
        answer = await self.client.get(self.run.paths.rewards_me, expect=("[STATUS] == 200", "has([BODY].volume_usd)"))
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

    async def reset_below(self, level: Level, margin_usd: Decimal) -> Standing:
        """Reset the account's volume to ``margin_usd`` below ``level``; its standing, checked."""
        volume = (level.volume_required_usd - margin_usd).quantize(Decimal("0.01"))
        headers = {self.run.contract.headers.reset_secret: self.run.reset_secret()}
        await self.client.post(self.run.paths.rewards_reset, {"volume_usd": str(volume)}, headers=headers)
        standing = await self.standing()
        self.run.expect_equal("volume_usd after the reset", standing.volume_usd, volume)
        self.run.expect("level below the target after the reset", standing.level < level.number)
        return standing

    async def health_hint(self) -> str:
        """What Concierge's own health says, for a failure message (" (concierge health: kafka down)")."""
        run = self.run
        module = health.HealthModule(
            health_path=run.paths.health,
            liveness_path=run.paths.liveness,
            timeout_seconds=2,
            max_body_bytes=run.max_body_bytes,
        )
        result = await health.probe(run.target.service_urls()["concierge"], module, run.probe)
        down = sorted(name for name, up in result.dependencies.items() if not up)
        if down:
            return f" (concierge health: {', '.join(down)} down)"
        return "" if result.success else f" (concierge health: {result.reason})"


# pragma: no mutate end
