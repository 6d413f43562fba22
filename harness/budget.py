"""Each target's daily stake budget: money-moving runs spend from it and stop when it is gone.

A region run by N replicas (shards) gives each replica 1/N of the budget, rounded down to a
cent, so N replicas never spend N budgets. A scheduled runner keeps today's spending in a
small ledger file, so a container that crash-loops resumes the day's spending instead of
starting it over.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from pathlib import Path

__all__ = ["LedgerError", "StakeBudget", "share_of_budget"]

log = logging.getLogger("runner")
_CENT = Decimal("0.01")


class LedgerError(RuntimeError):
    """A ledger file that cannot be read: never taken as "nothing spent today"."""


def _utc_day(now: float) -> int:
    return int(now // 86400)


def share_of_budget(per_day: Decimal, replicas: int) -> Decimal:
    """One replica's part of a daily budget split ``replicas`` ways (never more than its share)."""
    return (per_day / replicas).quantize(_CENT, rounding=ROUND_DOWN)


class StakeBudget:
    """USD that may still be staked today, per target (resets at midnight UTC).

    With ``ledger``, today's spending is read from that file at start and written to it
    after every spend (a file of the replica's own; replicas never share one).
    """

    def __init__(self, per_day: dict[str, Decimal], ledger: Path | None = None) -> None:
        self._per_day = dict(per_day)
        self._spent: dict[str, Decimal] = {}
        self._day = _utc_day(time.time())
        self._lock = threading.Lock()
        self._ledger = ledger
        if ledger is not None:
            self._spent = self._read_ledger(ledger, self._day)

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
            if self._ledger is not None:
                self._write_ledger(self._ledger)
            return True

    # -- the ledger file ------------------------------------------------------------------
    @staticmethod
    def _read_ledger(path: Path, today: int) -> dict[str, Decimal]:
        """Today's spending as the file has it; another day's (or no) file means nothing spent.

        A file that cannot be read as a ledger is refused loudly rather than taken as zero:
        starting the day over is exactly what the ledger is there to prevent.
        """
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise LedgerError(f"stake budget ledger {path}: unreadable ({exc}); delete it to start over") from None
        if not isinstance(raw, dict) or raw.get("utc_day") != today:
            return {}
        try:
            return {str(target): Decimal(str(usd)) for target, usd in dict(raw["spent_usd"]).items()}
        except (KeyError, TypeError, ValueError, InvalidOperation):
            raise LedgerError(f"stake budget ledger {path}: not a ledger; delete it to start over") from None

    def _write_ledger(self, path: Path) -> None:
        """Replace the file atomically (write aside, then rename), so a crash never leaves half of it."""
        body = {"utc_day": self._day, "spent_usd": {target: str(usd) for target, usd in self._spent.items()}}
        aside = path.with_name(path.name + ".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            aside.write_text(json.dumps(body))
            os.replace(aside, path)
        except OSError as exc:  # the spend stands in memory; the next write may succeed
            log.warning("stake budget ledger not written", extra={"fields": {"path": str(path), "error": str(exc)}})
