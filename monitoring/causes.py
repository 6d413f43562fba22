"""The causes that explain a journey's failures: recorded once, read by their pages and by the journeys' pages.

A cause (``ServiceDown``, ``DependencyDown``) waits ``for:`` one uptime interval, so that a single
failed health read does not page; a journey that loses money pages at once (``for: 0s``: its two
failed runs in two regions already rule out a flake). Alertmanager silences the symptom only if
the cause reaches it before the symptom's group is flushed, and never takes a sent page back: in
a whole-Vault outage the bets page could beat ``ServiceDown`` and the on-call got two pages.

So a journey's page leaves out the targets where one of its causes holds: the cause's condition,
not its alert, which is still pending then. Uptime runs more often than any journey, so a cause's
failed read is in Prometheus before the symptom's second failed run. The conditions are recorded
in the group that records the journeys' failures, so that both come from one reading of the
scrapes: a failed scrape drops a region from both at once. Once the cause fires, Alertmanager's
inhibition takes over, and its ``keep_firing_for`` covers the symptom's recovery. The journeys a
cause explains are the same data as the inhibitions (``Journey.services``, ``DEPENDENCY_IMPACTS``).
"""

from __future__ import annotations

from monitoring.journeys import DEPENDENCY_IMPACTS, Journey
from monitoring.model import Record
from monitoring.promql import SCHEDULED

__all__ = [
    "DEPENDENCY_DOWN",
    "SERVICE_DOWN",
    "cause_records",
    "dependency_down",
    "service_down",
    "unless_caused",
]

SERVICE_DOWN = "synthetic:service_regions_down:count"
DEPENDENCY_DOWN = "synthetic:dependency_regions_down:count"


def cause_records() -> tuple[Record, ...]:
    """In how many regions each service is down, and each dependency a service reports."""
    return (
        # A /health that fails because it names a failing dependency is DependencyDown's:
        # the service itself still answers, and its other features may work.
        Record(
            SERVICE_DOWN,
            "count by (service, target) (\n"
            f"  (max by (service, target, region) (synthetic_service_up{{{SCHEDULED}}}) == 0)\n"
            "  unless on (service, target, region)\n"
            f"  (min by (service, target, region) (synthetic_dependency_up{{{SCHEDULED}}}) == 0)\n"
            ")",
        ),
        Record(
            DEPENDENCY_DOWN,
            "count by (service, dependency, target) (\n"
            f"  max by (service, dependency, target, region) (synthetic_dependency_up{{{SCHEDULED}}}) == 0\n"
            ")",
        ),
    )


def service_down(quorum: int, services: tuple[str, ...] = ()) -> str:
    """``services`` (all, if empty) are down (``SERVICE_DOWN``) from ``quorum`` regions."""
    only = f'{{service=~"{"|".join(services)}"}}' if services else ""
    return f"{SERVICE_DOWN}{only} >= {quorum}"


def dependency_down(quorum: int, dependencies: tuple[str, ...] = (), service: str | None = None) -> str:
    """A service (``service``, or any) reports one of ``dependencies`` (all, if empty) down from ``quorum`` regions."""
    matchers = [f'service="{service}"'] if service else []
    matchers += [f'dependency=~"{"|".join(dependencies)}"'] if dependencies else []
    only = f"{{{', '.join(matchers)}}}" if matchers else ""
    return f"{DEPENDENCY_DOWN}{only} >= {quorum}"


def _causes(journey: Journey, quorum: int) -> list[str]:
    """The conditions of the causes that inhibit ``journey``'s alerts, one per reporting service."""
    causes = [service_down(quorum, journey.services)] if journey.services else []
    reporters = dict.fromkeys(impact.service for impact in DEPENDENCY_IMPACTS if journey.name in impact.journeys)
    for service in reporters:
        dependencies = tuple(
            impact.dependency
            for impact in DEPENDENCY_IMPACTS
            if impact.service == service and journey.name in impact.journeys
        )
        causes.append(dependency_down(quorum, dependencies, service))
    return causes


def unless_caused(expr: str, journey: Journey, quorum: int) -> str:
    """``expr`` (a journey's alert, with a ``target`` label) on the targets where none of its causes holds."""
    return "".join([expr, *(f"\nunless on (target) {cause}" for cause in _causes(journey, quorum))])
