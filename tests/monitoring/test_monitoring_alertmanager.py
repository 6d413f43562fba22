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
import yaml

from monitoring.alertmanager import ALERTMANAGER_FILE
from monitoring.journeys import JOURNEYS
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
        (["severity=page", "team=realtime", "journey=chat", "region=eu-west-1"], "realtime-pager"),
        (["severity=critical"], "sre-pager"),
        (["severity=warning", "team=payments-ledger", "journey=bets"], "payments-ledger-chat"),
        (["severity=page", "team=risk", "journey=guardrails"], "risk-pager"),
        (["alertname=Unlabelled"], "sre-chat"),
        (["severity=page", "team=nobody-we-know"], "sre-pager"),
    ],
)
def test_pages_go_to_the_teams_pager_and_warnings_to_its_chat(amtool: str, labels: list[str], receiver: str) -> None:
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


def test_each_cause_pages_in_a_group_of_its_own(alertmanager: str) -> None:
    """Sharing a group with an earlier cause, even a resolved one, a cause would wait group_interval."""
    causes = [
        _alert("DependencyDown", "page", layer="health", service="room_service", dependency="chat", target="sandbox"),
        _alert("ServiceDown", "page", layer="health", service="vault", target="sandbox"),
    ]
    response = httpx.post(f"{alertmanager}/api/v2/alerts", json=causes, timeout=5)
    assert response.status_code == 200, response.text

    def pager_groups() -> list[Labels]:
        groups = httpx.get(f"{alertmanager}/api/v2/alerts/groups", timeout=5).json()
        return [group["labels"] for group in groups if group["receiver"]["name"] == "sre-pager"]

    wait_for(lambda: len(pager_groups()) >= len(causes), "both causes to be grouped")
    assert sorted(pager_groups(), key=lambda labels: labels["service"]) == [
        {"service": "room_service", "dependency": "chat"},
        {"service": "vault"},
    ]


def test_every_journey_team_has_a_pager_and_a_chat_with_secrets_in_files() -> None:
    document = yaml.safe_load(ALERTMANAGER_FILE.read_text(encoding="utf-8"))
    receivers = {receiver["name"]: receiver for receiver in document["receivers"]}
    for team in {journey.team for journey in JOURNEYS}:
        (pagerduty,) = receivers[f"{team}-pager"]["pagerduty_configs"]
        assert pagerduty["routing_key_file"] == f"/etc/alertmanager/secrets/pagerduty-{team}"
        (slack,) = receivers[f"{team}-chat"]["slack_configs"]
        assert slack["api_url_file"] and slack["channel"] == f"#{team}-alerts"
    assert "routing_key:" not in ALERTMANAGER_FILE.read_text() and "api_url:" not in ALERTMANAGER_FILE.read_text()


def test_the_shipped_window_mutes_its_journeys_pages_only(amtool: str) -> None:
    """config/sandbox.yaml declares a Vault window on target sandbox: amtool shows the muted routes."""
    document = yaml.safe_load(ALERTMANAGER_FILE.read_text(encoding="utf-8"))
    (interval,) = document["time_intervals"]
    assert interval["name"] == "maintenance-vault-migration-example"
    muted = [
        route
        for team_route in document["route"]["routes"]
        for route in team_route.get("routes", [team_route])
        if route.get("mute_time_intervals")
    ]
    journeys = {m.split('"')[1] for route in muted for m in route["matchers"] if m.startswith("journey=")}
    assert journeys == {j.name for j in JOURNEYS if "vault" in j.services}  # chat needs no Vault
    assert all('target="sandbox"' in route["matchers"] and route["receiver"].endswith("-pager") for route in muted)
