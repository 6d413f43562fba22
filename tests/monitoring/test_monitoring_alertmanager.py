"""alertmanager.yml: valid, routed as intended, and inhibiting symptoms of a known cause.

The inhibition tests run the real Alertmanager on a free loopback port, post alerts to its
API and read back which ones it silenced and which ones reached a local webhook.
"""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitoring.alertmanager import ALERTMANAGER_FILE
from tests.monitoring.monitoring_servers import Webhook, wait_for

Labels = dict[str, str]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_amtool_accepts_the_config(amtool: str) -> None:
    result = _run(amtool, "check-config", str(ALERTMANAGER_FILE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_amtool_rejects_a_broken_config(amtool: str, tmp_path: Path) -> None:
    broken = tmp_path / "alertmanager.yml"
    broken.write_text("route:\n  receiver: nobody\nreceivers: []\n", encoding="utf-8")
    assert _run(amtool, "check-config", str(broken)).returncode != 0


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=page", "journey=chat", "region=eu-west-1"], "pager"),
        (["severity=critical"], "pager"),
        (["severity=warning", "journey=bets"], "chat"),
        (["alertname=Unlabelled"], "chat"),
    ],
)
def test_pages_go_to_the_pager_and_warnings_to_chat(amtool: str, labels: list[str], receiver: str) -> None:
    result = _run(amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER_FILE}", *labels)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [receiver]


def _alert(name: str, severity: str, **labels: str) -> dict[str, Any]:
    ends = datetime.now(UTC) + timedelta(hours=1)
    return {
        "labels": {"alertname": name, "severity": severity, **labels},
        "annotations": {"summary": name},
        "endsAt": ends.isoformat(),
    }


_ALERTS = [
    # kafka down: rewards' journey page is its symptom, chat's is not
    _alert("DependencyDown", "page", layer="health", service="concierge", dependency="kafka", target="production"),
    _alert("JourneyFailingMultiRegion", "page", layer="synthetic", journey="rewards", target="production"),
    _alert("JourneyFailingMultiRegion", "page", layer="synthetic", journey="chat", target="production"),
    # a dead runner silences its own region's scenario alerts only
    _alert("RunnerDown", "warning", layer="runner", region="eu-west-1", instance="runner-eu:9464"),
    _alert(
        "JourneyFailingSingleRegion",
        "warning",
        layer="synthetic",
        journey="bets",
        region="eu-west-1",
        target="production",
    ),
    _alert(
        "JourneyFailingSingleRegion",
        "warning",
        layer="synthetic",
        journey="bets",
        region="us-east-1",
        target="production",
    ),
    # a region gone silent (its agent stopped pushing): its runner looks absent, its journeys
    # fail from there; all of it is the silence, said once
    _alert("RegionSilent", "warning", layer="runner", region="ap-southeast-1"),
    _alert("RunnerAbsent", "warning", layer="runner", region="ap-southeast-1"),
    _alert(
        "JourneyFailingSingleRegion",
        "warning",
        layer="synthetic",
        journey="bets",
        region="ap-southeast-1",
        target="production",
    ),
    # Vault down on staging: staging's deposits and Vault's own dependency are symptoms;
    # a guardrail breach never is, and production is another target
    _alert("ServiceDown", "page", layer="health", service="vault", target="staging"),
    _alert("JourneyFailingMultiRegion", "page", layer="synthetic", journey="deposits", target="staging"),
    _alert("DependencyDown", "page", layer="health", service="vault", dependency="database", target="staging"),
    _alert("GuardrailBreached", "page", layer="synthetic", journey="guardrails", region="us-east-1", target="staging"),
    _alert("JourneyFailingMultiRegion", "page", layer="synthetic", journey="deposits", target="production"),
]


def _key(labels: Labels) -> tuple[str, ...]:
    return (
        labels["alertname"],
        labels.get("journey", ""),
        labels.get("region", ""),
        labels.get("target", ""),
        labels.get("dependency", ""),
    )


_CAUSES = {"RunnerDown", "RegionSilent", "ServiceDown", "DependencyDown"}
_INHIBITED = {
    ("JourneyFailingMultiRegion", "rewards", "", "production", ""),
    ("JourneyFailingSingleRegion", "bets", "eu-west-1", "production", ""),
    ("RunnerAbsent", "", "ap-southeast-1", "", ""),
    ("JourneyFailingSingleRegion", "bets", "ap-southeast-1", "production", ""),
    ("JourneyFailingMultiRegion", "deposits", "", "staging", ""),
    ("DependencyDown", "", "", "staging", "database"),
}


def _post_alerts(url: str) -> None:
    """Post the causes first, as Prometheus would (they fire before their symptoms' for: ends)."""
    causes = [alert for alert in _ALERTS if alert["labels"]["alertname"] in _CAUSES]

    def known() -> int:
        return len(httpx.get(f"{url}/api/v2/alerts", timeout=5).json())

    for batch in (causes, _ALERTS):
        response = httpx.post(f"{url}/api/v2/alerts", json=batch, timeout=5)
        assert response.status_code == 200, response.text
        wait_for(lambda: known() >= len(batch), "Alertmanager to list the posted alerts")  # noqa: B023


def test_known_causes_inhibit_their_symptoms(alertmanager: str) -> None:
    _post_alerts(alertmanager)
    alerts = httpx.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
    assert len(alerts) == len(_ALERTS)
    inhibited = {_key(alert["labels"]) for alert in alerts if alert["status"]["inhibitedBy"]}
    assert inhibited == _INHIBITED


def test_only_uninhibited_alerts_reach_the_receivers(alertmanager: str, webhook: Webhook) -> None:
    _post_alerts(alertmanager)
    expected = {_key(alert["labels"]) for alert in _ALERTS} - _INHIBITED
    deadline = time.monotonic() + 30
    while {_key(labels) for labels in webhook.delivered("/pager") + webhook.delivered("/chat")} != expected:
        assert time.monotonic() < deadline, f"delivered so far: {webhook.received}"
        time.sleep(0.1)
    assert all(labels["severity"] == "page" for labels in webhook.delivered("/pager"))
    assert all(labels["severity"] == "warning" for labels in webhook.delivered("/chat"))
    assert {labels["alertname"] for labels in webhook.delivered("/chat")} == {
        "RunnerDown",
        "RegionSilent",
        "JourneyFailingSingleRegion",
    }
