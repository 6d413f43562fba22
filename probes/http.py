"""The HTTP probe: one request, timed per phase, judged by conditions kept as data.

Phases follow blackbox_exporter's ``probe_http_duration_seconds{phase}``: ``connect``,
``tls``, ``processing`` (request sent to first byte), ``transfer`` and ``total``; they come
from httpcore's trace extension, so they measure the real socket, not the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import ssl
import time
from collections.abc import Mapping
from typing import Any

import certifi
import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from probes.conditions import Condition, parse_conditions
from probes.context import ProbeContext
from probes.result import HttpReply, HttpResult, Reason
from probes.sockets import on_bare_sockets

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "HttpModule",
    "probe",
    "exchange",
    "new_client",
    "describe_failure",
    "size_text",
    "trusted_tls_context",
]

DEFAULT_MAX_BODY_BYTES = 1 << 20  # an answer larger than this is read no further: unexpected_body
A_CONNECTION_PER_EXCHANGE = httpx.Limits(max_keepalive_connections=0)  # as blackbox_exporter probes


def size_text(n: int) -> str:
    """``1 MiB``, ``64 KiB`` or ``1000 bytes``: a byte count as a person reads it."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} bytes"


class HttpModule(BaseModel):
    """One HTTP check as data: what to send and the conditions its answer must meet."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: str = "GET"
    path: str = "/"
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = None
    conditions: tuple[str, ...] = ("[STATUS] == 200",)
    timeout_seconds: float = 10.0  # the whole exchange, from connecting to the body's last byte
    verify_tls: bool = True
    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, ge=1)

    @field_validator("conditions")
    @classmethod
    def _conditions_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_conditions(value)  # raises InvalidCondition with the offending text
        return value


class _PhaseTrace:
    """Collects httpcore trace events into phase durations.

    Each mark is taken in httpcore's trace callback, right at the socket operation it names,
    so ``total`` spans the wire as blackbox_exporter's phases do: from the first socket
    operation (connect, or the request's first write on a kept-alive connection) to the body's
    last byte, leaving out building the request before and closing the stream after.
    """

    _FIRST = (
        "connection.connect_tcp.started",
        "http11.send_request_headers.started",
        "http2.send_request_headers.started",
    )
    _LAST = ("http11.receive_response_body.complete", "http2.receive_response_body.complete")

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}

    async def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        self.marks.setdefault(event, time.perf_counter())

    def _first(self, events: tuple[str, ...]) -> float | None:
        return next((self.marks[e] for e in events if e in self.marks), None)

    def phases(self, started: float, finished: float) -> dict[str, float]:
        """The phases seen; ``total`` is the wall time from ``started`` when the body never completed."""
        m = self.marks

        def span(a: str, b: str) -> float | None:
            return m[b] - m[a] if a in m and b in m else None

        wire_start, wire_end = self._first(self._FIRST), self._first(self._LAST)
        whole = wire_end - wire_start if wire_start is not None and wire_end is not None else finished - started
        result = {"total": whole}
        connect = span("connection.connect_tcp.started", "connection.connect_tcp.complete")
        tls = span("connection.start_tls.started", "connection.start_tls.complete")
        for suffix in ("http11", "http2"):
            processing = span(f"{suffix}.send_request_body.complete", f"{suffix}.receive_response_headers.complete")
            transfer = span(f"{suffix}.receive_response_headers.complete", f"{suffix}.receive_response_body.complete")
            if processing is not None:
                result["processing"] = processing
            if transfer is not None:
                result["transfer"] = transfer
        if connect is not None:
            result["connect"] = connect
        if tls is not None:
            result["tls"] = tls
        return result


def _failure_for(exc: httpx.HTTPError) -> tuple[Reason, str]:
    """Translate httpx's exceptions at one boundary into a bounded reason and a short message."""
    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return Reason.TIMEOUT, f"{name}: no answer in time"
    cause = exc.__context__ or exc.__cause__
    if isinstance(cause, ssl.SSLError) or "SSL" in str(exc) or "certificate" in str(exc):
        return Reason.TLS_ERROR, f"{name}: TLS handshake failed"
    if isinstance(exc, (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return Reason.CONNECT_ERROR, f"{name}: connection refused, reset or closed"
    return Reason.CONNECT_ERROR, f"{name}"


def _parse_json(content: bytes) -> tuple[bool, Any]:
    try:
        return True, json.loads(content) if content else None
    except (ValueError, UnicodeDecodeError):
        return False, None


class _BodyTooLarge(Exception):
    """The answer's body is over the cap: it is not read further (memory stays bounded)."""


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """The body, streamed and given up as soon as it would exceed ``max_bytes`` (decoded)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _BodyTooLarge(f"Content-Length {declared}")
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise _BodyTooLarge("body")
    return bytes(body)


def describe_failure(
    conditions: tuple[Condition, ...], status: int, body: Any, headers: dict[str, str], response_ms: float
) -> tuple[Reason, str] | None:
    """The first failing condition as (reason, message), or None when all hold."""
    for condition in conditions:
        result = condition.evaluate(status, body, headers, response_ms)
        if result.success:
            continue
        if condition.placeholder == "STATUS":
            code = body.get("error") if isinstance(body, dict) else None
            suffix = f", error={code}" if isinstance(code, str) and len(code) < 60 else ""
            return Reason.HTTP_STATUS, f"{result.shown}{suffix}"
        if condition.placeholder == "RESPONSE_TIME":
            return Reason.ASSERTION, result.shown
        return Reason.UNEXPECTED_BODY, result.shown
    return None


async def exchange(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    ctx: ProbeContext,
    *,
    conditions: tuple[Condition, ...] = (),
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    timeout_seconds: float = 10.0,
    expect_json: bool = True,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> HttpResult:
    """Send one request and judge the answer. Never raises for a target's failure.

    ``timeout_seconds`` bounds the whole exchange (httpx's own timeout is per read, which a
    body trickled a byte at a time never trips) and the body is read up to ``max_body_bytes``.
    Redirects are never followed (the client is built with ``follow_redirects=False``): a 3xx
    is judged as it is, so no credential travels to the origin a ``Location`` names.
    """
    trace = _PhaseTrace()
    request_headers = {**ctx.headers(), **(headers or {})}
    started = time.perf_counter()
    label = f"{method} {httpx.URL(url).path}"
    try:
        async with (
            asyncio.timeout(timeout_seconds),
            client.stream(
                method,
                url,
                headers=request_headers,
                json=json_body,
                timeout=timeout_seconds,
                extensions={"trace": trace},
            ) as response,
        ):
            content = await _read_capped(response, max_body_bytes)
    except TimeoutError:
        return HttpResult.failed(
            Reason.TIMEOUT,
            f"{label}: no complete answer within {timeout_seconds:g} s",
            trace.phases(started, time.perf_counter()),
        )
    except _BodyTooLarge as exc:
        return HttpResult(
            success=False,
            reason=Reason.UNEXPECTED_BODY,
            message=f"{label}: {exc} over the {size_text(max_body_bytes)} cap on answers (max_body_bytes)",
            phases=trace.phases(started, time.perf_counter()),
            status=response.status_code,
        )
    except httpx.HTTPError as exc:
        reason, message = _failure_for(exc)
        return HttpResult.failed(reason, f"{label}: {message}", trace.phases(started, time.perf_counter()))
    phases = trace.phases(started, time.perf_counter())
    response_headers = dict(response.headers)
    parsed, body = _parse_json(content)
    reply = HttpReply(response.status_code, response_headers, body)

    def judged(failure: tuple[Reason, str] | None) -> HttpResult:
        reason, message = failure or (None, "")
        return HttpResult(
            success=failure is None, reason=reason, message=message, phases=phases, status=reply.status, reply=reply
        )

    wants_body = expect_json or any(c.placeholder == "BODY" for c in conditions)
    if wants_body and not parsed:
        status_failure = describe_failure(
            tuple(c for c in conditions if c.placeholder == "STATUS"),
            response.status_code,
            None,
            response_headers,
            phases["total"] * 1000,
        )
        kind = response.headers.get("content-type", "no content-type").split(";")[0]
        if status_failure:
            reason, message = status_failure
            return judged((reason, f"{label}: {message} ({kind})"))
        return judged((Reason.UNEXPECTED_BODY, f"{label}: expected JSON, got {kind} ({len(content)} bytes)"))
    failure = describe_failure(conditions, response.status_code, body, response_headers, phases["total"] * 1000)
    if failure:
        reason, message = failure
        return judged((reason, f"{label}: {message}"))
    return judged(None)


@functools.cache
def _tls_context(verify: bool) -> ssl.SSLContext:
    """One TLS context per setting: building one loads the CA bundle, ~20 ms of CPU each time."""
    context = ssl.create_default_context(cafile=certifi.where())
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def trusted_tls_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``
    when set), built once per CA source: a probe that opens a client per call (health) would
    otherwise load the bundle every time, ~70 ms of CPU."""
    cafile = os.environ.get("SSL_CERT_FILE") or None
    return _trusting(cafile, None if cafile else os.environ.get("SSL_CERT_DIR") or None)


@functools.cache
def _trusting(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    if cafile is None and capath is None:
        cafile = certifi.where()
    return ssl.create_default_context(cafile=cafile, capath=capath)


def new_client(
    verify: ssl.SSLContext, limits: httpx.Limits = A_CONNECTION_PER_EXCHANGE, trust_env: bool = True
) -> httpx.AsyncClient:
    """A client as probes use one: redirects never followed, connections on bare sockets
    (``probes.sockets``: what a probe times is the wire, not extra loop turns). Keep-alive is off
    unless ``limits`` allow it: each exchange then connects, as blackbox_exporter does."""
    return on_bare_sockets(httpx.AsyncClient(verify=verify, follow_redirects=False, limits=limits, trust_env=trust_env))


async def probe(target: str, module: HttpModule, ctx: ProbeContext) -> HttpResult:
    """Probe ``target`` (a base URL) with one request as ``module`` describes, on a fresh connection."""
    async with new_client(_tls_context(module.verify_tls)) as client:
        return await exchange(
            client,
            module.method,
            target.rstrip("/") + module.path,
            ctx,
            conditions=parse_conditions(module.conditions),
            headers=module.headers,
            json_body=module.json_body,
            timeout_seconds=module.timeout_seconds,
            expect_json=False,
            max_body_bytes=module.max_body_bytes,
        )
