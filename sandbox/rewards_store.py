"""Concierge's own rewards ledger: wagered volume, points and level per user, in SQLite.

Concierge owns its data like a real microservice: a SQLite file of its own, never Vault's.
Volumes are ``Decimal`` (stored as text), points are whole numbers. Every call is one short
transaction under a lock, so the async service can run them in a worker thread.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

__all__ = [
    "BetApplied",
    "CENT",
    "LEVELS",
    "LEVELLING_VOLUME",
    "LEADERBOARD_POINTS_PER_USD",
    "Level",
    "Standing",
    "RewardsStore",
    "VIP_POINTS_PER_USD",
    "level_for",
    "next_level_after",
    "points_for",
]

CENT = Decimal("0.01")
VIP_POINTS_PER_USD = Decimal("1")
LEADERBOARD_POINTS_PER_USD = Decimal("10")


@dataclass(frozen=True)
class Level:
    level: int
    name: str
    volume_required_usd: Decimal


LEVELS: tuple[Level, ...] = (
    Level(1, "Bronze", Decimal("0")),
    Level(2, "Silver", Decimal("100")),
    Level(3, "Gold", Decimal("500")),
    Level(4, "Platinum", Decimal("2000")),
    Level(5, "Diamond", Decimal("10000")),
)

# A reset may place an account anywhere below this volume (i.e. still on level 1).
LEVELLING_VOLUME = LEVELS[1].volume_required_usd


def level_for(volume_usd: Decimal) -> Level:
    """The highest level whose threshold the volume has reached."""
    reached = [level for level in LEVELS if volume_usd >= level.volume_required_usd]
    return reached[-1]


def next_level_after(level: Level) -> Level | None:
    higher = [candidate for candidate in LEVELS if candidate.level > level.level]
    return higher[0] if higher else None


def points_for(stake_usd: Decimal, per_usd: Decimal, rounding: str = ROUND_FLOOR) -> int:
    """Whole points for one bet: ``floor(stake_usd * per_usd)`` (another ``rounding`` is the
    ``rewards_points_rounded`` fault)."""
    return int((stake_usd * per_usd).to_integral_value(rounding=rounding))


@dataclass(frozen=True)
class Standing:
    """One user's rewards as Concierge knows them."""

    user_id: str
    volume_usd: Decimal
    vip_points: int
    leaderboard_points: int

    @property
    def level(self) -> Level:
        return level_for(self.volume_usd)


@dataclass(frozen=True)
class BetApplied:
    """What one settled bet changed: the new standing and the level before it."""

    standing: Standing
    previous_level: Level
    duplicate: bool

    @property
    def levelled_up(self) -> bool:
        return self.standing.level.level > self.previous_level.level


_SCHEMA = """
CREATE TABLE IF NOT EXISTS standings (
    user_id TEXT PRIMARY KEY,
    volume_usd TEXT NOT NULL,
    vip_points INTEGER NOT NULL,
    leaderboard_points INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS applied_bets (
    bet_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL
);
"""


class RewardsStore:
    """Standings keyed by user id; settled bets are applied at most once (by ``bet_id``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def check(self) -> tuple[bool, str]:
        """The ``database`` health check: a real round trip to the file."""
        try:
            with self._lock:
                count = self._db.execute("SELECT COUNT(*) FROM standings").fetchone()[0]
        except sqlite3.Error as error:
            return False, f"SQLite error: {error}"
        return True, f"sqlite ok, {count} accounts"

    def standing(self, user_id: str) -> Standing:
        with self._lock:
            return self._read(user_id)

    def apply_bet(
        self, user_id: str, bet_id: str, stake_usd: Decimal, point_shortfall: int = 0, rounding: str = ROUND_FLOOR
    ) -> BetApplied:
        """Add one settled bet; ``point_shortfall`` and ``rounding`` are the ``rewards_wrong_points``
        and ``rewards_points_rounded`` faults."""
        vip = max(0, points_for(stake_usd, VIP_POINTS_PER_USD, rounding) - point_shortfall)
        board = max(0, points_for(stake_usd, LEADERBOARD_POINTS_PER_USD, rounding) - point_shortfall)
        with self._lock:
            before = self._read(user_id)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                seen = self._db.execute(
                    "INSERT OR IGNORE INTO applied_bets (bet_id, user_id) VALUES (?, ?)",
                    (bet_id, user_id),
                ).rowcount
                if seen == 0:
                    self._db.execute("COMMIT")
                    return BetApplied(before, before.level, duplicate=True)
                after = Standing(
                    user_id,
                    before.volume_usd + stake_usd,
                    before.vip_points + vip,
                    before.leaderboard_points + board,
                )
                self._write(after)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return BetApplied(after, before.level, duplicate=False)

    def reset(self, user_id: str, volume_usd: Decimal) -> Standing:
        """The test hook: back to level 1 with ``volume_usd`` and no points."""
        standing = Standing(user_id, volume_usd, 0, 0)
        with self._lock:
            self._write(standing)
        return standing

    def top(self) -> list[Standing]:
        """Everyone with leaderboard points, best first (ties: by user id, stable)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT user_id, volume_usd, vip_points, leaderboard_points FROM standings"
                " WHERE leaderboard_points > 0 ORDER BY leaderboard_points DESC, user_id"
            ).fetchall()
        return [Standing(row[0], Decimal(row[1]), row[2], row[3]) for row in rows]

    def _read(self, user_id: str) -> Standing:
        row = self._db.execute(
            "SELECT volume_usd, vip_points, leaderboard_points FROM standings WHERE user_id = ?",
            (user_id,),
        ).fetchone()
        if row is None:
            return Standing(user_id, Decimal("0.00"), 0, 0)
        return Standing(user_id, Decimal(row[0]), row[1], row[2])

    def _write(self, standing: Standing) -> None:
        self._db.execute(
            "INSERT INTO standings (user_id, volume_usd, vip_points, leaderboard_points)"
            " VALUES (?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET"
            " volume_usd = excluded.volume_usd, vip_points = excluded.vip_points,"
            " leaderboard_points = excluded.leaderboard_points",
            (
                standing.user_id,
                str(standing.volume_usd.quantize(CENT)),
                standing.vip_points,
                standing.leaderboard_points,
            ),
        )
