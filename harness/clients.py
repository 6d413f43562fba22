"""HTTP calls from inside a scenario step: the HTTP probe's exchange, raising on failure.

``await vault.call("POST", paths.bets, json=..., expect=["[STATUS] == 200"])`` returns the
``Answer`` or raises ``StepFailure`` with the probe's bounded reason. (A guardrail breach is
judged by the guardrails journey from the answer, never from a mismatched condition.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from harness.errors import StepFailure
from harness.http_thread import HttpThread
from probes.conditions import Condition, parse_conditions
from probes.context import ProbeContext
from probes.http import DEFAULT_MAX_BODY_BYTES
from probes.result import HttpResult, Reason

__all__ = ["Answer", "ServiceClient"]

OK = ("[STATUS] == 200",)


@lru_cache(maxsize=512)
def _parsed(conditions: tuple[str, ...]) -> tuple[Condition, ...]:
    return parse_conditions(conditions)


@dataclass(frozen=True)
class Answer:
    status: int
    json: Any
    headers: dict[str, str]
    seconds: float

    def field(self, name: str) -> Any:
        """A top-level JSON field, failing the step as ``unexpected_body`` when it is absent."""
        if not isinstance(self.json, dict) or name not in self.json:
            raise StepFailure(Reason.UNEXPECTED_BODY, f"answer has no field {name!r}")
        return self.json[name]


class ServiceClient:
    """One platform service (base URL), called with the run's correlation headers."""

    def __init__(
        self,
        name: str,
        base_url: str,
        http: HttpThread,
        probe: ProbeContext,
        timeout_seconds: float = 10.0,
        token: str | None = None,
        relogin: Callable[[], Awaitable[str]] | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        on_phases: Callable[[Mapping[str, float]], None] | None = None,
    ) -> None:
        """``on_phases`` gets every exchange's phase durations (the run exports them)."""
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._http = http
        self._probe = probe
        self._timeout = timeout_seconds
        self._token = token
        self._relogin = relogin
        self._max_body_bytes = max_body_bytes
        self._on_phases = on_phases

    def with_token(self, token: str, relogin: Callable[[], Awaitable[str]] | None = None) -> ServiceClient:
        return ServiceClient(
            self.name,
            self.base_url,
            self._http,
            self._probe,
            self._timeout,
            token,
            relogin,
            self._max_body_bytes,
            self._on_phases,
        )

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        expect: Sequence[str] = OK,
        timeout_seconds: float | None = None,
        max_body_bytes: int | None = None,
    ) -> Answer:
        """``timeout_seconds`` and ``max_body_bytes`` override the client's for this call."""
        limits = (timeout_seconds or self._timeout, max_body_bytes or self._max_body_bytes)
        result = await self._send(method, path, json, headers, tuple(expect), limits)
        if result.status == 401 and self._relogin is not None and self._token is not None:
            self._token = await self._relogin()  # the cached token expired: log in once more
            result = await self._send(method, path, json, headers, tuple(expect), limits)
        if not result.success or result.reply is None:  # a success always has its reply
            raise StepFailure(result.reason or Reason.ERROR, f"{self.name} {result.message}")
        reply = result.reply
        return Answer(reply.status, reply.json, reply.headers, result.phases.get("total", 0.0))

    async def _send(
        self,
        method: str,
        path: str,
        json: Any,
        headers: dict[str, str] | None,
        expect: tuple[str, ...],
        limits: tuple[float, int],
    ) -> HttpResult:
        all_headers = dict(headers or {})
        if self._token is not None:
            all_headers["Authorization"] = f"Bearer {self._token}"
        result = await self._http.exchange(
            method,
            self.base_url + path,
            self._probe,
            conditions=_parsed(expect),
            headers=all_headers,
            json_body=json,
            timeout_seconds=limits[0],
            max_body_bytes=limits[1],
        )
        if self._on_phases is not None:
            self._on_phases(result.phases)
        return result

    async def get(self, path: str, *, expect: Sequence[str] = OK, **kwargs: Any) -> Answer:
        return await self.call("GET", path, expect=expect, **kwargs)

    async def post(self, path: str, json: Any = None, *, expect: Sequence[str] = OK, **kwargs: Any) -> Answer:
        return await self.call("POST", path, json=json, expect=expect, **kwargs)
