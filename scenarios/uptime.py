"""Every service answers: liveness, health, each named dependency as its own series, the TLS
certificates of https services, and live updates over both socket.io transports.

The services are checked at once, each in its own step that times its own requests, and every
step runs to its end before the first failure ends the run: a Vault outage never hides what the
other services, dependencies and certificates look like. Each request waits the configured
``health_timeout_seconds``; a config whose reads cannot fit in the run's timeout is refused.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Coroutine
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationInfo, model_validator

from harness import About, Reason, Run, Scenario
from probes import health, tls
from probes.result import HealthResult, ProbeResult, TlsResult
from scenarios.kit import Options

__all__ = ["Uptime"]

SERVICES = ("vault", "concierge", "room_service", "cdn")
STEPS_MARGIN_SECONDS = 1.0  # the run keeps this for its steps, even when every service hangs

_Result = TypeVar("_Result", bound=ProbeResult)


class UptimeOptions(Options):
    # A browser starts on long-polling and upgrades to WebSocket; a proxy may break either.
    socket_transports: tuple[Literal["websocket", "polling"], ...] = ("websocket", "polling")
    health_timeout_seconds: float = Field(5.0, gt=0)  # per request (liveness and health)
    # /health is read this many times in a row: a check that flaps (ok, error, ok...) takes
    # tasks in and out of the ALB's target group, and one read would see it only half the time.
    health_reads: int = Field(2, ge=1, le=5)
    tls_verify: bool = True
    tls_ca_file: Path | None = None  # a private CA for https targets (default: the system's)
    tls_timeout_seconds: float = Field(5.0, gt=0)

    @model_validator(mode="after")
    def _reads_fit_the_timeout(self, info: ValidationInfo) -> UptimeOptions:
        """Given the run's ``timeout_seconds`` (validation context), every read must fit in it."""
        timeout = (info.context or {}).get("timeout_seconds")
        worst = 2 * self.health_reads * self.health_timeout_seconds
        if timeout is not None and worst > timeout - STEPS_MARGIN_SECONDS:
            raise ValueError(
                f"{self.health_reads} health_reads x 2 requests x health_timeout_seconds "
                f"{self.health_timeout_seconds:g} = {worst:g} s do not fit in the run's timeout_seconds "
                f"{timeout:g} less {STEPS_MARGIN_SECONDS:g} s for its steps"
            )
        return self


class Uptime(Scenario[UptimeOptions]):
    """Each service's /liveness and /health, one series per dependency (database, kafka, chat...)."""

    about = About("uptime", tags=("api", "smoke", "uptime"), interval="15s", timeout="25s")

    @classmethod
    def needs_account(cls, options: BaseModel) -> bool:
        return bool(getattr(options, "socket_transports", ()))  # a socket.io client logs in first

    async def journey(self, run: Run[UptimeOptions]) -> None:
        urls = run.target.service_urls()
        budget = max(0.2, run.remaining_seconds() - STEPS_MARGIN_SECONDS)
        steps: list[Awaitable[None]] = []
        for service in SERVICES:
            steps.append(_health_step(run, service, urls[service], run.options, budget))
            if urls[service].startswith("https://"):
                steps.append(_tls_step(run, service, urls[service], run.options, budget))
        ended = await asyncio.gather(*steps, return_exceptions=True)
        failure = next((e for e in ended if isinstance(e, BaseException)), None)
        if failure is not None:
            raise failure  # the first failing step, in step order

        for transport in run.options.socket_transports:
            async with run.step(f"socket {transport}"):
                client = await run.socket(transport=transport)
                await client.close()


async def _health_step(run: Run[UptimeOptions], service: str, url: str, options: UptimeOptions, budget: float) -> None:
    """Step ``<service> health``: liveness then health, ``health_reads`` times; gauges exported first."""
    module = health.HealthModule(
        health_path=run.contract.health_path(service),
        liveness_path=run.contract.liveness_path(service),
        timeout_seconds=run.options.health_timeout_seconds,
        max_body_bytes=run.max_body_bytes,
    )

    async def read_repeatedly() -> HealthResult:
        """The first failing read, else the last; a mix of ok and failed reads is flapping.

        A service that does not answer at all is not read again: it would only wait once more."""
        outcomes: list[HealthResult] = []
        for _ in range(run.options.health_reads):
            outcomes.append(await health.probe(url, module, run.probe))
            if outcomes[-1].reason in (Reason.TIMEOUT, Reason.CONNECT_ERROR, Reason.TLS_ERROR):
                break
        failed = next((o for o in outcomes if not o.success), None)
        if failed is None:
            return outcomes[-1]
        passed = sum(o.success for o in outcomes)
        if passed:
            return dataclasses.replace(
                failed, message=f"flapping ({passed} of {len(outcomes)} reads ok): {failed.message}"
            )
        return failed

    async with run.step(f"{service} health"):
        result = await _within(budget, read_repeatedly(), HealthResult, "liveness and health")
        run.metrics.service_up(service, result.success)
        run.metrics.dependencies(service, result.dependencies)
        if not result.success:
            run.fail(result.reason or Reason.ERROR, f"{service}: {result.message}")


async def _tls_step(run: Run[UptimeOptions], service: str, url: str, options: UptimeOptions, budget: float) -> None:
    """Step ``<service> tls``: the certificate is valid, and its expiry is exported."""
    module = tls.TlsModule(
        verify=run.options.tls_verify,
        ca_file=run.options.tls_ca_file,
        timeout_seconds=min(budget, run.options.tls_timeout_seconds),
    )
    async with run.step(f"{service} tls"):
        result = await _within(budget, tls.probe(url, module, run.probe), TlsResult, "TLS handshake")
        if not result.success or result.not_after is None:  # a success always has its expiry
            run.fail(result.reason or Reason.TLS_ERROR, f"{service}: {result.message}")
        run.metrics.tls_expiry(service, result.not_after)
        run.expect(f"{service}: TLS certificate expired", result.not_after > time.time(), Reason.TLS_ERROR)


async def _within(seconds: float, measuring: Coroutine[Any, Any, _Result], kind: type[_Result], what: str) -> _Result:
    """A probe's result, or a timeout result of its ``kind`` when it does not finish within ``seconds``."""
    try:
        return await asyncio.wait_for(measuring, seconds)
    except TimeoutError:
        return kind.failed(Reason.TIMEOUT, f"{what}: no answer within {seconds:.1f} s")
