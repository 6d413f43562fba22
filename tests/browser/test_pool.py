"""The runner's one browser: shared by runs, limited, isolated per run, replaced when it dies or hangs."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from config.loader import load_settings
from harness import About, Run, Scenario
from harness.browser import browser_page, pool_for
from harness.discovery import ScenarioPlan, options_for
from harness.execute import execute
from harness.results import Outcome
from harness.runtime import Runtime
from probes.browser_pool import BrowserPool
from probes.browser_process import chromium_tree
from tests.browser.conftest import SEEN_HEADERS
from tests.support import TARGET, local_config

pytestmark = pytest.mark.browser

blows: list[Callable[[Run], None]] = []  # what the test does to the browser mid-run
seen_storage: list[str] = []
held: list[tuple[float, float]] = []


class Victim(Scenario):
    """Opens a page, then meets whatever ``blows`` do to the browser, then loads another."""

    about = About("browser_victim", tags=("browser",), interval="1m", timeout="40s")

    async def journey(self, run: Run) -> None:
        async with browser_page(run, ui_timeout_seconds=3) as page:
            async with run.step("open"):
                await page.goto("/")
            async with run.step("after the blow"):
                for blow in blows:
                    blow(run)
                await page.goto("/slow")
                await page.wait_visible("p", "the paragraph")


class StoragePeek(Scenario):
    """Reports what an earlier run left in local storage (nothing, if runs are isolated)."""

    about = About("browser_storage_peek", tags=("browser",), interval="1m", timeout="30s")

    async def journey(self, run: Run) -> None:
        async with browser_page(run) as page:
            async with run.step("open"):
                await page.goto("/storage")
                seen_storage.append(await page.text("#seen", "what storage held"))


class Holder(Scenario):
    """Holds its browser slot for a while, recording when."""

    about = About("browser_holder", tags=("browser",), interval="1m", timeout="30s")

    async def journey(self, run: Run) -> None:
        async with browser_page(run) as page:
            started = time.monotonic()
            async with run.step("open"):
                await page.goto("/")
                await asyncio.sleep(0.5)
            held.append((started, time.monotonic()))


def plan(runtime: Runtime, scenario: type[Scenario]) -> ScenarioPlan:
    return ScenarioPlan(scenario, TARGET, 60.0, scenario.timeout_seconds, options_for(runtime.settings, scenario))


def kill_browser(run: Run) -> None:
    pid = pool_for(run.runtime).pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)


def stop_browser(run: Run) -> None:
    pid = pool_for(run.runtime).pid
    assert pid is not None
    for proc in [p.pid for p in chromium_tree(pid)] + [pid]:
        os.kill(proc, signal.SIGSTOP)


@pytest.mark.parametrize(
    "what",
    [pytest.param(kill_browser, id="crashed"), pytest.param(stop_browser, id="hung", marks=pytest.mark.slow)],
)
async def test_a_dead_browser_fails_its_run_as_browser_crash_and_is_replaced(
    page_runtime: Runtime, what: Callable[[Run], None]
) -> None:
    blows[:] = [what]
    try:
        first = await execute(page_runtime, plan(page_runtime, Victim))
    finally:
        blows.clear()
    assert (first.outcome, first.failed_step, first.reason) == (Outcome.FAILURE, "after the blow", "browser_crash")
    pool = page_runtime.browser_pool
    assert isinstance(pool, BrowserPool) and pool.replacements == 1

    second = await execute(page_runtime, plan(page_runtime, Victim))
    assert second.outcome is Outcome.SUCCESS, second.message
    assert pool.launches == 2


async def test_runs_share_one_browser_but_no_storage(page_runtime: Runtime) -> None:
    seen_storage.clear()
    SEEN_HEADERS.clear()
    run_ids = []
    for _ in range(2):
        result = await execute(page_runtime, plan(page_runtime, StoragePeek))
        assert result.outcome is Outcome.SUCCESS, result.message
        run_ids.append(result.run_id)
    assert seen_storage == ["empty", "empty"]
    # Every request of the page carries the run's correlation headers.
    assert {h.get("X-Synthetic-Probe") for h in SEEN_HEADERS} == set(run_ids)
    assert all(h.get("traceparent", "").startswith("00-") for h in SEEN_HEADERS)
    pool = page_runtime.browser_pool
    assert isinstance(pool, BrowserPool) and pool.launches == 1
    for metric in ("ttfb", "dom_content_loaded", "load", "fcp"):
        labels = {"scenario": "browser_storage_peek", "metric": metric}
        value = page_runtime.metrics.registry.get_sample_value("synthetic_browser_timing_seconds", labels)
        assert value is not None and value > 0, metric


@pytest.mark.parametrize(("limit", "overlap"), [(1, False), (2, True)])
async def test_browser_runs_at_once_are_limited(tmp_path: Path, page_server: str, limit: int, overlap: bool) -> None:
    config = local_config(tmp_path, page_server, runner={"browser": {"max_concurrent_runs": limit}})
    runtime = Runtime(load_settings(config))
    held.clear()
    try:
        results = await asyncio.gather(*(execute(runtime, plan(runtime, Holder)) for _ in range(2)))
    finally:
        await runtime.aclose()
    assert all(r.outcome is Outcome.SUCCESS for r in results), [r.message for r in results]
    (a_start, a_end), (b_start, b_end) = sorted(held)
    assert (b_start < a_end) is overlap


async def test_closing_the_runtime_leaves_no_chromium(page_runtime: Runtime) -> None:
    result = await execute(page_runtime, plan(page_runtime, StoragePeek))
    assert result.outcome is Outcome.SUCCESS
    assert chromium_tree(), "a browser should be running between runs"
    await page_runtime.aclose()
    deadline = time.monotonic() + 10
    while chromium_tree() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert chromium_tree() == []
