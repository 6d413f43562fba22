"""Every way a run ends, as ``harness.execute`` records it: one row per ending, every field checked.

The scenarios here touch no network (the target's URLs lead nowhere), so the table runs in well
under a second and can serve as the fast test set of ``make mutate``.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel

from config.loader import load_settings
from harness import About, Reason, Run, RunSkipped, Scenario, StepFailure
from harness.discovery import ScenarioPlan, options_for
from harness.execute import execute, skipped_result
from harness.logs import setup_logging
from harness.results import Outcome, RunResult
from harness.runtime import Runtime
from harness.secrets import register_secret
from tests.core.scenarios_for_tests import raising
from tests.support import REGION, TARGET, local_config

SECRET_IN_MESSAGE = "s3cret-in-a-message-77"
cleaned_up: list[str] = []


class Passes(Scenario):
    about = About("passes", tags=(), interval="1m", timeout="30s")

    class Options(BaseModel):
        step: str = "work"

    async def journey(self, run: Run) -> None:
        run.on_cleanup(_cleanup("passes"))
        async with run.step(run.options.step):  # type: ignore[attr-defined]
            await asyncio.sleep(0.02)


class FailsAStep(Scenario):
    about = About("fails_a_step", tags=(), interval="1m", timeout="30s")

    async def journey(self, run: Run) -> None:
        run.on_cleanup(_cleanup("fails_a_step"))
        async with run.step("first"):
            pass
        async with run.step("check"):
            run.fail(Reason.UNEXPECTED_BODY, f"answer held {SECRET_IN_MESSAGE}")


class RecoversFromAStep(Scenario):
    """A step fails, the journey handles it and passes: the run has no failing step."""

    about = About("recovers", tags=(), interval="1m", timeout="30s")

    async def journey(self, run: Run) -> None:
        try:
            async with run.step("optional"):
                run.fail(Reason.ASSERTION, "not there")
        except StepFailure:
            pass


class Sleeps(Scenario):
    about = About("sleeps", tags=(), interval="1m", timeout="200ms")

    async def journey(self, run: Run) -> None:
        run.on_cleanup(_cleanup("sleeps"))
        async with run.step("wait"):
            await asyncio.sleep(3)  # long past its timeout; short enough that a run without one ends


class WaitsLong(Sleeps):
    about = About("waits_long", tags=(), interval="1m", timeout="30s")


class KeepsArtifacts(Scenario):
    about = About("keeps_artifacts", tags=(), interval="1m", timeout="30s")

    async def journey(self, run: Run) -> None:
        async with run.step("save"):
            (run.artifacts_dir / "note.txt").write_text("kept")


Skips = raising("skips", "look for an account", lambda: RunSkipped("no account for this region"))
Crashes = raising("crashes", "compute", lambda: ValueError("x" * 500))


class Spends(Scenario):
    about = About("spends", tags=("money",), interval="1m", timeout="30s")

    async def journey(self, run: Run) -> None:
        raise AssertionError("a money journey ran where money may not move")


def _cleanup(name: str):  # type: ignore[no-untyped-def]
    async def cleanup() -> None:
        cleaned_up.append(name)

    return cleanup


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    return Runtime(load_settings(local_config(tmp_path, "http://127.0.0.1:9")))


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    setup_logging("DEBUG", stream)
    try:
        yield stream
    finally:
        logging.getLogger().handlers.clear()


def plan(runtime: Runtime, scenario: type[Scenario]) -> ScenarioPlan:
    return ScenarioPlan(scenario, TARGET, 60.0, scenario.timeout_seconds, options_for(runtime.settings, scenario))


def runs(runtime: Runtime, scenario: str, result: str) -> float:
    labels = {"scenario": scenario, "target": TARGET, "region": REGION, "result": result}
    return runtime.metrics.registry.get_sample_value("synthetic_scenario_runs_total", labels) or 0.0


def gauge(runtime: Runtime, name: str, scenario: str) -> float | None:
    return runtime.metrics.registry.get_sample_value(name, {"scenario": scenario, "target": TARGET, "region": REGION})


# scenario -> (outcome, failed step, reason, message, step names)
ENDINGS: dict[type[Scenario], tuple[Outcome, str | None, str | None, str, list[str]]] = {
    Passes: (Outcome.SUCCESS, None, None, "", ["work"]),
    FailsAStep: (Outcome.FAILURE, "check", "unexpected_body", "answer held ***", ["first", "check"]),
    RecoversFromAStep: (Outcome.SUCCESS, None, None, "", ["optional"]),
    Skips: (Outcome.SKIPPED, None, None, "no account for this region", []),
    Sleeps: (Outcome.TIMEOUT, "wait", "timeout", "run exceeded its timeout of 0.2 s", ["wait"]),
    Crashes: (Outcome.FAILURE, "compute", "error", "ValueError: " + "x" * 288, ["compute"]),
    Spends: (Outcome.SKIPPED, None, None, f"spends moves money and target {TARGET} does not allow it", []),
}


@pytest.mark.parametrize("scenario", list(ENDINGS), ids=[s.name for s in ENDINGS])
async def test_each_ending_is_one_complete_result(
    runtime: Runtime, log_lines: io.StringIO, scenario: type[Scenario]
) -> None:
    register_secret(SECRET_IN_MESSAGE)
    cleaned_up.clear()
    before = time.time()
    result = await execute(runtime, plan(runtime, scenario))
    outcome, failed_step, reason, message, steps = ENDINGS[scenario]
    assert (result.outcome, result.failed_step, result.reason, result.message) == (
        outcome,
        failed_step,
        reason,
        message,
    )
    assert [step.name for step in result.steps] == steps
    assert (result.scenario, result.target, result.region) == (scenario.name, TARGET, REGION)
    assert len(result.run_id) > 8 and len(result.trace_id) == 32 and result.artifacts_dir is None
    assert before <= result.started_at <= time.time()
    assert 0 <= result.duration_seconds < 10
    assert cleaned_up == ([scenario.name] if scenario in (Passes, FailsAStep, Sleeps) else [])
    # recorded once, in the metrics and in one log line
    assert runs(runtime, scenario.name, str(outcome)) == 1
    lines = [json.loads(text) for text in log_lines.getvalue().strip().splitlines()]
    line = lines[-1]
    assert (line["msg"], line["scenario"], line["result"], line["reason"]) == (
        "run finished",
        scenario.name,
        str(outcome),
        reason,
    )
    assert SECRET_IN_MESSAGE not in log_lines.getvalue()
    # a scenario's bug is logged at debug level with its exception type, for the engineer
    debug = [
        (entry["msg"], entry.get("exc_type"))
        for entry in lines
        if entry["level"] == "debug" and entry["msg"].endswith(" raised")
    ]
    assert debug == ([("scenario crashes raised", "ValueError")] if scenario is Crashes else [])


async def test_a_step_takes_its_time_and_the_run_at_least_as_long(runtime: Runtime) -> None:
    result = await execute(runtime, plan(runtime, Passes))
    assert 0.02 <= result.steps[0].duration_seconds <= result.duration_seconds
    assert gauge(runtime, "synthetic_scenario_success", "passes") == 1
    end = gauge(runtime, "synthetic_scenario_last_run_timestamp_seconds", "passes")
    assert end == pytest.approx(result.started_at + result.duration_seconds)


async def test_a_run_cancelled_from_outside_is_recorded_as_aborted_and_cancels_on(
    runtime: Runtime, log_lines: io.StringIO
) -> None:
    cleaned_up.clear()
    task = asyncio.create_task(execute(runtime, plan(runtime, WaitsLong)))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert runs(runtime, "waits_long", "aborted") == 1 and runs(runtime, "waits_long", "timeout") == 0
    assert cleaned_up == ["sleeps"]  # the cleanup WaitsLong inherits
    failures = {"scenario": "waits_long", "step": "wait", "target": TARGET, "region": REGION, "reason": "aborted"}
    assert runtime.metrics.registry.get_sample_value("synthetic_step_failures_total", failures) == 1
    line = json.loads(log_lines.getvalue().strip().splitlines()[-1])
    assert (line["result"], line["reason"], line["step"]) == ("aborted", "aborted", "wait")
    assert line["message"] == "runner shut down during the run"


def test_a_skipped_result_says_why_and_has_no_run(runtime: Runtime) -> None:
    before = time.time()
    result: RunResult = skipped_result(runtime, plan(runtime, Passes), "previous run still in progress")
    assert (result.scenario, result.target) == ("passes", TARGET)
    assert before <= result.started_at <= time.time()
    assert (result.outcome, result.run_id, result.trace_id, result.duration_seconds) == (Outcome.SKIPPED, "-", "-", 0.0)
    assert result.message == "previous run still in progress" and result.region == REGION


async def test_a_run_that_saved_artifacts_says_where(runtime: Runtime) -> None:
    result = await execute(runtime, plan(runtime, KeepsArtifacts))
    assert result.artifacts_dir is not None
    folder = Path(result.artifacts_dir)
    assert (folder.parent.name, folder.name) == ("keeps_artifacts", result.run_id)
    assert (folder / "note.txt").read_text() == "kept"


def money_runtime(tmp_path: Path, window_opens: datetime) -> Runtime:
    """The target allows money; its Vault has a one-hour maintenance window from ``window_opens``."""
    window = {
        "name": "vault-migration",
        "start": window_opens.isoformat(),
        "end": (window_opens + timedelta(hours=1)).isoformat(),
        "targets": [TARGET],
        "services": ["vault"],
    }
    config = local_config(tmp_path, "http://127.0.0.1:9", target={"allow_money": True}, top={"maintenance": [window]})
    return Runtime(load_settings(config))


async def test_a_money_run_is_paused_while_a_maintenance_window_is_open(tmp_path: Path) -> None:
    runtime = money_runtime(tmp_path, datetime.now(UTC) - timedelta(minutes=1))
    result = await execute(runtime, plan(runtime, Spends))
    assert (result.outcome, result.reason, result.steps) == (Outcome.SKIPPED, None, [])
    assert result.message == f"spends moves money: paused during maintenance window vault-migration on {TARGET}"
    assert (await execute(runtime, plan(runtime, Passes))).outcome is Outcome.SUCCESS  # moves no money: runs


async def test_a_money_run_goes_ahead_where_money_is_allowed_and_no_window_is_open(tmp_path: Path) -> None:
    runtime = money_runtime(tmp_path, datetime.now(UTC) + timedelta(hours=1))
    result = await execute(runtime, plan(runtime, Spends))
    assert (result.outcome, result.message) == (
        Outcome.FAILURE,
        "AssertionError: a money journey ran where money may not move",
    )


class OfferedUploads:
    """Stands in for ``ArtifactUploads.offer`` only (the upload itself is proven against moto's S3)."""

    def __init__(self) -> None:
        self.offered: list[RunResult] = []

    def offer(self, result: RunResult) -> str:
        self.offered.append(result)
        return f"https://artifacts.example/{result.run_id}/"


async def test_a_run_is_offered_for_upload_and_says_where_its_artifacts_will_be(runtime: Runtime) -> None:
    uploads = runtime.uploads = OfferedUploads()  # type: ignore[assignment]
    result = await execute(runtime, plan(runtime, KeepsArtifacts))
    assert uploads.offered == [result]
    assert result.artifacts_url == f"https://artifacts.example/{result.run_id}/"
