"""Planned maintenance windows, declared once in the runner's config.

One declaration drives three things: Alertmanager ``time_intervals`` that mute the affected
journeys' pages (``python -m monitoring``), a series the runner exports while a window is
open (``synthetic_maintenance_active``, which the SLO rules leave out of the error budget),
and the runner pausing its money-moving scenarios against the target meanwhile::

    maintenance:
      - name: vault-migration
        start: 2026-12-01T02:00:00Z
        end: 2026-12-01T04:00:00Z
        targets: [prod]          # empty or absent: every target
        services: [vault]        # absent: every service
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator, model_validator

__all__ = ["SERVICES", "MaintenanceWindow", "Service"]

Service = Literal["vault", "concierge", "room_service", "cdn"]
SERVICES: tuple[Service, ...] = ("vault", "concierge", "room_service", "cdn")


class MaintenanceWindow(BaseModel):
    """A planned outage of some services of some targets, from ``start`` until ``end``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    start: AwareDatetime
    end: AwareDatetime
    targets: tuple[str, ...] = ()
    """Targets it covers; empty: every target."""
    services: tuple[Service, ...] = SERVICES

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,40}", value):
            raise ValueError("must be lowercase letters, digits, '-' or '_' (it names an Alertmanager time interval)")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if not self.services:
            raise ValueError("services: name at least one, or leave it out for every service")
        return self

    def is_open(self, now: datetime) -> bool:
        return self.start <= now < self.end

    def covers(self, target: str) -> bool:
        return not self.targets or target in self.targets
