"""The generated rules in a real Prometheus: two regions' runners fail chat, the pager hears of it.

The runners are stand-ins serving the runner's own metric objects (harness.metrics) on
loopback ports; Prometheus scrapes them every second with the rules rendered at 1/100 of
their ``for:``, and Alertmanager delivers to a local webhook. The end-to-end test with real
runner processes and fault injection lives in test_alerting_e2e.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from harness.metrics import RunnerMetrics
from monitoring.prometheus_config import PrometheusSettings
from monitoring.rules import RuleSettings, write_rule_files
from tests.local_server import QuietHandler, serving_in_a_thread
from tests.monitoring.monitoring_servers import Webhook, running_prometheus, wait_for

TARGET = "production"


class _Exporter:
    """Serves one region's runner metrics on a free loopback port."""

    def __init__(self, metrics: RunnerMetrics) -> None:
        registry = metrics.registry

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server API)
                body = generate_latest(registry)
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = serving_in_a_thread(Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"


def _runner(region: str, chat_passes: bool) -> RunnerMetrics:
    """A runner whose last two chat runs failed (unless ``chat_passes``); its bets pass."""
    metrics = RunnerMetrics(region, currencies=["USD"], dependency_allowlist=["kafka"])
    metrics.info.labels("test", region, "1/1").set(1)
    now = time.time()
    for scenario, passes in (("chat", chat_passes), ("bet_settlement", True)):
        labels = (scenario, TARGET, region)
        metrics.declare(scenario, TARGET, 60)
        metrics.success.labels(*labels).set(1 if passes else 0)
        metrics.last_run.labels(*labels).set(now)
        metrics.last_success.labels(*labels).set(now if passes else now - 130)
        metrics.runs.labels(*labels, "success").inc(10)
        if not passes:
            metrics.runs.labels(*labels, "failure").inc(2)
    metrics.dependency_up.labels("concierge", "kafka", TARGET, region).set(1)
    metrics.service_up.labels("vault", TARGET, region).set(1)
    return metrics


@pytest.fixture
def exporters() -> Iterator[dict[str, _Exporter]]:
    running_exporters = {
        "eu-west-1": _Exporter(_runner("eu-west-1", chat_passes=False)),
        "us-east-1": _Exporter(_runner("us-east-1", chat_passes=False)),
        "ap-southeast-1": _Exporter(_runner("ap-southeast-1", chat_passes=True)),
    }
    yield running_exporters
    for exporter in running_exporters.values():
        exporter.server.shutdown()
        exporter.server.server_close()


def test_two_failing_regions_page_the_chat_team(
    prometheus_binary: str,
    exporters: dict[str, _Exporter],
    alertmanager: str,
    webhook: Webhook,
    tmp_path: Path,
    free_port: Callable[[], int],
) -> None:
    write_rule_files(tmp_path / "rules", RuleSettings(for_scale=Decimal("0.01")))
    settings = PrometheusSettings(
        runners={region: exporter.address for region, exporter in exporters.items()},
        alertmanager=alertmanager.removeprefix("http://"),
        rule_files=(str(tmp_path / "rules" / "*.yml"),),
        scrape_interval="1s",
        evaluation_interval="1s",
    )
    with running_prometheus(prometheus_binary, settings, tmp_path, free_port()) as url:

        def paged() -> list[dict[str, Any]]:
            return [
                alert
                for where, payload in webhook.received
                if where == "/pager"
                for alert in payload["alerts"]
                if alert["labels"]["alertname"] == "JourneyFailingMultiRegion"
            ]

        def diagnose() -> str:
            firing = httpx.get(f"{url}/api/v1/alerts", timeout=5).json()
            routed = httpx.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
            return f"Prometheus: {firing}\nAlertmanager: {routed}\nwebhook: {webhook.received}"

        try:
            wait_for(lambda: paged(), "the chat page to reach the pager webhook", timeout=30)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{diagnose()}") from None
        (page,) = paged()
        assert page["labels"]["journey"] == "chat"
        assert page["labels"]["team"] == "realtime"
        assert page["annotations"]["summary"] == "Customer chat is failing in 2 of 3 regions"
        assert page["annotations"]["runbook_url"].endswith("/monitoring/runbooks/JourneyFailingMultiRegion.md")

        rules = httpx.get(f"{url}/api/v1/rules", timeout=5).json()["data"]["groups"]
        broken = [
            (rule.get("name"), rule.get("lastError"))
            for group in rules
            for rule in group["rules"]
            if rule["health"] != "ok"
        ]
        assert not broken, broken
        assert sum(len(group["rules"]) for group in rules) > 100

    assert not [labels for labels in webhook.delivered("/pager") if labels.get("journey") == "bets"]
