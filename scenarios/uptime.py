"""Every service answers: liveness, health, each named dependency as its own series, the TLS
certificates of https services, and live updates over both socket.io transports.

Every measurement is taken (and exported) before the first failing step ends the run, so a
Vault outage never hides what the other services, dependencies and certificates look like.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness import Reason, Run, Scenario
from probes import health, tls
from probes.result import ProbeResult

__all__ = ["Uptime"]

SERVICES = ("vault", "concierge", "room_service", "cdn")


class Uptime(Scenario):
    """Each service's /liveness and /health, one series per dependency (database, kafka, chat...)."""

    name = "uptime"
    tags = ("api", "smoke", "uptime")
    interval_seconds = 30.0
    timeout_seconds = 20.0

    class Options(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")

        # A browser starts on long-polling and upgrades to WebSocket; a proxy may break either.
        socket_transports: tuple[Literal["websocket", "polling"], ...] = ("websocket", "polling")
        health_timeout_seconds: float = Field(5.0, gt=0)  # per request (liveness, then health)
        # /health is read this many times in a row: a check that flaps (ok, error, ok...) takes
        # tasks in and out of the ALB's target group, and one read would see it only half the time.
        health_reads: int = Field(2, ge=1, le=5)
        tls_verify: bool = True
        tls_ca_file: Path | None = None  # a private CA for https targets (default: the system's)
        tls_timeout_seconds: float = Field(5.0, gt=0)

    @classmethod
    def needs_account(cls, options: BaseModel) -> bool:
        return bool(getattr(options, "socket_transports", ()))  # a socket.io client logs in first

    async def journey(self, run: Run) -> None:
        options: Uptime.Options = run.options  # type: ignore[assignment]
        urls = run.target.service_urls()
        # Every service at once, within a budget that leaves the run a second for its steps:
        # even when every service hangs, the run ends in a failed step, not in its own timeout.
        budget = max(0.2, run.remaining_seconds() - 1.0)
        healths, certificates = await asyncio.gather(
            self._health_of_each(run, urls, options, budget), self._certificate_of_each(run, urls, options, budget)
        )

        for service in SERVICES:
            async with run.step(f"{service} health"):
                result = healths[service]
                if not result.success:
                    run.fail(result.reason or Reason.ERROR, f"{service}: {result.message}")
            if service in certificates:
                async with run.step(f"{service} tls"):
                    result = certificates[service]
                    if not result.success:
                        run.fail(result.reason or Reason.TLS_ERROR, f"{service}: {result.message}")
                    run.expect(
                        f"{service}: TLS certificate expired",
                        result.details["not_after"] > time.time(),
                        Reason.TLS_ERROR,
                    )

        for transport in options.socket_transports:
            async with run.step(f"socket {transport}"):
                client = await run.socket(transport=transport)
                await client.close()

    @staticmethod
    async def _health_of_each(
        run: Run, urls: dict[str, str], options: Uptime.Options, budget: float
    ) -> dict[str, ProbeResult]:
        """Liveness then health of every service, ``health_reads`` times; each request gets its share."""
        reads = options.health_reads
        module = health.HealthModule(
            health_path=run.paths.health,
            liveness_path=run.paths.liveness,
            timeout_seconds=min(options.health_timeout_seconds, budget / (2 * reads)),
        )

        async def read_repeatedly(service: str) -> ProbeResult:
            """The first failing read, else the last; a mix of ok and failed reads is flapping."""
            outcomes = [await health.probe(urls[service], module, run.probe) for _ in range(reads)]
            failed = next((o for o in outcomes if not o.success), None)
            if failed is None:
                return outcomes[-1]
            passed = sum(o.success for o in outcomes)
            if passed:
                failed.message = f"flapping ({passed} of {reads} reads ok): {failed.message}"
            return failed

        found = await asyncio.gather(
            *(_within(budget, read_repeatedly(service), "liveness and health") for service in SERVICES)
        )
        results = dict(zip(SERVICES, found, strict=True))
        for service, result in results.items():
            run.metrics.service_up(service, result.success)
            for dependency, up in result.details.get("dependencies", {}).items():
                run.metrics.dependency_up(service, dependency, up)
        return results

    @staticmethod
    async def _certificate_of_each(
        run: Run, urls: dict[str, str], options: Uptime.Options, budget: float
    ) -> dict[str, ProbeResult]:
        """The TLS certificate of every https service (plain http ones have none)."""
        module = tls.TlsModule(
            verify=options.tls_verify,
            ca_file=options.tls_ca_file,
            timeout_seconds=min(budget, options.tls_timeout_seconds),
        )
        secured = [service for service in SERVICES if urls[service].startswith("https://")]
        found = await asyncio.gather(
            *(_within(budget, tls.probe(urls[service], module, run.probe), "TLS handshake") for service in secured)
        )
        results = dict(zip(secured, found, strict=True))
        for service, result in results.items():
            if result.success:
                run.metrics.tls_expiry(service, result.details["not_after"])
        return results


async def _within(seconds: float, measuring: Coroutine[Any, Any, ProbeResult], what: str) -> ProbeResult:
    """A probe's result, or a timeout result when it does not finish within ``seconds``."""
    try:
        return await asyncio.wait_for(measuring, seconds)
    except TimeoutError:
        return ProbeResult.failed(Reason.TIMEOUT, f"{what}: no answer within {seconds:.1f} s")
