"""``serve`` beside a hostile target for a minute: memory bounded, ``/metrics`` answering
throughout, every planned run of every scenario recorded (the healthy target's and the
hostile one's alike). The same set-up measures ``/metrics`` latency in ``bench/hostile.py``."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from bench.hostile import HOSTILE_SERVICES, SCENARIOS, beside_config, hostile_urls, serving_beside, watch
from sandbox.hostile import running_hostile

SECONDS = 60.0
RSS_GROWTH_LIMIT = 64 << 20


@pytest.mark.slow
def test_serve_beside_a_hostile_target(tmp_path: Path) -> None:
    with running_hostile() as hostile:
        healthy = dict.fromkeys(HOSTILE_SERVICES, hostile.server("healthy").url)
        config = beside_config(tmp_path, {"healthy": healthy, "hostile": hostile_urls(hostile)})
        with serving_beside(config, tmp_path / "serve.log") as (child, seen), httpx.Client(trust_env=False) as client:
            watch(client, [(child, seen)], SECONDS)
    assert seen.failures == [], seen.failures[:5]
    assert seen.rss_growth < RSS_GROWTH_LIMIT, f"RSS grew {seen.rss_growth >> 20} MiB beside the hostile target"
    for scenario, (interval, _) in SCENARIOS.items():
        # run times fall every interval after the scheduler starts (APScheduler's first is one
        # interval in); the last one may still be going at the last scrape
        planned = int((seen.last_at - seen.started) // interval)
        for target in ("healthy", "hostile"):
            recorded = seen.runs(scenario=scenario, target=target)
            assert recorded >= planned - 1, f"{scenario}@{target}: {recorded:.0f} of {planned} planned runs recorded"
        assert seen.runs(scenario=scenario, target="healthy", result="success") > 0
        assert seen.runs(scenario=scenario, target="hostile", result="success") == 0
    assert time.monotonic() - seen.started >= SECONDS
