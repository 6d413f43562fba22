"""A Prometheus config for a given set of runners and services: what a local stack or a test runs.

The shipped ``prometheus/prometheus.yml`` is the commented example for a deployment; this
renders the same shape for addresses known only at run time (e.g. free loopback ports)::

    render_prometheus_config(PrometheusSettings(
        runners={"eu": "127.0.0.1:9150", "us": "127.0.0.1:9151"},
        alertmanager="127.0.0.1:9093", rule_files=("rules/*.yml",),
        scrape_interval="1s", evaluation_interval="1s"))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from monitoring.durations import parse_duration
from monitoring.yamltext import dump_yaml

__all__ = ["RUNNER_JOB", "PrometheusSettings", "render_prometheus_config"]

RUNNER_JOB = "mystery-guest"
"""The runners' scrape job: RunnerDown and SyntheticMonitoringBlind read its ``up``."""


@dataclass(frozen=True)
class PrometheusSettings:
    """Where the runners, the platform services and Alertmanager listen, and how often to look."""

    runners: Mapping[str, str]
    """Region -> host:port of that region's runner /metrics."""
    services: Mapping[str, str] = field(default_factory=dict)
    """Service name (vault, concierge, room_service) -> host:port of its /metrics."""
    target: str = "production"
    """The ``target`` label given to the services' series (the runners label their own)."""
    alertmanager: str | None = None
    pushgateway: str | None = None
    """host:port of the Pushgateway that CI runs push to (scraped with honor_labels)."""
    rule_files: tuple[str, ...] = ("rules/*.yml",)
    scrape_interval: str = "15s"
    evaluation_interval: str = "15s"


def render_prometheus_config(settings: PrometheusSettings) -> str:
    """The prometheus.yml text for these settings."""
    parse_duration(settings.scrape_interval)
    parse_duration(settings.evaluation_interval)
    scrape_configs: list[dict[str, Any]] = [
        {
            "job_name": RUNNER_JOB,
            "honor_labels": True,
            "static_configs": [
                {"targets": [address], "labels": {"region": region}} for region, address in settings.runners.items()
            ],
        }
    ]
    if settings.services:
        scrape_configs.append(
            {
                "job_name": "platform",
                "honor_labels": True,
                "static_configs": [
                    {"targets": [address], "labels": {"service": service, "target": settings.target}}
                    for service, address in settings.services.items()
                ],
            }
        )
    if settings.pushgateway:
        scrape_configs.append(
            {"job_name": "pushgateway", "honor_labels": True, "static_configs": [{"targets": [settings.pushgateway]}]}
        )
    document: dict[str, Any] = {
        "global": {
            "scrape_interval": settings.scrape_interval,
            "evaluation_interval": settings.evaluation_interval,
        },
        "rule_files": list(settings.rule_files),
    }
    if settings.alertmanager:
        document["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [settings.alertmanager]}]}]}
    document["scrape_configs"] = scrape_configs
    return dump_yaml(document, header="# Rendered by monitoring.prometheus_config for a local stack.\n")
