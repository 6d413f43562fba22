"""Every service answers: liveness, health, and each named dependency as its own series."""

from __future__ import annotations

from harness import Reason, Run, Scenario
from probes import health
from probes.result import ProbeResult

SERVICES = ("vault", "concierge", "room_service", "cdn")


class Uptime(Scenario):
    """Each service's /liveness and /health, one series per dependency (database, kafka, chat...)."""

    name = "uptime"
    tags = ("api", "smoke", "uptime")
    interval_seconds = 30.0
    timeout_seconds = 20.0

    async def journey(self, run: Run) -> None:
        module = health.HealthModule(health_path=run.paths.health, liveness_path=run.paths.liveness)
        results: dict[str, ProbeResult] = {}
        for service, url in run.target.service_urls().items():
            result = await health.probe(url, module, run.probe)
            results[service] = result
            run.metrics.service_up(service, result.success)
            for dependency, up in result.details.get("dependencies", {}).items():
                run.metrics.dependency_up(service, dependency, up)
        for service in SERVICES:
            async with run.step(f"{service} health"):
                result = results[service]
                if not result.success:
                    run.fail(result.reason or Reason.ERROR, f"{service}: {result.message}")
