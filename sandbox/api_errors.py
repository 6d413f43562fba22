"""The contract's error answer, ``{"error": "<code>", "message": "..."}``, for any JSON service.

Handlers raise ``ApiError``; ``install_error_handlers`` makes FastAPI's own refusals (unknown
route, bad method, validation) and unexpected crashes answer in the same shape, so a probe
can always compare the machine-readable ``error`` code.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

__all__ = ["ApiError", "error_response", "install_error_handlers"]

log = logging.getLogger("sandbox.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "http_method_not_allowed",
    409: "conflict",
    422: "invalid_request",
}


class ApiError(Exception):
    """A refusal with a stable code, e.g. ``ApiError(422, "invalid_amount", "...")``."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(f"{status_code} {code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message

    def body(self) -> dict[str, object]:
        return {"error": self.code, "message": self.message}


def error_response(status_code: int, code: str, message: str) -> Response:
    return JSONResponse({"error": code, "message": message}, status_code=status_code)


async def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status_code)


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    return error_response(exc.status_code, code, str(exc.detail))


async def _validation_error(_: Request, exc: Exception) -> Response:
    return error_response(422, "invalid_request", "the request is not valid")


async def _crash(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "unexpected server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _crash)
