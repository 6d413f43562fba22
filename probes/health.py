"""The health probe: a service's ``/liveness`` and ``/health`` as the contract defines them.

``/health`` answers ``{"service": "ok"|"error"|"shutting_down", "checks": {name: {"status",
"message"}}}``; the probe reports each named dependency separately in
``details["dependencies"]`` (name -> up), so "chat is down" is its own signal. An answer that
is not that JSON names the path, its status and content type: a CDN that falls back to the
app's ``index.html`` answers any path with 200 ``text/html``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from probes.context import ProbeContext
from probes.http import exchange, fresh_client
from probes.result import ProbeResult, Reason

__all__ = ["HealthModule", "probe"]


class HealthModule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    health_path: str = "/health"
    liveness_path: str = "/liveness"
    timeout_seconds: float = 5.0


async def probe(target: str, module: HealthModule, ctx: ProbeContext) -> ProbeResult:
    base = target.rstrip("/")
    async with fresh_client() as client:  # a new default client would load the CA bundle, ~20 ms of CPU
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
    deadline = f" (deadline {module.timeout_seconds:g} s)"
    if not live.success and live.reason in (Reason.TIMEOUT, Reason.CONNECT_ERROR, Reason.TLS_ERROR):
        waited = deadline if live.reason is Reason.TIMEOUT else ""
        return ProbeResult.failed(live.reason, f"liveness: {live.message}{waited}", phases, **details)
    if live_status != 200:
        return ProbeResult.failed(
            Reason.HTTP_STATUS, f"GET {module.liveness_path}: status {live_status}", phases, **details
        )
    answered = health.details.get("status") is not None
    if not answered:  # no HTTP answer at all: timeout, refused, reset, TLS
        waited = deadline if health.reason is Reason.TIMEOUT else ""
        return ProbeResult.failed(health.reason or Reason.ERROR, f"{health.message}{waited}", phases, **details)
    if (
        not isinstance(body, dict)
        or body.get("service") not in ("ok", "error", "shutting_down")
        or not isinstance(body.get("checks"), dict)
    ):
        reason, message = _not_health_json(module.health_path, health)
        return ProbeResult.failed(reason, message, phases, **details)
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


def _not_health_json(path: str, health: ProbeResult) -> tuple[Reason, str]:
    """``http_status`` for an error status (a wrong path's 404), else ``unexpected_body``."""
    status = health.details["status"]
    kind = health.details.get("headers", {}).get("content-type", "no content-type").split(";")[0].strip()
    hint = " (an HTML page: a single-page app's fallback answers any path)" if kind == "text/html" else ""
    reason = Reason.HTTP_STATUS if status >= 400 else Reason.UNEXPECTED_BODY
    return reason, f"GET {path}: {status} {kind}, not the contract's health JSON{hint}"
