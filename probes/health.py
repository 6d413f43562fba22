"""The health probe: a service's ``/liveness`` and ``/health`` as the contract defines them.

``/health`` answers ``{"service": "ok"|"error"|"shutting_down", "checks": {name: {"status",
"message"}}}``; the probe reports each named dependency separately in
``details["dependencies"]`` (name -> up), so "chat is down" is its own signal.
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ConfigDict

from probes.context import ProbeContext
from probes.http import exchange
from probes.result import ProbeResult, Reason

__all__ = ["HealthModule", "probe"]


class HealthModule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    health_path: str = "/health"
    liveness_path: str = "/liveness"
    timeout_seconds: float = 5.0


async def probe(target: str, module: HealthModule, ctx: ProbeContext) -> ProbeResult:
    base = target.rstrip("/")
    async with httpx.AsyncClient() as client:
        live = await exchange(
            client, "GET", base + module.liveness_path, ctx, timeout_seconds=module.timeout_seconds, expect_json=False
        )
        health = await exchange(
            client, "GET", base + module.health_path, ctx, timeout_seconds=module.timeout_seconds, expect_json=True
        )
    phases = {"liveness": live.phases.get("total", 0.0), "health": health.phases.get("total", 0.0)}
    dependencies: dict[str, bool] = {}
    failing: list[str] = []
    body = health.details.get("json")
    if isinstance(body, dict) and isinstance(body.get("checks"), dict):
        for name, check in body["checks"].items():
            up = isinstance(check, dict) and check.get("status") == "ok"
            dependencies[str(name)] = up
            if not up:
                failing.append(str(name))
    details = {"dependencies": dependencies, "service_status": body.get("service") if isinstance(body, dict) else None}
    live_status = live.details.get("status")
    if not live.success and live.reason in (Reason.TIMEOUT, Reason.CONNECT_ERROR, Reason.TLS_ERROR):
        return ProbeResult.failed(live.reason, f"liveness: {live.message}", phases, **details)
    if live_status != 200:
        return ProbeResult.failed(
            Reason.HTTP_STATUS, f"GET {module.liveness_path}: status {live_status}", phases, **details
        )
    answered = health.details.get("status") is not None
    if not answered:  # no HTTP answer at all: timeout, refused, reset, TLS
        return ProbeResult.failed(health.reason or Reason.ERROR, health.message, phases, **details)
    if (
        not isinstance(body, dict)
        or body.get("service") not in ("ok", "error", "shutting_down")
        or not isinstance(body.get("checks"), dict)
    ):
        return ProbeResult.failed(
            Reason.UNEXPECTED_BODY, f"GET {module.health_path}: not the contract's health JSON", phases, **details
        )
    if failing:
        return ProbeResult.failed(
            Reason.DEPENDENCY_DOWN, f"GET {module.health_path}: {', '.join(sorted(failing))} down", phases, **details
        )
    if body["service"] != "ok" or health.details["status"] != 200:
        return ProbeResult.failed(
            Reason.HTTP_STATUS,
            f"GET {module.health_path}: service {body['service']}, status {health.details['status']}",
            phases,
            **details,
        )
    return ProbeResult.ok(phases, **details)
