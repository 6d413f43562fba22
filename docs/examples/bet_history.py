"""A customer's smallest bet shows in the history: one debit of the stake, found by the bet's id.

The worked example of the README's "Adding a scenario": the whole journey, written with the
toolkit only (``scenarios.kit``). Copied to ``scenarios/bet_history.py`` it runs on its own;
``tests/scenarios/test_adding_a_scenario.py`` runs it against the sandbox from here.
"""

from __future__ import annotations

from pydantic import Field

from harness import About, Run, Scenario
from scenarios.kit import BetOptions, decimal, ready_to_bet

__all__ = ["BetHistory", "BetHistoryOptions"]


class BetHistoryOptions(BetOptions):
    history_limit: int = Field(20, ge=1, le=1000)  # the newest entries searched for the bet


class BetHistory(Scenario[BetHistoryOptions]):
    """The smallest bet leaves one debit of its stake in the history, found by the bet's id."""

    about = About("bet_history", tags=("api", "money"), interval="5m", timeout="1m")

    async def journey(self, run: Run[BetHistoryOptions]) -> None:
        code = run.options.journey_currency(run)
        vault, facts, stake = await ready_to_bet(run, run.options, code)

        async with run.step("place bet"):
            bet = await vault.bet(facts, stake)

        async with run.step("check history"):
            entries = await vault.history(bet.bet_id, run.options.history_limit)
            debits = [entry for entry in entries if entry.get("type") == "bet_debit"]
            run.expect_equal(f"{code} debits of the bet", len(debits), 1)
            amount = decimal(debits[0].get("amount"), f"{code} debit amount")
            run.expect_equal(f"{code} debit of the bet", amount, -stake)
