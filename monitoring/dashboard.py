"""The Grafana dashboard, written as rows of panels and rendered to JSON.

Each panel answers one question a person on call asks ("which journeys fail, where?",
"is it the platform or our runner?"); the rows follow that order, top to bottom.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitoring.promql import number
from monitoring.rules import RuleSettings

__all__ = ["DASHBOARD_FILE", "Panel", "Row", "dashboard", "expressions", "render_dashboard"]

DASHBOARD_FILE = Path(__file__).resolve().parent / "grafana" / "dashboards" / "mystery-guest.json"
_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
_WIDTH = 24

# Label filters from the dashboard's variables.
_T = 'target=~"$target"'
_TR = 'target=~"$target", region=~"$region"'
_TRS = 'target=~"$target", region=~"$region", scenario=~"$scenario"'


@dataclass(frozen=True)
class Query:
    """One PromQL query of a panel and its legend."""

    expr: str
    legend: str = ""
    instant: bool = False


@dataclass(frozen=True)
class Panel:
    """One panel: its kind is a Grafana panel type (timeseries, stat, state-timeline, table)."""

    kind: str
    title: str
    queries: tuple[Query, ...]
    width: int = 12
    height: int = 8
    unit: str = "short"
    description: str = ""
    mappings: tuple[dict[str, Any], ...] = ()
    thresholds: tuple[tuple[float | None, str], ...] = ((None, "green"),)
    runbook: str = ""
    """The alert whose runbook says what to do when this panel looks wrong (linked from it)."""
    runs: dict[str, str] | None = None
    """Run-list filters of a data link to the series' region's runner (values: Grafana's
    ``${__field.labels.x}``); the panel's queries keep ``region`` and these labels."""


@dataclass(frozen=True)
class Row:
    """A titled band of panels."""

    title: str
    panels: tuple[Panel, ...] = field(default_factory=tuple)


_PASS_FAIL = (
    {
        "type": "value",
        "options": {
            "0": {"text": "failing", "color": "red", "index": 0},
            "1": {"text": "passing", "color": "green", "index": 1},
        },
    },
)


def _quantiles(metric: str, selector: str, by: str, quantiles: tuple[str, ...]) -> tuple[Query, ...]:
    legend_by = " ".join(f"{{{{{label}}}}}" for label in by.split(", "))
    return tuple(
        Query(
            f"histogram_quantile({q}, sum by (le, {by}) (rate({metric}_bucket{{{selector}}}[$__rate_interval])))",
            f"p{_percent(q)} {legend_by}",
        )
        for q in quantiles
    )


def _percent(quantile: str) -> int:
    """Turn a quantile into the percentile a legend shows: 0.95 -> 95."""
    return round(float(quantile) * 100)


def rows(settings: RuleSettings) -> tuple[Row, ...]:
    """Every row of the dashboard, top to bottom."""
    budget = number(1 - settings.slo_target)
    return (
        Row(
            "Journeys",
            (
                Panel(
                    "state-timeline",
                    "Journeys by region (last run of every scenario passed?)",
                    (Query(f"synthetic:journey_region_up:bool{{{_TR}}}", "{{journey}} · {{region}}"),),
                    width=24,
                    height=10,
                    mappings=_PASS_FAIL,
                    description="A journey fails in a region when any of its scenarios' last run failed.",
                    runbook="JourneyFailingMultiRegion",
                    runs={"journey": _field("journey"), "target": _field("target"), "outcome": "failure"},
                ),
                Panel(
                    "stat",
                    "Regions failing, per journey (2 runs in a row)",
                    (Query(f"synthetic:journey_regions_failing:count{{{_T}}}", "{{journey}}"),),
                    thresholds=((None, "green"), (1, "orange"), (settings.quorum, "red")),
                    description=f"{settings.quorum} or more regions page; one region alone warns.",
                    runbook="JourneyFailingMultiRegion",
                ),
                Panel(
                    "timeseries",
                    "Error-budget burn rate over 1 h, per journey",
                    (
                        Query(
                            f"synthetic:journey_run_errors:ratio_rate1h{{{_T}}} / {budget}",
                            "{{journey}}",
                        ),
                    ),
                    thresholds=((None, "green"), (6, "orange"), (14.4, "red")),
                    description="1 spends the 30-day budget in exactly 30 days; 14.4 pages.",
                    runbook="JourneyErrorBudgetFastBurn",
                ),
                Panel(
                    "timeseries",
                    "Scenario runs by result",
                    (
                        Query(
                            "sum by (scenario, target, region, result) (rate(synthetic_scenario_runs_total"
                            f"{{{_TRS}}}[$__rate_interval]))",
                            "{{scenario}} {{region}} {{result}}",
                        ),
                    ),
                    width=24,
                    unit="ops",
                    runbook="JourneyFailingSingleRegion",
                    runs={"scenario": _field("scenario"), "target": _field("target"), "outcome": _field("result")},
                ),
            ),
        ),
        Row(
            "Latency",
            (
                Panel(
                    "timeseries",
                    "Scenario duration",
                    _quantiles("synthetic_scenario_duration_seconds", _TRS, "scenario", ("0.5", "0.95")),
                    unit="s",
                    runbook="JourneyFailingSingleRegion",
                ),
                Panel(
                    "timeseries",
                    "Step latency",
                    _quantiles(
                        "synthetic_step_duration_seconds",
                        _TRS,
                        "scenario, step",
                        ("0.5", "0.95", "0.99"),
                    ),
                    unit="s",
                    runbook="JourneyFailingSingleRegion",
                ),
                Panel(
                    "timeseries",
                    "Step failures by reason",
                    (
                        Query(
                            "sum by (scenario, step, reason, target, region) (rate(synthetic_step_failures_total"
                            f"{{{_TRS}}}[$__rate_interval]))",
                            "{{scenario}}/{{step}}: {{reason}} ({{region}})",
                        ),
                    ),
                    runs={"scenario": _field("scenario"), "target": _field("target"), "reason": _field("reason")},
                    width=24,
                    unit="ops",
                    runbook="JourneyFailingSingleRegion",
                ),
            ),
        ),
        Row(
            "Rewards and pushes",
            (
                Panel(
                    "timeseries",
                    "Rewards lag: bet settled to rewards visible (the Kafka path)",
                    _quantiles("synthetic_rewards_lag_seconds", _TR, "region", ("0.5", "0.9")),
                    unit="s",
                    thresholds=((None, "green"), (30, "red")),
                    runbook="RewardsLagHigh",
                ),
                Panel(
                    "timeseries",
                    "Push latency by event",
                    _quantiles("synthetic_push_latency_seconds", _TR, "event", ("0.5", "0.95")),
                    unit="s",
                    thresholds=((None, "green"), (5, "red")),
                    runbook="PushLatencyHigh",
                ),
            ),
        ),
        Row(
            "Money by currency",
            (
                Panel(
                    "state-timeline",
                    "Deposits by currency and region (last run)",
                    (
                        Query(
                            f'synthetic_currency_success{{scenario="deposit_each_currency", {_TR}}}',
                            "{{currency}} · {{region}}",
                        ),
                    ),
                    mappings=_PASS_FAIL,
                    runbook="CurrencyFailing",
                ),
                Panel(
                    "state-timeline",
                    "Withdrawals by currency and region (last run)",
                    (
                        Query(
                            f'synthetic_currency_success{{scenario="withdraw_each_currency", {_TR}}}',
                            "{{currency}} · {{region}}",
                        ),
                    ),
                    mappings=_PASS_FAIL,
                    runbook="CurrencyFailing",
                ),
                Panel(
                    "timeseries",
                    "Customers' deposits by currency and status (platform metrics)",
                    (
                        Query(
                            "sum by (currency, status) (rate(platform_deposits_total[$__rate_interval]))",
                            "{{currency}} {{status}}",
                        ),
                    ),
                    unit="ops",
                    runbook="PaymentFailureRatioHigh",
                ),
                Panel(
                    "timeseries",
                    "Customers' withdrawals by currency and status (platform metrics)",
                    (
                        Query(
                            "sum by (currency, status) (rate(platform_withdrawals_total[$__rate_interval]))",
                            "{{currency}} {{status}}",
                        ),
                    ),
                    unit="ops",
                    runbook="PaymentFailureRatioHigh",
                ),
            ),
        ),
        Row(
            "Guardrails and abuse",
            (
                Panel(
                    "stat",
                    "Guardrail breaches, last 24 h",
                    (
                        Query(
                            "sum(increase(synthetic_step_failures_total"
                            f'{{reason="guardrail_breach", {_T}}}[24h])) or vector(0)'
                        ),
                    ),
                    width=6,
                    thresholds=((None, "green"), (1, "red")),
                    runbook="GuardrailBreached",
                ),
                Panel(
                    "stat",
                    "Probes' stake budget left",
                    (
                        Query(
                            f"min by (target) (synthetic_stake_budget_remaining_usd{{{_T}}})",
                            "{{target}}",
                        ),
                    ),
                    width=6,
                    unit="currencyUSD",
                    thresholds=((None, "red"), (10, "orange"), (50, "green")),
                    runbook="StakeBudgetLow",
                ),
                Panel(
                    "state-timeline",
                    "The betting-limit check by region",
                    (
                        Query(
                            f'synthetic:journey_region_up:bool{{journey="guardrails", {_TR}}}',
                            "{{region}}",
                        ),
                    ),
                    mappings=_PASS_FAIL,
                    runbook="GuardrailBreached",
                ),
                Panel(
                    "timeseries",
                    "Refusals by error code (customers, platform metrics)",
                    (
                        Query(
                            "sum by (service, error) (rate(platform_refusals_total[$__rate_interval]))",
                            "{{service}} {{error}}",
                        ),
                    ),
                    unit="ops",
                    runbook="StakeLimitRefusalSpike",
                ),
                Panel(
                    "timeseries",
                    "Settled-bet rollback attempts and idempotency replays",
                    (
                        Query(
                            "sum(rate(platform_bet_rollback_attempts_total[$__rate_interval]))",
                            "rollback attempts",
                        ),
                        Query(
                            "sum(rate(platform_idempotency_replays_total[$__rate_interval]))",
                            "idempotent replays",
                        ),
                    ),
                    unit="ops",
                    runbook="BetRollbackAttempts",
                ),
            ),
        ),
        Row(
            "Platform health (from /health, /liveness and TLS)",
            (
                Panel(
                    "state-timeline",
                    "Services up, by region",
                    (Query(f"synthetic_service_up{{{_TR}}}", "{{service}} · {{region}}"),),
                    mappings=_PASS_FAIL,
                    runbook="ServiceDown",
                ),
                Panel(
                    "state-timeline",
                    "Dependencies, as each service reports them",
                    (
                        Query(
                            f"min by (service, dependency) (synthetic_dependency_up{{{_TR}}})",
                            "{{service}} → {{dependency}}",
                        ),
                    ),
                    mappings=_PASS_FAIL,
                    runbook="DependencyDown",
                ),
                Panel(
                    "stat",
                    "TLS certificate: days left",
                    (
                        Query(
                            "(min by (service) "
                            f"(synthetic_tls_cert_expiry_timestamp_seconds{{{_T}}}) - time()) / 86400",
                            "{{service}}",
                        ),
                    ),
                    unit="d",
                    thresholds=((None, "red"), (3, "orange"), (21, "green")),
                    runbook="TLSCertExpiringSoon",
                ),
                Panel(
                    "timeseries",
                    "5xx share of customers' requests, per service",
                    (
                        Query(
                            'sum by (service) (rate(platform_http_requests_total{code=~"5.."}'
                            "[$__rate_interval])) / sum by (service) "
                            "(rate(platform_http_requests_total[$__rate_interval]))",
                            "{{service}}",
                        ),
                    ),
                    unit="percentunit",
                    runbook="ServiceErrorRatioHigh",
                ),
                Panel(
                    "timeseries",
                    "Browser timings",
                    (
                        Query(
                            "max by (scenario, metric) (synthetic_browser_timing_seconds"
                            '{scenario=~"$scenario", region=~"$region"})',
                            "{{scenario}} {{metric}}",
                        ),
                    ),
                    width=24,
                    unit="s",
                    thresholds=((None, "green"), (4, "red")),
                    runbook="BrowserPageSlow",
                ),
            ),
        ),
        Row(
            "Probe runners",
            (
                Panel(
                    "stat",
                    "Runners up",
                    (Query('up{job="mystery-guest", region=~"$region"}', "{{region}}"),),
                    width=8,
                    mappings=(
                        {
                            "type": "value",
                            "options": {
                                "0": {"text": "down", "color": "red", "index": 0},
                                "1": {"text": "up", "color": "green", "index": 1},
                            },
                        },
                    ),
                    runbook="RunnerDown",
                ),
                Panel(
                    "table",
                    "Runner versions",
                    (Query('synthetic_runner_info{region=~"$region"}', instant=True),),
                    width=8,
                    runbook="RunnerAbsent",
                ),
                Panel(
                    "timeseries",
                    "Runner errors (bugs, not platform failures)",
                    (
                        Query(
                            "sum by (region) (rate(synthetic_runner_errors_total"
                            '{region=~"$region"}[$__rate_interval]))',
                            "{{region}}",
                        ),
                    ),
                    width=8,
                    unit="ops",
                    runbook="RunnerErrors",
                ),
                Panel(
                    "timeseries",
                    "Time since each scenario's last run, in intervals",
                    (
                        Query(
                            "(time() - max by (scenario, region) "
                            f"(synthetic_scenario_last_run_timestamp_seconds{{{_TRS}}}))\n"
                            "/ max by (scenario, region) "
                            f"(synthetic_scenario_interval_seconds{{{_TRS}}})",
                            "{{scenario}} · {{region}}",
                        ),
                    ),
                    width=24,
                    thresholds=((None, "green"), (3, "red")),
                    description="Above 3 the scenario is stale (ScenarioStale).",
                    runbook="ScenarioStale",
                ),
                Panel(
                    "timeseries",
                    "Runner event-loop lag (p99): the noise in every timing it reports",
                    (
                        Query(
                            "histogram_quantile(0.99, sum by (le, region) (rate("
                            'synthetic_runner_event_loop_lag_seconds_bucket{region=~"$region"}[$__rate_interval])))',
                            "{{region}}",
                        ),
                    ),
                    width=24,
                    unit="s",
                    thresholds=((None, "green"), (0.1, "red")),
                    description="Above 100 ms the runner's own timings cannot be trusted (RunnerEventLoopLagging).",
                    runbook="RunnerEventLoopLagging",
                ),
            ),
        ),
    )


def _variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": _DATASOURCE,
        "query": {"query": query, "refId": f"{name}-variable"},
        "definition": query,
        "refresh": 2,
        "includeAll": name != "target",
        "multi": name != "target",
        "allValue": ".*",
        "current": {},
        "sort": 1,
    }


def _annotations() -> list[dict[str, Any]]:
    """Firing alerts and runner deploys, drawn on every time series (Prometheus-backed)."""
    return [
        {
            "name": "Alerts firing",
            "datasource": _DATASOURCE,
            "enable": True,
            "iconColor": "red",
            "expr": f'ALERTS{{alertstate="firing", {_T}}} or ALERTS{{alertstate="firing", target=""}}',
            "step": "1m",
            "titleFormat": "{{alertname}}",
            "textFormat": "{{severity}} {{journey}} {{service}} {{region}}",
            "tagKeys": "alertname,severity,team",
            "useValueForTime": False,
        },
        {
            "name": "Runner deploys",
            "datasource": _DATASOURCE,
            "enable": True,
            "iconColor": "blue",
            "expr": 'synthetic_runner_info{region=~"$region"} unless synthetic_runner_info offset 5m',
            "step": "1m",
            "titleFormat": "runner {{version}} started",
            "textFormat": "{{region}}",
            "tagKeys": "region,version",
            "useValueForTime": False,
        },
    ]


def _field(label: str) -> str:
    return f"${{__field.labels.{label}}}"


def _runs_links(panel: Panel, settings: RuleSettings) -> list[dict[str, Any]]:
    """A data link on every series: the runs behind it, on the runner of the series' region."""
    if panel.runs is None:
        return []
    title = "Runs on the " + _field("region") + " runner"
    return [{"title": title, "url": settings.runs_url(_field("region"), panel.runs), "targetBlank": True}]


def _panel_json(panel: Panel, panel_id: int, x: int, y: int, settings: RuleSettings) -> dict[str, Any]:
    runbook_base_url = settings.runbook_base_url
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "links": [
            {"title": f"Runbook: {panel.runbook}", "url": f"{runbook_base_url}{panel.runbook}.md", "targetBlank": True}
        ]
        if panel.runbook
        else [],
        "datasource": _DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": panel.width, "h": panel.height},
        "fieldConfig": {
            "defaults": {
                "links": _runs_links(panel, settings),
                "unit": panel.unit,
                "mappings": list(panel.mappings),
                "thresholds": {
                    "mode": "absolute",
                    "steps": [{"value": value, "color": color} for value, color in panel.thresholds],
                },
            },
            "overrides": [],
        },
        "options": {},
        "targets": [
            {
                "refId": chr(ord("A") + index),
                "datasource": _DATASOURCE,
                "expr": query.expr,
                "legendFormat": query.legend,
                "instant": query.instant,
                "range": not query.instant,
                **({"format": "table"} if query.instant else {}),
            }
            for index, query in enumerate(panel.queries)
        ],
    }


def dashboard(settings: RuleSettings | None = None) -> dict[str, Any]:
    """The dashboard model, panels laid out left to right, row by row."""
    settings = settings or RuleSettings()
    panels: list[dict[str, Any]] = []
    y = 0
    panel_id = 1
    for row in rows(settings):
        panels.append(
            {
                "id": panel_id,
                "type": "row",
                "title": row.title,
                "collapsed": False,
                "gridPos": {"x": 0, "y": y, "w": _WIDTH, "h": 1},
                "panels": [],
            }
        )
        panel_id += 1
        y += 1
        x = 0
        line_height = 0
        for panel in row.panels:
            if x + panel.width > _WIDTH:
                x, y, line_height = 0, y + line_height, 0
            panels.append(_panel_json(panel, panel_id, x, y, settings))
            panel_id += 1
            x += panel.width
            line_height = max(line_height, panel.height)
        y += line_height
    return {
        "uid": "mystery-guest",
        "title": "Mystery Guest: the casino seen from outside",
        "description": "Synthetic journeys by region, their latency, money by currency, "
        "guardrails, platform health and the probe runners. Alerts: monitoring/README.md.",
        "tags": ["mystery-guest", "synthetic"],
        "editable": True,
        "schemaVersion": 38,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "timezone": "utc",
        "graphTooltip": 1,
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                },
                _variable("target", "Target", "label_values(synthetic_scenario_success, target)"),
                _variable("region", "Region", "label_values(synthetic_runner_info, region)"),
                _variable(
                    "scenario",
                    "Scenario",
                    'label_values(synthetic_scenario_success{target=~"$target"}, scenario)',
                ),
            ]
        },
        "annotations": {"list": _annotations()},
        "panels": panels,
    }


def expressions(model: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard model's panels and annotations (for lint tests)."""
    panels = [target["expr"] for panel in model["panels"] for target in panel.get("targets", []) if "expr" in target]
    return panels + [annotation["expr"] for annotation in model["annotations"]["list"]]


def render_dashboard(settings: RuleSettings | None = None) -> str:
    """The dashboard JSON text, stable from run to run."""
    return json.dumps(dashboard(settings), indent=2, ensure_ascii=False) + "\n"
