"""Prometheus configs: the central server that evaluates the rules, and a region's pushing agent.

The shipped ``prometheus/prometheus.yml`` is the commented example for a deployment that
scrapes every runner; ``render_prometheus_config`` renders the same shape for addresses known
only at run time (e.g. free loopback ports)::

    render_prometheus_config(PrometheusSettings(
        runners={"eu": "127.0.0.1:9150", "us": "127.0.0.1:9151"},
        alertmanager="127.0.0.1:9093", rule_files=("rules/*.yml",),
        scrape_interval="1s", evaluation_interval="1s"))

A region the central server cannot reach (behind NAT, another account) pushes instead: a
Prometheus agent (``prometheus --enable-feature=agent``) beside its runners scrapes them and
remote-writes to the central server (``--web.enable-remote-write-receiver``), or to any
remote-write receiver, with the region as an external label. ``render_agent_config`` writes
its config; ``python -m monitoring`` ships one per example region in ``prometheus/agent/``.
The central server then has no runner job: ``prometheus/central.yml`` (``central_file``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitoring.durations import parse_duration
from monitoring.yamltext import dump_yaml

__all__ = [
    "AGENT_DIR",
    "AGENT_JOB",
    "CENTRAL_FILE",
    "EXAMPLE_REGIONS",
    "RUNNER_JOB",
    "AgentSettings",
    "PrometheusSettings",
    "agent_files",
    "central_file",
    "render_agent_config",
    "render_prometheus_config",
]

RUNNER_JOB = "mystery-guest"
"""The runners' scrape job: RunnerDown and SyntheticMonitoringBlind read its ``up``."""
AGENT_JOB = "mystery-guest-agent"
"""An agent's scrape of itself. Its ``up`` reaches the central server only while the agent
pushes, so its absence there is the region gone silent (RegionSilent)."""
AGENT_DIR = Path(__file__).resolve().parent / "prometheus" / "agent"
EXAMPLE_REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-1")
"""The regions of the shipped example configs (as in ``prometheus/prometheus.yml``)."""
EXAMPLE_REMOTE_WRITE_URL = "https://prometheus.monitoring.internal/api/v1/write"


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


def render_prometheus_config(
    settings: PrometheusSettings, header: str = "# Rendered by monitoring.prometheus_config for a local stack.\n"
) -> str:
    """The prometheus.yml text for these settings."""
    parse_duration(settings.scrape_interval)
    parse_duration(settings.evaluation_interval)
    scrape_configs: list[dict[str, Any]] = []
    if settings.runners:
        scrape_configs.append(
            {
                "job_name": RUNNER_JOB,
                "honor_labels": True,
                "static_configs": [
                    {"targets": [address], "labels": {"region": region}} for region, address in settings.runners.items()
                ],
            }
        )
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
    return dump_yaml(document, header=header)


@dataclass(frozen=True)
class AgentSettings:
    """One region's agent: what it scrapes, where it pushes, and how it names the region."""

    region: str
    """The ``region`` external label: added to every pushed series that has none (``up``)."""
    remote_write_url: str
    """The central server's ``/api/v1/write`` (or Mimir's, Thanos Receive's, Grafana Cloud's)."""
    runners: tuple[str, ...] = ("localhost:9150",)
    """host:port of each runner of the region (replicas, shards): their /metrics."""
    listen: str = "localhost:9090"
    """The agent's own ``--web.listen-address``: it scrapes itself there for the heartbeat."""
    scrape_interval: str = "15s"
    batch_send_deadline: str = "5s"
    """The longest a scraped sample waits in the agent before it is sent (Prometheus' default)."""


def render_agent_config(settings: AgentSettings) -> str:
    """The agent's prometheus.yml: scrape the region's runners and itself, push everything."""
    parse_duration(settings.scrape_interval)
    parse_duration(settings.batch_send_deadline)
    document = {
        "global": {
            "scrape_interval": settings.scrape_interval,
            "external_labels": {"region": settings.region},
        },
        "scrape_configs": [
            {
                "job_name": RUNNER_JOB,
                "honor_labels": True,
                "static_configs": [{"targets": list(settings.runners)}],
            },
            {
                "job_name": AGENT_JOB,
                "static_configs": [{"targets": [settings.listen]}],
                # Only the heartbeat (``up`` and the scrape's own series) is pushed, not the
                # agent's few hundred internal metrics.
                "metric_relabel_configs": [{"source_labels": ["__name__"], "regex": ".+", "action": "drop"}],
            },
        ],
        "remote_write": [
            {
                "url": settings.remote_write_url,
                "queue_config": {"batch_send_deadline": settings.batch_send_deadline},
            }
        ],
    }
    header = (
        f"# Prometheus agent for the runners of {settings.region}: they push to the central server.\n"
        "# Generated by `python -m monitoring` from monitoring/prometheus_config.py: edit that, not this file.\n"
        "#   prometheus --enable-feature=agent --config.file=THIS --storage.agent.path=/prometheus \\\n"
        f"#     --web.listen-address={settings.listen}\n"
        "# A receiver that wants credentials: add `authorization: {credentials_file: ...}` (or\n"
        "# basic_auth / sigv4) to remote_write, from a mounted secret, never inline.\n"
    )
    return dump_yaml(document, header=header)


CENTRAL_FILE = AGENT_DIR.parent / "central.yml"
"""The shipped central server for regions that push: the rules, Alertmanager, the platform and
the Pushgateway, and no runner job (the runners' series arrive by remote-write)."""


def central_file() -> dict[Path, str]:
    """The shipped example central config, its header saying how to start it."""
    settings = PrometheusSettings(
        runners={},
        services={
            "vault": "vault.casino.internal:8080",
            "concierge": "concierge.casino.internal:8080",
            "room_service": "room-service.casino.internal:8080",
        },
        alertmanager="alertmanager:9093",
        pushgateway="pushgateway:9091",
    )
    header = (
        "# Generated by `python -m monitoring` (monitoring/prometheus_config.py): do not edit.\n"
        "# The central Prometheus of a fleet whose regions push (prometheus/agent/<region>.yml):\n"
        "# no runner job, since the runners' series arrive by remote-write. Start it with the receiver:\n"
        "#   prometheus --config.file=central.yml --web.enable-remote-write-receiver\n"
        "# Regions it can reach may still be scraped: add prometheus.yml's mystery-guest job.\n"
    )
    return {CENTRAL_FILE: render_prometheus_config(settings, header=header)}


def agent_files() -> dict[Path, str]:
    """The shipped example agent configs, one per example region."""
    return {
        AGENT_DIR / f"{region}.yml": render_agent_config(AgentSettings(region, EXAMPLE_REMOTE_WRITE_URL))
        for region in EXAMPLE_REGIONS
    }
