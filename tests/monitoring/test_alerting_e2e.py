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
   regions, so ``DependencyDown`` pages. The chat and uptime journeys fail from both regions,
   but they are its symptoms: their pages (``JourneyFailingMultiRegion``) do not even go
   pending while the cause holds, and nothing else pages. Fault off: everything resolves.
2. ``stake_limit_not_enforced``: a guardrail gives way. Only the ``eu`` runner probes the
   guardrails, so ``GuardrailBreached`` pages from one region, at once, with no quorum.
3. ``db_down``: a whole-Vault outage (every balance, bet and payment fails). Bets fail from
   both regions and their page has ``for: 0s``, faster than the cause's ``for:``; still the
   on-call gets one page, ``DependencyDown`` for Vault's database, also while Vault recovers.

The time from fault on to the page is printed and recorded in ``bench/TIME_TO_ALERT.md``.

The fleet as deployed, where regions push (``fleet``): each region has its own sandbox (a
fault hits every account alike, so a region's own view of the platform needs its own
platform), its runner, and a Prometheus agent (``--enable-feature=agent``, the config of
``monitoring.prometheus_config.render_agent_config``) that scrapes the runner and itself and
remote-writes to one central Prometheus (``--web.enable-remote-write-receiver``), which scrapes
nothing and evaluates the shipped rules. Time runs ``FLEET_SPEED`` times faster. The
``rates_stale`` fault from one region warns, from both it pages, the page resolves when the
fault clears, and a stopped agent makes its region silent (``RegionSilent``).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.discovery import discover
from monitoring.alertmanager import AlertmanagerSettings, write_alertmanager
from monitoring.durations import parse_duration, scale_duration
from monitoring.prometheus_config import (
    AgentSettings,
    PrometheusSettings,
    render_agent_config,
    render_prometheus_config,
)
from monitoring.rules import RuleSettings, all_alerts, write_rule_files
from sandbox.testing import REPO_ROOT, SandboxHandle, running_sandbox
from tests.monitoring.monitoring_servers import Webhook, running, running_alertmanager
from tests.support import TARGET, stop_process, write_config

pytestmark = pytest.mark.slow

SPEED = 20
"""Production's time divided by this: intervals, ``for:``, group_wait and group_interval."""
SCALE = Decimal(1) / SPEED
Regions = Mapping[str, tuple[str, ...]]
REGIONS: Regions = {
    "eu": ("uptime", "chat", "guardrails", "bet_settlement"),
    "us": ("uptime", "chat", "bet_settlement"),
}
"""Scenarios per runner: the guardrails from one region only, to show they need no quorum;
bets from both, the fastest page that a Vault outage could send on its own."""
FLEET_SPEED = 60
"""The fleet's time: rates_freshness every second, the single-region warning's for: 5 s."""
FLEET_REGIONS: Regions = {"eu": ("rates_freshness",), "us": ("rates_freshness",)}
FLEET_SILENT_AFTER = "6s"
"""RegionSilent's window: six of the agents' 1 s scrapes and remote-write batches (2 min shipped)."""
FLEET_OUT_OF_TEST = ("SyntheticMonitoringBlind",)
"""Not judged in the fleet: an agent pushes its first samples some 6 s after it starts (it reads
its write-ahead log first). That delay does not shrink with ``FLEET_SPEED``: against the 5 s
``for:`` it is six minutes of blindness at the start, where in production it is 6 s of 5 min."""
PLATFORM_SERVICES = ("vault", "concierge", "room_service")
OUT_OF_TEST = "1h"
"""``for:`` of the alerts this test does not judge (longer than the test: they stay pending)."""
_METRICS_LINE = re.compile(r"metrics at http://([\d.]+:\d+)/metrics")


def _scaled(duration: str, speed: int = SPEED) -> str:
    return scale_duration(duration, Decimal(1) / speed)


def _intervals(regions: Regions = REGIONS, speed: int = SPEED) -> dict[str, float]:
    """Each scenario's production interval, sped up."""
    found = discover()
    names = {name for selected in regions.values() for name in selected}
    return {name: found[name].interval_seconds / speed for name in sorted(names)}


def _rule_settings(speed: int = SPEED, not_judged: tuple[str, ...] = (), **settings: Any) -> RuleSettings:
    burn_alerts = [alert.name for alert in all_alerts() if alert.name.startswith("JourneyErrorBudget")]
    overrides = dict.fromkeys([*burn_alerts, *not_judged], OUT_OF_TEST)
    return RuleSettings(for_scale=Decimal(1) / speed, for_overrides=overrides, **settings)


def _alertmanager_settings(webhook: Webhook, speed: int = SPEED) -> AlertmanagerSettings:
    shipped = AlertmanagerSettings()
    timings = {
        field.name: _scaled(getattr(shipped, field.name), speed)
        for field in fields(shipped)
        if not field.name.endswith("url")
    }
    return AlertmanagerSettings(pager_url=f"{webhook.url}/pager", chat_url=f"{webhook.url}/chat", **timings)


# --- the processes ---------------------------------------------------------------------------


def _runner_config(sandbox: SandboxHandle, folder: Path, intervals: Mapping[str, float]) -> Path:
    """The sandbox config at this sandbox, serving on a free port, only ``intervals``' scenarios at those intervals."""
    return write_config(
        folder,
        sandbox,
        [],
        runner={"listen": "127.0.0.1:0", "shutdown_grace_seconds": 2},
        target={"stake_budget_usd_per_day": "1000000.00"},
        scenarios={
            "only": sorted(intervals),
            "overrides": {name: {"interval_seconds": seconds} for name, seconds in intervals.items()},
        },
    )


@contextmanager
def _runner(config: Path, region: str, scenarios: tuple[str, ...], log_path: Path) -> Iterator[str]:
    """``runner.py serve`` for one region on a port of its choosing; yields its host:port."""
    command = [sys.executable, str(REPO_ROOT / "runner.py"), "serve", "--config", str(config), "--region", region]
    command += ["--max-start-offset", "1"]
    for scenario in scenarios:
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
        stop_process(process, 15)


def _binary(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: apt-get install -y {package}")
    return path


@contextmanager
def _alertmanager(settings: AlertmanagerSettings, work: Path, port: int) -> Iterator[str]:
    """Alertmanager with the shipped routes and inhibitions on ``port``; yields its URL."""
    config = write_alertmanager(work / "alertmanager.yml", settings)
    binary = _binary("prometheus-alertmanager", "prometheus-alertmanager")
    with running_alertmanager(binary, config, work, port) as url:
        yield url


@contextmanager
def _prometheus(config_text: str, work: Path, port: int, *flags: str) -> Iterator[str]:
    """Prometheus on ``port`` with this config (and e.g. agent-mode flags); yields its URL."""
    work.mkdir(parents=True, exist_ok=True)
    config = work / "prometheus.yml"
    config.write_text(config_text, encoding="utf-8")
    url = f"http://127.0.0.1:{port}"
    command = [
        _binary("prometheus", "prometheus"),
        f"--config.file={config}",
        f"--web.listen-address=127.0.0.1:{port}",
        *flags,
    ]
    with running(command, f"{url}/-/ready", work / "prometheus.log"):
        yield url


@dataclass
class Alerting:
    """The Prometheus that evaluates the rules, the Alertmanager it sends to, and the webhook."""

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
        return self._delivered("/pager", status)

    def warnings(self, status: str = "firing") -> list[dict[str, str]]:
        """Labels of every alert posted to the team chat with ``status``, in order of arrival."""
        return self._delivered("/chat", status)

    def _delivered(self, receiver: str, status: str) -> list[dict[str, str]]:
        return [
            alert["labels"]
            for path, payload in list(self.webhook.received)
            if path == receiver
            for alert in payload["alerts"]
            if alert["status"] == status
        ]

    def diagnose(self) -> str:
        return f"Prometheus firing: {self.firing()}\nAlertmanager: {self.routed()}\nwebhook: {self.webhook.received}"


@dataclass
class Stack(Alerting):
    """One sandbox that both regions' runners probe, scraped by the Prometheus that alerts."""

    sandbox: SandboxHandle


@pytest.fixture
def stack(tmp_path: Path, free_port: Callable[[], int], webhook: Webhook) -> Iterator[Stack]:
    with ExitStack() as stack:
        sandbox = stack.enter_context(running_sandbox(tmp_path / "sandbox"))
        config = _runner_config(sandbox, tmp_path, _intervals())
        runners = {
            region: stack.enter_context(_runner(config, region, scenarios, tmp_path / f"runner-{region}.log"))
            for region, scenarios in REGIONS.items()
        }
        alertmanager = stack.enter_context(
            _alertmanager(_alertmanager_settings(webhook), tmp_path / "alertmanager", free_port())
        )
        write_rule_files(tmp_path / "rules", _rule_settings())
        prometheus_config = render_prometheus_config(
            PrometheusSettings(
                runners=runners,
                services={service: sandbox.url(service).removeprefix("http://") for service in PLATFORM_SERVICES},
                target=TARGET,
                alertmanager=alertmanager.removeprefix("http://"),
                rule_files=(str(tmp_path / "rules" / "*.yml"),),
                scrape_interval="1s",
                evaluation_interval="1s",
            )
        )
        prometheus = stack.enter_context(
            _prometheus(
                prometheus_config, tmp_path / "prometheus", free_port(), f"--storage.tsdb.path={tmp_path / 'tsdb'}"
            )
        )
        yield Stack(prometheus, alertmanager, webhook, sandbox)


@dataclass
class Fleet(Alerting):
    """Regions that push: per region a sandbox, a runner and an agent; one central Prometheus."""

    sandboxes: dict[str, SandboxHandle]
    agents: dict[str, ExitStack]
    """Closing one stops that region's agent."""


@pytest.fixture
def fleet(tmp_path: Path, free_port: Callable[[], int], webhook: Webhook) -> Iterator[Fleet]:
    intervals = _intervals(FLEET_REGIONS, FLEET_SPEED)
    with ExitStack() as stack:
        sandboxes: dict[str, SandboxHandle] = {}
        runners: dict[str, str] = {}
        for region, scenarios in FLEET_REGIONS.items():
            work = tmp_path / region
            sandboxes[region] = stack.enter_context(running_sandbox(work / "sandbox"))
            config = _runner_config(sandboxes[region], work, intervals)
            runners[region] = stack.enter_context(_runner(config, region, scenarios, work / "runner.log"))
        alertmanager = stack.enter_context(
            _alertmanager(_alertmanager_settings(webhook, FLEET_SPEED), tmp_path / "alertmanager", free_port())
        )
        write_rule_files(
            tmp_path / "rules", _rule_settings(FLEET_SPEED, FLEET_OUT_OF_TEST, region_silent_after=FLEET_SILENT_AFTER)
        )
        central_config = render_prometheus_config(
            PrometheusSettings(
                runners={},
                alertmanager=alertmanager.removeprefix("http://"),
                rule_files=(str(tmp_path / "rules" / "*.yml"),),
                evaluation_interval="1s",
            )
        )
        central = stack.enter_context(
            _prometheus(
                central_config,
                tmp_path / "central",
                free_port(),
                f"--storage.tsdb.path={tmp_path / 'central' / 'tsdb'}",
                "--web.enable-remote-write-receiver",
            )
        )
        agents: dict[str, ExitStack] = {}
        for region, runner in runners.items():
            port = free_port()
            agent_config = render_agent_config(
                AgentSettings(
                    region,
                    f"{central}/api/v1/write",
                    runners=(runner,),
                    listen=f"127.0.0.1:{port}",
                    scrape_interval="1s",
                    batch_send_deadline="1s",
                )
            )
            work = tmp_path / region / "agent"
            agents[region] = stack.enter_context(ExitStack())
            agents[region].enter_context(
                _prometheus(agent_config, work, port, "--enable-feature=agent", f"--storage.agent.path={work / 'wal'}")
            )
        yield Fleet(central, alertmanager, webhook, sandboxes, agents)


# --- waiting and measuring ---------------------------------------------------------------------


def _until(stack: Alerting, condition: Callable[[], Any], what: str, timeout: float) -> float:
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


def _passing_everywhere(stack: Alerting, regions: Regions = REGIONS) -> bool:
    """Every scenario has passed from its regions since its last failure, as Prometheus sees it."""
    wanted = sum(len(names) for names in regions.values())
    passing = stack.query(
        f'synthetic_scenario_success{{target="{TARGET}"}} == 1 '
        f'and on (scenario, region) synthetic_scenario_runs_total{{result="success"}} >= 1'
    )
    return len(passing) == wanted


def _firing_named(stack: Alerting, alertname: str, **labels: str) -> list[dict[str, str]]:
    return [
        alert
        for alert in stack.firing()
        if alert["alertname"] == alertname and all(alert.get(k) == v for k, v in labels.items())
    ]


def _inhibited(stack: Alerting, alertname: str, **labels: str) -> bool:
    return any(
        alert["labels"]["alertname"] == alertname
        and all(alert["labels"].get(k) == v for k, v in labels.items())
        and alert["status"]["inhibitedBy"]
        for alert in stack.routed()
    )


def _failing_from_both(stack: Alerting, *journeys: str) -> bool:
    """Each of ``journeys`` fails from both regions, as Prometheus counts them."""
    failing = stack.query(f'synthetic:journey_regions_failing:count{{journey=~"{"|".join(journeys)}"}} >= 2')
    return len(failing) == len(journeys)


def _journey_pages_since(stack: Alerting, since: float, *journeys: str) -> list[dict[str, Any]]:
    """The quorum pages of ``journeys`` that were pending or firing in Prometheus since ``since``."""
    selector = f'ALERTS{{alertname="JourneyFailingMultiRegion", journey=~"{"|".join(journeys)}"}}'
    return stack.query(f"max_over_time({selector}[{math.ceil(time.time() - since)}s])")


def _settle(stack: Alerting) -> None:
    """Wait out what could still reach the pager: two evaluations and the pages' group_wait."""
    time.sleep(2 + parse_duration(_scaled(AlertmanagerSettings().page_group_wait)) / 1000)


def _bounds(phase: str, interval: float, for_: str, measured: float) -> str:
    """One line for bench/TIME_TO_ALERT.md: the measurement and what bounds it."""
    shipped = AlertmanagerSettings()
    return (
        f"{phase}: {measured:.2f} s (scenario interval {interval:g} s, scrape 1 s, evaluation 1 s, "
        f"for {_scaled(for_)}, group_wait {_scaled(shipped.page_group_wait)})"
    )


def test_causes_page_once_and_a_guardrail_breach_pages_at_once(stack: Stack) -> None:
    intervals = _intervals()
    rules = {alert.name: alert for alert in all_alerts()}
    _until(stack, lambda: _passing_everywhere(stack), "every scenario to pass from every region", timeout=60)
    assert stack.pages() == [], "nothing may page while the platform is healthy"

    # 1. Customer chat goes down.
    fault_on = time.time()
    stack.sandbox.fault_on("chat_down")
    page = {"severity": "page", "target": TARGET}
    cause = {**page, "alertname": "DependencyDown", "layer": "health", "service": "room_service", "dependency": "chat"}
    paged = _until(stack, lambda: stack.pages(), "the chat_down page", timeout=60)
    chat_delay = paged - fault_on
    print(f"\nchat_down -> DependencyDown page in {chat_delay:.2f} s")
    assert stack.pages() == [cause], stack.diagnose()

    # The chat and uptime journeys fail from both regions, but their pages never even go pending:
    # a page that fired would race the cause to the pager (monitoring/causes.py).
    journey = {**page, "layer": "synthetic"}
    _until(stack, lambda: _failing_from_both(stack, "chat", "uptime"), "chat and uptime to fail", timeout=60)
    _settle(stack)
    assert not _journey_pages_since(stack, fault_on, "chat", "uptime"), stack.diagnose()
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
        **journey,
        "alertname": "GuardrailBreached",
        "journey": "guardrails",
        "team": "risk",
        "scenario": "guardrails",
        "step": "stake above max",
        "region": "eu",
    }
    paged = _until(stack, lambda: len(stack.pages()) > 1, "the guardrail page", timeout=90)
    breach_delay = paged - fault_on
    stack.sandbox.fault_off("stake_limit_not_enforced")
    print(f"stake_limit_not_enforced -> GuardrailBreached page in {breach_delay:.2f} s")
    assert stack.pages()[1:] == [breach], stack.diagnose()
    assert not [labels for labels in stack.webhook.delivered("/chat") if labels["severity"] == "page"]

    # 3. Vault loses its database: bets fail from both regions, and their page must not beat the cause.
    fault_on = time.time()
    stack.sandbox.fault_on("db_down")
    vault_cause = {**cause, "service": "vault", "dependency": "database"}
    paged = _until(stack, lambda: len(stack.pages()) > 2, "the db_down page", timeout=60)
    vault_delay = paged - fault_on
    print(f"db_down -> {stack.pages()[2]['alertname']} page in {vault_delay:.2f} s")
    _until(stack, lambda: _failing_from_both(stack, "bets", "uptime"), "bets and uptime to fail", timeout=30)
    _settle(stack)
    assert [_key(labels) for labels in stack.pages()[2:]] == [_key(vault_cause)], stack.diagnose()
    assert not _journey_pages_since(stack, fault_on, "bets", "uptime"), stack.diagnose()

    # Vault is back: uptime passes before bets do, and the cause keeps their page silenced meanwhile.
    stack.sandbox.fault_off("db_down")
    _until(stack, lambda: _passing_everywhere(stack), "every scenario to pass again", timeout=60)
    _settle(stack)
    assert [_key(labels) for labels in stack.pages()[2:]] == [_key(vault_cause)], stack.diagnose()

    for line in (
        _bounds("chat_down -> DependencyDown", intervals["uptime"], rules["DependencyDown"].for_, chat_delay),
        _bounds("db_down -> DependencyDown", intervals["uptime"], rules["DependencyDown"].for_, vault_delay),
        _bounds(
            "stake_limit_not_enforced -> GuardrailBreached",
            intervals["guardrails"],
            rules["GuardrailBreached"].for_,
            breach_delay,
        ),
    ):
        print(line)


def _named(alerts: list[dict[str, str]], alertname: str, **labels: str) -> list[dict[str, str]]:
    return [a for a in alerts if a["alertname"] == alertname and all(a.get(k) == v for k, v in labels.items())]


def test_regions_that_push_warn_alone_page_together_and_fall_silent(fleet: Fleet) -> None:
    _until(
        fleet,
        lambda: _passing_everywhere(fleet, FLEET_REGIONS),
        "both regions' runs to arrive through their agents",
        timeout=60,
    )
    assert fleet.pages() == [], "nothing may page while the platform is healthy"
    pushed_up = fleet.query('up{job="mystery-guest"}')
    assert {series["metric"]["region"] for series in pushed_up} == set(FLEET_REGIONS), "the agents' external label"

    # 1. The rates go stale as eu sees the platform: one region warns, nothing pages.
    fault_on = time.time()
    fleet.sandboxes["eu"].fault_on("rates_stale")
    warned = _until(
        fleet,
        lambda: _named(fleet.warnings(), "JourneyFailingSingleRegion", journey="rates"),
        "the single-region warning",
        timeout=60,
    )
    print(f"\nrates_stale from eu -> JourneyFailingSingleRegion in {warned - fault_on:.2f} s")
    (warning,) = _named(fleet.warnings(), "JourneyFailingSingleRegion")
    assert warning == {
        "alertname": "JourneyFailingSingleRegion",
        "severity": "warning",
        "layer": "synthetic",
        "journey": "rates",
        "team": "payments",
        "target": TARGET,
        "region": "eu",
    }
    assert fleet.pages() == [], f"one region alone must not page\n{fleet.diagnose()}"
    assert not _firing_named(fleet, "JourneyFailingMultiRegion"), fleet.diagnose()

    # 2. us sees it too: two regions are the quorum, and the page goes out.
    fault_on = time.time()
    fleet.sandboxes["us"].fault_on("rates_stale")
    paged = _until(fleet, lambda: fleet.pages(), "the two-region page", timeout=60)
    print(f"rates_stale from us too -> JourneyFailingMultiRegion page in {paged - fault_on:.2f} s")
    (page,) = fleet.pages()
    assert page == {
        "alertname": "JourneyFailingMultiRegion",
        "severity": "page",
        "layer": "synthetic",
        "journey": "rates",
        "team": "payments",
        "target": TARGET,
    }

    # 3. The fault clears everywhere: the page resolves.
    fault_off = time.time()
    for sandbox in fleet.sandboxes.values():
        sandbox.fault_off("rates_stale")
    resolved = _until(fleet, lambda: fleet.pages("resolved"), "the page to resolve", timeout=60)
    print(f"rates fresh again -> page resolved in {resolved - fault_off:.2f} s")
    assert fleet.pages("resolved") == [page]

    # 4. eu's agent stops: nothing of eu arrives any more, not even an up of 0. eu falls silent.
    stopped = time.time()
    fleet.agents["eu"].close()
    silent = _until(fleet, lambda: _named(fleet.warnings(), "RegionSilent"), "eu's region-silent warning", timeout=60)
    print(f"eu's agent stopped -> RegionSilent in {silent - stopped:.2f} s (window {FLEET_SILENT_AFTER})")
    assert _named(fleet.warnings(), "RegionSilent") == [
        {"alertname": "RegionSilent", "severity": "warning", "layer": "runner", "team": "sre", "region": "eu"}
    ]
    assert not _firing_named(fleet, "RegionSilent", region="us"), "us still pushes"
    assert fleet.pages() == [page], f"nothing else paged\n{fleet.diagnose()}"
