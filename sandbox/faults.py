"""Fault injection: the catalogue of real misbehaviours the sandbox can be switched into.

A fault changes what a service really does, for every account alike; it is never a flag
that a probe could read. Services ask ``faults.is_on(name)`` (and ``faults.param(name)``)
at the point where the misbehaviour happens.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["FAULTS", "FaultSpec", "Faults", "UnknownFault"]


@dataclass(frozen=True)
class FaultSpec:
    name: str
    service: str  # vault | concierge | room_service | cdn | all
    param: str | None  # what the parameter is (None: takes none)
    customer_impact: str


def _spec(name: str, service: str, param: str | None, impact: str) -> tuple[str, FaultSpec]:
    return name, FaultSpec(name, service, param, impact)


FAULTS: dict[str, FaultSpec] = dict(
    [
        _spec("slow_api", "vault", "milliseconds", "every Vault call is slow"),
        _spec("bet_wrong_payout", "vault", None, "bets settle one smallest unit wrong"),
        _spec("bet_missing_history", "vault", None, "bets are missing from the history"),
        _spec("stake_limit_not_enforced", "vault", None, "stakes above max_stake accepted"),
        _spec("rollback_allowed", "vault", None, "settled bets can be rolled back"),
        _spec("idempotency_ignored", "vault", None, "a replayed request moves money twice"),
        _spec("deposit_fails", "vault", "currency", "deposits in one currency fail"),
        _spec("deposit_stuck_pending", "vault", "currency", "deposits in one currency never complete"),
        _spec("withdrawal_fails", "vault", "currency", "withdrawals in one currency fail"),
        _spec("withdrawal_limit_not_enforced", "vault", None, "withdrawals above the limit accepted"),
        _spec("withdrawal_double_spend", "vault", None, "two racing withdrawals both complete"),
        _spec("rates_stale", "vault", None, "exchange rates are hours old"),
        _spec("db_down", "vault", None, "the ledger database is unreachable"),
        _spec("rewards_wrong_points", "concierge", None, "each bet earns one point too few"),
        _spec("rewards_points_rounded", "concierge", None, "points rounded half-up: a point too many"),
        _spec("rewards_lag", "concierge", "seconds", "rewards arrive late"),
        _spec("kafka_down", "concierge", None, "Concierge lost Kafka: rewards stop"),
        _spec("leaderboard_shows_synthetic", "concierge", None, "test accounts on the leaderboard"),
        _spec("concierge_down", "concierge", None, "rewards service unreachable"),
        _spec("chat_down", "room_service", None, "customer chat is down"),
        _spec("balance_push_dropped", "room_service", None, "balances do not update live"),
        _spec("balance_push_delayed", "room_service", "seconds", "balances update late"),
        _spec("level_up_dropped", "room_service", None, "no level-up notice"),
        _spec("socket_rejects_connections", "room_service", None, "live updates cannot connect"),
        _spec("room_service_down", "room_service", None, "Room-Service unreachable"),
        _spec("asset_missing", "cdn", None, "the app's bundle answers 403: blank page"),
        _spec("spa_js_error", "cdn", None, "the page throws on load"),
        _spec("spa_wrong_balance", "cdn", None, "the page shows a stale balance"),
        _spec("health_flapping", "all", None, "health checks alternate ok/error"),
    ]
)


class UnknownFault(ValueError):
    """Raised for a fault name that is not in ``FAULTS`` or a parameter of the wrong shape."""


class Faults:
    """The switchboard of active faults, shared by every service of one sandbox (thread-safe)."""

    def __init__(self) -> None:
        self._active: dict[str, str | None] = {}
        self._lock = threading.Lock()
        self._flap_counters: dict[str, int] = {}

    @staticmethod
    def parse(text: str) -> tuple[str, str | None]:
        """``"deposit_fails:EUR"`` -> ``("deposit_fails", "EUR")``, checked against the catalogue."""
        name, _, param = text.partition(":")
        spec = FAULTS.get(name)
        if spec is None:
            raise UnknownFault(f"unknown fault {name!r}; known: {', '.join(sorted(FAULTS))}")
        if spec.param is None and param:
            raise UnknownFault(f"fault {name!r} takes no parameter, got {param!r}")
        if spec.param is not None and not param:
            raise UnknownFault(f"fault {name!r} needs a parameter ({spec.param}): {name}:<{spec.param}>")
        if spec.param in ("milliseconds", "seconds"):
            try:
                float(param)
            except ValueError:
                raise UnknownFault(f"fault {name!r}: {spec.param} must be a number, got {param!r}") from None
        return name, (param or None)

    def switch_on(self, text: str) -> tuple[str, str | None]:
        name, param = self.parse(text)
        with self._lock:
            self._active[name] = param
            self._flap_counters.pop(name, None)
        return name, param

    def switch_off(self, name: str) -> None:
        name = name.partition(":")[0]
        if name not in FAULTS:
            raise UnknownFault(f"unknown fault {name!r}")
        with self._lock:
            self._active.pop(name, None)

    def clear(self) -> None:
        with self._lock:
            self._active.clear()

    def active(self) -> dict[str, str | None]:
        with self._lock:
            return dict(self._active)

    def is_on(self, name: str, param: str | None = None) -> bool:
        """True when ``name`` is active (and, if given, its parameter equals ``param``)."""
        with self._lock:
            if name not in self._active:
                return False
            return param is None or self._active[name] == param

    def param(self, name: str) -> str | None:
        with self._lock:
            return self._active.get(name)

    def number(self, name: str) -> float:
        """The numeric parameter of an active fault (0 when off)."""
        value = self.param(name)
        return float(value) if value is not None else 0.0

    def flap(self, service: str) -> bool:
        """For ``health_flapping``: True on every other call per service (deterministic)."""
        if not self.is_on("health_flapping"):
            return False
        with self._lock:
            count = self._flap_counters.get(service, 0)
            self._flap_counters[service] = count + 1
        return count % 2 == 1
