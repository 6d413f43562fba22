"""Run history: every run's result in SQLite next to its artifacts, kept across restarts.

The event loop never waits on the disk: ``add()`` only queues the result, and one writer
thread inserts it and trims the history to its bounds (runs per scenario and target, and
age). Reads are synchronous; the pages call them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from harness.results import Outcome, RunResult

__all__ = ["HISTORY_FILE", "PAGE_CACHE_KIB", "RunHistory", "RunQuery"]

HISTORY_FILE = "history.sqlite"
PAGE_CACHE_KIB = 512
"""SQLite's page cache for the history (its default: 2,000 KiB). The writer appends and trims at
the ends of the indexes, and the pages read a few hundred rows at most; what the cache misses
the kernel's file cache holds. The cache fills as the file grows and then stays full: at the
default, a runner's RSS rose 2 MiB over its first few thousand runs, a climb a soak reads as a leak."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,  -- '-' for a run that never started (skipped)
    scenario TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    started_at REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_scenario ON runs (scenario, target, seq);
CREATE INDEX IF NOT EXISTS runs_by_age ON runs (started_at);
CREATE INDEX IF NOT EXISTS runs_by_id ON runs (run_id);
"""


@dataclass(frozen=True)
class RunQuery:
    """A filter of the run list and of ``/api/runs``; None: any."""

    scenario: str | None = None
    scenarios: tuple[str, ...] = ()
    """Any of these (a journey's scenarios); empty: any."""
    target: str | None = None
    outcome: str | None = None
    reason: str | None = None
    since: float | None = None
    until: float | None = None
    limit: int = 100


class RunHistory:
    """The runs of one runner, newest first, within ``keep_per_scenario`` and ``keep_seconds``."""

    def __init__(self, path: Path, keep_per_scenario: int, keep_seconds: float) -> None:
        self.path = path
        self.keep_per_scenario = keep_per_scenario
        self.keep_seconds = keep_seconds
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: a crash may lose the last runs, never the file
        self._db.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._queue: queue.Queue[RunResult | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_forever, name="run-history", daemon=True)
        self._writer.start()

    # -- writing (one thread) ----------------------------------------------------------------
    def add(self, result: RunResult) -> None:
        """Queue a result; returns at once (safe to call from the event loop)."""
        self._queue.put(result)

    def flush(self) -> None:
        """Wait until every queued result is written (tests, shutdown)."""
        self._queue.join()

    def close(self) -> None:
        self._queue.put(None)
        self._writer.join(timeout=30)
        with self._lock:
            self._db.close()

    def _write_forever(self) -> None:
        """Write what is queued in one transaction per batch, until ``close()``'s sentinel."""
        while True:
            batch = [self._queue.get()]
            while batch[-1] is not None and len(batch) < 500 and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            results = [r for r in batch if r is not None]
            try:
                if results:
                    self._write(results)
            except sqlite3.Error:
                pass  # a full or broken disk loses history, never a run or the runner
            finally:
                for _ in batch:
                    self._queue.task_done()
            if batch[-1] is None:
                return

    def _write(self, results: list[RunResult]) -> None:
        rows = [
            (
                r.run_id,
                r.scenario,
                r.target,
                str(r.outcome),
                r.reason,
                r.started_at,
                json.dumps(r.to_dict(), default=str),
            )
            for r in results
        ]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO runs (run_id, scenario, target, outcome, reason, started_at, record)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            for scenario, target in {(r.scenario, r.target) for r in results}:
                self._db.execute(
                    "DELETE FROM runs WHERE scenario = ? AND target = ? AND seq <= ("
                    " SELECT seq FROM runs WHERE scenario = ? AND target = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                    (scenario, target, scenario, target, self.keep_per_scenario),
                )
            self._db.execute("DELETE FROM runs WHERE started_at < ?", (time.time() - self.keep_seconds,))
            self._db.execute("COMMIT")

    # -- reading -----------------------------------------------------------------------------
    def runs(self, query: RunQuery) -> list[RunResult]:
        clauses: list[str] = []
        values: list[object] = []
        for column, value in (
            ("scenario", query.scenario),
            ("target", query.target),
            ("outcome", query.outcome),
            ("reason", query.reason),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                values.append(value)
        if query.scenarios:
            clauses.append(f"scenario IN ({', '.join('?' * len(query.scenarios))})")
            values.extend(query.scenarios)
        if query.since is not None:
            clauses.append("started_at >= ?")
            values.append(query.since)
        if query.until is not None:
            clauses.append("started_at <= ?")
            values.append(query.until)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return self._select(f"SELECT record FROM runs {where} ORDER BY seq DESC LIMIT ?", (*values, query.limit))

    def run(self, run_id: str) -> RunResult | None:
        found = self._select("SELECT record FROM runs WHERE run_id = ? ORDER BY seq DESC LIMIT 1", (run_id,))
        return found[0] if found else None

    def pairs(self) -> list[tuple[str, str]]:
        """Every (scenario, target) with at least one run."""
        with self._lock:
            return [(s, t) for s, t in self._db.execute("SELECT DISTINCT scenario, target FROM runs")]

    def last_failure(self, scenario: str, target: str) -> RunResult | None:
        found = self._select(
            "SELECT record FROM runs WHERE scenario = ? AND target = ? AND outcome IN (?, ?) ORDER BY seq DESC LIMIT 1",
            (scenario, target, str(Outcome.FAILURE), str(Outcome.TIMEOUT)),
        )
        return found[0] if found else None

    def count(self, scenario: str, target: str) -> int:
        with self._lock:
            (n,) = self._db.execute(
                "SELECT COUNT(*) FROM runs WHERE scenario = ? AND target = ?", (scenario, target)
            ).fetchone()
        return int(n)

    def oldest_start(self) -> float | None:
        with self._lock:
            (oldest,) = self._db.execute("SELECT MIN(started_at) FROM runs").fetchone()
        return None if oldest is None else float(oldest)

    def _select(self, sql: str, values: tuple[object, ...]) -> list[RunResult]:
        with self._lock:
            rows = self._db.execute(sql, values).fetchall()
        return [RunResult.from_dict(json.loads(record)) for (record,) in rows]
