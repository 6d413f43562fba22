"""A customer's bet in the page crosses a level: the page shows the level-up toast and new badge.

Before the page opens, the account's rewards are reset (through the API, with the reset
secret) to just below the first level above the lowest, so the one small bet crosses it.
"""

from __future__ import annotations

import time

from harness import About, Run, Scenario
from scenarios.kit import ConciergeView, LevelCrossing, Spa, SpaOptions, ready_to_bet

__all__ = ["SpaLevelUp"]


class SpaLevelUpOptions(SpaOptions, LevelCrossing):
    """The page's options and the level crossing's (whose stake stays 1.00 USD here)."""


class SpaLevelUp(Scenario[SpaLevelUpOptions]):
    """Reset below a level, bet across it in the page: level-up toast and the new badge shown."""

    about = About("spa_level_up", tags=("browser", "spa", "money", "rewards", "socketio"), interval="10m", timeout="2m")

    async def journey(self, run: Run[SpaLevelUpOptions]) -> None:
        code = run.options.journey_currency(run)

        async with run.step("read rules"):
            concierge = await ConciergeView.log_in(run)
            level = (await concierge.rules()).first_level_up(run)

        _, facts, stake = await ready_to_bet(run, run.options, code)

        async with run.step("reset rewards"):
            standing = await concierge.reset_below(level, run.options.margin_usd)

        async with Spa.opened(run, run.options) as app:
            await app.open_and_log_in()

            async with run.step("level shown"):
                await app.rewards.expect_level(standing.level_name)

            async with run.step("place bet"):
                since = time.perf_counter()
                await app.dice.bet(facts, stake)

            async with run.step("level-up toast"):
                deadline = run.options.level_up_deadline_seconds
                await app.rewards.expect_toast(level.number, level.name, deadline, since)

            async with run.step("new level badge"):
                await app.rewards.expect_level(level.name, " after the level-up")
