"""The platform's own Prometheus metrics: what each service sees of its real customers.

Each service (Vault, Concierge, Room-Service) exports its own registry on ``GET /metrics``,
as each runs in its own task in production; a registry belongs to one ``SandboxContext``, so
two sandboxes in one process never share a counter. The names are the ones the alert rules
read (``monitoring/series.py``):

- ``platform_http_requests_total{service,route,code}``: ``route`` is the route template
  (``/v1/bets/{bet_id}``), never the raw path, so a bet id never becomes a label;
  ``unmatched`` for a path no route knows. ``/health``, ``/liveness`` and ``/metrics`` are
  the load balancer's and Prometheus' requests, not customers': not counted.
- ``platform_refusals_total{service,error}``: every 4xx/5xx answer by its ``error`` code
  (Room-Service: refused socket connections and refused chat acks).
- ``platform_bet_rollback_attempts_total``, ``platform_idempotency_replays_total``,
  ``platform_deposits_total{currency,status}``, ``platform_withdrawals_total{currency,status}``
  (status ``pending`` when accepted, then ``completed`` or ``failed`` when it settles).

Synthetic accounts are left out by the account's ``synthetic`` flag, never by the
``X-Synthetic-Probe`` header (anyone can send it). A request nobody authenticated (a login
that failed, a bad token, an anonymous call) is a customer's as far as the platform knows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.accounts import Account, AccountBook
from sandbox.money import CURRENCIES

__all__ = [
    "OPERATIONAL_ROUTES",
    "PAYMENT_STATUSES",
    "UNMATCHED_ROUTE",
    "PlatformMetrics",
    "RequestMetricsMiddleware",
    "ServiceMetrics",
    "VaultMetrics",
    "counts",
    "metrics_response",
    "note_account",
]

UNMATCHED_ROUTE = "unmatched"
OPERATIONAL_ROUTES = frozenset({"/health", "/liveness", "/metrics"})
PAYMENT_STATUSES = ("pending", "completed", "failed")
_ACCOUNT_KEY = "sandbox.account"
_MAX_ERROR_BODY = 64 * 1024

_VAULT_REFUSALS = (
    "unauthorized",
    "forbidden",
    "invalid_request",
    "invalid_bet",
    "invalid_amount",
    "unsupported_currency",
    "stake_below_limit",
    "stake_above_limit",
    "deposit_below_limit",
    "withdrawal_above_limit",
    "insufficient_funds",
    "method_not_allowed",
    "bet_already_settled",
    "idempotency_key_reused",
    "not_found",
)
_CONCIERGE_REFUSALS = ("unauthorized", "forbidden", "invalid_request", "invalid_amount", "not_found")
_ROOM_SERVICE_REFUSALS = ("unauthorized", "chat_unavailable")


def counts(account: Account | None) -> bool:
    """Whether a request belongs in the platform's figures: anyone but a synthetic account."""
    return account is None or not account.synthetic


class ServiceMetrics:
    """One service's registry with the series every service exports."""

    def __init__(self, service: str, refusal_codes: Iterable[str] = ()) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "platform_http_requests",
            "Customers' HTTP requests by route template and status code",
            ("service", "route", "code"),
            registry=self.registry,
        )
        self.refusals = Counter(
            "platform_refusals",
            "Customers' requests refused, by the contract's error code",
            ("service", "error"),
            registry=self.registry,
        )
        # Declared at 0, so the first refusal is an increase Prometheus can see.
        for code in refusal_codes:
            self.refusals.labels(service, code)

    def request(self, account: Account | None, route: str, status: int) -> None:
        if counts(account):
            self.requests.labels(self.service, route, str(status)).inc()

    def refusal(self, account: Account | None, error: str) -> None:
        if counts(account):
            self.refusals.labels(self.service, error).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class VaultMetrics(ServiceMetrics):
    """Vault's series, plus the money flows and the abuse signals only Vault sees."""

    def __init__(self) -> None:
        super().__init__("vault", _VAULT_REFUSALS)
        r = self.registry
        self.rollback_attempts = Counter(
            "platform_bet_rollback_attempts", "Customers' attempts to roll back a settled bet", registry=r
        )
        self.idempotency_replays = Counter(
            "platform_idempotency_replays", "Money requests answered from a stored Idempotency-Key answer", registry=r
        )
        self.deposits = Counter(
            "platform_deposits",
            "Customers' deposits by currency and status reached",
            ("currency", "status"),
            registry=r,
        )
        self.withdrawals = Counter(
            "platform_withdrawals",
            "Customers' withdrawals by currency and status reached",
            ("currency", "status"),
            registry=r,
        )
        for code in CURRENCIES:
            for status in PAYMENT_STATUSES:
                self.deposits.labels(code, status)
                self.withdrawals.labels(code, status)

    def rollback_attempt(self, account: Account) -> None:
        if counts(account):
            self.rollback_attempts.inc()

    def idempotency_replay(self, account: Account) -> None:
        if counts(account):
            self.idempotency_replays.inc()

    def payment(self, account: Account | None, kind: str, currency: str, status: str) -> None:
        """A deposit or withdrawal reached ``status`` (pending, completed or failed)."""
        if counts(account):
            counter = self.deposits if kind == "deposit" else self.withdrawals
            counter.labels(currency, status).inc()


class PlatformMetrics:
    """Every service's registry for one sandbox."""

    def __init__(self) -> None:
        self.vault = VaultMetrics()
        self.concierge = ServiceMetrics("concierge", _CONCIERGE_REFUSALS)
        self.room_service = ServiceMetrics("room_service", _ROOM_SERVICE_REFUSALS)


def metrics_response(metrics: ServiceMetrics) -> Response:
    """``GET /metrics``: the service's registry in the Prometheus text format."""
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def note_account(request: Request, account: Account) -> None:
    """Say whose request this is when no bearer token shows it (a login that succeeded)."""
    request.scope[_ACCOUNT_KEY] = account


AccountOf = Callable[[Scope], Account | None]


class RequestMetricsMiddleware:
    """Counts each customer's HTTP request by route template and status, and each refusal by code.

    Whose request it is: what a handler noted (``note_account``), else the bearer token,
    else ``account_of(scope)`` (Room-Service: the socket.io session). ``prefixes`` are
    labelled as themselves (``/socket.io/``) when no route matched.
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: ServiceMetrics,
        accounts: AccountBook,
        *,
        account_of: AccountOf | None = None,
        prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.accounts = accounts
        self.account_of = account_of
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        outer_route = scope.get("route")
        answer = _Answer()

        async def watching(message: Message) -> None:
            answer.see(message)
            await send(message)

        try:
            await self.app(scope, receive, watching)
        finally:  # an exception before the answer started is a 500 (see _Answer)
            self._record(scope, outer_route, answer)

    def _record(self, scope: Scope, outer_route: object, answer: _Answer) -> None:
        route = self._route(scope, outer_route)
        if route in OPERATIONAL_ROUTES:
            return
        account = self._account(scope)
        self.metrics.request(account, route, answer.status)
        if answer.status >= 400:
            self.metrics.refusal(account, answer.error_code())

    def _route(self, scope: Scope, outer_route: object) -> str:
        route = scope.get("route")
        if route is not None and route is not outer_route:
            path = getattr(route, "path", None)
            if isinstance(path, str):
                return path
        for prefix in self.prefixes:
            if str(scope.get("path", "")).startswith(prefix):
                return prefix
        return UNMATCHED_ROUTE

    def _account(self, scope: Scope) -> Account | None:
        noted = scope.get(_ACCOUNT_KEY)
        if isinstance(noted, Account):
            return noted
        authorization = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        account = self.accounts.account_for_authorization(authorization)
        if account is None and self.account_of is not None:
            account = self.account_of(scope)
        return account


class _Answer:
    """The status and, for an error, the body of one response as it goes out."""

    def __init__(self) -> None:
        self.status = 500  # a response that never started is a server error
        self.json = False
        self.body = bytearray()

    def see(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            for name, value in message.get("headers", ()):
                if name.lower() == b"content-type":
                    self.json = value.startswith(b"application/json")
        elif message["type"] == "http.response.body" and self.status >= 400 and self.json:
            if len(self.body) < _MAX_ERROR_BODY:
                self.body.extend(message.get("body", b""))

    def error_code(self) -> str:
        """The contract's ``error`` code, or ``http_<status>`` for an answer without one."""
        try:
            body: Any = json.loads(bytes(self.body))
        except ValueError:
            body = None
        code = body.get("error") if isinstance(body, dict) else None
        if isinstance(code, str) and code.isidentifier() and len(code) <= 64:
            return code
        return f"http_{self.status}"
