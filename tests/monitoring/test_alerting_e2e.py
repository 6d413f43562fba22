"""Alerting end to end: a fault in the sandbox pages the right person, and only that page arrives.

Everything is a real process on loopback: the sandbox (``--profile fast``), two probe runners
(``python runner.py serve``, regions ``eu`` and ``us``, each with its own synthetic accounts),
Prometheus scraping both runners and the platform's services every second with the shipped
rules, and Alertmanager with the shipped routes and inhibitions, delivering to a webhook here.

Time runs 20 times faster than in production, in one place: ``SPEED``. The scenarios' intervals
(from the scenario classes), every ``for:`` (from the rule generator, ``RuleSettings.for_scale``)
and Alertmanager's timings (from ``AlertmanagerSettings``' defaults) are all divided by it, so
causes and symptoms race as they would in production. Scrape and evaluation stay at 1 s. The
error-budget burn rates are kept out of the judgement, with a ``for:`` longer than the test:
they read 5 min to 3 d of history, and a test with minutes of it sees any outage as the whole
budget gone (``slo_test.yml`` covers them with promtool).

1. ``chat_down``: Room-Service's ``/health`` reports its ``chat`` dependency down from both
   regions, so ``DependencyDown`` pages. The chat journey (``JourneyFailingMultiRegion``, no
   ``region`` label: the quorum) and uptime's fire in Prometheus, but they are its symptoms:
   Alertmanager inhibits them, and nothing else pages. Fault off: everything resolves.
2. ``stake_limit_not_enforced``: a guardrail gives way. Only the ``eu`` runner probes the
   guardrails, so ``GuardrailBreached`` pages from one region, at once, with no quorum.

The time from fault on to the page is printed and recorded in ``bench/TIME_TO_ALERT.md``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from harness.discovery import discover
from monitoring.alertmanager import AlertmanagerSettings, write_alertmanager
from monitoring.durations import scale_duration
from monitoring.prometheus_config import PrometheusSettings, render_prometheus_config
from monitoring.rules import RuleSettings, all_alerts, write_rule_files
from sandbox.testing import REPO_ROOT, SECRETS_DIR, SandboxHandle, running_sandbox
from tests.monitoring.monitoring_servers import Webhook, running

pytestmark = pytest.mark.slow

SPEED = 20
"""Production's time divided by this: intervals, ``for:``, group_wait and group_interval."""
SCALE = Decimal(1) / SPEED
TARGET = "sandbox"
REGIONS: dict[str, tuple[str, ...]] = {
    "eu": ("uptime", "chat", "guardrails"),
    "us": ("uptime", "chat"),
}
"""Scenarios per runner: the guardrails from one region only, to show they need no quorum."""
PLATFORM_SERVICES = ("vault", "concierge", "room_service")
OUT_OF_TEST = "1h"
"""``for:`` of the alerts this test does not judge (longer than the test: they stay pending)."""
_METRICS_LINE = re.compile(r"metrics at http://([\d.]+:\d+)/metrics")


def _scaled(duration: str) -> str:
    return scale_duration(duration, SCALE)


def _intervals() -> dict[str, float]:
    """Each scenario's production interval, sped up."""
    found = discover()
    names = {name for selected in REGIONS.values() for name in selected}
    return {name: found[name].interval_seconds / SPEED for name in sorted(names)}


def _rule_settings() -> RuleSettings:
    burn_alerts = {alert.name for alert in all_alerts() if alert.name.startswith("JourneyErrorBudget")}
    return RuleSettings(for_scale=SCALE, for_overrides=dict.fromkeys(burn_alerts, OUT_OF_TEST))


def _alertmanager_settings(webhook: Webhook) -> AlertmanagerSettings:
    shipped = AlertmanagerSettings()
    timings = {
        field.name: _scaled(getattr(shipped, field.name)) for field in fields(shipped) if not field.name.endswith("url")
    }
    return AlertmanagerSettings(pager_url=f"{webhook.url}/pager", chat_url=f"{webhook.url}/chat", **timings)


# --- the processes ---------------------------------------------------------------------------


def _runner_config(sandbox: SandboxHandle, path: Path, artifacts: Path) -> Path:
    """The sandbox config with this sandbox's ports, absolute secret paths and sped-up intervals."""
    config: dict[str, Any] = yaml.safe_load((REPO_ROOT / "config" / "sandbox.yaml").read_text())
    config["runner"].update(listen="127.0.0.1:0", artifacts_dir=str(artifacts), shutdown_grace_seconds=2)
    target = config["targets"][TARGET]
    target.update(
        vault_url=sandbox.vault_url,
        concierge_url=sandbox.concierge_url,
        room_service_url=sandbox.room_service_url,
        spa_url=sandbox.cdn_url,
        stake_budget_usd_per_day="1000000.00",
        reset_secret={"file": str(SECRETS_DIR / "reset_secret")},
    )
    target["accounts"]["password"] = {"file": str(SECRETS_DIR / "probe_password")}
    intervals = _intervals()
    config["scenarios"] = {
        "only": sorted(intervals),
        "overrides": {name: {"interval_seconds": seconds} for name, seconds in intervals.items()},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@contextmanager
def _runner(config: Path, region: str, log_path: Path) -> Iterator[str]:
    """``runner.py serve`` for one region on a port of its choosing; yields its host:port."""
    command = [sys.executable, str(REPO_ROOT / "runner.py"), "serve", "--config", str(config), "--region", region]
    command += ["--max-start-offset", "1"]
    for scenario in REGIONS[region]:
        command += ["--scenario", scenario]
    environment = {name: value for name, value in os.environ.items() if not name.startswith("MG_")}
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=environment)
    try:
        deadline = time.monotonic() + 30
        while not (found := _METRICS_LINE.search(log_path.read_text())):
            assert process.poll() is None, f"runner {region} exited: {log_path.read_text()}"
            assert time.monotonic() < deadline, f"runner {region} did not start: {log_path.read_text()}"
            time.sleep(0.1)
        address = found.group(1)
        assert httpx.get(f"http://{address}/readyz", timeout=5, trust_env=False).status_code == 200
        yield address
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _binary(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: apt-get install -y {package}")
    return path


@dataclass
class Stack:
    sandbox: SandboxHandle
    prometheus: str
    alertmanager: str
    webhook: Webhook

    def firing(self) -> list[dict[str, str]]:
        """Labels of the alerts Prometheus has firing now."""
        response = httpx.get(f"{self.prometheus}/api/v1/alerts", timeout=5, trust_env=False)
        return [a["labels"] for a in response.json()["data"]["alerts"] if a["state"] == "firing"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.prometheus}/api/v1/query", params={"query": expr}, timeout=5, trust_env=False)
        result: list[dict[str, Any]] = response.json()["data"]["result"]
        return result

    def routed(self) -> list[dict[str, Any]]:
        """Alertmanager's alerts, each with ``status.inhibitedBy``."""
        alerts: list[dict[str, Any]] = httpx.get(f"{self.alertmanager}/api/v2/alerts", timeout=5).json()
        return alerts

    def pages(self, status: str = "firing") -> list[dict[str, str]]:
        """Labels of every alert delivered to the pager with ``status``, in order of arrival."""
        return [
            alert["labels"]
            for path, payload in list(self.webhook.received)
            if path == "/pager"
            for alert in payload["alerts"]
            if alert["status"] == status
        ]

    def diagnose(self) -> str:
        return f"Prometheus firing: {self.firing()}\nAlertmanager: {self.routed()}\nwebhook: {self.webhook.received}"


@pytest.fixture
def stack(tmp_path: Path, free_port: Callable[[], int], webhook: Webhook) -> Iterator[Stack]:
    prometheus_binary = _binary("prometheus", "prometheus")
    alertmanager_binary = _binary("prometheus-alertmanager", "prometheus-alertmanager")
    with ExitStack() as stack:
        sandbox = stack.enter_context(running_sandbox(tmp_path / "sandbox"))
        config = _runner_config(sandbox, tmp_path / "runner.yaml", tmp_path / "artifacts")
        runners = {
            region: stack.enter_context(_runner(config, region, tmp_path / f"runner-{region}.log"))
            for region in REGIONS
        }

        am_config = write_alertmanager(tmp_path / "alertmanager" / "alertmanager.yml", _alertmanager_settings(webhook))
        am_port = free_port()
        alertmanager = f"http://127.0.0.1:{am_port}"
        am_command = [
            alertmanager_binary,
            f"--config.file={am_config}",
            f"--storage.path={tmp_path / 'alertmanager' / 'data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
        ]
        stack.enter_context(running(am_command, f"{alertmanager}/-/ready", tmp_path / "alertmanager.log"))

        write_rule_files(tmp_path / "rules", _rule_settings())
        prometheus_config = tmp_path / "prometheus.yml"
        prometheus_config.write_text(
            render_prometheus_config(
                PrometheusSettings(
                    runners=runners,
                    services={service: sandbox.url(service).removeprefix("http://") for service in PLATFORM_SERVICES},
                    target=TARGET,
                    alertmanager=alertmanager.removeprefix("http://"),
                    rule_files=(str(tmp_path / "rules" / "*.yml"),),
                    scrape_interval="1s",
                    evaluation_interval="1s",
                )
            ),
            encoding="utf-8",
        )
        port = free_port()
        prometheus = f"http://127.0.0.1:{port}"
        command = [
            prometheus_binary,
            f"--config.file={prometheus_config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ]
        stack.enter_context(running(command, f"{prometheus}/-/ready", tmp_path / "prometheus.log"))
        yield Stack(sandbox, prometheus, alertmanager, webhook)


# --- waiting and measuring ---------------------------------------------------------------------


def _until(stack: Stack, condition: Callable[[], Any], what: str, timeout: float) -> float:
    """Poll ``condition`` every 50 ms; return the wall-clock time it first held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n{stack.diagnose()}")
        time.sleep(0.05)
    return time.time()


def _key(labels: dict[str, str]) -> tuple[str, ...]:
    """What tells two pages apart in this test."""
    return tuple(labels.get(name, "") for name in ("alertname", "journey", "service", "dependency", "region"))


def _passing_everywhere(stack: Stack) -> bool:
    """Every scenario has passed from its regions since its last failure, as Prometheus sees it."""
    wanted = sum(len(names) for names in REGIONS.values())
    passing = stack.query(
        f'synthetic_scenario_success{{target="{TARGET}"}} == 1 '
        f'and on (scenario, region) synthetic_scenario_runs_total{{result="success"}} >= 1'
    )
    return len(passing) == wanted


def _firing_named(stack: Stack, alertname: str, **labels: str) -> list[dict[str, str]]:
    return [
        alert
        for alert in stack.firing()
        if alert["alertname"] == alertname and all(alert.get(k) == v for k, v in labels.items())
    ]


def _inhibited(stack: Stack, alertname: str, **labels: str) -> bool:
    return any(
        alert["labels"]["alertname"] == alertname
        and all(alert["labels"].get(k) == v for k, v in labels.items())
        and alert["status"]["inhibitedBy"]
        for alert in stack.routed()
    )


def _bounds(phase: str, interval: float, for_: str, measured: float) -> str:
    """One line for bench/TIME_TO_ALERT.md: the measurement and what bounds it."""
    shipped = AlertmanagerSettings()
    return (
        f"{phase}: {measured:.2f} s (scenario interval {interval:g} s, scrape 1 s, evaluation 1 s, "
        f"for {_scaled(for_)}, group_wait {_scaled(shipped.group_wait)})"
    )


def test_chat_down_pages_its_cause_once_and_a_guardrail_breach_pages_at_once(stack: Stack) -> None:
    intervals = _intervals()
    rules = {alert.name: alert for alert in all_alerts()}
    _until(stack, lambda: _passing_everywhere(stack), "every scenario to pass from every region", timeout=60)
    assert stack.pages() == [], "nothing may page while the platform is healthy"

    # 1. Customer chat goes down.
    fault_on = time.time()
    stack.sandbox.fault_on("chat_down")
    cause = {
        "alertname": "DependencyDown",
        "severity": "page",
        "layer": "health",
        "service": "room_service",
        "dependency": "chat",
        "target": TARGET,
    }
    paged = _until(stack, lambda: stack.pages(), "the chat_down page", timeout=60)
    chat_delay = paged - fault_on
    print(f"\nchat_down -> DependencyDown page in {chat_delay:.2f} s")
    assert stack.pages() == [cause], stack.diagnose()

    # The journeys fail from both regions: their pages fire, but Alertmanager holds them back.
    journey = {"severity": "page", "layer": "synthetic", "target": TARGET}
    _until(
        stack,
        lambda: (
            _firing_named(stack, "JourneyFailingMultiRegion", journey="chat")
            and _inhibited(stack, "JourneyFailingMultiRegion", journey="chat")
            and _inhibited(stack, "JourneyFailingMultiRegion", journey="uptime")
        ),
        "the chat and uptime journey pages to fire, inhibited",
        timeout=60,
    )
    (chat_page,) = _firing_named(stack, "JourneyFailingMultiRegion", journey="chat")
    assert chat_page == {**journey, "alertname": "JourneyFailingMultiRegion", "journey": "chat", "team": "realtime"}
    assert "region" not in chat_page, "a multi-region page stands for the quorum, not one region"
    assert not _firing_named(stack, "ServiceDown"), "Room-Service is up: only its chat dependency is down"
    assert [_key(labels) for labels in stack.pages()] == [_key(cause)], stack.diagnose()

    # Chat is back: the cause resolves (after keep_firing_for), its symptoms before it; nothing else paged.
    fault_off = time.time()
    stack.sandbox.fault_off("chat_down")
    resolved = _until(stack, lambda: stack.pages("resolved"), "the chat_down page to resolve", timeout=90)
    print(f"chat back -> DependencyDown resolved in {resolved - fault_off:.2f} s")
    assert [_key(labels) for labels in stack.pages("resolved")] == [_key(cause)]
    _until(
        stack,
        lambda: not [a for a in stack.firing() if a["severity"] == "page"],
        "every page to stop firing in Prometheus",
        timeout=30,
    )
    assert [_key(labels) for labels in stack.pages()] == [_key(cause)], stack.diagnose()

    # 2. A guardrail gives way: one region is enough, and it pages at once.
    fault_on = time.time()
    stack.sandbox.fault_on("stake_limit_not_enforced")
    breach = {
        "alertname": "GuardrailBreached",
        "severity": "page",
        "layer": "synthetic",
        "journey": "guardrails",
        "team": "risk",
        "scenario": "guardrails",
        "step": "stake above max",
        "region": "eu",
        "target": TARGET,
    }
    paged = _until(stack, lambda: len(stack.pages()) > 1, "the guardrail page", timeout=90)
    breach_delay = paged - fault_on
    stack.sandbox.fault_off("stake_limit_not_enforced")
    print(f"stake_limit_not_enforced -> GuardrailBreached page in {breach_delay:.2f} s")
    assert stack.pages()[1:] == [breach], stack.diagnose()
    assert not [labels for labels in stack.webhook.delivered("/chat") if labels["severity"] == "page"]

    for line in (
        _bounds("chat_down -> DependencyDown", intervals["uptime"], rules["DependencyDown"].for_, chat_delay),
        _bounds(
            "stake_limit_not_enforced -> GuardrailBreached",
            intervals["guardrails"],
            rules["GuardrailBreached"].for_,
            breach_delay,
        ),
    ):
        print(line)
