"""The shapes of a rule file: plain data that the generator renders to Prometheus YAML."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Alert", "Group", "Layer", "Record", "RuleFile", "Rule", "RunsLink", "Severity"]

Severity = Literal["page", "warning"]
Layer = Literal["synthetic", "health", "internal", "runner"]
"""Where the signal comes from: journeys from outside, /health checks, the services' own
metrics, or the probe runners themselves (see monitoring/README.md)."""


@dataclass(frozen=True)
class RunsLink:
    """The runs an alert's ``runs_url`` annotation opens: the run list of the runner of the
    region that failed, filtered. Values may be alert templates (``{{ $labels.target }}``)."""

    filters: Mapping[str, str]
    region: str = "{{ $labels.region }}"
    """A template giving the region whose runner to open (a query when the alert has no region)."""


@dataclass(frozen=True)
class Alert:
    """One alerting rule; ``for_`` and ``keep_firing_for`` are unscaled, scaled when rendered."""

    name: str
    expr: str
    severity: Severity
    layer: Layer
    summary: str
    description: str
    for_: str = "0s"
    labels: Mapping[str, str] = field(default_factory=dict)
    runs: RunsLink | None = None
    keep_firing_for: str = "0s"
    """How long a cause keeps firing once its condition cleared, so that its symptoms (which
    recover only on their scenario's next run) resolve while it still silences them."""


@dataclass(frozen=True)
class Record:
    """One recording rule."""

    record: str
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)


Rule = Alert | Record


@dataclass(frozen=True)
class Group:
    """A rule group: its rules run in order, so later records may use earlier ones."""

    name: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class RuleFile:
    """One file under monitoring/prometheus/rules/."""

    stem: str
    groups: tuple[Group, ...]
