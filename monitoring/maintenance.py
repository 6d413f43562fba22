"""Maintenance windows, declared once in the runner's config, seen by Alertmanager and the rules.

Each window becomes an Alertmanager ``time_interval`` (one entry per UTC day it touches, to
the minute) that mutes the pages of the journeys needing the window's services on its
targets; and the SLO rules leave out of the error budget whatever runs while the runner
exports ``synthetic_maintenance_active`` (see monitoring/slo.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter

from config.maintenance import MaintenanceWindow
from monitoring.journeys import JOURNEYS, Journey

__all__ = [
    "affected_journeys",
    "interval_name",
    "load_windows",
    "mute_routes",
    "service_mute_routes",
    "time_interval",
]

_MONTHS = ("january february march april may june july august september october november december").split()


def load_windows(config: Path) -> tuple[MaintenanceWindow, ...]:
    """The ``maintenance:`` windows of a runner config file (the rest of it is the runner's)."""
    document = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    return TypeAdapter(tuple[MaintenanceWindow, ...]).validate_python(document.get("maintenance") or ())


def interval_name(window: MaintenanceWindow) -> str:
    return f"maintenance-{window.name}"


def affected_journeys(window: MaintenanceWindow) -> list[Journey]:
    """Journeys that cannot work without one of the window's services."""
    return [journey for journey in JOURNEYS if set(journey.services) & set(window.services)]


def time_interval(window: MaintenanceWindow) -> dict[str, Any]:
    """The Alertmanager time interval of a window: one entry per UTC day, to the minute."""
    start = window.start.astimezone(UTC).replace(second=0, microsecond=0)
    end = window.end.astimezone(UTC)
    if end.second or end.microsecond:
        end = end.replace(second=0, microsecond=0) + timedelta(minutes=1)
    entries = []
    day = start.replace(hour=0, minute=0)
    while day < end:
        next_day = day + timedelta(days=1)
        begins, ends = max(start, day), min(end, next_day)
        entries.append(
            {
                "times": [{"start_time": _clock(begins, day), "end_time": _clock(ends, day)}],
                "days_of_month": [str(day.day)],
                "months": [_MONTHS[day.month - 1]],
                "years": [str(day.year)],
                "location": "UTC",
            }
        )
        day = next_day
    return {"name": interval_name(window), "time_intervals": entries}


def _clock(moment: datetime, day: datetime) -> str:
    """HH:MM within ``day``; the end of the day is 24:00, as Alertmanager writes it."""
    minutes = int((moment - day).total_seconds() // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def mute_routes(
    journeys: Sequence[Journey], windows: Sequence[MaintenanceWindow], page: dict[str, Any]
) -> list[dict[str, Any]]:
    """Page routes that mute these journeys' pages during the windows that affect them."""
    return _muting(page, [("journey", j.name, [w for w in windows if j in affected_journeys(w)]) for j in journeys])


def service_mute_routes(windows: Sequence[MaintenanceWindow], page: dict[str, Any]) -> list[dict[str, Any]]:
    """Page routes that mute the services' own pages (ServiceDown, DependencyDown) in their windows."""
    services = sorted({service for window in windows for service in window.services})
    return _muting(page, [("service", s, [w for w in windows if s in w.services]) for s in services])


def _muting(page: dict[str, Any], subjects: Sequence[tuple[str, str, list[MaintenanceWindow]]]) -> list[dict[str, Any]]:
    """One copy of ``page`` per subject (label=value, with the windows covering it) and target,
    muted by every window covering both: Alertmanager stops at the first matching route, so
    one route lists all of them."""
    routes = []
    for label, value, covering in subjects:
        for target in (*sorted({t for w in covering for t in w.targets}), None):
            names = [interval_name(w) for w in covering if not w.targets or target in w.targets]
            if not names:
                continue
            matchers = [*page["matchers"], f'{label}="{value}"']
            if target is not None:
                matchers.append(f'target="{target}"')
            routes.append({**page, "matchers": matchers, "mute_time_intervals": names})
    return routes
