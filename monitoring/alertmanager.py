"""Alertmanager routes and inhibitions, rendered from the same journey data as the rules.

Pages go to the pager, warnings to the team chat, grouped by journey and region. When the
cause is already paging, the symptoms stay quiet: a dead runner silences the scenarios it
probed, a service or dependency that is down silences the journeys that need it, a page
silences the same journey's warnings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitoring.journeys import DEPENDENCY_IMPACTS, JOURNEYS, SERVICES
from monitoring.yamltext import dump_yaml

__all__ = [
    "ALERTMANAGER_FILE",
    "AlertmanagerSettings",
    "inhibit_rules",
    "render_alertmanager",
    "write_alertmanager",
]

ALERTMANAGER_FILE = Path(__file__).resolve().parent / "alertmanager" / "alertmanager.yml"

PAGER = "pager"
CHAT = "chat"
_JOURNEY_SYMPTOMS = ['layer="synthetic"', 'alertname!="GuardrailBreached"']
"""Journey alerts a known cause may silence; a guardrail breach is never a mere symptom."""


@dataclass(frozen=True)
class AlertmanagerSettings:
    """Receivers' addresses and timings: the shipped defaults, or a test's local webhook."""

    pager_url: str = "http://alert-bridge:9097/pager"
    chat_url: str = "http://alert-bridge:9097/chat"
    group_wait: str = "30s"
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


def render_alertmanager(settings: AlertmanagerSettings | None = None) -> str:
    """The alertmanager.yml text."""
    settings = settings or AlertmanagerSettings()
    document = {
        "global": {"resolve_timeout": settings.resolve_timeout},
        "route": {
            "receiver": CHAT,
            "group_by": ["journey", "region"],
            "group_wait": settings.group_wait,
            "group_interval": settings.group_interval,
            "repeat_interval": settings.warning_repeat_interval,
            "routes": [
                {
                    "receiver": PAGER,
                    "matchers": ['severity=~"page|critical"'],
                    "repeat_interval": settings.page_repeat_interval,
                },
                {"receiver": CHAT, "matchers": ['severity="warning"']},
            ],
        },
        "receivers": [
            {
                "name": PAGER,
                "webhook_configs": [{"url": settings.pager_url, "send_resolved": True}],
            },
            {
                "name": CHAT,
                "webhook_configs": [{"url": settings.chat_url, "send_resolved": True}],
            },
        ],
        "inhibit_rules": inhibit_rules(),
    }
    return dump_yaml(document)


def write_alertmanager(path: Path, settings: AlertmanagerSettings | None = None) -> Path:
    """Write the config to ``path`` (e.g. a test's temporary directory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_alertmanager(settings), encoding="utf-8")
    return path
