"""The dice game: validate, roll, settle and book a bet in one go (bets settle at once).

Placing a bet never yields to the event loop, so the balance check, the roll and the booking
cannot interleave with another request. The ``bet_wrong_payout`` and ``bet_missing_history``
faults change what is really booked, and the answer reports exactly that.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sandbox.accounts import Account
from sandbox.api_errors import ApiError
from sandbox.context import SandboxContext
from sandbox.ledger import Bet, InsufficientFunds, Ledger, new_id, now_iso
from sandbox.money import to_usd
from sandbox.vault_events import publish_balance_changed, publish_bet_settled
from sandbox.vault_rules import check_amount, insufficient_funds

__all__ = ["Dice", "MULTIPLIER", "WIN_PROBABILITY"]

MULTIPLIER = Decimal("2.00")
WIN_PROBABILITY = 0.49
SELECTIONS = ("high", "low")


class Dice:
    def __init__(self, ctx: SandboxContext, ledger: Ledger, rng: random.Random) -> None:
        self.ctx = ctx
        self.ledger = ledger
        self.rng = rng

    def place(self, account: Account, body: Mapping[str, Any]) -> Bet:
        """Settle one bet, or raise the first ``ApiError`` in the contract's order."""
        if body.get("game") != "dice":
            raise ApiError(422, "invalid_bet", 'game must be "dice"')
        if body.get("selection") not in SELECTIONS:
            raise ApiError(422, "invalid_bet", 'selection must be "high" or "low"')
        faults = self.ctx.faults
        currency, stake = check_amount(body, "stake", faults)
        if self.ledger.balance(account.user_id, currency.code) < stake:
            raise insufficient_funds(currency)
        won = self.rng.random() < WIN_PROBABILITY
        payout = stake * MULTIPLIER if won else Decimal(0)
        debit = stake
        if faults.is_on("bet_wrong_payout"):
            if won:
                payout -= currency.unit
            else:
                debit += currency.unit
        bet = Bet(
            id=new_id("bet"),
            user_id=account.user_id,
            game="dice",
            selection=str(body["selection"]),
            currency=currency.code,
            stake=stake,
            outcome="win" if won else "loss",
            multiplier=MULTIPLIER,
            payout=payout,
            balance_after=Decimal(0),  # set by the ledger from what it books
            stake_usd=to_usd(stake, currency),
            status="settled",
            created_at=now_iso(),
        )
        try:
            settled = self.ledger.settle_bet(
                bet,
                debit=debit,
                credit=payout,
                write_history=not faults.is_on("bet_missing_history"),
            )
        except InsufficientFunds:
            raise insufficient_funds(currency) from None
        publish_bet_settled(self.ctx, account, settled)
        publish_balance_changed(self.ctx, account.user_id, currency.code, settled.balance_after, "bet", settled.id)
        return settled

    def roll_back(self, account: Account, bet_id: str) -> Bet:
        """Refused (409) for a settled bet, as the contract says, unless ``rollback_allowed``."""
        bet = self.ledger.bet(bet_id)
        if bet is None or bet.user_id != account.user_id:
            raise ApiError(404, "not_found", "no such bet")
        self.ctx.metrics.vault.rollback_attempt(account)
        if bet.status == "rolled_back":
            raise ApiError(409, "bet_already_rolled_back", "the bet was already rolled back")
        if not self.ctx.faults.is_on("rollback_allowed"):
            raise ApiError(409, "bet_already_settled", "a settled bet cannot be rolled back")
        reversed_bet, balance = self.ledger.reverse_bet(bet)
        publish_balance_changed(self.ctx, account.user_id, bet.currency, balance, "bet", bet.id)
        return reversed_bet
