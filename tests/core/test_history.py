"""Run history: bounded by count per scenario and by age over thousands of results, kept across a reopen."""

from __future__ import annotations

import _sqlite3
import ctypes
import time
from pathlib import Path

from harness.history import PAGE_CACHE_KIB, RunHistory, RunQuery
from harness.results import Attempt, Outcome, RunResult, StepRecord


def result(n: int, scenario: str, started_at: float, outcome: Outcome = Outcome.SUCCESS) -> RunResult:
    failed = outcome is not Outcome.SUCCESS
    return RunResult(
        scenario=scenario,
        target="prod",
        region="eu-west-1",
        run_id=f"run-{scenario}-{n:05d}",
        trace_id=f"{n:032x}",
        outcome=outcome,
        started_at=started_at,
        duration_seconds=0.25 + n % 7,
        steps=[
            StepRecord("log in", 0.1, True),
            StepRecord("deposit", 0.15, not failed, "assertion" if failed else None),
        ],
        failed_step="deposit" if failed else None,
        reason="assertion" if failed else None,
        message="balance 10.00, expected 11.00" if failed else "",
        attempts=2 if failed else 1,
        earlier_attempts=[Attempt("run-0", "0" * 32, Outcome.TIMEOUT, 3.0, "log in", "timeout", "slow")],
    )


def test_history_stays_within_its_bounds_over_thousands_of_results_and_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    history = RunHistory(path, keep_per_scenario=300, keep_seconds=3600)
    now = time.time()
    # 2,400 results: 1,200 per scenario, one every 5 s, the oldest 40 min older than the age bound
    for n in range(1200):
        for scenario in ("deposit", "chat"):
            started = now - 6000 + n * 5
            outcome = Outcome.FAILURE if n % 10 == 0 else Outcome.SUCCESS
            history.add(result(n, scenario, started, outcome))
    history.flush()
    assert history.count("deposit", "prod") == 300
    assert history.count("chat", "prod") == 300
    newest = history.runs(RunQuery(scenario="deposit", limit=1))[0]
    assert newest.run_id == "run-deposit-01199"
    # older than the age bound: gone even where the count bound would keep it
    for n in range(2000):
        history.add(result(5000 + n, "rare", now - 4600 + n, Outcome.SUCCESS))
    history.flush()
    oldest = history.oldest_start()
    assert oldest is not None and oldest >= now - 3600 - 60
    assert history.count("rare", "prod") == 300
    assert {r.scenario for r in history.runs(RunQuery(scenarios=("deposit", "rare"), limit=1000))} == {
        "deposit",
        "rare",
    }
    kept = history.runs(RunQuery(scenario="deposit", outcome="failure", limit=1000))
    assert len(kept) == 30 and all(r.reason == "assertion" for r in kept)
    history.close()
    assert path.stat().st_size < 5_000_000

    reopened = RunHistory(path, keep_per_scenario=300, keep_seconds=3600)
    try:
        again = reopened.run("run-deposit-01190")
        assert again == result(1190, "deposit", now - 6000 + 1190 * 5, Outcome.FAILURE)
        assert reopened.count("deposit", "prod") == 300
        assert reopened.last_failure("deposit", "prod") == again
    finally:
        reopened.close()


def test_add_never_waits_for_the_disk(tmp_path: Path) -> None:
    """add() only queues: with the writer held up, it still returns and the write lands later."""
    history = RunHistory(tmp_path / "h.sqlite", keep_per_scenario=10, keep_seconds=3600)
    with history._lock:  # the writer thread cannot write while this is held
        history.add(result(1, "deposit", time.time()))
        assert history._queue.qsize() == 1 or history._queue.unfinished_tasks == 1
    history.flush()
    assert history.count("deposit", "prod") == 1
    history.close()


def _sqlite_bytes_in_use() -> int:
    """What SQLite has allocated in this process (``sqlite3_memory_used``), its page caches included."""
    used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    used.restype = ctypes.c_int64
    return int(used())


def test_the_history_holds_no_more_than_its_page_cache_however_many_results_it_keeps(tmp_path: Path) -> None:
    """SQLite's cache fills as the file grows, then stays full: a soak's RSS climbs by what it holds."""
    before = _sqlite_bytes_in_use()
    history = RunHistory(tmp_path / "h.sqlite", keep_per_scenario=20_160, keep_seconds=7 * 86400)
    now = time.time()
    for n in range(3000):  # a file of a few MiB: the default cache (2,000 KiB) would be full
        history.add(result(n, ("deposit", "chat", "uptime")[n % 3], now))
    history.flush()
    held = _sqlite_bytes_in_use() - before
    history.close()
    assert held < (PAGE_CACHE_KIB + 256) * 1024, f"SQLite holds {held // 1024} KiB"
