"""The health probe: a service's ``/liveness`` and ``/health`` as the contract defines them.

``/health`` answers ``{"service": "ok"|"error"|"shutting_down", "checks": {name: {"status",
"message"}}}``; the probe reports each named dependency separately in
``HealthResult.dependencies`` (name -> up), so "chat is down" is its own signal. An answer that
is not that JSON names the path, its status and content type: a CDN that falls back to the
app's ``index.html`` answers any path with 200 ``text/html``.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict, Field

from probes.context import ProbeContext
from probes.http import DEFAULT_MAX_BODY_BYTES, exchange, new_client, trusted_tls_context
from probes.result import HealthResult, HttpReply, HttpResult, Reason

__all__ = ["HealthModule", "probe"]


class HealthModule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    health_path: str = "/health"
    liveness_path: str = "/liveness"
    timeout_seconds: float = 5.0  # per request (liveness and health, read at once)
    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, ge=1)


# A /health may list any number of checks: the failure message names this many, then counts.
NAMED_IN_MESSAGE = 5


def _names(failing: list[str]) -> str:
    shown = ", ".join(sorted(failing)[:NAMED_IN_MESSAGE])
    more = len(failing) - NAMED_IN_MESSAGE
    return f"{shown} and {more} more" if more > 0 else shown


async def probe(target: str, module: HealthModule, ctx: ProbeContext) -> HealthResult:
    base = target.rstrip("/")
    async with new_client(trusted_tls_context()) as client:

        async def read(path: str, expect_json: bool) -> HttpResult:
            return await exchange(
                client,
                "GET",
                base + path,
                ctx,
                timeout_seconds=module.timeout_seconds,
                expect_json=expect_json,
                max_body_bytes=module.max_body_bytes,
            )

        # at once: a service that hangs costs the timeout once, not twice
        live, health = await asyncio.gather(
            read(module.liveness_path, expect_json=False), read(module.health_path, expect_json=True)
        )
    phases = {"liveness": live.phases.get("total", 0.0), "health": health.phases.get("total", 0.0)}
    dependencies: dict[str, bool] = {}
    failing: list[str] = []
    body = health.reply.json if health.reply is not None else None
    if isinstance(body, dict) and isinstance(body.get("checks"), dict):
        for name, check in body["checks"].items():
            up = isinstance(check, dict) and check.get("status") == "ok"
            dependencies[str(name)] = up
            if not up:
                failing.append(str(name))

    def failed(reason: Reason, message: str) -> HealthResult:
        return HealthResult(success=False, reason=reason, message=message, phases=phases, dependencies=dependencies)

    deadline = f" (deadline {module.timeout_seconds:g} s)"
    if live.reply is None:  # timeout, refused, reset, TLS, or an answer over the cap
        waited = deadline if live.reason is Reason.TIMEOUT else ""
        return failed(live.reason or Reason.ERROR, f"liveness: {live.message}{waited}")
    if live.reply.status != 200:
        return failed(Reason.HTTP_STATUS, f"GET {module.liveness_path}: status {live.reply.status}")
    if health.reply is None:
        waited = deadline if health.reason is Reason.TIMEOUT else ""
        return failed(health.reason or Reason.ERROR, f"{health.message}{waited}")
    if (
        not isinstance(body, dict)
        or body.get("service") not in ("ok", "error", "shutting_down")
        or not isinstance(body.get("checks"), dict)
    ):
        return failed(*_not_health_json(module.health_path, health.reply))
    if failing:
        return failed(Reason.DEPENDENCY_DOWN, f"GET {module.health_path}: {_names(failing)} down")
    if body["service"] != "ok" or health.reply.status != 200:
        return failed(
            Reason.HTTP_STATUS,
            f"GET {module.health_path}: service {body['service']}, status {health.reply.status}",
        )
    return HealthResult(success=True, phases=phases, dependencies=dependencies)


def _not_health_json(path: str, answer: HttpReply) -> tuple[Reason, str]:
    """``http_status`` for an error status (a wrong path's 404), else ``unexpected_body``."""
    kind = answer.headers.get("content-type", "no content-type").split(";")[0].strip()
    hint = " (an HTML page: a single-page app's fallback answers any path)" if kind == "text/html" else ""
    reason = Reason.HTTP_STATUS if answer.status >= 400 else Reason.UNEXPECTED_BODY
    return reason, f"GET {path}: {answer.status} {kind}, not the contract's health JSON{hint}"
