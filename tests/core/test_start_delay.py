"""Serve mode measures how late each run starts against the time APScheduler planned it for, and why.

Causality, not speed: a loop stall shows as the scheduler's part, a held run slot as the slot's
part, and each run carries its own planned time even when a stall makes APScheduler submit
several at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from config.loader import load_settings
from harness import About
from harness.browser import pool_for
from harness.discovery import ScenarioPlan, options_for
from harness.results import START_DELAY_CAUSES, RunResult
from harness.run import Run
from harness.runtime import Runtime
from harness.scenario import Scenario
from harness.scheduler import Service
from tests.core import scenarios_for_tests as s
from tests.core.fake_platform import FakePlatform
from tests.core.test_serve_mode import start
from tests.support import REGION, TARGET, local_config

QUICK_INTERVAL = 0.2
STALL_SECONDS = 0.5


class RecordingRuntime(Runtime):
    """The runtime, keeping every result it records."""

    results: list[RunResult]

    def record(self, result: RunResult) -> None:
        super().record(result)
        self.results.append(result)


class Staller(Scenario):
    """A scenario bug: synchronous work that holds the event loop."""

    about = About("staller", tags=(), interval="1m", timeout="30s")

    async def journey(self, run: Run) -> None:
        async with run.step("hold the loop"):
            time.sleep(STALL_SECONDS)


class HoldsABrowser(Scenario):
    """A browser journey as the pool sees it: one of its page slots for a while (no Chromium needed)."""

    about = About("holds_a_browser", tags=("browser",), interval="1m", timeout="30s")

    async def journey(self, run: Run) -> None:
        async with run.step("start the browser"), pool_for(run.runtime).slots:
            await asyncio.sleep(STALL_SECONDS)


class AlsoHoldsABrowser(HoldsABrowser):
    about = About("also_holds_a_browser", tags=("browser",), interval="1m", timeout="30s")


async def serve_for(
    tmp_path: Path, url: str, scenarios: list[tuple[type[Scenario], float]], seconds: float, **runner: Any
) -> RecordingRuntime:
    runtime = RecordingRuntime(load_settings(local_config(tmp_path, url, runner=runner)))
    runtime.results = []
    plans = [
        ScenarioPlan(sc, TARGET, interval, sc.timeout_seconds, options_for(runtime.settings, sc))
        for sc, interval in scenarios
    ]
    service = Service(runtime, plans, "127.0.0.1:0", 5.0, max_start_offset_seconds=0.05)
    task = await start(service)
    await asyncio.sleep(seconds)
    service.stopping.set()
    await asyncio.wait_for(task, 10)
    return runtime


def started(runtime: RecordingRuntime, scenario: str) -> list[RunResult]:
    return [r for r in runtime.results if r.scenario == scenario and r.planned_at is not None]


async def test_each_run_knows_its_planned_time_on_the_grid_even_after_a_stall(
    tmp_path: Path, fake_platform: FakePlatform
) -> None:
    runtime = await serve_for(tmp_path, fake_platform.url, [(s.Quick, QUICK_INTERVAL), (Staller, 1.0)], 2.0)
    quick = started(runtime, "quick")
    assert len(quick) >= 3, [r.outcome for r in runtime.results]
    planned = [r.planned_at for r in quick if r.planned_at is not None]
    # after the stall APScheduler submits every run time that came due at once: each call takes its own
    assert all(later > earlier for earlier, later in zip(planned, planned[1:], strict=False)), planned
    for earlier, later in zip(planned, planned[1:], strict=False):
        steps = (later - earlier) / QUICK_INTERVAL
        assert abs(steps - round(steps)) < 0.01, f"{later - earlier:.4f} s between two planned runs: off the grid"
    for result in quick:
        assert result.planned_at is not None
        assert set(result.start_delay) == set(START_DELAY_CAUSES)
        assert sum(result.start_delay.values()) == pytest.approx(result.started_at - result.planned_at, abs=1e-6)
        assert result.start_delay["scheduler"] >= 0, "APScheduler never fires a run before its planned time"
    # a run time that came due while the loop was held fired only once the stall was over
    assert max(r.start_delay["scheduler"] for r in quick) >= STALL_SECONDS - QUICK_INTERVAL


async def test_a_wait_for_a_run_slot_is_its_own_cause_logged_and_exported(
    tmp_path: Path, fake_platform: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="runner"):
        runtime = await serve_for(
            tmp_path, fake_platform.url, [(s.SlowPass, 30.0), (s.Quick, QUICK_INTERVAL)], 1.5, max_concurrent_runs=1
        )
    [slow] = started(runtime, "slow_pass")
    slow_end = slow.started_at + slow.duration_seconds
    came_due_meanwhile = [
        r for r in started(runtime, "quick") if r.planned_at is not None and slow.started_at < r.planned_at < slow_end
    ]
    assert came_due_meanwhile, "no quick run came due while the only slot was held"
    for result in came_due_meanwhile:
        assert result.planned_at is not None
        slot_at = result.planned_at + result.start_delay["scheduler"] + result.start_delay["run_slot"]
        assert slot_at >= slow_end - 0.001, "a run got the only slot before the run holding it ended"
    lines = [r.__dict__["fields"] for r in caplog.records if r.getMessage() == "run finished"]
    logged = next(line for line in lines if line["run_id"] == came_due_meanwhile[0].run_id)
    assert logged["start_delay_by_cause"]["run_slot"] > 0
    assert logged["planned_at"].endswith("Z") and logged["start_delay_seconds"] > 0
    sample = runtime.metrics.registry.get_sample_value
    waits = sample("synthetic_runner_start_delay_seconds_count", {"region": REGION, "cause": "run_slot"})
    assert waits == len([r for r in runtime.results if r.planned_at is not None])
    assert (sample("synthetic_runner_start_delay_seconds_sum", {"region": REGION, "cause": "run_slot"}) or 0) > 0


async def test_a_browser_journey_waits_for_a_browser_without_holding_a_run_slot(
    tmp_path: Path, fake_platform: FakePlatform
) -> None:
    """Two browser journeys, one browser, two run slots: the second waits for the browser before its run,
    not inside it, so the API runs due meanwhile still find a run slot."""
    runtime = await serve_for(
        tmp_path,
        fake_platform.url,
        [(HoldsABrowser, 30.0), (AlsoHoldsABrowser, 30.0), (s.Quick, QUICK_INTERVAL)],
        1.8,
        max_concurrent_runs=2,
        browser={"max_concurrent_runs": 1},
    )
    journeys = started(runtime, "holds_a_browser") + started(runtime, "also_holds_a_browser")
    first, second = sorted(journeys, key=lambda r: r.started_at)
    first_end = first.started_at + first.duration_seconds
    assert second.started_at >= first_end - 0.001, "the second journey ran beside the first on the one browser"
    assert (
        second.start_delay["browser_slot"] > 0 and second.start_delay["run_slot"] < second.start_delay["browser_slot"]
    )
    meanwhile = [r for r in started(runtime, "quick") if r.planned_at and first.started_at < r.planned_at < first_end]
    assert meanwhile, "no quick run came due while the first journey held the browser"
    for result in meanwhile:
        assert result.planned_at is not None
        slot_at = result.planned_at + sum(result.start_delay[c] for c in ("scheduler", "browser_slot", "run_slot"))
        assert slot_at < first_end, "a quick run waited for a run slot held by a journey queued for the browser"
