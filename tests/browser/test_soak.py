"""Many browser runs in one runtime (as in serve mode) leave no growing count of processes or handles.

``bench/browser_soak.py`` does 200 runs through the scheduler and prints the counts; this is
its smaller, asserting sibling: 30 runs, counted after a warm-up and at the end.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from config.loader import load_settings
from harness.discovery import discover, plan
from harness.execute import execute
from harness.results import Outcome
from harness.runtime import Runtime
from probes.browser_process import Footprint, chromium_tree, footprint
from sandbox.testing import SandboxHandle
from tests.browser.conftest import sandbox_config

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUNS = 30
WARM_UP = 6
# Chromium may keep a spare renderer around; a leak grows with every run, far past these.
MORE_PROCESSES = 3
MORE_FDS = 12


async def idle_footprint() -> Footprint:
    """The counts once closed contexts' renderers have gone (they exit a moment after the close)."""
    last, steady = footprint(), 0
    for _ in range(40):
        await asyncio.sleep(0.25)
        now = footprint()
        steady = steady + 1 if now.chromium_processes == last.chromium_processes else 0
        last = now
        if steady >= 3:
            break
    return last


async def test_thirty_runs_leave_no_growing_count_of_processes_or_handles(
    clean_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    settings = load_settings(sandbox_config(clean_sandbox, tmp_path), scenario_names=discover())
    plans = plan(settings, discover(), names=["spa_load", "spa_login_balance"])
    runtime = Runtime(settings)
    counts: list[Footprint] = []
    try:
        for index in range(0, RUNS, 2):  # two at a time, as max_concurrent_runs allows
            results = await asyncio.gather(*(execute(runtime, p) for p in plans))
            assert all(r.outcome is Outcome.SUCCESS for r in results), [r.message for r in results]
            if index + 2 in (WARM_UP, RUNS):
                counts.append(await idle_footprint())
    finally:
        await runtime.aclose()
    warm, end = counts
    assert warm.chromium_processes > 0
    assert end.chromium_processes <= warm.chromium_processes + MORE_PROCESSES, (warm, end)
    assert end.runner_fds <= warm.runner_fds + MORE_FDS, (warm, end)
    assert end.driver_fds <= warm.driver_fds + MORE_FDS, (warm, end)
    assert end.browser_fds <= warm.browser_fds + MORE_FDS * 5, (warm, end)
    for _ in range(100):
        if not chromium_tree():
            break
        await asyncio.sleep(0.1)
    assert chromium_tree() == [], "closing the runtime must end every Chromium process"
