"""Issue 17, item 5: a page within a minute for the journeys that lose money or customers.

Computed, not timed end to end: for each fault, the shipped scenario interval, rule (``for:``,
failed runs needed) and Alertmanager page ``group_wait`` go through the formula of section 3
(``bench.alerting.alert_formula``, one region). With two regions a quorum page waits for the
later region, whose next run is on average 2/3 of an interval away (the mean of the larger of
two uniform waits), and a page without quorum for the earlier (1/3): the "two regions" column.
Each scenario's run time and what a run costs (HTTP requests through its service clients, stake
budget spent) are measured here, one run of each against the sandbox at its minimum stakes.

False pages: ``monitoring/prometheus/tests/flakes_test.yml`` (written by
``tests/monitoring/flake_series.py``) replays an hour of two regions failing 1 % of runs at
random, and a health check flapping, through the shipped rules with promtool.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from prometheus_client import CollectorRegistry

from bench.alerting import alert_formula, shipped_delay
from bench.machine import machine_line
from bench.report import BenchOptions, Goal, Section, table
from config.loader import load_settings
from config.sandbox_config import TARGET, fast_sandbox_config, write_config
from harness.discovery import discover, plan
from harness.oneshot import run_once
from harness.runtime import Runtime
from sandbox.testing import start_sandbox

__all__ = ["NAME", "run"]

NAME = "pages"
TITLE = "8. A page within a minute: shipped intervals, rules and Alertmanager, and what they cost"
GOAL_SECONDS = 60.0
DAY_SECONDS = 86400
HEALTH_REQUESTS_PER_SERVICE_READ = 2  # liveness and health


@dataclass(frozen=True)
class Fault:
    fault: str
    scenario: str
    alert: str
    quorum: bool  # waits for the later of two regions; else the earlier one pages


FAULTS = (
    Fault("wrong payout (`bet_wrong_payout`)", "bet_settlement", "JourneyFailingMultiRegion", True),
    Fault("guardrail breach (`stake_limit_not_enforced`)", "guardrails", "GuardrailBreached", False),
    Fault("chat down (`chat_down`)", "uptime", "DependencyDown", True),
    Fault(
        "a failing deposit currency (`deposit_fails:EUR`)", "deposit_each_currency", "JourneyFailingMultiRegion", True
    ),
)


@dataclass
class RunCost:
    seconds: float
    requests: int
    stake_usd: Decimal


def _measure_runs(work: Path, names: list[str], runs: int) -> dict[str, RunCost]:
    """The last of ``runs`` runs of each scenario (the first logs in and tops up), against a fresh sandbox."""
    found = discover()
    costs: dict[str, RunCost] = {}
    handle = start_sandbox(work / "sandbox")
    try:
        for name in names:
            for _ in range(runs):
                config = fast_sandbox_config(handle.target_urls(), work / name / "artifacts", [name])
                settings = load_settings(write_config(config, work / name / "config.yaml"), scenario_names=found)
                registry = CollectorRegistry()
                [result] = asyncio.run(
                    run_once(Runtime(settings, registry=registry), plan(settings, found, names=[name]))
                )
            left = registry.get_sample_value("synthetic_stake_budget_remaining_usd", {"target": TARGET})
            requests = sum(
                sample.value
                for family in registry.collect()
                if family.name == "synthetic_http_phase_duration_seconds"
                for sample in family.samples
                if sample.name.endswith("_count") and sample.labels["phase"] == "processing"
            )
            spent = (
                Decimal(0) if left is None else settings.targets[TARGET].stake_budget_usd_per_day - Decimal(str(left))
            )
            costs[name] = RunCost(result.duration_seconds, int(requests), spent.quantize(Decimal("0.01")))
    finally:
        handle.stop()
    return costs


def _uptime_requests() -> int:
    from scenarios.uptime import SERVICES, UptimeOptions

    return len(SERVICES) * UptimeOptions().health_reads * HEALTH_REQUESTS_PER_SERVICE_READ


def _promtool_flakes() -> tuple[bool | None, str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        return None, "promtool missing"
    path = Path(__file__).resolve().parent.parent / "monitoring" / "prometheus" / "tests" / "flakes_test.yml"
    done = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, check=False)
    return done.returncode == 0, "promtool test rules flakes_test.yml " + (
        "passed" if done.returncode == 0 else "failed"
    )


def run(options: BenchOptions) -> Section:
    from tests.monitoring.flake_series import render

    started = time.time()
    scenarios = discover()
    work = options.work_dir / NAME
    work.mkdir(parents=True, exist_ok=True)
    money = sorted(name for name, cls in scenarios.items() if "browser" not in cls.tags)
    if options.quick:  # the smoke test: the four faults' scenarios, one run each
        money = sorted({fault.scenario for fault in FAULTS})
    costs = _measure_runs(work, money, 1 if options.quick else 2)
    costs["uptime"].requests = _uptime_requests()

    rows: list[tuple[object, ...]] = []
    goals_met = True
    for fault in FAULTS:
        interval = scenarios[fault.scenario].interval_seconds
        delay = shipped_delay(fault.alert)
        run_seconds = costs[fault.scenario].seconds
        mean, worst = alert_formula(interval, run_seconds, delay)
        two_regions = mean + interval * ((2 / 3 - 1 / 2) if fault.quorum else (1 / 3 - 1 / 2))
        goals_met = goals_met and two_regions < GOAL_SECONDS
        rows.append(
            (
                fault.fault,
                f"{fault.scenario} every {interval:g} s",
                fault.alert,
                delay.describe(),
                f"{run_seconds:.1f}",
                f"{mean:.1f}",
                f"{two_regions:.1f}",
                f"{worst:.1f}",
            )
        )
    _, figures = render()
    # the smoke test leaves promtool out: tests/monitoring runs the same file
    promtool_ok, promtool_detail = (None, "promtool not run: --quick") if options.quick else _promtool_flakes()

    cost_rows: list[tuple[object, ...]] = []
    total_requests, total_stake = 0, Decimal(0)
    for name in money:
        interval = scenarios[name].interval_seconds
        runs = int(DAY_SECONDS // interval)
        cost = costs[name]
        total_requests += runs * cost.requests
        total_stake += runs * cost.stake_usd
        cost_rows.append(
            (name, f"{interval:g}", runs, cost.requests, runs * cost.requests, cost.stake_usd, runs * cost.stake_usd)
        )
    cost_rows.append(("**all**", "", "", "", total_requests, "", total_stake))

    body = "\n\n".join(
        [
            "Time from the fault to the page, shipped (`monitoring/prometheus/prometheus.yml`'s scrape and "
            "evaluation intervals, the rules' `for:`, Alertmanager's `group_wait` for pages):",
            table(
                (
                    "fault",
                    "scenario",
                    "page",
                    "its path as shipped",
                    "run (s, measured)",
                    "mean (s), section 3's formula",
                    "mean (s), two regions",
                    "worst (s)",
                ),
                rows,
            ),
            "- Chat down pages through its cause, `DependencyDown{dependency=chat}` from uptime's read of "
            "Room-Service's `/health`; the chat journey's own page (every 60 s, two failed runs, `for: 1m`) "
            "does not even go pending while the cause holds, as `tests/monitoring/test_alerting_e2e.py` shows.\n"
            "- Bets and deposits page with `for: 0s`: two failed runs in each of two regions already rule out "
            "one flake. Causes (`ServiceDown`, `DependencyDown`) have `for: 15s`, one uptime interval: a single "
            "failed uptime run is gone by the next evaluation. Warnings keep `group_wait: 30s`.\n"
            "- One outage, one page: in a whole-Vault outage the bets and deposits pages (`for: 0s`) could "
            "reach the pager before `ServiceDown` or `DependencyDown` (uptime's path, as chat down's above, "
            "still pending), whose inhibition then came too late. Each journey page now leaves out the targets "
            "where one of its causes holds (`monitoring/causes.py`), so the cause pages alone: "
            "`monitoring/prometheus/tests/causes_test.yml` replays the worst phase, the e2e test runs `db_down`. "
            "An outage fails the guardrails with `http_status`, never `guardrail_breach`.",
            "False pages over an hour of simulated evaluation (promtool, rules evaluated every 15 s, two "
            f"regions, seed fixed): {figures['bet_settlement runs failed at random in the hour']:g} bet_settlement, "
            f"{figures['deposit_each_currency runs failed at random in the hour']:g} deposit_each_currency and "
            f"{figures['uptime runs failed at random in the hour']:g} uptime runs failed at random (1 %): "
            "no page; a check flapping every other run in both regions, each at its own phase: no page. "
            "The same series with every run failing from minute 60 page "
            f"{figures['bet_settlement']:g} s (bets), {figures['deposit_each_currency']:g} s (deposits) and "
            f"{figures['uptime (chat)']:g} s (chat) after the fault, before `group_wait` ({promtool_detail}). "
            "By arithmetic: a journey page needs two consecutive failed runs in both regions, (1 %)^4 per "
            "interval, about once in 60 years at 20 s; a cause needs a failed uptime run in both regions at "
            "once (1 in 10,000 per 15 s) whose gauge two evaluations both see (about 1 in 100, when a run "
            "ends later than the one before), about once in 5 months. The sandbox's `health_flapping` "
            "fails every uptime run (it reads `/health` twice), so it pages: a true page.",
            "What those intervals cost per day and region (HTTP requests through the scenarios' service "
            "clients, counted by `synthetic_http_phase_duration_seconds`; uptime's health reads computed: "
            "each service x 2 reads x liveness and health; socket.io connections not counted; stake budget "
            "spent at the sandbox's minimum stakes and deposits, one deposit per currency of USD, EUR, GBP "
            "and BTC, the deposits through the synthetic-only `sandbox` payment method):",
            table(
                (
                    "scenario",
                    "interval (s)",
                    "runs/day",
                    "requests/run",
                    "requests/day",
                    "stake/run (USD)",
                    "stake/day (USD)",
                ),
                cost_rows,
            ),
        ]
    )
    return Section(
        name=NAME,
        title=TITLE,
        command=".venv/bin/python -m bench --only pages",
        body=body,
        goals=[
            Goal("the four faults page under 60 s mean with two regions reporting", goals_met),
            *(
                []
                if promtool_ok is None
                else [Goal("no false page over an hour of 1 % random failures and of a flapping check", promtool_ok)]
            ),
        ],
        measured_at=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        machine=machine_line(),
        seconds=time.time() - started,
        data={"figures": figures, "requests_per_day": total_requests, "stake_per_day": str(total_stake)},
    )
