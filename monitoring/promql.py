"""PromQL fragments that several rules share, each written (and explained) once."""

from __future__ import annotations

from decimal import Decimal

__all__ = [
    "CI_PUSH_JOB",
    "SCHEDULED",
    "JOURNEY_INFO",
    "PER_SCENARIO",
    "join_journey",
    "new_or_increased",
    "number",
    "spike",
]

CI_PUSH_JOB = "mystery-guest-ci"
"""The ``job`` of groups that ``run --push-gateway`` pushes (scraped with honor_labels)."""
SCHEDULED = f'job!="{CI_PUSH_JOB}"'
"""Matcher that keeps the scheduled runners' series only: a CI run is no probe region, and a
pushed group stays on the Pushgateway until deleted, so rules that count regions or judge a
journey's error budget must not read it."""
JOURNEY_INFO = "synthetic:scenario_journey:info"
PER_SCENARIO = "scenario, target, region"


def join_journey(vector: str) -> str:
    """Add the ``journey`` label to a vector that has a ``scenario`` label."""
    return f"{vector} * on (scenario) group_left (journey) {JOURNEY_INFO}"


def new_or_increased(selector: str, window: str, by: str) -> str:
    """A counter that went up within ``window``, including one that was just born.

    prometheus-client creates a labelled counter on its first increment, so the first
    breach appears as a new series already at 1 and ``increase()`` alone would miss it.
    """
    return (
        f"max by ({by}) (\n"
        f"  increase({selector}[{window}]) > 0\n"
        f"  or\n"
        f"  ({selector} > 0 unless {selector} offset {window})\n"
        f")"
    )


def spike(selector: str, by: str, floor: Decimal, factor: Decimal) -> str:
    """A rate over the last 5 minutes above ``floor`` per second and ``factor`` times the day's.

    With no baseline yet (a new counter), the floor alone decides.
    """
    now = f"sum by ({by}) (rate({selector}[5m]))"
    baseline = f"sum by ({by}) (rate({selector}[1d] offset 5m))"
    return f"{now} > {number(floor)}\nunless on ({by})\n(\n  {now}\n  <= {number(factor)} * {baseline}\n)"


def number(value: Decimal | int) -> str:
    """Write a number exactly, without exponent or trailing zeros (0.005, not 5E-3)."""
    text = format(Decimal(value).normalize(), "f")
    return text
