"""The series the rules and the dashboard read, as the runner and the platform export them.

A rule that reads a misspelt metric never fires and never fails: the tests compare every
name in every expression with this catalog. When the runner or the sandbox renames a
metric, change it here and the tests show every rule and panel that must follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["PLATFORM_SERIES", "PROMETHEUS_SERIES", "PUSHGATEWAY_SERIES", "RUNNER_SERIES", "Series", "exported_names"]

_SCENARIO = ("scenario", "target", "region")


@dataclass(frozen=True)
class Series:
    """One exported metric family: its name as written in the exposition, kind and labels."""

    name: str
    kind: Literal["gauge", "counter", "histogram"]
    labels: tuple[str, ...]


RUNNER_SERIES: tuple[Series, ...] = (
    Series("synthetic_scenario_success", "gauge", _SCENARIO),
    Series("synthetic_scenario_duration_seconds", "histogram", _SCENARIO),
    Series("synthetic_step_duration_seconds", "histogram", ("scenario", "step", "target", "region")),
    Series("synthetic_http_phase_duration_seconds", "histogram", ("scenario", "step", "target", "region", "phase")),
    Series("synthetic_scenario_runs_total", "counter", (*_SCENARIO, "result")),
    Series("synthetic_step_failures_total", "counter", ("scenario", "step", "target", "region", "reason")),
    Series("synthetic_scenario_last_run_timestamp_seconds", "gauge", _SCENARIO),
    Series("synthetic_scenario_last_success_timestamp_seconds", "gauge", _SCENARIO),
    Series("synthetic_scenario_interval_seconds", "gauge", _SCENARIO),
    Series("synthetic_runner_info", "gauge", ("version", "region", "shard")),
    Series("synthetic_dependency_up", "gauge", ("service", "dependency", "target", "region")),
    Series("synthetic_service_up", "gauge", ("service", "target", "region")),
    Series("synthetic_tls_cert_expiry_timestamp_seconds", "gauge", ("service", "target", "region")),
    Series("synthetic_push_latency_seconds", "histogram", ("event", "target", "region")),
    Series("synthetic_rewards_lag_seconds", "histogram", ("target", "region")),
    Series("synthetic_currency_success", "gauge", ("scenario", "currency", "target", "region")),
    Series("synthetic_stake_budget_remaining_usd", "gauge", ("target",)),
    Series("synthetic_browser_timing_seconds", "gauge", ("scenario", "metric")),
    Series("synthetic_runner_event_loop_lag_seconds", "histogram", ("region",)),
    Series("synthetic_runner_start_delay_seconds", "histogram", ("region", "cause")),
    Series("synthetic_runner_errors_total", "counter", ("region",)),
    Series("synthetic_artifact_uploads_total", "counter", ("result",)),
    Series("synthetic_maintenance_active", "gauge", ("target", "service", "region")),
)
"""Exported by the probe runner (harness/) on its /metrics."""

PLATFORM_SERIES: tuple[Series, ...] = (
    Series("platform_http_requests_total", "counter", ("service", "route", "code")),
    Series("platform_refusals_total", "counter", ("service", "error")),
    Series("platform_bet_rollback_attempts_total", "counter", ()),
    Series("platform_idempotency_replays_total", "counter", ()),
    Series("platform_deposits_total", "counter", ("currency", "status")),
    Series("platform_withdrawals_total", "counter", ("currency", "status")),
)
"""Exported by each platform service on /metrics, synthetic accounts excluded by their flag."""

PROMETHEUS_SERIES: tuple[Series, ...] = (
    Series("up", "gauge", ("job", "instance")),
    Series("ALERTS", "gauge", ("alertname", "alertstate")),
)
"""Written by Prometheus itself for every scrape target."""

PUSHGATEWAY_SERIES: tuple[Series, ...] = (Series("push_time_seconds", "gauge", ("job", "target", "region")),)
"""Written by the Pushgateway for every pushed group (labelled with the group's key)."""


def exported_names() -> set[str]:
    """Every series name a query may read, with a histogram's _bucket, _sum and _count."""
    names: set[str] = set()
    for series in (*RUNNER_SERIES, *PLATFORM_SERIES, *PROMETHEUS_SERIES, *PUSHGATEWAY_SERIES):
        if series.kind == "histogram":
            names.update(f"{series.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
        else:
            names.add(series.name)
    return names
