"""Runs one scenario against one target and always returns (and records) a result.

The executor owns the timeout (as blackbox_exporter's handler does): a run over its timeout
is cancelled and recorded as ``timeout``; a run cancelled from outside (shutdown) is
recorded as ``aborted`` before the cancellation goes on. In serve mode it also records how
late the run started against its planned time, and why (``ScheduledStart``).
"""

from __future__ import annotations

import asyncio
import logging
import time

from harness.discovery import ScenarioPlan
from harness.errors import RunSkipped, StepFailure
from harness.logs import log_result
from harness.maintenance import open_window
from harness.results import Outcome, RunResult, ScheduledStart
from harness.run import Run
from harness.runtime import Runtime
from harness.secrets import redact
from probes.result import Reason

__all__ = ["execute", "skipped_result"]

log = logging.getLogger("runner")


def skipped_result(runtime: Runtime, plan: ScenarioPlan, message: str) -> RunResult:
    return RunResult(
        plan.name,
        plan.target,
        runtime.settings.runner.region,
        "-",
        "-",
        Outcome.SKIPPED,
        time.time(),
        0.0,
        message=message,
    )


async def execute(runtime: Runtime, plan: ScenarioPlan, scheduled: ScheduledStart | None = None) -> RunResult:
    scenario = plan.scenario()
    run = Run(runtime, scenario, plan.target, plan.options, plan.timeout_seconds)
    started_wall, started = time.time(), time.perf_counter()
    outcome, reason, message = Outcome.SUCCESS, None, ""
    cancelled = False
    try:
        if scenario.moves_money and not run.target.allow_money:
            raise RunSkipped(f"{plan.name} moves money and target {plan.target} does not allow it")
        window = open_window(runtime.settings, plan.target) if scenario.moves_money else None
        if window is not None:
            raise RunSkipped(
                f"{plan.name} moves money: paused during maintenance window {window.name} on {plan.target}"
            )
        async with asyncio.timeout(plan.timeout_seconds):
            await scenario.journey(run)
    except StepFailure as failure:
        outcome, reason, message = Outcome.FAILURE, str(failure.reason), failure.message
    except RunSkipped as skip:
        outcome, message = Outcome.SKIPPED, str(skip)
    except TimeoutError:
        outcome, reason = Outcome.TIMEOUT, str(Reason.TIMEOUT)
        message = f"run exceeded its timeout of {plan.timeout_seconds:g} s"
    except asyncio.CancelledError:
        outcome, reason, message, cancelled = Outcome.ABORTED, "aborted", "runner shut down during the run", True
        for step in run.steps:
            if step.reason == str(Reason.TIMEOUT):
                step.reason, step.message = "aborted", message
    except Exception as exc:  # a bug in the scenario: recorded, never raised into the scheduler
        outcome, reason = Outcome.FAILURE, str(Reason.ERROR)
        message = f"{type(exc).__name__}: {exc}"
        log.debug("scenario %s raised", plan.name, exc_info=True)
    finally:
        await run.run_cleanups()
    failed = next((s for s in run.steps if not s.success), None)
    result = RunResult(
        scenario=plan.name,
        target=plan.target,
        region=run.region,
        run_id=run.probe.run_id,
        trace_id=run.probe.trace_id,
        outcome=outcome,
        started_at=started_wall,
        duration_seconds=time.perf_counter() - started,
        steps=run.steps,
        failed_step=failed.name if failed and outcome is not Outcome.SUCCESS else None,
        reason=reason,
        message=redact(message)[:300],
        artifacts_dir=str(run.artifacts_dir) if run.has_artifacts else None,
        planned_at=scheduled.planned_at if scheduled else None,
        start_delay=scheduled.delays(started_wall) if scheduled else {},
    )
    if runtime.uploads is not None:
        result.artifacts_url = runtime.uploads.offer(result)
    run.trace.end(result)
    runtime.record(result)
    log_result(result)
    if cancelled:
        raise asyncio.CancelledError
    return result
