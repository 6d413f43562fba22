"""Alertmanager routes and inhibitions, rendered from the same journey data as the rules.

Alerts are routed by their ``team`` label (each journey's owner, monitoring/journeys.py):
a team's pages go to its PagerDuty service, its warnings to its Slack channel, grouped by
journey and region; an alert without a known team goes to sre. Secrets are files, never in
this file: ``routing_key_file`` and ``api_url_file`` under ``SECRETS_DIR``. A test (or an
alert bridge) gives webhook URLs instead.

When the cause is already paging, the symptoms stay quiet: a dead runner silences the
scenarios it probed, a service or dependency that is down silences the journeys that need
it, a page silences the same journey's warnings. A planned maintenance window (declared in
the runner's config) mutes the pages of the journeys that need its services, on its targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.maintenance import MaintenanceWindow
from monitoring.journeys import DEPENDENCY_IMPACTS, JOURNEYS, SERVICES
from monitoring.maintenance import mute_routes, service_mute_routes, time_interval
from monitoring.yamltext import dump_yaml

__all__ = [
    "ALERTMANAGER_FILE",
    "AlertmanagerSettings",
    "SECRETS_DIR",
    "chat",
    "inhibit_rules",
    "pager",
    "teams",
    "render_alertmanager",
    "write_alertmanager",
]

ALERTMANAGER_FILE = Path(__file__).resolve().parent / "alertmanager" / "alertmanager.yml"

SECRETS_DIR = "/etc/alertmanager/secrets"
FALLBACK_TEAM = "sre"
_PAGES = 'severity=~"page|critical"'


def teams() -> list[str]:
    """Every team that owns a journey, plus sre (alerts without a team)."""
    return sorted({journey.team for journey in JOURNEYS} | {FALLBACK_TEAM})


def pager(team: str) -> str:
    return f"{team}-pager"


def chat(team: str) -> str:
    return f"{team}-chat"


_GROUPS = ["journey", "region"]
_CAUSE_GROUPS = [*_GROUPS, "service", "dependency"]
"""The services' own pages (``ServiceDown``, ``DependencyDown``: no team, no journey) each in a group
of their own: a cause that joined the group of an earlier one, even one resolved minutes ago, would
wait for that group's ``group_interval`` (5 m), not ``group_wait``."""

_JOURNEY_SYMPTOMS = ['layer="synthetic"', 'alertname!="GuardrailBreached"']
"""Journey alerts a known cause may silence; a guardrail breach is never a mere symptom."""


@dataclass(frozen=True)
class AlertmanagerSettings:
    """Receivers' addresses and timings: the shipped defaults, or a test's local webhook."""

    pager_url: str | None = None
    """A webhook for every team's pages; None: each team's PagerDuty service."""
    chat_url: str | None = None
    """A webhook for every team's warnings; None: each team's Slack channel."""
    group_wait: str = "30s"
    page_group_wait: str = "5s"
    """A page waits only this long for alerts of its group: a page within a minute needs the time."""
    group_interval: str = "5m"
    page_repeat_interval: str = "1h"
    warning_repeat_interval: str = "12h"
    resolve_timeout: str = "5m"


def _alternatives(names: list[str] | tuple[str, ...]) -> str:
    return "|".join(names)


def inhibit_rules() -> list[dict[str, Any]]:
    """Cause silences symptom; each rule says which labels must be equal."""
    rules: list[dict[str, Any]] = [
        {
            "source_matchers": ['alertname=~"RunnerDown|RunnerAbsent|RegionSilent"'],
            "target_matchers": ['layer="synthetic"'],
            "equal": ["region"],
        },
        {
            # Nothing arrives from a silent region, so its runners look gone too.
            "source_matchers": ['alertname="RegionSilent"'],
            "target_matchers": ['alertname=~"RunnerDown|RunnerAbsent"'],
            "equal": ["region"],
        },
        {
            "source_matchers": ['alertname=~"JourneyFailingMultiRegion|JourneyErrorBudgetFastBurn"'],
            "target_matchers": ['alertname=~"JourneyFailingSingleRegion|JourneyErrorBudgetSlowBurn"'],
            "equal": ["journey", "target"],
        },
        {
            "source_matchers": ['alertname="TLSCertExpiringCritical"'],
            "target_matchers": ['alertname="TLSCertExpiringSoon"'],
            "equal": ["service", "target"],
        },
        {
            "source_matchers": ['alertname="ServiceDown"'],
            "target_matchers": ['alertname="DependencyDown"'],
            "equal": ["service", "target"],
        },
    ]
    for service in SERVICES:
        needing = [journey.name for journey in JOURNEYS if service in journey.services]
        if needing:
            rules.append(
                {
                    "source_matchers": ['alertname="ServiceDown"', f'service="{service}"'],
                    "target_matchers": [
                        *_JOURNEY_SYMPTOMS,
                        f'journey=~"{_alternatives(needing)}"',
                    ],
                    "equal": ["target"],
                }
            )
    for impact in DEPENDENCY_IMPACTS:
        source = ['alertname="DependencyDown"', f'dependency="{impact.dependency}"']
        if impact.service is not None:
            source.append(f'service="{impact.service}"')
        rules.append(
            {
                "source_matchers": source,
                "target_matchers": [
                    *_JOURNEY_SYMPTOMS,
                    f'journey=~"{_alternatives(impact.journeys)}"',
                ],
                "equal": ["target"],
            }
        )
    return rules


def _receivers(settings: AlertmanagerSettings) -> list[dict[str, Any]]:
    receivers: list[dict[str, Any]] = []
    for team in teams():
        if settings.pager_url:
            page: dict[str, Any] = {"webhook_configs": [{"url": settings.pager_url, "send_resolved": True}]}
        else:
            page = {
                "pagerduty_configs": [
                    {
                        "routing_key_file": f"{SECRETS_DIR}/pagerduty-{team}",
                        "send_resolved": True,
                        "description": "{{ .CommonAnnotations.summary }}",
                        "details": {"runbook": "{{ .CommonAnnotations.runbook_url }}"},
                    }
                ]
            }
        if settings.chat_url:
            warn: dict[str, Any] = {"webhook_configs": [{"url": settings.chat_url, "send_resolved": True}]}
        else:
            warn = {
                "slack_configs": [
                    {
                        "api_url_file": f"{SECRETS_DIR}/slack-webhook-url",
                        "channel": f"#{team}-alerts",
                        "send_resolved": True,
                        "title": "{{ .CommonAnnotations.summary }}",
                        "title_link": "{{ .CommonAnnotations.runbook_url }}",
                        "text": "{{ .CommonAnnotations.description }}",
                    }
                ]
            }
        receivers += [{"name": pager(team), **page}, {"name": chat(team), **warn}]
    return receivers


def _team_route(team: str, settings: AlertmanagerSettings, windows: Sequence[MaintenanceWindow]) -> dict[str, Any]:
    page = {
        "receiver": pager(team),
        "matchers": [_PAGES],
        "group_wait": settings.page_group_wait,
        "repeat_interval": settings.page_repeat_interval,
    }
    owned = [journey for journey in JOURNEYS if journey.team == team]
    return {
        "receiver": chat(team),
        "matchers": [f'team="{team}"'],
        "routes": [*mute_routes(owned, windows, page), page],
    }


def render_alertmanager(settings: AlertmanagerSettings | None = None, windows: Sequence[MaintenanceWindow] = ()) -> str:
    """The alertmanager.yml text; ``windows`` are the runner config's maintenance windows."""
    settings = settings or AlertmanagerSettings()
    fallback_page = {
        "receiver": pager(FALLBACK_TEAM),
        "matchers": [_PAGES],
        "group_by": _CAUSE_GROUPS,
        "group_wait": settings.page_group_wait,
        "repeat_interval": settings.page_repeat_interval,
    }
    document: dict[str, Any] = {
        "global": {"resolve_timeout": settings.resolve_timeout},
        "route": {
            "receiver": chat(FALLBACK_TEAM),
            "group_by": _GROUPS,
            "group_wait": settings.group_wait,
            "group_interval": settings.group_interval,
            "repeat_interval": settings.warning_repeat_interval,
            "routes": [
                *(_team_route(team, settings, windows) for team in teams()),
                *service_mute_routes(windows, fallback_page),
                fallback_page,
            ],
        },
        "receivers": _receivers(settings),
        "inhibit_rules": inhibit_rules(),
    }
    if windows:
        document["time_intervals"] = [time_interval(window) for window in windows]
    return dump_yaml(document)


def write_alertmanager(
    path: Path, settings: AlertmanagerSettings | None = None, windows: Sequence[MaintenanceWindow] = ()
) -> Path:
    """Write the config to ``path`` (e.g. a test's temporary directory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_alertmanager(settings, windows), encoding="utf-8")
    return path
