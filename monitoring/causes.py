"""The causes that explain a journey's failures, as PromQL: their own pages, and what a journey's page leaves out.

A cause (``ServiceDown``, ``DependencyDown``) waits ``for:`` one uptime interval, so that a single
failed health read does not page; a journey that loses money pages at once (``for: 0s``: its two
failed runs in two regions already rule out a flake). Alertmanager silences the symptom only if
the cause reaches it before the symptom's group is flushed, and never takes a sent page back: in
a whole-Vault outage the bets page could beat ``ServiceDown`` and the on-call got two pages.

So a journey's page leaves out the targets where one of its causes' conditions holds at the same
evaluation: the condition, read from the same scrape, not the cause's alert, which is still
pending then. Uptime runs more often than any journey, so a cause's failed read is in Prometheus
before the symptom's second failed run. Once the cause fires, Alertmanager's inhibition takes
over, and its ``keep_firing_for`` covers the symptom's recovery. The journeys a cause explains are
the same data as the inhibitions (``Journey.services``, ``DEPENDENCY_IMPACTS``).
"""

from __future__ import annotations

from monitoring.journeys import DEPENDENCY_IMPACTS, Journey
from monitoring.promql import SCHEDULED

__all__ = ["dependency_down", "service_down", "unless_caused"]


def service_down(quorum: int, services: tuple[str, ...] = ()) -> str:
    """``services`` (all, if empty) fail ``/liveness``, or ``/health`` naming no failing dependency
    (that is ``DependencyDown``'s: the service still answers), from ``quorum`` regions."""
    only = f', service=~"{"|".join(services)}"' if services else ""
    return (
        "count by (service, target) (\n"
        f"  (max by (service, target, region) (synthetic_service_up{{{SCHEDULED}{only}}}) == 0)\n"
        "  unless on (service, target, region)\n"
        f"  (min by (service, target, region) (synthetic_dependency_up{{{SCHEDULED}{only}}}) == 0)\n"
        f") >= {quorum}"
    )


def dependency_down(quorum: int, dependencies: tuple[str, ...] = (), service: str | None = None) -> str:
    """A service (``service``, or any) reports one of ``dependencies`` (all, if empty) down, from ``quorum`` regions."""
    only = f', dependency=~"{"|".join(dependencies)}"' if dependencies else ""
    only += f', service="{service}"' if service else ""
    return (
        "count by (service, dependency, target) (\n"
        "  max by (service, dependency, target, region) "
        f"(synthetic_dependency_up{{{SCHEDULED}{only}}}) == 0\n"
        f") >= {quorum}"
    )


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
    for cause in _causes(journey, quorum):
        indented = cause.replace("\n", "\n  ")
        expr += f"\nunless on (target)\n(\n  {indented}\n)"
    return expr
