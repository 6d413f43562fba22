"""The contract's health answer and the ALB's "no healthy target" page, shared by every service.

Every sandbox service answers ``GET /health`` in one format (see the platform contract), and
a service that is "down" answers everything the way an AWS ALB does when no target is healthy.
Building both here keeps the four services identical, so a probe that parses one parses all.

Usage from a service::

    @app.get("/health")
    async def health() -> Response:
        return health_response("concierge", ctx, {"kafka": ctx.bus.check()})

``health_response`` already applies ``ctx.shutting_down`` (503 ``shutting_down``) and the
``health_flapping`` fault (calls ``ctx.faults.flap(service)`` once per request): callers pass
only their real dependency checks and must not call ``flap`` themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.context import SandboxContext

__all__ = [
    "ALB_503_BODY",
    "AlbDownMiddleware",
    "alb_unavailable",
    "health_body",
    "health_response",
    "liveness_response",
    "utc_timestamp",
]

ALB_503_BODY = (
    "<html><head><title>503 Service Temporarily Unavailable</title></head><body><center>"
    "<h1>503 Service Temporarily Unavailable</h1></center></body></html>"
)

FLAPPING_MESSAGE = "intermittent failure (health check flapping)"


def utc_timestamp(moment: datetime | None = None) -> str:
    """``2026-11-24T10:00:00Z``: the contract's timestamp format (UTC, whole seconds)."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def health_body(
    checks: Mapping[str, tuple[bool, str]], *, shutting_down: bool = False, flapping: bool = False
) -> tuple[int, dict[str, object]]:
    """The status code and JSON of a health answer; pure, so it is easy to test."""
    rendered: dict[str, dict[str, str]] = {}
    for name, (ok, message) in checks.items():
        if flapping:
            ok, message = False, FLAPPING_MESSAGE
        rendered[name] = {"status": "ok" if ok else "error", "message": message}
    healthy = all(check["status"] == "ok" for check in rendered.values()) and not flapping
    if shutting_down:
        status_code, service = 503, "shutting_down"
    elif healthy:
        status_code, service = 200, "ok"
    else:
        status_code, service = 500, "error"
    return status_code, {"service": service, "timestamp": utc_timestamp(), "checks": rendered}


def health_response(service: str, ctx: SandboxContext, checks: Mapping[str, tuple[bool, str]]) -> Response:
    """``GET /health`` for ``service`` (``vault``, ``concierge``, ``room_service``, ``cdn``).

    ``checks`` maps a dependency name (``database``, ``kafka``, ``redis``, ``chat``...) to
    ``(ok, message)``. 200 when all are ok, 500 when one is not (or ``health_flapping``
    says so this time), 503 ``shutting_down`` while the sandbox drains.
    """
    flapping = ctx.faults.flap(service)
    status_code, body = health_body(checks, shutting_down=ctx.shutting_down, flapping=flapping)
    return JSONResponse(body, status_code=status_code)


def liveness_response() -> Response:
    """``GET /liveness``: 200 ``OK`` while the process can answer at all."""
    return PlainTextResponse("OK")


def alb_unavailable() -> Response:
    """What an AWS ALB answers when no target of the service is healthy."""
    return HTMLResponse(ALB_503_BODY, status_code=503)


class AlbDownMiddleware:
    """Answers every HTTP request with the ALB 503 page while ``fault`` is on.

    Wrap a service's app with it (``AlbDownMiddleware(app, ctx, "concierge_down")``); the fault is
    read on each request, so switching it off restores the service at once. WebSocket
    connections are refused (closed before accept) too; lifespan passes through.
    """

    def __init__(self, app: ASGIApp, ctx: SandboxContext, fault: str) -> None:
        self.app = app
        self.ctx = ctx
        self.fault = fault

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.ctx.faults.is_on(self.fault):
            if scope["type"] == "http":
                await alb_unavailable()(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1013})
            return
        await self.app(scope, receive, send)
