"""Each target's daily stake budget: money-moving runs spend from it and stop when it is gone."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

__all__ = ["StakeBudget"]


def _utc_day(now: float) -> int:
    return int(now // 86400)


class StakeBudget:
    """USD that may still be staked today, per target (resets at midnight UTC)."""

    def __init__(self, per_day: dict[str, Decimal]) -> None:
        self._per_day = dict(per_day)
        self._spent: dict[str, Decimal] = {}
        self._day = _utc_day(time.time())
        self._lock = threading.Lock()

    def _roll(self) -> None:
        today = _utc_day(time.time())
        if today != self._day:
            self._day, self._spent = today, {}

    def remaining(self, target: str) -> Decimal:
        with self._lock:
            self._roll()
            return self._per_day.get(target, Decimal(0)) - self._spent.get(target, Decimal(0))

    def try_spend(self, target: str, usd: Decimal) -> bool:
        """Take ``usd`` from today's budget; False (and nothing taken) when it does not fit."""
        with self._lock:
            self._roll()
            left = self._per_day.get(target, Decimal(0)) - self._spent.get(target, Decimal(0))
            if usd > left:
                return False
            self._spent[target] = self._spent.get(target, Decimal(0)) + usd
            return True
