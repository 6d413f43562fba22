"""Run mode: the selection once, with retries, for a CI gate or for triage by hand."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from prometheus_client import push_to_gateway

from harness.discovery import ScenarioPlan
from harness.execute import execute
from harness.results import Attempt, Outcome, RunResult
from harness.runtime import Runtime
from probes import health
from probes.context import ProbeContext
from probes.result import ProbeResult, Reason

__all__ = ["PUSH_JOB", "retry_delay_seconds", "run_once", "wait_healthy", "push_metrics", "exit_code", "output_problem"]

LAST_ROUND_SECONDS = 0.5  # the last round of /health reads gets at least this much of the deadline


def retry_delay_seconds(first: float, retry: int) -> float:
    """Wait before retry ``retry`` (1, 2, ...): ``first``, then doubling, so a platform that is
    rolling out gets room to settle while a one-off blip is retried soon."""
    return first * float(2 ** (retry - 1))


async def _run_with_retries(
    runtime: Runtime, plan: ScenarioPlan, slots: asyncio.Semaphore, retries: int, retry_delay: float
) -> RunResult:
    """Run, and retry a failure or timeout; the wait between attempts holds no run slot."""
    async with slots:
        result = await execute(runtime, plan)
    earlier: list[Attempt] = []
    while result.outcome in (Outcome.FAILURE, Outcome.TIMEOUT) and len(earlier) < retries:
        earlier.append(result.as_attempt())
        await asyncio.sleep(retry_delay_seconds(retry_delay, len(earlier)))
        async with slots:
            result = await execute(runtime, plan)
    result.flaky = result.passed and bool(earlier)  # a retried pass is reported, never hidden
    result.attempts = len(earlier) + 1
    result.earlier_attempts = earlier
    return result


async def run_once(
    runtime: Runtime, plans: list[ScenarioPlan], retries: int = 0, retry_delay: float = 0.0
) -> list[RunResult]:
    slots = asyncio.Semaphore(runtime.settings.runner.max_concurrent_runs)

    try:
        return list(await asyncio.gather(*(_run_with_retries(runtime, p, slots, retries, retry_delay) for p in plans)))
    finally:
        await runtime.aclose()


async def wait_healthy(runtime: Runtime, targets: list[str], seconds: float) -> list[str]:
    """Poll every service's /health until all pass; return what still fails after ``seconds``.

    The services are read at once, each read given only what is left of the deadline, so the
    wait ends on time however many services hang."""
    deadline = time.monotonic() + seconds
    contract = runtime.settings.contract
    services = [
        (f"{target}/{service}", url, service)
        for target in targets
        for service, url in runtime.settings.targets[target].service_urls().items()
    ]
    while True:
        left = max(0.0, deadline - time.monotonic())
        modules = {
            service: health.HealthModule(
                health_path=contract.health_path(service),
                liveness_path=contract.liveness_path(service),
                timeout_seconds=max(0.05, min(5.0, left)),
                max_body_bytes=runtime.settings.runner.max_body_bytes,
            )
            for _, _, service in services
        }
        results = await asyncio.gather(*(_health_within(url, modules[service], left) for _, url, service in services))
        failing = [
            f"{name}: {result.reason}: {result.message}"
            for (name, _, _), result in zip(services, results, strict=True)
            if not result.success
        ]
        left = deadline - time.monotonic()
        if not failing or left < LAST_ROUND_SECONDS:
            return failing
        await asyncio.sleep(min(1.0, left - LAST_ROUND_SECONDS))


async def _health_within(url: str, module: health.HealthModule, seconds: float) -> ProbeResult:
    """The health probe's result, or ``timeout`` once ``seconds`` are spent (setting up a
    client costs time too, which a busy machine makes long)."""
    try:
        return await asyncio.wait_for(health.probe(url, module, ProbeContext()), max(seconds, 0.05))
    except TimeoutError:
        return ProbeResult.failed(Reason.TIMEOUT, f"no answer within {seconds:.1f} s")


def output_problem(path: Path, directory: bool = False) -> str | None:
    """Why ``path`` (a report file, or an artifacts ``directory``) cannot be written, if it cannot.

    Asked before the runs: a report that cannot be written must not cost a whole run first.
    """
    try:
        if directory:
            path.mkdir(parents=True, exist_ok=True)
            return None if os.access(path, os.W_OK | os.X_OK) else "directory not writable"
        if path.is_dir():
            return "is a directory"
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.exists()
        with path.open("a"):
            pass
        if not existed:
            path.unlink()
    except OSError as exc:
        return f"cannot write: {exc.strerror or exc}"
    return None


PUSH_JOB = "mystery-guest-ci"
"""The ``job`` of pushed groups: not the scheduled runners' job, so journey and SLO rules
(which leave this job out) never take a CI run, or a stale CI group, for a probe region."""


def push_metrics(runtime: Runtime, gateway: str, targets: list[str]) -> None:
    """Push this run's metrics, grouped by job and target (``multi`` when several targets ran)."""
    grouping = {"target": targets[0] if len(targets) == 1 else "multi", "region": runtime.settings.runner.region}
    push_to_gateway(gateway, job=PUSH_JOB, grouping_key=grouping, registry=runtime.metrics.registry, timeout=10)


def exit_code(results: list[RunResult], allow_empty: bool) -> int:
    if any(r.outcome in (Outcome.FAILURE, Outcome.TIMEOUT, Outcome.ABORTED) for r in results):
        return 1
    ran = [r for r in results if r.outcome is not Outcome.SKIPPED]
    if not ran and not allow_empty:
        return 1
    return 0
