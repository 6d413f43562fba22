"""Maintenance windows at run time: what Prometheus sees, and which runs pause.

While a window is open the runner exports ``synthetic_maintenance_active{target,service,region}
= 1`` (0 before and after), so the SLO rules can leave the window out of the error budget;
and its money-moving scenarios against the window's targets are skipped, not run: a planned
migration is no moment to move real money through a half-migrated ledger.

The windows are read from the live settings at every scrape and every run, so a ``SIGHUP``
reload that adds one takes effect at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from config.maintenance import MaintenanceWindow
from config.settings import Settings

__all__ = ["MaintenanceCollector", "open_window"]


def open_window(settings: Settings, target: str, now: datetime | None = None) -> MaintenanceWindow | None:
    """The first maintenance window open now on ``target``, if any."""
    now = now or datetime.now(UTC)
    return next((w for w in settings.maintenance if w.covers(target) and w.is_open(now)), None)


class MaintenanceCollector(Collector):
    """``synthetic_maintenance_active``: one series per (target, service) some window covers."""

    def __init__(self, settings: Callable[[], Settings]) -> None:
        self._settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        settings = self._settings()
        now = datetime.now(UTC)
        family = GaugeMetricFamily(
            "synthetic_maintenance_active",
            "1 while a planned maintenance window covers this target's service, else 0",
            labels=("target", "service", "region"),
        )
        active: dict[tuple[str, str], bool] = {}
        for window in settings.maintenance:
            for target in window.targets or tuple(settings.targets):
                for service in window.services:
                    key = (target, service)
                    active[key] = active.get(key, False) or window.is_open(now)
        for (covered, service_name), is_open in sorted(active.items()):
            family.add_metric((covered, service_name, settings.runner.region), 1.0 if is_open else 0.0)
        yield family
