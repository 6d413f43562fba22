"""What Vault tells the rest of the platform through the bus (Kafka in production).

A lost broker (``kafka_down``) does not undo a settled bet or a deposit: the event is logged
and dropped, as a producer without an outbox would do. Dropping, not replaying later, also
keeps stale rewards from landing after a probe has reset its account.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from sandbox.accounts import Account
from sandbox.bus import BALANCE_CHANGED, BETS_SETTLED, BusDown
from sandbox.context import SandboxContext
from sandbox.ledger import Bet
from sandbox.money import CURRENCIES, format_amount, plain

__all__ = ["publish_balance_changed", "publish_bet_settled"]

log = logging.getLogger("sandbox.vault")


def _publish(ctx: SandboxContext, topic: str, event: dict[str, Any]) -> None:
    try:
        ctx.bus.publish(topic, event)
    except BusDown as exc:
        ref = event.get("ref_id") or event.get("bet_id")
        log.warning("event on %s for %s dropped: %s", topic, ref, exc)


def publish_balance_changed(
    ctx: SandboxContext, user_id: str, currency: str, balance: Decimal, reason: str, ref_id: str
) -> None:
    event = {
        "user_id": user_id,
        "currency": currency,
        "balance": format_amount(balance, CURRENCIES[currency]),
        "reason": reason,
        "ref_id": ref_id,
    }
    _publish(ctx, BALANCE_CHANGED, event)


def publish_bet_settled(ctx: SandboxContext, account: Account, bet: Bet) -> None:
    event = {
        "user_id": account.user_id,
        "bet_id": bet.id,
        "currency": bet.currency,
        "stake": format_amount(bet.stake, CURRENCIES[bet.currency]),
        "stake_usd": plain(bet.stake_usd),
        "synthetic": account.synthetic,
    }
    _publish(ctx, BETS_SETTLED, event)
