"""``bench.http_load``: each serve mode's rounds pooled, then judged and shown side by side."""

from __future__ import annotations

import math

from bench.http_accuracy import DELAYS_MS, Measured, ServeCost
from bench.http_load import AFTER, BEFORE, Pooled, _section
from tests.bench.test_bench_smoke import _assert_tables_well_formed

LAG_BUCKETS = ((0.001, 50.0), (0.005, 98.0), (0.01, 100.0), (math.inf, 100.0))


def _round(ours_ms: float, theirs_ms: float) -> dict[str, Measured]:
    """Every probe of one round off by the same error, ours and blackbox's."""
    errors = {
        tool: {d: [ms / 1000] * 3 for d in DELAYS_MS} for tool, ms in (("scenario", ours_ms), ("blackbox", theirs_ms))
    }
    return {tool: Measured(errors=errors.get(tool, {})) for tool in ("blackbox", "blackbox_http", "scenario")}


def test_rounds_pool_and_each_serve_mode_is_judged_on_its_own() -> None:
    pooled = {BEFORE: Pooled(), AFTER: Pooled()}
    for _ in range(2):
        pooled[BEFORE].add(_round(3.0, 1.0), ServeCost(2.0, (10.0, 12.0), LAG_BUCKETS), 1.5)
        pooled[AFTER].add(_round(1.2, 1.0), ServeCost(3.0, (11.0, 13.0), LAG_BUCKETS), 2.5)
    after = pooled[AFTER]
    assert len(after.measured["scenario"].errors[0]) == 6
    assert after.cpu_per_browser_run == 1.5  # 6 s over 4 runs
    assert after.lag_p99_bound() == 0.01 and math.isclose(after.lag_share_over(0.005), 0.02)
    section = _section(pooled, 3, ["spa_login_balance"])
    assert [goal.met for goal in section.goals] == [False, True]  # gaps 2 ms and 0.2 ms at every delay
    assert "1.50x" in section.body  # runner CPU per browser run, after over before
    _assert_tables_well_formed(section.body)
