"""A customer deposits in every currency the target offers and sees each deposit land.

For each configured currency: a small sandbox deposit, polled to ``completed`` within a
deadline, then the balance (up by exactly the amount), the history entry (type ``deposit``,
``ref_id`` = the deposit id, the amount) and the ``balance:update`` push (the new balance).
Every currency is checked even when one fails, so one broken currency is told apart from a
broken platform (``synthetic_currency_success{currency}``).
"""

from __future__ import annotations

from harness import About, Run, Scenario
from scenarios.kit import PaymentOptions, move_in_each_currency

__all__ = ["DepositEachCurrency"]


class DepositEachCurrency(Scenario[PaymentOptions]):
    """A sandbox deposit in each configured currency: completed, balance, history and push."""

    # timeout: a few currencies, each with its completion deadline
    about = About("deposit_each_currency", tags=("api", "money", "socketio"), interval="20s", timeout="3m")

    async def journey(self, run: Run[PaymentOptions]) -> None:
        await move_in_each_currency(run, run.options, "deposit")
