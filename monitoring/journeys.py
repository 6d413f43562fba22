"""The customer journeys the alerts are about: which scenarios prove each, who owns it.

Alerts are grouped, titled and inhibited per journey, not per scenario: a person paged
at 3 a.m. wants to read "Customer chat is failing in 2 of 3 regions", and the team that
owns chat wants the page. Everything here is data; the rule and Alertmanager generators
read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

__all__ = [
    "JOURNEYS_FILE",
    "DEPENDENCY_IMPACTS",
    "JOURNEYS",
    "SERVICES",
    "DependencyImpact",
    "Journey",
    "journey_named",
]

JOURNEYS_FILE = Path(__file__).resolve().parent.parent / "harness" / "journeys.json"
"""The journeys and owner teams as the runner's status page reads them: written from
``JOURNEYS`` by ``python -m monitoring`` (the runner never imports monitoring/, nor ships it)."""

SERVICES: tuple[str, ...] = ("vault", "concierge", "room_service", "cdn")
"""Service names as the runner labels them (``synthetic_service_up{service}``)."""


@dataclass(frozen=True)
class Journey:
    """One thing a customer does, proven by one or more scenarios (API and browser)."""

    name: str
    title: str
    """Noun phrase that reads well before "is failing": shown in alert summaries."""
    scenarios: tuple[str, ...]
    services: tuple[str, ...]
    """Services the journey cannot work without: their ServiceDown silences its alerts."""
    team: str
    slo_target: Decimal | None = None
    """Share of runs that must succeed; None takes the generator's default."""
    page_for: str = "1m"
    """``for:`` of its quorum page. Journeys that lose money page at once ("0s"): two failed
    runs in each of two regions already rule out a single flake (see bench/RESULTS.md)."""


JOURNEYS: tuple[Journey, ...] = (
    Journey("bets", "Betting", ("bet_settlement", "spa_bet"), ("vault",), "payments-ledger", page_for="0s"),
    Journey("deposits", "Depositing", ("deposit_each_currency",), ("vault",), "payments", page_for="0s"),
    Journey("withdrawals", "Withdrawing", ("withdraw_each_currency",), ("vault",), "payments"),
    Journey("rewards", "Rewards crediting", ("rewards",), ("vault", "concierge"), "rewards"),
    Journey(
        "level_up",
        "Levelling up",
        ("level_up", "spa_level_up"),
        ("vault", "concierge", "room_service"),
        "rewards",
    ),
    Journey("chat", "Customer chat", ("chat", "spa_chat"), ("room_service",), "realtime"),
    Journey(
        "spa",
        "The casino web app",
        ("spa_load", "spa_login_balance", "spa_deposit_push"),
        ("cdn", "vault", "room_service"),
        "frontend",
    ),
    Journey("guardrails", "The betting-limit check", ("guardrails",), ("vault",), "risk"),
    Journey("rates", "Exchange-rate freshness", ("rates_freshness",), ("vault",), "payments"),
    Journey(
        "uptime",
        "Platform uptime",
        ("uptime",),
        ("vault", "concierge", "room_service", "cdn"),
        "sre",
    ),
)


@dataclass(frozen=True)
class DependencyImpact:
    """A dependency that, when a service reports it down, explains these journeys' failures."""

    dependency: str
    service: str | None
    """The service reporting it; None: any service that reports this dependency."""
    journeys: tuple[str, ...]


DEPENDENCY_IMPACTS: tuple[DependencyImpact, ...] = (
    # uptime fails whenever a service reports any dependency down: a symptom of each.
    DependencyImpact("kafka", None, ("rewards", "level_up", "uptime")),
    DependencyImpact("chat", None, ("chat", "uptime")),
    DependencyImpact(
        "database",
        "vault",
        ("bets", "deposits", "withdrawals", "guardrails", "rates", "rewards", "level_up", "uptime"),
    ),
    DependencyImpact("database", "concierge", ("rewards", "level_up", "uptime")),
    DependencyImpact("database", "room_service", ("chat", "uptime")),
    DependencyImpact("origin", "cdn", ("spa", "uptime")),
)


def journey_named(name: str) -> Journey:
    """Look a journey up by name; a typo in the data fails loudly here."""
    for journey in JOURNEYS:
        if journey.name == name:
            return journey
    raise KeyError(f"no journey named {name!r}")


def render_journeys() -> str:
    """``JOURNEYS_FILE``: each journey's name, title, team and scenarios, in order."""
    rows = [{"name": j.name, "title": j.title, "team": j.team, "scenarios": list(j.scenarios)} for j in JOURNEYS]
    return json.dumps({"journeys": rows}, indent=2) + "\n"
