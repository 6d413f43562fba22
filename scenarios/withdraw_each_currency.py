"""A customer withdraws in every currency the target offers and sees each withdrawal go out.

For each configured currency: top the account up by a sandbox deposit when it holds less than
the amount, then a small sandbox withdrawal, polled to ``completed`` within a deadline, then
the balance (down by exactly the amount), the history entry (type ``withdrawal``, ``ref_id`` =
the withdrawal id, the negative amount) and the ``balance:update`` push (the new balance).
The withdrawal returns what the top-up added, so the test account stays level. Every currency
is checked even when one fails (``synthetic_currency_success{currency}``).
"""

from __future__ import annotations

from harness import About, Run, Scenario
from scenarios.kit import PaymentOptions, move_in_each_currency

__all__ = ["WithdrawEachCurrency"]


class WithdrawEachCurrency(Scenario[PaymentOptions]):
    """A sandbox withdrawal in each configured currency: completed, balance, history and push."""

    # timeout: a top-up and a withdrawal per currency, each with its deadline
    about = About("withdraw_each_currency", tags=("api", "money", "socketio"), interval="5m", timeout="4m")

    async def journey(self, run: Run[PaymentOptions]) -> None:
        await move_in_each_currency(run, run.options, "withdrawal")
