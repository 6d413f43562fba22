"""Issue item 3: seconds from a fault switched on to the scenario's metric (and alert) flipping.

One sandbox, one ``runner.py serve`` running the five scenarios that guard the five critical
areas at a short interval. For each fault, several times: wait until the scenario passes,
switch the fault on through the sandbox's admin API, poll ``/metrics`` every 0.1 s until
``synthetic_scenario_success`` reads 0, switch the fault off. With ``monitoring/`` in place
the same flip is followed through a real Prometheus and Alertmanager to a webhook
(``bench.alerting``).

What a detection costs is the wait for the next run (uniform over one interval) plus the
failing run's own duration; the alert adds the rules' "last two runs failed" (one more
interval), scrape and evaluation intervals, ``for:`` and ``group_wait``. The table computes
that for the shipped defaults from the run durations measured here.
"""

from __future__ import annotations

import contextlib
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.alerting import AlertPath, alert_path_available, running_alert_path
from bench.report import BenchOptions, Goal, Section, table
from bench.sandbox_runtime import load, sandbox_for_bench
from bench.serve import Samples, line_time, read_run_lines, running_serve, scrape
from bench.stats import median
from harness.discovery import discover
from sandbox.testing import SandboxHandle

__all__ = ["FAULTS", "NAME", "Fault", "run"]

NAME = "detect"
TITLE = "3. Time to detect: fault on to metric flip (and to alert)"
POLL_SECONDS = 0.1
REWARDS_DEADLINE_SECONDS = 2.0
REWARDS_LAG_SECONDS = 4  # > the deadline, < the interval: a late reward never lands in the next run
RESOLVE_WAIT_SECONDS = 15.0  # GuardrailBreached looks back 15 min: it stays active that long, no use waiting


@dataclass(frozen=True)
class Fault:
    area: str
    spec: str
    scenario: str
    journey: str  # the journey label of monitoring/ (alerts are per journey)
    alert: str = "JourneyFailingMultiRegion"  # the alert meant for it (with one runner: quorum 1)


FAULTS = (
    Fault("bet payout", "bet_wrong_payout", "bet_settlement", "bets"),
    Fault("deposit per currency", "deposit_fails:EUR", "deposit_each_currency", "deposits"),
    Fault("rewards lag", f"rewards_lag:{REWARDS_LAG_SECONDS}", "rewards", "rewards"),
    Fault("chat down", "chat_down", "chat", "chat"),
    Fault("guardrail", "stake_limit_not_enforced", "guardrails", "guardrails", "GuardrailBreached"),
)


@dataclass
class Detections:
    metric: list[float] = field(default_factory=list)  # fault on -> success gauge reads 0
    run_seconds: list[float] = field(default_factory=list)  # duration of the run that failed
    alert: list[float] = field(default_factory=list)  # fault on -> webhook received ``Fault.alert``
    first_alert: list[tuple[float, str]] = field(default_factory=list)  # fault on -> any alert of the journey
    missed: int = 0
    problems: list[str] = field(default_factory=list)


class RunnerGone(RuntimeError):
    """The runner under test stopped answering (it exited, or someone signalled it)."""


def _tail(log: Path, lines: int = 15) -> str:
    """The runner log's last lines, each cut short (for a failure message)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(unreadable: {exc})"
    return "\n".join(line[:300] for line in text.splitlines()[-lines:])


def _scrape(client: httpx.Client, url: str) -> Samples:
    try:
        return scrape(client, url)
    except httpx.TransportError as exc:
        raise RunnerGone(f"the runner stopped answering at {url} ({exc}); see its log") from None


def _last_run(samples: Samples, scenario: str) -> float:
    return samples.value("synthetic_scenario_last_run_timestamp_seconds", scenario=scenario) or 0.0


def _wait_passing(client: httpx.Client, url: str, scenario: str, since: float, deadline: float) -> bool:
    """Until a run that ended after ``since`` passed (the scenario is healthy again)."""
    while time.time() < deadline:
        samples = _scrape(client, url)
        if _last_run(samples, scenario) > since and samples.value("synthetic_scenario_success", scenario=scenario) == 1:
            return True
        time.sleep(POLL_SECONDS * 5)
    return False


def _wait_failing(client: httpx.Client, url: str, scenario: str, since: float, deadline: float) -> Samples | None:
    while time.time() < deadline:
        samples = _scrape(client, url)
        if _last_run(samples, scenario) > since and samples.value("synthetic_scenario_success", scenario=scenario) == 0:
            return samples
        time.sleep(POLL_SECONDS)
    return None


def _failing_run_seconds(runner_log: Path, scenario: str, since: float) -> float | None:
    """Duration of the first run of ``scenario`` that ended after ``since`` and did not pass."""
    for line in read_run_lines(runner_log):
        if (
            line.get("scenario") == scenario
            and line.get("result") in ("failure", "timeout")
            and line_time(line) >= since
        ):
            return float(line["duration_seconds"])
    return None


def _measure_fault(
    client: httpx.Client,
    url: str,
    runner_log: Path,
    sandbox: SandboxHandle,
    fault: Fault,
    reps: int,
    interval: float,
    timeout: float,
    alerts: AlertPath | None,
    found: Detections,
) -> None:
    patience = interval + timeout + 15
    fault_name = fault.spec.partition(":")[0]
    healthy_since = 0.0
    for _ in range(reps):
        if not _wait_passing(client, url, fault.scenario, healthy_since, time.time() + 2 * patience):
            found.problems.append(f"{fault.scenario} did not pass without the fault within {2 * patience:.0f} s")
            return
        alert_armed = alerts is not None and alerts.wait_resolved(fault, time.time() + RESOLVE_WAIT_SECONDS)
        if alerts is not None and not alert_armed:
            found.problems.append(f"{fault.alert} was still active from the last time: not timed this time")
        time.sleep(random.uniform(0, interval))  # a fault strikes at any point of the schedule, not just after a run
        switched_on = time.time()
        sandbox.fault_on(fault.spec)
        try:
            samples = _wait_failing(client, url, fault.scenario, switched_on, switched_on + patience)
            if samples is None:
                found.missed += 1
                continue
            found.metric.append(time.time() - switched_on)
            failing_run = _failing_run_seconds(runner_log, fault.scenario, switched_on)
            if failing_run is not None:
                found.run_seconds.append(failing_run)
            if alerts is not None and alert_armed:
                alert_deadline = time.time() + 2 * interval + alerts.extra_seconds  # one more failed run, then the path
                received = alerts.wait_firing(fault, switched_on, alert_deadline)
                if fault.alert in received:
                    found.alert.append(received[fault.alert] - switched_on)
                else:
                    found.problems.append(f"{fault.alert} did not reach the webhook")
                if received:
                    name, arrived = min(received.items(), key=lambda item: item[1])
                    found.first_alert.append((arrived - switched_on, name))
        finally:
            sandbox.fault_off(fault_name)
            healthy_since = time.time()


def _first_alerts(found: list[tuple[float, str]]) -> str:
    """The first alert of each repetition, e.g. ``1.9 CurrencyFailing``."""
    return ", ".join(f"{seconds:.1f} {name}" for seconds, name in found) or "-"


def run(options: BenchOptions) -> Section:
    reps = 1 if options.quick else 3
    interval = 5.0 if options.quick else 10.0
    work = options.work_dir / NAME
    work.mkdir(parents=True, exist_ok=True)
    names = [f.scenario for f in FAULTS]
    defaults = {name: (cls.interval_seconds, cls.timeout_seconds) for name, cls in discover().items()}
    overrides: dict[str, dict[str, object]] = {name: {"interval_seconds": interval} for name in names}
    overrides["rewards"]["options"] = {"rewards_deadline_seconds": REWARDS_DEADLINE_SECONDS}
    results = {fault.spec: Detections() for fault in FAULTS}
    with_alerts = alert_path_available()
    started = time.time()
    with sandbox_for_bench(work) as sandbox, httpx.Client(trust_env=False) as client:
        config, _ = load(work, sandbox, overrides=overrides, only=names)
        runner_log = work / "runner.log"
        with running_serve(config, runner_log) as runner:
            alert_context = running_alert_path(work, runner.url) if with_alerts else contextlib.nullcontext(None)
            with alert_context as alerts:
                for fault in FAULTS:
                    timeout = min(defaults[fault.scenario][1], 60.0)
                    try:
                        _measure_fault(
                            client,
                            runner.url,
                            runner_log,
                            sandbox,
                            fault,
                            reps,
                            interval,
                            timeout,
                            alerts,
                            results[fault.spec],
                        )
                    except RunnerGone as gone:  # the work dir goes with the test: say why here
                        raise RunnerGone(f"{gone}; during {fault.spec}; its log ends:\n{_tail(runner_log)}") from None
    return _section(results, interval, reps, defaults, with_alerts, time.time() - started)


def _section(
    results: dict[str, Detections],
    interval: float,
    reps: int,
    defaults: dict[str, tuple[float, float]],
    with_alerts: bool,
    elapsed: float,
) -> Section:
    from bench.alerting import FORMULA, MEASURED_ALERT_SETTINGS, alert_formula, shipped_delay

    rows = []
    default_rows = []
    for fault in FAULTS:
        d = results[fault.spec]
        run_seconds = median(d.run_seconds) if d.run_seconds else float("nan")
        rows.append(
            (
                fault.area,
                f"`{fault.spec}`",
                fault.scenario,
                f"{len(d.metric)}/{reps}",
                f"{median(d.metric):.1f}" if d.metric else "-",
                f"{max(d.metric):.1f}" if d.metric else "-",
                fault.alert,
                f"{median(d.alert):.1f}" if d.alert else "-",
                f"{max(d.alert):.1f}" if d.alert else "-",
                _first_alerts(d.first_alert),
            )
        )
        default_interval = defaults[fault.scenario][0]
        delay = shipped_delay(fault.alert)
        alert_mean, alert_worst = alert_formula(default_interval, run_seconds, delay)
        default_rows.append(
            (
                fault.area,
                f"{default_interval:g}",
                f"{run_seconds:.1f}",
                f"{default_interval / 2 + run_seconds:.0f}",
                f"{default_interval + run_seconds:.0f}",
                fault.alert,
                delay.describe(),
                f"{alert_mean:.0f}",
                f"{alert_worst:.0f}",
            )
        )
    measured = table(
        (
            "area",
            "fault",
            "scenario",
            "detected",
            "to metric, median (s)",
            "to metric, max (s)",
            "alert meant for it",
            "to that alert, median (s)",
            "max (s)",
            "first alert of the journey (s)",
        ),
        rows,
    )
    computed = table(
        (
            "area",
            "default interval (s)",
            "failing run (s, measured)",
            "to metric, mean (s)",
            "to metric, worst (s)",
            "alert",
            "its path as shipped",
            "to alert, mean (s)",
            "to alert, worst (s)",
        ),
        default_rows,
    )
    notes = [
        f"Measured with every scenario at a {interval:g} s interval, {reps} faults each, one at a time, each switched "
        "on at a random moment (uniform over one interval after a passing run); `/metrics` "
        f"polled every {POLL_SECONDS:g} s; `rewards` with `rewards_deadline_seconds: {REWARDS_DEADLINE_SECONDS:g}` "
        f"against a {REWARDS_LAG_SECONDS} s lag (with the default 60 s deadline, a lag is found only after 60 s).",
        "Expected to metric: half an interval waiting for the next run (uniform), plus the failing run's duration; "
        "worst: a whole interval plus the run.",
    ]
    if with_alerts:
        notes.append(
            f"Alert path measured with {MEASURED_ALERT_SETTINGS}. The journey alerts need two failed runs "
            "(`synthetic:scenario_failing:bool`); `GuardrailBreached` pages on the first breach. With every `for:` "
            "at 0, other alerts of the journey (error-budget burn, `CurrencyFailing`) may come first: the last "
            "column names the first one to arrive. `GuardrailBreached` looks back 15 minutes, so it stays active "
            "between repetitions and only its first repetition is timed (so are the burn-rate alerts: the first "
            "alert column is the first notification of the journey after the fault, whatever was active before)."
        )
    else:
        notes.append(
            "No alert path measured: `monitoring/` had no Prometheus rules and Alertmanager config to run yet; "
            "the alert columns for the defaults are computed only."
        )
    notes.append(
        f"Defaults, computed from the scenarios' default intervals, the failing run measured here, and "
        f"`monitoring/` as shipped (rules' `for:`, `prometheus/prometheus.yml`'s intervals, Alertmanager's "
        f"`group_wait`): {FORMULA}. One region failing alone raises JourneyFailingSingleRegion instead (`for: 5m`, "
        "a warning), 4 minutes later than the page. Neither README recommends intervals other than the "
        "scenarios' defaults, so those are the ones computed."
    )
    if (Path(__file__).parent / "TIME_TO_ALERT.md").exists():
        notes.append(
            "`bench/TIME_TO_ALERT.md` (from `tests/monitoring/test_alerting_e2e.py`) times the same path with two "
            "regions, production's timings scaled 20x down, and Alertmanager's inhibitions (a dependency's page "
            "silences the journeys that need it): it complements this table, which uses one region and no `for:`."
        )
    problems = [f"{fault.spec}: {p}" for fault in FAULTS for p in results[fault.spec].problems]
    missed = [f"{fault.spec} ({results[fault.spec].missed} missed)" for fault in FAULTS if results[fault.spec].missed]
    if problems or missed:
        notes.append("Problems: " + "; ".join(problems + missed))
    goals = [
        Goal(
            "every fault detected every time",
            all(len(results[f.spec].metric) == reps for f in FAULTS),
            f"{sum(len(r.metric) for r in results.values())} of {reps * len(FAULTS)}",
        )
    ]
    body = "\n\n".join(
        [
            "Measured:",
            measured,
            "Computed for the shipped default intervals and alert timings:",
            computed,
            "\n".join(f"- {note}" for note in notes),
        ]
    )
    data = {
        fault.spec: {
            "metric": results[fault.spec].metric,
            "alert": results[fault.spec].alert,
            "first_alert": results[fault.spec].first_alert,
            "run_seconds": results[fault.spec].run_seconds,
            "missed": results[fault.spec].missed,
        }
        for fault in FAULTS
    }
    return Section(NAME, TITLE, ".venv/bin/python -m bench --only detect", body, goals, data=data, seconds=elapsed)
