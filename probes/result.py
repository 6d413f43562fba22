"""What probes return: the outcome every protocol shares, and one typed result per protocol.

``ProbeResult`` is success, the reason when not, a short message and timings per phase; each
protocol's result adds what its callers read (an HTTP answer, a health check's dependencies, a
certificate's expiry, a push, an ack) as typed fields, never a dict read by key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Self

__all__ = [
    "Reason",
    "ProbeResult",
    "HttpReply",
    "HttpResult",
    "HealthResult",
    "TlsResult",
    "Push",
    "PushResult",
    "AckResult",
    "BrowserResult",
]


class Reason(StrEnum):
    """Why a probe or a step failed: a bounded set, safe as a metric label."""

    TIMEOUT = "timeout"
    HTTP_STATUS = "http_status"
    UNEXPECTED_BODY = "unexpected_body"
    CONNECT_ERROR = "connect_error"
    TLS_ERROR = "tls_error"
    PUSH_MISSING = "push_missing"
    ASSERTION = "assertion"
    GUARDRAIL_BREACH = "guardrail_breach"
    DEPENDENCY_DOWN = "dependency_down"
    BROWSER_CRASH = "browser_crash"
    PAGE_ERROR = "page_error"
    BUDGET_EXHAUSTED = "budget_exhausted"
    ERROR = "error"  # a bug in the scenario or the runner, not a target failure


@dataclass(frozen=True, kw_only=True)
class ProbeResult:
    """Success, the reason when not, a short message and timings per phase (seconds)."""

    success: bool
    reason: Reason | None = None
    message: str = ""
    phases: dict[str, float] = field(default_factory=dict)

    @classmethod
    def ok(cls, phases: dict[str, float] | None = None) -> Self:
        """A success that carries no protocol field (they keep their defaults)."""
        return cls(success=True, phases=phases or {})

    @classmethod
    def failed(cls, reason: Reason, message: str, phases: dict[str, float] | None = None) -> Self:
        """A failure that carries no protocol field (they keep their defaults)."""
        return cls(success=False, reason=reason, message=message, phases=phases or {})


@dataclass(frozen=True)
class HttpReply:
    """An HTTP answer read to its end: status, headers and the body as JSON (None when empty or not JSON)."""

    status: int
    headers: dict[str, str]
    json: Any


@dataclass(frozen=True, kw_only=True)
class HttpResult(ProbeResult):
    """One HTTP exchange. ``reply`` is None when no answer was read whole (refused, timed out, or
    over the cap on answers); ``status`` is known whenever an answer came, over the cap too."""

    status: int | None = None
    reply: HttpReply | None = None


@dataclass(frozen=True, kw_only=True)
class HealthResult(ProbeResult):
    """A service's liveness and health: each named dependency of ``/health`` (name -> up)."""

    dependencies: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class TlsResult(ProbeResult):
    """A TLS handshake: the leaf certificate's expiry (unix time) and the protocol, once read."""

    not_after: float | None = None
    tls_version: str | None = None


@dataclass(frozen=True)
class Push:
    """A socket.io push that arrived: its payload and when (``time.perf_counter``)."""

    payload: Any
    arrived_at: float


@dataclass(frozen=True, kw_only=True)
class PushResult(ProbeResult):
    """Waiting for a push: the push, when it came."""

    push: Push | None = None


@dataclass(frozen=True, kw_only=True)
class AckResult(ProbeResult):
    """An emit with an ack: what the server acked with (None also when nothing came)."""

    ack: Any = None


@dataclass(frozen=True, kw_only=True)
class BrowserResult(ProbeResult):
    """A page load: the document's status, and on failure what the page went through."""

    status: int | None = None
    console: tuple[str, ...] = ()
