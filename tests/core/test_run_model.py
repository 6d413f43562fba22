"""The executor: timeouts, crashes, skips and retries become results, never exceptions."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from config.loader import load_settings
from harness.discovery import ScenarioPlan, options_for
from harness.execute import execute
from harness.oneshot import retry_delay_seconds, run_once
from harness.results import Outcome
from harness.runtime import Runtime
from harness.scenario import About, Scenario
from tests.core import scenarios_for_tests as s
from tests.core.fake_platform import FakePlatform
from tests.support import TARGET, local_config


def plan_for(runtime: Runtime, scenario: type[Scenario], timeout: float | None = None) -> ScenarioPlan:
    return ScenarioPlan(
        scenario, TARGET, 1.0, timeout or scenario.timeout_seconds, options_for(runtime.settings, scenario)
    )


@pytest.fixture
def runtime(tmp_path: Path, fake_platform: FakePlatform) -> Runtime:
    return Runtime(load_settings(local_config(tmp_path, fake_platform.url)))


async def test_run_over_its_timeout_is_recorded_as_timeout(runtime: Runtime) -> None:
    result = await execute(runtime, plan_for(runtime, s.Sleeper))
    assert result.outcome is Outcome.TIMEOUT
    assert (result.failed_step, result.reason) == ("sleep", "timeout")
    assert result.duration_seconds < 5


async def test_crashing_scenario_is_a_failure_with_reason_error(runtime: Runtime) -> None:
    result = await execute(runtime, plan_for(runtime, s.Crasher))
    assert result.outcome is Outcome.FAILURE
    assert (result.failed_step, result.reason) == ("crash", "error")
    assert "RuntimeError" in result.message


async def test_money_scenario_is_skipped_where_money_may_not_move(runtime: Runtime) -> None:
    class Spender(s.Quick):
        about = About("spender", tags=("money",), interval="1m", timeout="30s")

    result = await execute(runtime, plan_for(runtime, Spender))
    assert result.outcome is Outcome.SKIPPED and "does not allow it" in result.message


async def test_retried_failure_is_reported_with_attempts(runtime: Runtime) -> None:
    results = await run_once(runtime, [plan_for(runtime, s.Crasher)], retries=2)
    assert results[0].attempts == 3 and results[0].outcome is Outcome.FAILURE and not results[0].flaky


async def test_retried_pass_is_flaky_not_hidden(runtime: Runtime) -> None:
    calls = {"n": 0}

    class FailsOnce(Scenario):
        about = About("fails_once", tags=(), interval="1m", timeout="30s")

        async def journey(self, run):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            async with run.step("maybe"):
                if calls["n"] == 1:
                    raise RuntimeError("first time")

    results = await run_once(runtime, [plan_for(runtime, FailsOnce)], retries=1)
    assert results[0].passed and results[0].flaky and results[0].attempts == 2
    (first,) = results[0].earlier_attempts  # what failed is kept, not thrown away
    assert (first.outcome, first.failed_step, first.reason) == (Outcome.FAILURE, "maybe", "error")
    assert "first time" in first.message and first.run_id != results[0].run_id
    report = results[0].to_dict()
    assert report["earlier_attempts"][0]["failed_step"] == "maybe" and report["flaky"] is True


@pytest.mark.parametrize(("first", "retry", "seconds"), [(5.0, 1, 5.0), (5.0, 2, 10.0), (5.0, 3, 20.0), (0.0, 4, 0.0)])
def test_retry_delay_doubles(first: float, retry: int, seconds: float) -> None:
    assert retry_delay_seconds(first, retry) == seconds


async def test_retries_wait_with_backoff_and_keep_every_attempt(runtime: Runtime) -> None:
    started = time.monotonic()
    results = await run_once(runtime, [plan_for(runtime, s.Crasher)], retries=2, retry_delay=0.2)
    assert time.monotonic() - started >= 0.2 + 0.4  # 0.2 s before the first retry, 0.4 s before the second
    assert results[0].attempts == 3 and len(results[0].earlier_attempts) == 2 and not results[0].flaky
