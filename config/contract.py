"""The platform contract's names as overridable defaults (``../shared/platform-contract.md``).

A real deployment whose paths, event names, header names or page selectors differ adapts
through the ``contract:`` section of the YAML config, never through code. Where one service
differs from the others (its health or liveness path), ``services.<name>`` says so; the API
calls the page itself makes, which may go through another gateway route than the probes',
are matched by ``page_requests``.
"""

from __future__ import annotations

import re
import string
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

__all__ = [
    "Contract",
    "Paths",
    "Events",
    "Headers",
    "Selectors",
    "ServicePaths",
    "Services",
    "PageRequests",
    "template_fields",
]

# The paths that name one resource: the only ones where ``{id}`` is filled in.
_ID_PATHS = frozenset({"deposit", "withdrawal", "bet", "bet_rollback"})
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an RFC 9110 token


def template_fields(template: str) -> set[str]:
    """The ``{placeholders}`` of a ``str.format`` template; ``ValueError`` if it is malformed."""
    fields = set()
    for _, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValueError(f"{{{field}}} is not a placeholder: write {{name}}")
        fields.add(field)
    return fields


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Paths(_Section):
    health: str = "/health"
    liveness: str = "/liveness"
    login: str = "/v1/auth/login"
    currencies: str = "/v1/currencies"
    rates: str = "/v1/rates"
    limits: str = "/v1/limits"
    balance: str = "/v1/balance"
    deposits: str = "/v1/deposits"
    deposit: str = "/v1/deposits/{id}"
    withdrawals: str = "/v1/withdrawals"
    withdrawal: str = "/v1/withdrawals/{id}"
    bets: str = "/v1/bets"
    bet: str = "/v1/bets/{id}"
    bet_rollback: str = "/v1/bets/{id}/rollback"
    transactions: str = "/v1/transactions"
    rewards_rules: str = "/v1/rewards/rules"
    rewards_me: str = "/v1/rewards/me"
    leaderboard: str = "/v1/leaderboard"
    rewards_reset: str = "/v1/test-accounts/reset"
    socketio: str = "/socket.io"

    @field_validator("*")
    @classmethod
    def _absolute_with_known_fields(cls, value: str, info: ValidationInfo) -> str:
        if not value.startswith("/"):
            raise ValueError(f"must start with '/', got {value[:80]!r}")
        allowed = {"id"} if info.field_name in _ID_PATHS else set()
        unknown = sorted(template_fields(value) - allowed)
        if unknown:
            known = "only {id}" if allowed else "none"
            raise ValueError(f"unknown placeholder {{{unknown[0]}}} (known: {known})")
        return value


class Events(_Section):
    balance_update: str = "balance:update"
    level_up: str = "rewards:level_up"
    chat_message: str = "chat:message"
    chat_join: str = "chat:join"
    chat_send: str = "chat:send"


class Headers(_Section):
    synthetic_probe: str = "X-Synthetic-Probe"
    idempotency_key: str = "Idempotency-Key"
    reset_secret: str = "X-Reset-Secret"

    @field_validator("*")
    @classmethod
    def _header_name(cls, value: str) -> str:
        if not _HEADER_NAME.match(value):
            raise ValueError(f"not a header name: {value[:80]!r}")
        return value


class Selectors(_Section):
    login_username: str = "[data-testid=login-username]"
    login_password: str = "[data-testid=login-password]"
    login_submit: str = "[data-testid=login-submit]"
    balance: str = "[data-testid=balance]"
    deposit_currency: str = "[data-testid=deposit-currency]"
    deposit_amount: str = "[data-testid=deposit-amount]"
    deposit_submit: str = "[data-testid=deposit-submit]"
    bet_stake: str = "[data-testid=bet-stake]"
    bet_currency: str = "[data-testid=bet-currency]"
    bet_submit: str = "[data-testid=bet-submit]"
    bet_result: str = "[data-testid=bet-result]"
    level_badge: str = "[data-testid=level-badge]"
    level_up_toast: str = "[data-testid=level-up-toast]"
    chat_input: str = "[data-testid=chat-input]"
    chat_send: str = "[data-testid=chat-send]"
    chat_messages: str = "[data-testid=chat-messages]"
    connection_status: str = "[data-testid=connection-status]"


class ServicePaths(_Section):
    """One service's health and liveness paths, where they differ from ``paths`` (None: the same)."""

    health: str | None = None
    liveness: str | None = None

    @field_validator("health", "liveness")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError(f"must start with '/', got {value!r}")
        return value


class Services(_Section):
    vault: ServicePaths = ServicePaths()
    concierge: ServicePaths = ServicePaths()
    room_service: ServicePaths = ServicePaths()
    cdn: ServicePaths = ServicePaths()


class PageRequests(_Section):
    """Shell-style patterns (``*``) of the URL path of the page's own API calls (no query string).

    None: any path ending in the probes' own path (``*/v1/bets``), which suits a page that calls
    the API through a prefix of its own origin (``/api/vault/v1/bets``).
    """

    bet: str | None = None


class Contract(_Section):
    paths: Paths = Paths()
    events: Events = Events()
    headers: Headers = Headers()
    selectors: Selectors = Selectors()
    services: Services = Services()
    page_requests: PageRequests = PageRequests()

    def health_path(self, service: str) -> str:
        """``service``'s health path: its own (``services.<service>.health``), else ``paths.health``."""
        return getattr(self.services, service).health or self.paths.health

    def liveness_path(self, service: str) -> str:
        return getattr(self.services, service).liveness or self.paths.liveness

    def page_request(self, name: Literal["bet"]) -> str:
        """The pattern of the page's own ``name`` call (see ``PageRequests``)."""
        pattern: str | None = getattr(self.page_requests, name)
        return pattern or "*" + {"bet": self.paths.bets}[name]

    def is_page_request(self, name: Literal["bet"], url_path: str) -> bool:
        return fnmatchcase(url_path, self.page_request(name))
