"""The sandbox's admin API: switch faults on and off while the sandbox runs, read what it received.

It listens on its own port and wants ``Authorization: Bearer <admin token>`` (the token is in
``config/sandbox-secrets/admin_token``). Switches are logged by name, never with the token.

- ``GET /faults`` -> ``{"active": {"name": param|null}, "catalogue": [{"name", "service",
  "param", "customer_impact"}]}``
- ``POST /faults {"fault": "deposit_fails:EUR"}`` -> 200 ``{"active": ...}``; 400
  ``unknown_fault`` for a name or parameter the catalogue does not have
- ``DELETE /faults/{name}`` -> 200 ``{"active": ...}``; ``DELETE /faults`` -> all off
- ``GET /traceparents`` -> ``{"seen": [{"service", "method", "path", "traceparent"}]}``, newest
  last: the trace context the services received (``sandbox.traceparents``)
- ``GET /liveness`` (no token) -> 200 ``OK``
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.api_errors import error_response
from sandbox.context import SandboxContext
from sandbox.faults import FAULTS, UnknownFault
from sandbox.health import liveness_response

__all__ = ["create_app"]

log = logging.getLogger("sandbox.admin")

Endpoint = Callable[[Request], Awaitable[Response]]


def create_app(ctx: SandboxContext) -> Starlette:
    faults = ctx.faults
    expected = f"Bearer {ctx.settings.admin_token}".encode()

    def guarded(endpoint: Endpoint) -> Endpoint:
        async def checked(request: Request) -> Response:
            given = request.headers.get("authorization", "").encode()
            if not secrets.compare_digest(given, expected):
                return error_response(401, "unauthorized", "the admin token is required")
            return await endpoint(request)

        return checked

    def state() -> Response:
        return JSONResponse({"active": faults.active()})

    async def list_faults(_: Request) -> Response:
        catalogue = [
            {
                "name": spec.name,
                "service": spec.service,
                "param": spec.param,
                "customer_impact": spec.customer_impact,
            }
            for spec in FAULTS.values()
        ]
        return JSONResponse({"active": faults.active(), "catalogue": catalogue})

    async def switch_on(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        spec = body.get("fault") if isinstance(body, dict) else None
        if not isinstance(spec, str):
            return error_response(400, "invalid_request", 'send {"fault": "name[:param]"}')
        try:
            name, param = faults.switch_on(spec)
        except UnknownFault as exc:
            return error_response(400, "unknown_fault", str(exc))
        log.warning("fault on: %s%s", name, f":{param}" if param else "")
        return state()

    async def switch_off(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            faults.switch_off(name)
        except UnknownFault as exc:
            return error_response(400, "unknown_fault", str(exc))
        log.warning("fault off: %s", name)
        return state()

    async def clear(_: Request) -> Response:
        faults.clear()
        log.warning("all faults off")
        return state()

    async def traceparents(_: Request) -> Response:
        return JSONResponse({"seen": ctx.traceparents.seen()})

    async def liveness(_: Request) -> Response:
        return liveness_response()

    return Starlette(
        routes=[
            Route("/faults", guarded(list_faults), methods=["GET"]),
            Route("/faults", guarded(switch_on), methods=["POST"]),
            Route("/faults", guarded(clear), methods=["DELETE"]),
            Route("/faults/{name}", guarded(switch_off), methods=["DELETE"]),
            Route("/traceparents", guarded(traceparents), methods=["GET"]),
            Route("/liveness", liveness, methods=["GET"]),
        ]
    )
