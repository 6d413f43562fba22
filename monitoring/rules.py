"""Prometheus alert and recording rules for Mystery Guest, and the generator that writes them.

The data below is the one source of every rule, threshold and ``for:`` duration.
``python -m monitoring`` renders it into ``monitoring/prometheus/rules/*.yml`` (committed;
a test checks they match). A test that needs the same rules to fire quickly renders them
with ``RuleSettings(for_scale=...)`` or ``for_overrides`` into a directory of its own::

    write_rule_files(tmp_path, RuleSettings(for_scale=Decimal("0.01")))
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from monitoring.causes import cause_records, dependency_down, service_down, unless_caused
from monitoring.durations import parse_duration, scale_duration
from monitoring.journeys import JOURNEYS, Journey
from monitoring.model import Alert, Group, Record, RuleFile, RunsLink
from monitoring.prometheus_config import AGENT_JOB
from monitoring.promql import (
    CI_PUSH_JOB,
    JOURNEY_INFO,
    PER_SCENARIO,
    SCHEDULED,
    join_journey,
    new_or_increased,
    spike,
)
from monitoring.slo import slo_alerts, slo_records
from monitoring.yamltext import dump_yaml

__all__ = [
    "DEFAULT_RUNBOOK_BASE_URL",
    "DEFAULT_RUNNER_URL_TEMPLATE",
    "links_from_runner_config",
    "RULES_DIR",
    "RuleSettings",
    "alert_names",
    "all_alerts",
    "recorded_names",
    "render_rule_files",
    "rule_files",
    "write_rule_files",
]

RULES_DIR = Path(__file__).resolve().parent / "prometheus" / "rules"
DEFAULT_RUNBOOK_BASE_URL = "https://github.com/mystery-guest/mystery-guest/blob/main/monitoring/runbooks/"
DEFAULT_RUNNER_URL_TEMPLATE = "https://mystery-guest-{region}.probes.internal/"
"""Where the runner of probe region ``{region}`` serves its pages, unless the runner config's
``runner.pages.url_template`` says otherwise."""


def links_from_runner_config(config: Path) -> tuple[str, str | None]:
    """``RuleSettings`` fields a runner config decides: where its runners serve their pages
    (``runner.pages.url_template``) and where failed runs' artifacts are uploaded (``runner.upload``:
    the S3 console's listing of its prefix; none for an S3-compatible store, which has no console)."""
    document = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    runner = document.get("runner") or {}
    template = (runner.get("pages") or {}).get("url_template")
    upload = runner.get("upload") or {}
    evidence = None
    if upload.get("bucket") and not upload.get("endpoint_url"):
        prefix = str(upload.get("prefix") or "").strip("/")
        region = f"region={upload['region']}&" if upload.get("region") else ""
        prefix = f"{prefix}/" if prefix else ""
        evidence = f"https://s3.console.aws.amazon.com/s3/buckets/{upload['bucket']}?{region}prefix={prefix}"
    return (str(template).rstrip("/") + "/" if template else DEFAULT_RUNNER_URL_TEMPLATE), evidence


@dataclass(frozen=True)
class RuleSettings:
    """What a deployment or a test may change without touching the rules themselves."""

    slo_target: Decimal = Decimal("0.995")
    quorum: int = 2
    """Regions that must agree before a journey or a platform outage pages."""
    for_scale: Decimal = Decimal(1)
    """Multiplies every ``for:`` and ``keep_firing_for:``; an end-to-end test uses e.g. 0.01."""
    for_overrides: Mapping[str, str] = field(default_factory=dict)
    """Alert name -> ``for:`` duration, taken as is (not scaled)."""
    runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL
    runner_url_template: str = DEFAULT_RUNNER_URL_TEMPLATE
    """Alert annotations (``runs_url``) and dashboard data links open a region's run list here."""
    evidence_url: str | None = None
    """Where uploaded artifacts are listed, up to the key prefix (``<prefix>``): alerts with a
    ``runs_url`` also get ``evidence_url``, ``<this><region>/<scenario>/``, which outlives the runner."""
    ci_push_max_age_seconds: int = 86400
    """A CI group on the Pushgateway older than this is stale (post-deploy gates run daily at least)."""
    region_silent_after: str = "2m"
    """A pushing region that sent nothing for this long is silent: several scrape intervals
    and remote-write batches (5 s), so that one slow batch does not count."""

    def runs_url(self, region: str, filters: Mapping[str, str]) -> str:
        """The run list of ``region``'s runner; names and labels need no escaping ([a-z0-9_-])."""
        query = "&".join(f"{name}={value}" for name, value in filters.items())
        return f"{self.runner_url_template.replace('{region}', region)}runs?{query}"

    def for_duration(self, alert: Alert) -> str:
        """The ``for:`` this alert is rendered with."""
        if alert.name in self.for_overrides:
            override = self.for_overrides[alert.name]
            parse_duration(override)
            return override
        return scale_duration(alert.for_, self.for_scale)

    def keep_firing_duration(self, alert: Alert) -> str:
        """The ``keep_firing_for:`` this alert is rendered with."""
        return scale_duration(alert.keep_firing_for, self.for_scale)


# --- journeys seen from outside -------------------------------------------------------


def journey_records() -> Group:
    """Scenario -> journey, and which journeys fail where, as series alerts can count."""
    mapping = tuple(
        Record(JOURNEY_INFO, "vector(1)", {"scenario": scenario, "journey": journey.name})
        for journey in JOURNEYS
        for scenario in journey.scenarios
    )
    # The last two runs failed: the last run failed, and the last success is at least
    # one and a half intervals older than it. A scenario that never succeeded since the
    # runner started has no last success: then count its failed runs instead.
    scenario_failing = Record(
        "synthetic:scenario_failing:bool",
        f"(max by ({PER_SCENARIO}) (synthetic_scenario_success{{{SCHEDULED}}}) == bool 0)\n"
        f"* on ({PER_SCENARIO})\n"
        f"(\n"
        f"  (\n"
        f"    max by ({PER_SCENARIO}) (synthetic_scenario_last_run_timestamp_seconds{{{SCHEDULED}}})\n"
        f"    - max by ({PER_SCENARIO}) (synthetic_scenario_last_success_timestamp_seconds{{{SCHEDULED}}} > 0)\n"
        f"    >= bool 1.5 * max by ({PER_SCENARIO}) (synthetic_scenario_interval_seconds{{{SCHEDULED}}})\n"
        f"  )\n"
        f"  or on ({PER_SCENARIO})\n"
        f"  (\n"
        f"    sum by ({PER_SCENARIO}) "
        f'(synthetic_scenario_runs_total{{{SCHEDULED}, result=~"failure|timeout"}}) >= bool 2\n'
        f"  )\n"
        f")",
    )
    region_up = Record(
        "synthetic:journey_region_up:bool",
        f"min by (journey, target, region) (\n  {join_journey(f'synthetic_scenario_success{{{SCHEDULED}}}')}\n)",
    )
    region_failing = Record(
        "synthetic:journey_region_failing:bool",
        f"max by (journey, target, region) (\n  {join_journey('synthetic:scenario_failing:bool')}\n)",
    )
    regions_failing = Record(
        "synthetic:journey_regions_failing:count",
        "sum by (journey, target) (synthetic:journey_region_failing:bool)",
    )
    regions_reporting = Record(
        "synthetic:journey_regions_reporting:count",
        "count by (journey, target) (synthetic:journey_region_failing:bool)",
    )
    return Group(
        "mystery-guest-journey-records",
        (
            *mapping,
            scenario_failing,
            region_up,
            region_failing,
            regions_failing,
            regions_reporting,
            *cause_records(),
        ),
    )


def _regions_of(journey: Journey) -> str:
    """The N of "failing in 2 of N regions", looked up when the alert is rendered."""
    return (
        "{{ with printf "
        f'"synthetic:journey_regions_reporting:count{{journey=\\"{journey.name}\\",target=%q}}" '
        "$labels.target | query }}{{ . | first | value }}{{ end }}"
    )


def _first_region(query: str, args: str) -> str:
    """A template giving the first region (in name order: the same on every evaluation) of the
    series ``query`` (a printf format over the alert's labels ``args``) returns."""
    found = f'{{{{ with printf "{query}" {args} | query | sortByLabel "region" }}}}'
    return found + '{{ . | first | label "region" }}{{ end }}'


def quorum_alerts(journey: Journey, quorum: int) -> tuple[Alert, ...]:
    """Page when enough regions agree that the journey fails; warn when one region alone does."""
    labels = {"journey": journey.name, "team": journey.team}
    scenarios = ", ".join(journey.scenarios)
    failing = f'synthetic:journey_regions_failing:count{{journey="{journey.name}"}}'
    runs = {"journey": journey.name, "target": "{{ $labels.target }}", "outcome": "failure"}
    first_failing_region = _first_region(
        f'synthetic:journey_region_failing:bool{{journey=\\"{journey.name}\\",target=%q}} == 1', "$labels.target"
    )
    page = Alert(
        name="JourneyFailingMultiRegion",
        # Not where a cause of it fails at the same evaluation: see monitoring/causes.py.
        expr=unless_caused(f"{failing} >= {quorum}", journey, quorum),
        severity="page",
        layer="synthetic",
        for_=journey.page_for,
        labels=labels,
        runs=RunsLink(runs, first_failing_region),
        summary=f"{journey.title} is failing in {{{{ $value }}}} of {_regions_of(journey)} regions",
        description=(
            f"The last two runs of {scenarios} failed from {{{{ $value }}}} probe regions "
            "against {{ $labels.target }}: customers are very likely affected."
        ),
    )
    warning = Alert(
        name="JourneyFailingSingleRegion",
        expr=(
            f'synthetic:journey_region_failing:bool{{journey="{journey.name}"}} == 1\n'
            f"unless on (journey, target)\n"
            f"{failing} >= {quorum}"
        ),
        severity="warning",
        layer="synthetic",
        for_="5m",
        labels=labels,
        runs=RunsLink(runs),
        summary=f"{journey.title} is failing from {{{{ $labels.region }}}} only",
        description=(
            f"The last two runs of {scenarios} failed from {{{{ $labels.region }}}} against "
            "{{ $labels.target }} while other regions pass: a regional path "
            "(CDN edge, DNS, network) or that runner may be at fault."
        ),
    )
    return (page, warning)


_CURRENCY_SCENARIOS = (
    ("deposit_each_currency", "deposits", "deposits"),
    ("withdraw_each_currency", "withdrawals", "withdrawals"),
)
_PUSH_EVENTS = (
    ("balance:update", "spa", "Balance updates"),
    ("rewards:level_up", "level_up", "Level-up notifications"),
    ("chat:message", "chat", "Chat messages"),
)


def journey_alerts(settings: RuleSettings) -> Group:
    """Alerts about what customers live through, from the synthetic journeys."""
    rules: list[Alert] = []
    for journey in JOURNEYS:
        rules.extend(quorum_alerts(journey, settings.quorum))
    guardrail_selector = 'synthetic_step_failures_total{reason="guardrail_breach"}'
    rules.append(
        Alert(
            name="GuardrailBreached",
            expr=new_or_increased(guardrail_selector, "15m", "scenario, step, target, region"),
            severity="page",
            layer="synthetic",
            labels={"journey": "guardrails", "team": "risk"},
            runs=RunsLink(
                {"scenario": "{{ $labels.scenario }}", "target": "{{ $labels.target }}", "reason": "guardrail_breach"}
            ),
            summary="Money limits gave way: {{ $labels.scenario }} step {{ $labels.step }} from {{ $labels.region }}",
            description=(
                "{{ $labels.target }} accepted money movement it must refuse (a stake or "
                "withdrawal beyond a limit, or a settled bet rolled back). Money is at "
                "risk: this pages at once, without quorum."
            ),
        )
    )
    for scenario, journey_name, noun in _CURRENCY_SCENARIOS:
        rules.append(
            Alert(
                name="CurrencyFailing",
                expr=(
                    "count by (scenario, currency, target) (\n"
                    "  max by (scenario, currency, target, region) "
                    f'(synthetic_currency_success{{{SCHEDULED}, scenario="{scenario}"}}) == 0\n'
                    f") >= {settings.quorum}"
                ),
                severity="warning",
                layer="synthetic",
                for_="5m",
                labels={"journey": journey_name, "team": "payments"},
                runs=RunsLink(
                    {"scenario": scenario, "target": "{{ $labels.target }}", "outcome": "failure"},
                    _first_region(
                        f'synthetic_currency_success{{scenario=\\"{scenario}\\",currency=%q,target=%q}} == 0',
                        "$labels.currency $labels.target",
                    ),
                ),
                summary=f"{{{{ $labels.currency }}}} {noun} fail from {{{{ $value }}}} regions",
                description=(
                    f"The last {noun[:-1]} in {{{{ $labels.currency }}}} on "
                    "{{ $labels.target }} failed from {{ $value }} regions; other "
                    "currencies may still work."
                ),
            )
        )
    rules.append(
        Alert(
            name="RewardsLagHigh",
            expr=(
                "histogram_quantile(0.9,\n"
                "  sum by (le, target) (rate(synthetic_rewards_lag_seconds_bucket[15m]))\n"
                ") > 30"
            ),
            severity="warning",
            layer="synthetic",
            for_="10m",
            labels={"journey": "rewards", "team": "rewards"},
            summary="Rewards show up {{ $value | humanizeDuration }} after a bet (90th percentile)",
            description=(
                "On {{ $labels.target }} a settled bet takes {{ $value | humanizeDuration }} "
                "(p90, last 15 min) to appear in rewards: the Kafka path from Vault to "
                "Concierge is slow (consumer lag?)."
            ),
        )
    )
    for event, journey_name, noun in _PUSH_EVENTS:
        rules.append(
            Alert(
                name="PushLatencyHigh",
                expr=(
                    "histogram_quantile(0.95,\n"
                    "  sum by (le, event, target) "
                    f'(rate(synthetic_push_latency_seconds_bucket{{event="{event}"}}[15m]))\n'
                    ") > 5"
                ),
                severity="warning",
                layer="synthetic",
                for_="10m",
                labels={"journey": journey_name, "team": "realtime"},
                summary=f"{noun} reach the browser {{{{ $value | humanizeDuration }}}} late (95th percentile)",
                description=(
                    "{{ $labels.event }} pushes from Room-Service on {{ $labels.target }} "
                    "take {{ $value | humanizeDuration }} (p95, last 15 min) to arrive."
                ),
            )
        )
    rules.append(
        Alert(
            name="BrowserPageSlow",
            expr=join_journey('(max by (scenario, region) (synthetic_browser_timing_seconds{metric="lcp"}) > 4)'),
            severity="warning",
            layer="synthetic",
            for_="15m",
            labels={"team": "frontend"},
            summary=(
                "The web app takes {{ $value | humanizeDuration }} to show its main content "
                "({{ $labels.scenario }}, {{ $labels.region }})"
            ),
            description=(
                "Largest contentful paint of {{ $labels.scenario }} from {{ $labels.region }} "
                "is {{ $value | humanizeDuration }}, above the 4 s that Core Web Vitals "
                "calls poor."
            ),
        )
    )
    return Group("mystery-guest-journey-alerts", tuple(rules))


# --- the probe runners themselves ---------------------------------------------------


def runner_alerts(settings: RuleSettings) -> Group:
    """Alerts that say the monitoring itself is blind or broken, not the platform."""
    up = 'up{job="mystery-guest"}'
    rules = (
        Alert(
            name="RunnerDown",
            expr=f"{up} == 0",
            severity="warning",
            layer="runner",
            for_="3m",
            labels={"team": "sre"},
            summary="The probe runner in {{ $labels.region }} is down",
            description=(
                "Prometheus cannot scrape {{ $labels.instance }}: no journey is probed "
                "from {{ $labels.region }}, and its scenario alerts are silenced."
            ),
        ),
        Alert(
            name="RunnerAbsent",
            expr=(
                f"max by (region) (max_over_time(synthetic_runner_info{{{SCHEDULED}}}[1h]))\n"
                "unless\n"
                f"max by (region) (synthetic_runner_info{{{SCHEDULED}}})"
            ),
            severity="warning",
            layer="runner",
            for_="5m",
            labels={"team": "sre"},
            summary="The probe runner in {{ $labels.region }} stopped reporting",
            description=(
                "No runner has reported from {{ $labels.region }} for 5 minutes although "
                "one did within the hour: its target may have left service discovery."
            ),
        ),
        Alert(
            name="SyntheticMonitoringBlind",
            expr=f"(count({up} == 1) or vector(0)) < {settings.quorum}",
            severity="page",
            layer="runner",
            for_="5m",
            labels={"team": "sre"},
            summary=f"Probe runners up: {{{{ $value }}}} (a page needs {settings.quorum}): journey outages cannot page",
            description=(
                f"A journey pages only when {settings.quorum} regions see it fail. With "
                "{{ $value }} runners up, a real outage would go unnoticed."
            ),
        ),
        Alert(
            name="ScenarioStale",
            expr=(
                f"time() - max by ({PER_SCENARIO}) "
                f"(synthetic_scenario_last_run_timestamp_seconds{{{SCHEDULED}}})\n"
                f"> 3 * max by ({PER_SCENARIO}) (synthetic_scenario_interval_seconds{{{SCHEDULED}}})"
            ),
            severity="warning",
            layer="runner",
            for_="5m",
            labels={"team": "sre"},
            summary=(
                "{{ $labels.scenario }} has not run from {{ $labels.region }} for {{ $value | humanizeDuration }}"
            ),
            description=(
                "The runner is up but {{ $labels.scenario }} missed three intervals in a row "
                "(scheduler stuck, runs hanging past their timeout, or skipped)."
            ),
        ),
        Alert(
            name="ScenarioWithoutJourney",
            expr=(
                "max by (scenario) (synthetic_scenario_last_run_timestamp_seconds)\n"
                f"unless on (scenario) {JOURNEY_INFO}"
            ),
            severity="warning",
            layer="runner",
            for_="10m",
            labels={"team": "sre"},
            summary="Scenario {{ $labels.scenario }} belongs to no journey: its failures page no one",
            description=(
                "Add {{ $labels.scenario }} to a journey in monitoring/journeys.py and run `python -m monitoring`."
            ),
        ),
        Alert(
            name="RunnerErrors",
            expr=new_or_increased("synthetic_runner_errors_total", "15m", "region"),
            severity="warning",
            layer="runner",
            labels={"team": "sre"},
            summary="The probe runner in {{ $labels.region }} hit its own bugs",
            description=(
                "synthetic_runner_errors_total grew in the last 15 minutes: a probe or "
                "scenario raised instead of returning a failed result. Results from "
                "{{ $labels.region }} may be missing or wrong."
            ),
        ),
        Alert(
            name="RunnerEventLoopLagging",
            expr=(
                "histogram_quantile(0.99,\n"
                "  sum by (le, region) "
                f"(rate(synthetic_runner_event_loop_lag_seconds_bucket{{{SCHEDULED}}}[10m]))\n"
                ") > 0.1"
            ),
            severity="warning",
            layer="runner",
            for_="15m",
            labels={"team": "sre"},
            summary=(
                "The runner in {{ $labels.region }} wakes {{ $value | humanizeDuration }} late (p99): "
                "its timings cannot be trusted"
            ),
            description=(
                "The runner's event loop in {{ $labels.region }} woke more than 100 ms later than asked "
                "(99th percentile, last 10 min). Every duration it reports from there (steps, pushes, "
                "HTTP phases) carries that delay: the platform may look slower than it is."
            ),
        ),
        Alert(
            name="StakeBudgetLow",
            expr=(
                "min by (target) (synthetic_stake_budget_remaining_usd)\n"
                "and\n"
                "min by (target) (predict_linear(synthetic_stake_budget_remaining_usd[6h], 86400)) <= 0"
            ),
            severity="warning",
            layer="runner",
            for_="15m",
            labels={"team": "sre"},
            summary=(
                "The probes' stake budget for {{ $labels.target }} runs out within a day "
                '({{ printf "%.2f" $value }} USD left)'
            ),
            description=(
                "When it is spent, betting scenarios stop with budget_exhausted and bets, "
                "rewards and level-up go unwatched. Top the synthetic accounts up."
            ),
        ),
        Alert(
            name="PushGroupStale",
            expr=(
                f'time() - max by (target, region) (push_time_seconds{{job="{CI_PUSH_JOB}"}})'
                f" > {settings.ci_push_max_age_seconds}"
            ),
            severity="warning",
            layer="runner",
            for_="10m",
            labels={"team": "sre"},
            summary=(
                "The CI push group of {{ $labels.target }} from {{ $labels.region }} is "
                "{{ $value | humanizeDuration }} old: delete it"
            ),
            description=(
                "The Pushgateway keeps a pushed group until it is deleted. No rule reads it as a "
                "probe region, but its old results still show on dashboards that do not filter "
                "on job: delete it, or make the pipeline's last step delete it."
            ),
        ),
        *shard_rules(),
    )
    return Group("mystery-guest-runner-alerts", (*rules, region_silent(settings)))


def region_silent(settings: RuleSettings) -> Alert:
    """A region whose agent stopped pushing. Nothing of it arrives any more, not even an ``up``
    of 0 (that lives in the agent), so only the absence of its heartbeat tells."""
    heartbeat = f'up{{job="{AGENT_JOB}"}}'
    silent_after = settings.region_silent_after
    parse_duration(silent_after)
    return Alert(
        name="RegionSilent",
        expr=(
            f"group by (region) (present_over_time({heartbeat}[1d]))\n"
            "unless on (region)\n"
            f"group by (region) (present_over_time({heartbeat}[{silent_after}]))"
        ),
        severity="warning",
        layer="runner",
        for_="1m",
        labels={"team": "sre"},
        summary=f"Nothing has arrived from {{{{ $labels.region }}}} for over {silent_after}",
        description=(
            "The Prometheus agent of {{ $labels.region }} pushed within the last day but not "
            f"for {silent_after}: no journey is watched from there, and its alerts are "
            "silenced. The runners may be fine; the agent or its path to this server is not."
        ),
    )


# --- shards: one region's schedules split across replicas ------------------------------

MAX_NAMED_SHARDS = 16
"""ShardUnwatched can name every missing shard of a region run by up to this many replicas."""


def shard_rules() -> tuple[Record, Alert]:
    """Which shards a region should have (every ``I/N`` for the N its replicas report), and an
    alert naming each one that does not report: its share of the schedules runs nowhere.

    PromQL cannot count from a label, so the expected shards are spelt out, index by index,
    up to ``MAX_NAMED_SHARDS``; the record runs in the same group, before the alert.
    """
    fleets = Record(
        "synthetic:region_shards:info",
        'max by (region, shards) (label_replace(synthetic_runner_info, "shards", "$1", "shard", "[0-9]+/([0-9]+)"))',
    )
    expected = "\nor\n".join(
        f'label_replace({fleets.record}{{shards=~"{"|".join(str(n) for n in range(index, MAX_NAMED_SHARDS + 1))}"}}, '
        f'"shard", "{index}/$1", "shards", "(.+)")'
        for index in range(1, MAX_NAMED_SHARDS + 1)
    )
    unwatched = Alert(
        name="ShardUnwatched",
        expr=f"(\n{expected}\n)\nunless on (region, shard)\nsynthetic_runner_info",
        severity="warning",
        layer="runner",
        for_="10m",
        labels={"team": "sre"},
        summary="Shard {{ $labels.shard }} of {{ $labels.region }} is not running: its schedules are unwatched",
        description=(
            "Replicas in {{ $labels.region }} split its schedules {{ $labels.shards }} ways, but no "
            "replica reports shard {{ $labels.shard }} for 10 minutes: the scenarios it owns "
            "(`python runner.py list --shard {{ $labels.shard }}`) run from nowhere in this region."
        ),
    )
    return fleets, unwatched


# --- the services' /health and /liveness, probed from outside --------------------------


# One failed uptime run (every 15 s) and 15s make a cause: a single failed run is gone by the
# next evaluation. A journey's page is held back while its cause is pending (monitoring/causes.py);
# after recovery a journey clears only on its next run, so the cause keeps firing that long.
_CAUSE_FOR = "15s"
_CAUSE_KEEPS_FIRING = "5m"


def health_alerts(settings: RuleSettings) -> Group:
    """Alerts from each service's own health answers and its TLS certificate."""
    tls_left = "min by (service, target) (synthetic_tls_cert_expiry_timestamp_seconds) - time()"
    rules = (
        Alert(
            name="ServiceDown",
            expr=service_down(settings.quorum),
            severity="page",
            layer="health",
            for_=_CAUSE_FOR,
            keep_firing_for=_CAUSE_KEEPS_FIRING,
            summary="{{ $labels.service }} is down, seen from {{ $value }} regions",
            description=(
                "{{ $labels.service }} on {{ $labels.target }} fails /liveness, or /health "
                "without naming a failing dependency, from {{ $value }} regions. Every journey "
                "that needs it fails too; their alerts are silenced while this one fires."
            ),
        ),
        Alert(
            name="DependencyDown",
            expr=dependency_down(settings.quorum),
            severity="page",
            layer="health",
            for_=_CAUSE_FOR,
            keep_firing_for=_CAUSE_KEEPS_FIRING,
            summary=(
                "{{ $labels.service }} reports its {{ $labels.dependency }} down (seen from {{ $value }} regions)"
            ),
            description=(
                "The /health answer of {{ $labels.service }} on {{ $labels.target }} marks "
                "{{ $labels.dependency }} as failing. Alerts of the journeys that depend on "
                "it are silenced while this one fires."
            ),
        ),
        Alert(
            name="TLSCertExpiringSoon",
            expr=f"{tls_left} < 21 * 86400",
            severity="warning",
            layer="health",
            for_="10m",
            summary="The TLS certificate of {{ $labels.service }} expires in {{ $value | humanizeDuration }}",
            description=(
                "{{ $labels.target }}: renew the certificate of {{ $labels.service }} "
                "before it expires; browsers and API clients will refuse it then."
            ),
        ),
        Alert(
            name="TLSCertExpiringCritical",
            expr=f"{tls_left} < 3 * 86400",
            severity="page",
            layer="health",
            for_="10m",
            summary="The TLS certificate of {{ $labels.service }} expires in {{ $value | humanizeDuration }}",
            description=(
                "{{ $labels.target }}: when it expires every customer loses {{ $labels.service }}. Renew it now."
            ),
        ),
    )
    return Group("mystery-guest-health-alerts", rules)


# --- the platform's own metrics: errors and abuse seen from inside ---------------------


def internal_alerts() -> Group:
    """Alerts on the services' own counters (synthetic accounts excluded by their flag)."""
    five_xx = (
        'sum by (service, target) (rate(platform_http_requests_total{code=~"5.."}[5m]))\n'
        "/\n"
        "sum by (service, target) (rate(platform_http_requests_total[5m]))\n"
        "> 0.05"
    )
    rules: list[Alert] = [
        Alert(
            name="ServiceErrorRatioHigh",
            expr=five_xx,
            severity="warning",
            layer="internal",
            for_="5m",
            summary="{{ $labels.service }} answers {{ $value | humanizePercentage }} of requests with 5xx",
            description=(
                "Real customers' requests to {{ $labels.service }} on {{ $labels.target }} "
                "fail with a server error (last 5 min, all routes)."
            ),
        )
    ]
    for flow, metric, journey_name in (
        ("deposit", "platform_deposits_total", "deposits"),
        ("withdrawal", "platform_withdrawals_total", "withdrawals"),
    ):
        rules.append(
            Alert(
                name="PaymentFailureRatioHigh",
                expr=(
                    f'sum by (currency, target) (rate({metric}{{status="failed"}}[15m]))\n'
                    "/\n"
                    f'sum by (currency, target) (rate({metric}{{status=~"completed|failed"}}[15m]))\n'
                    "> 0.1"
                ),
                severity="warning",
                layer="internal",
                for_="10m",
                labels={"journey": journey_name, "team": "payments", "flow": flow},
                summary=f"{{{{ $value | humanizePercentage }}}} of {{{{ $labels.currency }}}} {flow}s fail",
                description=(
                    f"Customers' {flow}s in {{{{ $labels.currency }}}} on "
                    "{{ $labels.target }} end as failed (last 15 min, as Vault counts them)."
                ),
            )
        )
    rules.extend(
        (
            Alert(
                name="StakeLimitRefusalSpike",
                expr=spike(
                    'platform_refusals_total{error=~"stake_above_limit|stake_below_limit"}',
                    "service, target",
                    Decimal("0.2"),
                    Decimal(3),
                ),
                severity="warning",
                layer="internal",
                labels={"journey": "guardrails", "team": "risk"},
                summary=(
                    '{{ printf "%.2f" $value }} stakes/s refused for their limit: '
                    "someone may be probing the betting limits"
                ),
                description=(
                    "{{ $labels.service }} on {{ $labels.target }} refuses stakes outside "
                    "the limits at over 3 times the day's rate."
                ),
            ),
            Alert(
                name="WithdrawalRefusalSpike",
                expr=spike(
                    'platform_refusals_total{error="withdrawal_above_limit"}',
                    "service, target",
                    Decimal("0.1"),
                    Decimal(3),
                ),
                severity="warning",
                layer="internal",
                labels={"journey": "withdrawals", "team": "risk"},
                summary=(
                    '{{ printf "%.2f" $value }} withdrawals/s refused above the limit: '
                    "someone may be trying to cash out past it"
                ),
                description=(
                    "{{ $labels.service }} on {{ $labels.target }} refuses withdrawals above "
                    "max_withdrawal at over 3 times the day's rate."
                ),
            ),
            Alert(
                name="AuthFailureSpike",
                expr=spike(
                    'platform_refusals_total{error="unauthorized"}',
                    "service, target",
                    Decimal(1),
                    Decimal(3),
                ),
                severity="warning",
                layer="internal",
                labels={"team": "risk"},
                summary=(
                    '{{ printf "%.2f" $value }} requests/s refused as unauthorized: '
                    "credential stuffing or an expired-token storm"
                ),
                description=(
                    "{{ $labels.service }} on {{ $labels.target }} answers 401 at over 3 times the day's rate."
                ),
            ),
            Alert(
                name="BetRollbackAttempts",
                expr="sum by (service, target) (increase(platform_bet_rollback_attempts_total[15m])) > 3",
                severity="warning",
                layer="internal",
                labels={"journey": "bets", "team": "risk"},
                summary="{{ $value | humanize }} attempts in 15 min to roll back settled bets",
                description=(
                    "Customers' clients should never roll back a settled bet. Repeated "
                    "attempts on {{ $labels.target }} look like someone trying to undo losses."
                ),
            ),
            Alert(
                name="IdempotencyReplaySpike",
                expr=spike(
                    "platform_idempotency_replays_total",
                    "service, target",
                    Decimal("0.5"),
                    Decimal(3),
                ),
                severity="warning",
                layer="internal",
                labels={"team": "payments-ledger"},
                summary='{{ printf "%.2f" $value }} money requests/s replayed with the same idempotency key',
                description=(
                    "{{ $labels.service }} on {{ $labels.target }} answers replays at over 3 "
                    "times the day's rate: a client retry storm or someone replaying payments."
                ),
            ),
        )
    )
    return Group("mystery-guest-internal-alerts", tuple(rules))


# --- the files -----------------------------------------------------------------------


def rule_files(settings: RuleSettings) -> tuple[RuleFile, ...]:
    """Every rule file, in the order Prometheus should read them."""
    return (
        RuleFile("journeys", (journey_records(), journey_alerts(settings))),
        RuleFile("slo", (slo_records(), slo_alerts(settings.slo_target))),
        RuleFile("runner", (runner_alerts(settings),)),
        RuleFile("health", (health_alerts(settings),)),
        RuleFile("internal", (internal_alerts(),)),
    )


def all_alerts(settings: RuleSettings | None = None) -> list[Alert]:
    """Every alerting rule (an alert name may have several rules, e.g. one per journey)."""
    return [
        rule
        for file in rule_files(settings or RuleSettings())
        for group in file.groups
        for rule in group.rules
        if isinstance(rule, Alert)
    ]


def alert_names(settings: RuleSettings | None = None) -> list[str]:
    """Distinct alert names, in file order: one runbook each."""
    return list(dict.fromkeys(alert.name for alert in all_alerts(settings)))


def recorded_names(settings: RuleSettings | None = None) -> list[str]:
    """Distinct recorded series names, for the dashboard and for lint tests."""
    return list(
        dict.fromkeys(
            rule.record
            for file in rule_files(settings or RuleSettings())
            for group in file.groups
            for rule in group.rules
            if isinstance(rule, Record)
        )
    )


def _rule_document(rule: Alert | Record, settings: RuleSettings) -> dict[str, Any]:
    if isinstance(rule, Record):
        document: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
        if rule.labels:
            document["labels"] = dict(rule.labels)
        return document
    labels = {"severity": rule.severity, **rule.labels, "layer": rule.layer}
    document = {"alert": rule.name, "expr": rule.expr, "for": settings.for_duration(rule)}
    if parse_duration(rule.keep_firing_for):
        document["keep_firing_for"] = settings.keep_firing_duration(rule)
    return {
        **document,
        "labels": labels,
        "annotations": {
            "summary": rule.summary,
            "description": rule.description,
            "runbook_url": f"{settings.runbook_base_url}{rule.name}.md",
            **_run_links(rule, settings),
        },
    }


def _run_links(alert: Alert, settings: RuleSettings) -> dict[str, str]:
    """``runs_url`` (the runner's run list) and, where uploads are configured, ``evidence_url``."""
    if alert.runs is None:
        return {}
    links = {"runs_url": settings.runs_url(alert.runs.region, alert.runs.filters)}
    if settings.evidence_url:
        scenario = alert.runs.filters.get("scenario")
        links["evidence_url"] = f"{settings.evidence_url}{alert.runs.region}/" + (f"{scenario}/" if scenario else "")
    return links


def render_rule_files(settings: RuleSettings | None = None) -> dict[str, str]:
    """File name -> YAML text of every rule file."""
    settings = settings or RuleSettings()
    return {
        f"{file.stem}.yml": dump_yaml(
            {
                "groups": [
                    {
                        "name": group.name,
                        "rules": [_rule_document(rule, settings) for rule in group.rules],
                    }
                    for group in file.groups
                ]
            }
        )
        for file in rule_files(settings)
    }


def write_rule_files(directory: Path, settings: RuleSettings | None = None) -> list[Path]:
    """Write every rule file into ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_rule_files(settings).items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Render the rules, e.g. a fast variant: ``python -m monitoring.rules --for-scale 0.01 --out DIR``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", type=Path, default=RULES_DIR)
    parser.add_argument("--for-scale", type=Decimal, default=Decimal(1))
    parser.add_argument("--slo-target", type=Decimal, default=RuleSettings.slo_target)
    parser.add_argument("--quorum", type=int, default=RuleSettings.quorum)
    args = parser.parse_args(argv)
    settings = RuleSettings(slo_target=args.slo_target, quorum=args.quorum, for_scale=args.for_scale)
    for path in write_rule_files(args.out, settings):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
