"""A customer bets in the page: the result is shown and the shown balance is Vault's.

The account is topped up through the API first (below a floor of stakes), so the page opens
on a funded wallet. The page's own bet answer (its ``POST`` matching
``contract.page_requests.bet``, by default any path ending in ``/v1/bets``) names the bet; Vault's
``GET /v1/bets/{id}`` must agree with it, the payout must follow the contract
(``stake * multiplier`` on a win, ``0`` on a loss) and the page must show the payout, then
the balance after the bet from the ``balance:update`` push.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from pydantic import Field

from harness import About, Reason, Run, Scenario
from scenarios.kit import BetOptions, Spa, SpaOptions, VaultAccount, decimal, ready_to_bet

__all__ = ["SpaBet"]


class SpaBetOptions(SpaOptions, BetOptions):
    balance_deadline_seconds: float = Field(15.0, gt=0)  # the bet's balance:update shown


class SpaBet(Scenario[SpaBetOptions]):
    """A dice bet through the page: the result is shown and the shown balance is Vault's."""

    about = About("spa_bet", tags=("browser", "spa", "money", "socketio"), interval="5m", timeout="90s")

    async def journey(self, run: Run[SpaBetOptions]) -> None:
        code = run.options.journey_currency(run)
        vault, facts, stake = await ready_to_bet(run, run.options, code)

        async with Spa.opened(run, run.options) as app:
            await app.open_and_log_in()

            async with run.step(f"balance {code}"):
                await app.wallet.expect_vaults(vault, code, "before the bet")

            async with run.step("place bet"):
                since = time.perf_counter()
                bet = await app.dice.bet(facts, stake)

            async with run.step("result shown"):
                await self._result(app, vault, bet, stake, code)

            async with run.step("balance after bet"):
                balance_after = str(bet.get("balance_after"))
                decimal(balance_after, f"bet {code} balance_after")
                deadline = run.options.balance_deadline_seconds
                await app.wallet.await_balance(code, balance_after, deadline, since, f"{code} bet")
                await app.wallet.expect_from_push(code, balance_after, since, f"{code} bet")

            async with run.step("balance matches Vault"):
                await app.wallet.expect_vaults(vault, code, "after the bet")

    @staticmethod
    async def _result(app: Spa, vault: VaultAccount, bet: dict[str, Any], stake: Decimal, code: str) -> None:
        """Vault agrees with the page's bet, the payout follows the contract, the page shows it."""
        run = app.run
        stored = (await vault.client.get(run.paths.bet.format(id=bet["bet_id"]))).json
        if not isinstance(stored, dict):
            run.fail(Reason.UNEXPECTED_BODY, "GET bet: not an object")
        for field in ("outcome", "payout", "balance_after"):
            run.expect_equal(
                f"bet {code} {field} (Vault's GET vs the page's answer)", stored.get(field), bet.get(field)
            )
        outcome = bet.get("outcome")
        multiplier = decimal(bet.get("multiplier"), f"bet {code} multiplier")
        payout = decimal(bet.get("payout"), f"bet {code} payout")
        if outcome not in ("win", "loss"):
            run.fail(Reason.UNEXPECTED_BODY, f"bet {code}: outcome {str(outcome)[:20]!r} is neither win nor loss")
        run.expect_equal(
            f"bet {code} payout on a {outcome}", payout, stake * multiplier if outcome == "win" else Decimal(0)
        )
        shown = await app.dice.result_text()
        run.expect(
            f"the bet result shown ({shown[:80]!r}) names the payout {bet['payout']}", str(bet["payout"]) in shown
        )
