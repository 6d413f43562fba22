"""What every probe returns, whatever its protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Reason", "ProbeResult"]


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


@dataclass
class ProbeResult:
    """Success, the reason when not, a short message, timings per phase (seconds) and details."""

    success: bool
    reason: Reason | None = None
    message: str = ""
    phases: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def ok(cls, phases: dict[str, float] | None = None, **details: Any) -> ProbeResult:
        return cls(True, None, "", phases or {}, details)

    @classmethod
    def failed(
        cls, reason: Reason, message: str, phases: dict[str, float] | None = None, **details: Any
    ) -> ProbeResult:
        return cls(False, reason, message, phases or {}, details)
