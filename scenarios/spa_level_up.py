"""A customer's bet in the page crosses a level: the page shows the level-up toast and new badge.

Before the page opens, the account's rewards are reset (through the API, with the reset
secret) to just below the first level above the lowest, so the one small bet crosses it.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

from pydantic import Field, model_validator

from harness import Reason, Run, Scenario, StepFailure
from probes.browser_session import BrowserPage, browser_page
from scenarios._money import ensure_funds
from scenarios._spa import SpaOptions, log_in, open_app
from scenarios.bet_settlement import journey_currency, stake_facts, stake_for
from scenarios.rewards import read_rules, read_standing
from scenarios.spa_bet import bet_in_page

__all__ = ["SpaLevelUp"]


class SpaLevelUp(Scenario):
    """Reset below a level, bet across it in the page: level-up toast and the new badge shown."""

    name = "spa_level_up"
    tags = ("browser", "spa", "money", "rewards", "socketio")
    interval_seconds = 600.0
    timeout_seconds = 120.0
    moves_money = True

    class Options(SpaOptions):
        currency: str | None = None  # default: the target's first currency
        margin_usd: Decimal = Field(Decimal("0.50"), gt=0)  # reset to this far below the threshold
        stake_usd: Decimal = Field(Decimal("1.00"), gt=0)  # the bet that crosses it
        floor_stakes: int = Field(3, ge=1)
        top_up_stakes: int = Field(20, ge=1)
        deposit_deadline_seconds: float = Field(30.0, gt=0)
        level_up_deadline_seconds: float = Field(60.0, gt=0)  # the Kafka path: bet -> Concierge -> push

        @model_validator(mode="after")
        def _bet_crosses(self) -> SpaLevelUp.Options:
            if self.stake_usd <= self.margin_usd:
                raise ValueError("stake_usd must be above margin_usd, or the bet does not cross the threshold")
            return self

    async def journey(self, run: Run) -> None:
        options: SpaLevelUp.Options = run.options  # type: ignore[assignment]
        selectors, headers = run.contract.selectors, run.contract.headers
        code = journey_currency(run, options.currency)

        async with run.step("read rules"):
            concierge = await run.as_customer("concierge")
            rules = await read_rules(run, concierge)
            above_start = [level for level in rules.levels if level[2] > 0]
            if not above_start:
                run.fail(Reason.UNEXPECTED_BODY, "rules: no level above the first")
            target_level, target_name, threshold = above_start[0]

        async with run.step("read limits and rates"):
            vault = await run.as_customer("vault")
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
            standing = await read_standing(run, concierge)
            run.expect_equal("volume_usd after the reset", standing.volume_usd, volume)
            run.expect("level below the target after the reset", standing.level < target_level)

        async with browser_page(run, options.ui_timeout_seconds) as page:
            await open_app(run, page, options)
            await log_in(run, page, options)

            async with run.step("level shown"):
                if await page.wait_text(selectors.level_badge, standing.level_name) is None:
                    shown = await page.texts(selectors.level_badge)
                    run.fail(Reason.ASSERTION, f"level badge shows {shown[:1]}, expected {standing.level_name!r}")

            async with run.step("place bet"):
                since = time.perf_counter()
                await bet_in_page(run, page, options, facts, stake)

            async with run.step("level-up toast"):
                await self._toast(run, page, options, target_level, target_name, since)

            async with run.step("new level badge"):
                if await page.wait_text(selectors.level_badge, target_name) is None:
                    shown = await page.texts(selectors.level_badge)
                    run.fail(
                        Reason.ASSERTION, f"level badge shows {shown[:1]} after the level-up, expected {target_name!r}"
                    )

    @staticmethod
    async def _toast(
        run: Run, page: BrowserPage, options: SpaLevelUp.Options, level: int, name: str, since: float
    ) -> None:
        selectors, event = run.contract.selectors, run.contract.events.level_up
        try:
            await page.wait_visible(selectors.level_up_toast, "the level-up toast", options.level_up_deadline_seconds)
        except StepFailure as failure:
            if failure.reason is not Reason.TIMEOUT:
                raise
            pushed = [p.data for p in page.watch.pushes_of(event, since)]
            if any(isinstance(p, dict) and p.get("level") == level for p in pushed):
                run.fail(Reason.ASSERTION, f"the page got {event} {json.dumps(pushed)[:100]} but shows no toast")
            run.fail(
                Reason.PUSH_MISSING,
                f"no {event} to level {level} reached the page within "
                f"{options.level_up_deadline_seconds:g} s of the bet",
            )
        run.metrics.browser_timing("bet_to_level_up_toast", time.perf_counter() - since)
        shown = await page.text(selectors.level_up_toast, "the level-up toast")
        run.expect(f"the level-up toast ({shown[:80]!r}) names {name!r}", name in shown)
