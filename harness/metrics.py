"""The runner's Prometheus metrics, with bounded labels only.

Labels are scenario, step, target, region, result and reason; ``currency`` only from the
configured currency list and ``dependency`` only from the configured allowlist (else
``other``, the worst of the unlisted checks). Never user ids, amounts or error text.
The duration histograms carry the run's trace id as an exemplar (OpenMetrics exposition only).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from harness.results import START_DELAY_CAUSES, Outcome, RunResult

__all__ = ["HTTP_PHASES", "RunnerMetrics", "ScenarioMetrics"]

_RUN = ("scenario", "target", "region")
_DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
_STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)
_PHASE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
HTTP_PHASES = ("connect", "tls", "processing", "transfer")
"""The phases of blackbox_exporter's ``probe_http_duration_seconds`` that the HTTP probe times."""
_LOOP_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
_START_DELAY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)
SERVICES = ("vault", "concierge", "room_service", "cdn")
OTHER = "other"


class RunnerMetrics:
    """Every metric the runner exports, registered on one registry."""

    def __init__(
        self,
        region: str,
        currencies: Iterable[str],
        dependency_allowlist: Iterable[str],
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.region = region
        self.currencies = frozenset(currencies)
        self.dependencies = frozenset(dependency_allowlist)
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.success = Gauge(
            "synthetic_scenario_success", "1 if the scenario's last run passed, else 0", _RUN, registry=r
        )
        self.duration = Histogram(
            "synthetic_scenario_duration_seconds",
            "Duration of scenario runs",
            _RUN,
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.step_duration = Histogram(
            "synthetic_step_duration_seconds",
            "Duration of scenario steps",
            ("scenario", "step", "target", "region"),
            buckets=_STEP_BUCKETS,
            registry=r,
        )
        self.http_phase_duration = Histogram(
            "synthetic_http_phase_duration_seconds",
            "HTTP request phases within a step (connect, tls, processing, transfer), as blackbox_exporter's",
            ("scenario", "step", "target", "region", "phase"),
            buckets=_PHASE_BUCKETS,
            registry=r,
        )
        self.runs = Counter("synthetic_scenario_runs", "Scenario runs by result", (*_RUN, "result"), registry=r)
        self.step_failures = Counter(
            "synthetic_step_failures",
            "Failed steps by reason",
            ("scenario", "step", "target", "region", "reason"),
            registry=r,
        )
        self.last_run = Gauge(
            "synthetic_scenario_last_run_timestamp_seconds", "Unix time the last run ended", _RUN, registry=r
        )
        self.last_success = Gauge(
            "synthetic_scenario_last_success_timestamp_seconds",
            "Unix time the last passing run ended",
            _RUN,
            registry=r,
        )
        self.interval = Gauge(
            "synthetic_scenario_interval_seconds", "Configured interval of the scenario", _RUN, registry=r
        )
        self.info = Gauge(
            "synthetic_runner_info",
            "The runner's version, region and shard (I/N: replica I of the region's N)",
            ("version", "region", "shard"),
            registry=r,
        )
        self.runner_errors = Counter(
            "synthetic_runner_errors", "Bugs in the runner or a scenario (not target failures)", ("region",), registry=r
        )
        self.dependency_up = Gauge(
            "synthetic_dependency_up",
            "1 if a /health dependency check is ok",
            ("service", "dependency", "target", "region"),
            registry=r,
        )
        self.service_up = Gauge(
            "synthetic_service_up",
            "1 if the service's liveness and health pass",
            ("service", "target", "region"),
            registry=r,
        )
        self.tls_expiry = Gauge(
            "synthetic_tls_cert_expiry_timestamp_seconds",
            "Unix time the TLS certificate expires",
            ("service", "target", "region"),
            registry=r,
        )
        self.push_latency = Histogram(
            "synthetic_push_latency_seconds",
            "Action accepted to socket.io push received",
            ("event", "target", "region"),
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.rewards_lag = Histogram(
            "synthetic_rewards_lag_seconds",
            "Bet settled to rewards visible (the Kafka path)",
            ("target", "region"),
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.currency_success = Gauge(
            "synthetic_currency_success",
            "1 if the last check of a currency passed",
            ("scenario", "currency", "target", "region"),
            registry=r,
        )
        self.stake_budget = Gauge(
            "synthetic_stake_budget_remaining_usd", "Stake budget left today, in USD", ("target",), registry=r
        )
        self.artifact_uploads = Counter(
            "synthetic_artifact_uploads",
            "Runs whose artifacts were sent to object storage, by result (success, failure, dropped)",
            ("result",),
            registry=r,
        )
        self.browser_timing = Gauge(
            "synthetic_browser_timing_seconds", "Navigation timing and Web Vitals", ("scenario", "metric"), registry=r
        )
        self.event_loop_lag = Histogram(
            "synthetic_runner_event_loop_lag_seconds",
            "How much later than asked the runner's event loop woke from a short sleep",
            ("region",),
            buckets=_LOOP_LAG_BUCKETS,
            registry=r,
        )
        self.start_delay = Histogram(
            "synthetic_runner_start_delay_seconds",
            "How much later than planned a scheduled run started, by cause (scheduler, browser_slot, run_slot, setup)",
            ("region", "cause"),
            buckets=_START_DELAY_BUCKETS,
            registry=r,
        )
        for cause in START_DELAY_CAUSES:  # a runner that never waited for a slot shows zero, not nothing
            self.start_delay.labels(region, cause)
        self._dependency_series: dict[tuple[str, str], set[str]] = {}  # (service, target) -> labels set

    def set_dependencies(self, service: str, target: str, checks: Mapping[str, bool]) -> None:
        """The dependencies one read of ``service``'s health showed, replacing the last read's.

        Unlisted checks share the label ``other``, which is up only if all of them are. A series
        the read did not show (the service could not be read, or dropped the check) is removed:
        an unknown state is absent, never the last value (``synthetic_service_up`` says why).
        """
        up: dict[str, bool] = {}
        for name, ok in checks.items():
            label = self.dependency_label(name)
            up[label] = up.get(label, True) and ok
        for label in self._dependency_series.get((service, target), set()) - up.keys():
            self.dependency_up.remove(service, label, target, self.region)
        for label, ok in up.items():
            self.dependency_up.labels(service, label, target, self.region).set(1 if ok else 0)
        self._dependency_series[(service, target)] = set(up)

    def loop_lag(self, seconds: float) -> None:
        self.event_loop_lag.labels(self.region).observe(seconds)

    def currency_label(self, currency: str) -> str:
        return currency if currency in self.currencies else OTHER

    def dependency_label(self, dependency: str) -> str:
        return dependency if dependency in self.dependencies else OTHER

    def declare(self, scenario: str, target: str, interval_seconds: float) -> None:
        """Export a scheduled scenario's series before its first run, so absence means something."""
        self.interval.labels(scenario, target, self.region).set(interval_seconds)
        for outcome in Outcome:
            self.runs.labels(scenario, target, self.region, str(outcome))

    def record(self, result: RunResult) -> None:
        labels = (result.scenario, result.target, result.region)
        self.runs.labels(*labels, str(result.outcome)).inc()
        if result.outcome is Outcome.SKIPPED:
            return
        end = result.started_at + result.duration_seconds
        exemplar = {"trace_id": result.trace_id}  # Grafana jumps from a slow point to its trace
        self.last_run.labels(*labels).set(end)
        if result.outcome is not Outcome.ABORTED:
            self.success.labels(*labels).set(1 if result.passed else 0)
            self.duration.labels(*labels).observe(result.duration_seconds, exemplar)
        if result.passed:
            self.last_success.labels(*labels).set(end)
        for cause, seconds in result.start_delay.items():
            self.start_delay.labels(result.region, cause).observe(seconds)
        for step in result.steps:
            self.step_duration.labels(result.scenario, step.name, result.target, result.region).observe(
                step.duration_seconds, exemplar
            )
            if not step.success and step.reason:
                self.step_failures.labels(result.scenario, step.name, result.target, result.region, step.reason).inc()
        if result.outcome is Outcome.FAILURE and result.reason == "error":
            self.runner_errors.labels(result.region).inc()


class ScenarioMetrics:
    """The protocol-level metrics a scenario reports, bound to its target and region."""

    def __init__(self, metrics: RunnerMetrics, scenario: str, target: str) -> None:
        self._m = metrics
        self._scenario = scenario
        self._target = target

    def push_latency(self, event: str, seconds: float) -> None:
        self._m.push_latency.labels(event, self._target, self._m.region).observe(seconds)

    def http_phases(self, step: str, phases: Mapping[str, float]) -> None:
        """One HTTP exchange's phases; a reused connection has no connect or tls phase."""
        for phase in HTTP_PHASES:
            if phase in phases:
                self._m.http_phase_duration.labels(self._scenario, step, self._target, self._m.region, phase).observe(
                    phases[phase]
                )

    def rewards_lag(self, seconds: float) -> None:
        self._m.rewards_lag.labels(self._target, self._m.region).observe(seconds)

    def dependencies(self, service: str, checks: Mapping[str, bool]) -> None:
        """Every dependency ``service``'s health showed (name -> up); see ``RunnerMetrics.set_dependencies``."""
        self._m.set_dependencies(service, self._target, checks)

    def service_up(self, service: str, up: bool) -> None:
        self._m.service_up.labels(service, self._target, self._m.region).set(1 if up else 0)

    def tls_expiry(self, service: str, timestamp: float) -> None:
        self._m.tls_expiry.labels(service, self._target, self._m.region).set(timestamp)

    def currency_success(self, currency: str, ok: bool) -> None:
        self._m.currency_success.labels(
            self._scenario, self._m.currency_label(currency), self._target, self._m.region
        ).set(1 if ok else 0)

    def browser_timing(self, metric: str, seconds: float) -> None:
        self._m.browser_timing.labels(self._scenario, metric).set(seconds)
