"""Error-budget burn rates per journey, as in the Google SRE workbook (chapter "Alerting on SLOs").

A journey's error ratio is the share of its finished runs that failed or timed out, over
all regions; aborted and skipped runs say nothing about the platform and are left out.
Fast burns page (14.4x over 1 h and 5 m, 6x over 6 h and 30 m); slow burns open a ticket
(3x over 1 d and 2 h, 1x over 3 d and 6 h): the long window proves the budget is really
going, the short one that it still is.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from monitoring.journeys import JOURNEYS, Journey
from monitoring.model import Alert, Group, Record, Severity
from monitoring.promql import SCHEDULED, join_journey, number

__all__ = ["FAST_BURNS", "SLOW_BURNS", "WINDOWS", "BurnWindow", "slo_alerts", "slo_records"]

WINDOWS: tuple[str, ...] = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
_COUNTED = f'{SCHEDULED}, result=~"success|failure|timeout"'
_FAILED = f'{SCHEDULED}, result=~"failure|timeout"'


@dataclass(frozen=True)
class BurnWindow:
    """Alert when the error ratio is ``factor`` times the budget over both windows."""

    factor: Decimal
    long: str
    short: str


FAST_BURNS = (BurnWindow(Decimal("14.4"), "1h", "5m"), BurnWindow(Decimal(6), "6h", "30m"))
SLOW_BURNS = (BurnWindow(Decimal(3), "1d", "2h"), BurnWindow(Decimal(1), "3d", "6h"))


def ratio_name(window: str) -> str:
    """The recorded error ratio of every journey over one window."""
    return f"synthetic:journey_run_errors:ratio_rate{window}"


MAINTENANCE = "synthetic:journey_maintenance:bool"
"""1 while a planned maintenance window covers a service the journey needs, on a target."""


def maintenance_records() -> list[Record]:
    """Per journey: is a window open on one of the services it needs (the runner says so)?"""
    return [
        Record(
            MAINTENANCE,
            "max by (target) (\n"
            f'  synthetic_maintenance_active{{{SCHEDULED}, service=~"{"|".join(journey.services)}"}}\n'
            ") == 1",
            {"journey": journey.name},
        )
        for journey in JOURNEYS
    ]


def slo_records() -> Group:
    """Runs, failures and their ratio per journey and target, for every window.

    Maintenance stays out of the budget: the shortest window's rates are recorded only while
    no maintenance window was open during it, and every longer window averages them, so the
    minutes under maintenance count neither as runs nor as failures.
    """
    rules: list[Record] = maintenance_records()
    shortest = WINDOWS[0]
    runs_base = f"synthetic:journey_runs:rate{shortest}"
    failures_base = f"synthetic:journey_run_failures:rate{shortest}"
    outside = f"unless on (journey, target)\nmax_over_time({MAINTENANCE}[{shortest}])"
    rules.append(Record(runs_base, f"{_sum_rate(_COUNTED, shortest)}\n{outside}"))
    rules.append(Record(failures_base, f"{_sum_rate(_FAILED, shortest)}\n{outside}\nor\n{runs_base} * 0"))
    rules.append(Record(ratio_name(shortest), f"{failures_base}\n/\n{runs_base}"))
    for window in WINDOWS[1:]:
        runs = f"synthetic:journey_runs:rate{window}"
        failures = f"synthetic:journey_run_failures:rate{window}"
        rules.append(Record(runs, f"avg_over_time({runs_base}[{window}])"))
        rules.append(Record(failures, f"avg_over_time({failures_base}[{window}])"))
        rules.append(Record(ratio_name(window), f"{failures}\n/\n{runs}"))
    return Group("mystery-guest-slo-records", tuple(rules))


def _sum_rate(results: str, window: str) -> str:
    joined = join_journey(f"rate(synthetic_scenario_runs_total{{{results}}}[{window}])")
    return f"sum by (journey, target) (\n  {joined}\n)"


def slo_alerts(default_target: Decimal) -> Group:
    """A fast-burn page and a slow-burn warning for every journey."""
    rules: list[Alert] = []
    for journey in JOURNEYS:
        target = journey.slo_target if journey.slo_target is not None else default_target
        rules.append(_burn_alert(journey, target, "JourneyErrorBudgetFastBurn", FAST_BURNS))
        rules.append(_burn_alert(journey, target, "JourneyErrorBudgetSlowBurn", SLOW_BURNS))
    return Group("mystery-guest-slo-alerts", tuple(rules))


def _burn_alert(journey: Journey, slo: Decimal, name: str, burns: tuple[BurnWindow, ...]) -> Alert:
    budget = number(1 - slo)
    branches = []
    for burn in burns:
        long = f'{ratio_name(burn.long)}{{journey="{journey.name}"}} / {budget} > {number(burn.factor)}'
        short = f'{ratio_name(burn.short)}{{journey="{journey.name}"}} / {budget} > {number(burn.factor)}'
        branches.append(f"(\n  {long}\n  and\n  {short}\n)")
    fast = name.endswith("FastBurn")
    severity: Severity = "page" if fast else "warning"
    windows = " or ".join(f"{number(b.factor)}x over {b.long} and {b.short}" for b in burns)
    slo_text = number(slo * 100)
    return Alert(
        name=name,
        expr="\nor\n".join(branches),
        severity=severity,
        layer="synthetic",
        for_="2m" if fast else "15m",
        labels={"journey": journey.name, "team": journey.team},
        summary=f'{journey.title} is burning its error budget {{{{ printf "%.1f" $value }}}}x too fast',
        description=(
            f"{journey.title} ({', '.join(journey.scenarios)}) on {{{{ $labels.target }}}} "
            f"fails often enough to spend its {slo_text}% SLO's 30-day error budget "
            f'{{{{ printf "%.1f" $value }}}}x too fast ({windows}).'
        ),
    )
