"""The alert path, end to end on loopback: runner -> Prometheus -> Alertmanager -> a webhook.

Prometheus (1 s scrape and evaluation) loads the rules of ``monitoring/`` rendered with every
``for:`` at 0 and a quorum of one region (one runner here); Alertmanager runs the shipped
routes with ``group_wait: 0s``; the webhook is a tiny HTTP server in this process that notes
when each notification arrives. Every binary binds port 0 and logs the address it got.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from bench.processes import running

if TYPE_CHECKING:
    from bench.detect import Fault

__all__ = [
    "DEFAULT_ALERT_DELAY",
    "FORMULA",
    "MEASURED_ALERT_SETTINGS",
    "AlertDelay",
    "AlertPath",
    "alert_formula",
    "alert_path_available",
    "running_alert_path",
    "shipped_delay",
]

PROMETHEUS = "prometheus"
ALERTMANAGER = "prometheus-alertmanager"
SCRAPE_SECONDS = 1
MEASURED_ALERT_SETTINGS = (
    f"scrape and evaluation every {SCRAPE_SECONDS} s, every `for:` 0 s, quorum 1 region, `group_wait: 0s`, "
    "`group_interval: 1s`"
)
_LISTENING = r'msg="Listening on" address=(\S+)'
FORMULA = (
    "mean = interval/2 + run + (failed runs needed - 1) x interval + scrape/2 + evaluation/2 + for + group_wait; "
    "worst = interval + run + (failed runs needed - 1) x interval + scrape + evaluation + for + group_wait"
)


@dataclass(frozen=True)
class AlertDelay:
    """What stands between a failed run and a notification, in seconds."""

    scrape: float
    evaluation: float
    for_seconds: float
    group_wait: float
    failed_runs_needed: int

    def describe(self) -> str:
        return (
            f"{self.failed_runs_needed} failed run(s), scrape every {self.scrape:g} s and evaluation every "
            f"{self.evaluation:g} s, `for: {self.for_seconds:g}s`, `group_wait: {self.group_wait:g}s`"
        )


DEFAULT_ALERT_DELAY = AlertDelay(scrape=15, evaluation=15, for_seconds=60, group_wait=30, failed_runs_needed=2)
SHIPPED_PROMETHEUS = Path(__file__).resolve().parent.parent / "monitoring" / "prometheus" / "prometheus.yml"


def shipped_delay(alert_name: str) -> AlertDelay:
    """The delays an alert has as shipped in ``monitoring/``: its ``for:``, the example Prometheus
    config's scrape and evaluation intervals, Alertmanager's ``group_wait``. Falls back to
    ``DEFAULT_ALERT_DELAY`` where ``monitoring/`` does not say."""
    scrape, evaluation, for_seconds, group_wait = 15.0, 15.0, 60.0, 30.0
    try:
        import yaml

        from monitoring.alertmanager import AlertmanagerSettings
        from monitoring.durations import parse_duration
        from monitoring.rules import all_alerts

        shipped = yaml.safe_load(SHIPPED_PROMETHEUS.read_text()).get("global", {})
        scrape = parse_duration(str(shipped.get("scrape_interval", "1m"))) / 1000
        evaluation = parse_duration(str(shipped.get("evaluation_interval", "1m"))) / 1000
        group_wait = parse_duration(AlertmanagerSettings().page_group_wait) / 1000  # every alert timed here pages
        for_seconds = next(parse_duration(a.for_) / 1000 for a in all_alerts() if a.name == alert_name)
    except (ImportError, OSError, StopIteration, ValueError, AttributeError):
        pass
    # a breach, and a cause read from /health, page on one failed run; journeys need two
    runs = 1 if alert_name in ("GuardrailBreached", "DependencyDown", "ServiceDown") else 2
    return AlertDelay(scrape, evaluation, for_seconds, group_wait, runs)


def alert_formula(interval: float, run_seconds: float, delay: AlertDelay) -> tuple[float, float]:
    """(mean, worst) seconds from a fault to the notification, for a scenario at ``interval``."""
    fixed = run_seconds + (delay.failed_runs_needed - 1) * interval + delay.for_seconds + delay.group_wait
    mean = interval / 2 + fixed + delay.scrape / 2 + delay.evaluation / 2
    worst = interval + fixed + delay.scrape + delay.evaluation
    return mean, worst


def alert_path_available() -> bool:
    """Prometheus, Alertmanager and the rule generators of ``monitoring/`` are all here."""
    if not (shutil.which(PROMETHEUS) and shutil.which(ALERTMANAGER)):
        return False
    try:
        from monitoring.alertmanager import write_alertmanager  # noqa: F401
        from monitoring.rules import RuleSettings, write_rule_files  # noqa: F401
    except ImportError:
        return False
    return True


class _Webhook:
    """Keeps every notification with the time it arrived."""

    def __init__(self) -> None:
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.lock = threading.Lock()
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server wants
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with webhook.lock:
                    webhook.received.append((time.time(), json.loads(body or b"{}")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def notifications(self) -> list[tuple[float, dict[str, Any]]]:
        with self.lock:
            return list(self.received)


def _started_at(alert: dict[str, Any]) -> float:
    """An alert's ``startsAt`` (RFC 3339, up to nanoseconds) as Unix time; 0 when absent."""
    text = str(alert.get("startsAt", ""))
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text)
    if match is None:
        return 0.0
    whole, fraction, zone = match.groups()
    moment = datetime.fromisoformat(whole + (zone if zone != "Z" else "+00:00"))
    return moment.timestamp() + float(f"0.{fraction or 0}")


def _matches(alert: dict[str, Any], fault: Fault) -> bool:
    labels = alert.get("labels", {})
    return bool(labels.get("journey") == fault.journey and labels.get("layer") == "synthetic")


class AlertPath:
    """The running Prometheus, Alertmanager and webhook, asked about one journey at a time."""

    extra_seconds = 20.0  # beyond the next failed run: its duration, scrape, evaluation, notification

    def __init__(self, webhook: _Webhook, alertmanager_url: str) -> None:
        self.webhook = webhook
        self.alertmanager_url = alertmanager_url
        self.client = httpx.Client(trust_env=False, timeout=5)

    def active(self, fault: Fault) -> list[dict[str, Any]]:
        answer = self.client.get(
            f"{self.alertmanager_url}/api/v2/alerts",
            params={
                "active": "true",
                "silenced": "false",
                "inhibited": "true",
                "filter": [f'journey="{fault.journey}"', f'alertname="{fault.alert}"'],
            },
        )
        answer.raise_for_status()
        alerts: list[dict[str, Any]] = answer.json()
        return alerts

    def wait_resolved(self, fault: Fault, deadline: float) -> bool:
        """Until the fault's alert is no longer active for its journey (so its next firing is news).

        Other alerts of the journey may stay active: error-budget burns look back an hour.
        """
        while time.time() < deadline:
            if not self.active(fault):
                return True
            time.sleep(0.5)
        return False

    def wait_firing(self, fault: Fault, since: float, deadline: float) -> dict[str, float]:
        """Alert name -> when the first notification of it firing for the fault's journey arrived.

        Only alerts that started firing after ``since`` count (a notification also lists the group's
        older alerts). Waits until ``fault.alert`` (the alert meant for this fault) has arrived, or
        ``deadline``.
        """
        first: dict[str, float] = {}
        while time.time() < deadline:
            for arrived, payload in self.webhook.notifications():
                if arrived < since:
                    continue
                for alert in payload.get("alerts", []):
                    fresh = _started_at(alert) >= since - 1  # Prometheus stamps the evaluation that fired it
                    if alert.get("status") == "firing" and fresh and _matches(alert, fault):
                        name = str(alert.get("labels", {}).get("alertname", "?"))
                        first[name] = min(first.get(name, arrived), arrived)
            if fault.alert in first:
                break
            time.sleep(0.1)
        return first


def _prometheus_config(metrics_url: str, alertmanager_address: str, rules_dir: Path) -> str:
    target = metrics_url.removeprefix("http://").removesuffix("/metrics")
    return f"""\
global:
  scrape_interval: {SCRAPE_SECONDS}s
  evaluation_interval: {SCRAPE_SECONDS}s
rule_files:
  - {rules_dir}/*.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["{alertmanager_address}"]
scrape_configs:
  - job_name: mystery-guest
    honor_labels: true
    static_configs:
      - targets: ["{target}"]
"""


@contextlib.contextmanager
def running_alert_path(work_dir: Path, metrics_url: str) -> Iterator[AlertPath]:
    """Start webhook, Alertmanager and Prometheus (scraping ``metrics_url``); stop them on the way out."""
    from monitoring.alertmanager import AlertmanagerSettings, write_alertmanager
    from monitoring.rules import RuleSettings, write_rule_files

    work = work_dir / "alerting"
    rules_dir = work / "rules"
    write_rule_files(rules_dir, RuleSettings(for_scale=Decimal(0), quorum=1))
    webhook = _Webhook()
    webhook.thread.start()
    am_config = write_alertmanager(
        work / "alertmanager.yml",
        AlertmanagerSettings(
            pager_url=f"{webhook.url}/pager",
            chat_url=f"{webhook.url}/chat",
            group_wait="0s",
            group_interval="1s",
            resolve_timeout="1m",
        ),
    )
    try:
        with running(
            [
                ALERTMANAGER,
                f"--config.file={am_config}",
                f"--storage.path={work / 'am-data'}",
                "--web.listen-address=127.0.0.1:0",
                "--cluster.listen-address=",
            ],
            work / "alertmanager.log",
            ready=_LISTENING,
        ) as alertmanager:
            prometheus_yml = work / "prometheus.yml"
            prometheus_yml.write_text(_prometheus_config(metrics_url, alertmanager.url, rules_dir))
            with running(
                [
                    PROMETHEUS,
                    f"--config.file={prometheus_yml}",
                    f"--storage.tsdb.path={work / 'prom-data'}",
                    "--web.listen-address=127.0.0.1:0",
                ],
                work / "prometheus.log",
                ready=_LISTENING,
            ):
                yield AlertPath(webhook, f"http://{alertmanager.url}")
    finally:
        webhook.server.shutdown()
        webhook.server.server_close()
