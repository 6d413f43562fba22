"""An hour of two regions' runs, simulated, as promtool input: noise must not page, a fault must.

Writes ``monitoring/prometheus/tests/flakes_test.yml`` (committed; a test keeps it equal to this
script's output): ``python -m tests.monitoring.flake_series``. Time runs as shipped: rules
evaluated every 15 s, each scenario at its class's interval, two regions out of phase, each run
ending a seeded random 0.5-1.5 s after its start. The runner's gauges at each 15 s step are what
the last run that ended by then left.

1. ``bet_settlement`` and ``deposit_each_currency`` fail 1 % of runs at random in each region:
   ``JourneyFailingMultiRegion`` is checked at every evaluation and never fires in the hour.
   From minute 60 every run fails (a wrong payout, a failing currency): each journey pages at
   the first evaluation after each region's second failed run, and not before.
2. ``uptime``'s read of Room-Service's ``chat`` dependency fails 1 % of runs at random in both
   regions: ``DependencyDown`` never fires in the hour. From minute 60 chat is down: it pages.
3. Beside it, Kafka's check flaps in both regions (every other run fails, each region at its own
   phase) for the whole time: ``DependencyDown`` never fires for it. (Uptime reads ``/health``
   twice a run, so a check that really alternates fails every run and pages, as the detection
   matrix shows; this is the series a single read per run would give.)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scenarios.bet_settlement import BetSettlement
from scenarios.deposit_each_currency import DepositEachCurrency
from scenarios.uptime import Uptime

OUTPUT = Path(__file__).resolve().parents[2] / "monitoring" / "prometheus" / "tests" / "flakes_test.yml"
SEED = 17
STEP_SECONDS = 15
NOISE_MINUTES = 60
FAULT_MINUTES = 3
FLAKE_RATE = 0.01
REGIONS = ("eu-west-1", "us-east-1")
TARGET = "production"
RUNBOOKS = "https://github.com/mystery-guest/mystery-guest/blob/main/monitoring/runbooks/"
GROUPS = (
    "mystery-guest-journey-records",
    "mystery-guest-slo-records",
    "mystery-guest-journey-alerts",
    "mystery-guest-slo-alerts",
    "mystery-guest-runner-alerts",
    "mystery-guest-health-alerts",
    "mystery-guest-internal-alerts",
)


@dataclass(frozen=True)
class Run:
    ended: float
    passed: bool


def simulate(
    rng: random.Random, interval: float, offset: float, fails: Callable[[int, float], bool], until: float
) -> list[Run]:
    """Runs every ``interval`` from ``offset``; ``fails(index, start)`` says which fail."""
    runs, index, start = [], 0, offset
    while start < until:
        runs.append(Run(start + rng.uniform(0.5, 1.5), not fails(index, start)))
        index, start = index + 1, start + interval
    return runs


def at_steps(runs: Sequence[Run], steps: int) -> list[tuple[Run | None, float | None]]:
    """At each evaluation step: the last run that had ended, and when the last passing one ended."""
    seen: list[tuple[Run | None, float | None]] = []
    last: Run | None = None
    last_success: float | None = None
    i = 0
    for step in range(steps):
        while i < len(runs) and runs[i].ended <= step * STEP_SECONDS:
            last, i = runs[i], i + 1
            if last.passed:
                last_success = last.ended
        seen.append((last, last_success))
    return seen


def values(samples: Sequence[float | None]) -> str:
    """promtool's expanded notation, one value per step (``_`` where nothing is known yet)."""
    return " ".join("_" if v is None else f"{v:g}" for v in samples)


def _series(name: str, labels: dict[str, str], samples: Sequence[float | None]) -> str:
    text = ",".join(f'{key}="{value}"' for key, value in labels.items())
    return f"      - series: '{name}{{{text}}}'\n        values: '{values(samples)}'\n"


def scenario_series(scenario: str, region: str, runs: Sequence[Run], interval: float, steps: int) -> str:
    """What the runner exports about one scenario in one region, step by step."""
    seen = at_steps(runs, steps)
    labels = {"job": "mystery-guest", "scenario": scenario, "target": TARGET, "region": region}
    return (
        _series("synthetic_scenario_success", labels, [None if r is None else float(r.passed) for r, _ in seen])
        + _series(
            "synthetic_scenario_last_run_timestamp_seconds", labels, [None if r is None else r.ended for r, _ in seen]
        )
        + _series("synthetic_scenario_last_success_timestamp_seconds", labels, [ok for _, ok in seen])
        + _series("synthetic_scenario_interval_seconds", labels, [interval] * steps)
    )


def dependency_series(region: str, runs: Sequence[Run], steps: int, dependency: str = "chat") -> str:
    labels = {"job": "mystery-guest", "service": "room_service", "dependency": dependency, "target": TARGET}
    seen = at_steps(runs, steps)
    return _series(
        "synthetic_dependency_up",
        {**labels, "region": region},
        [None if r is None else float(r.passed) for r, _ in seen],
    )


def first_page_step(per_region: Sequence[Sequence[Run]], fault_at: float, failed_runs: int) -> int:
    """The first evaluation at which every region shows ``failed_runs`` failed runs since the fault."""
    ready = max([r.ended for r in runs if r.ended > fault_at and not r.passed][failed_runs - 1] for runs in per_region)
    return int(-(-ready // STEP_SECONDS))


def _flakes(per_region: Sequence[Sequence[Run]], fault_at: float) -> int:
    return sum(1 for runs in per_region for run in runs if run.ended < fault_at and not run.passed)


def _checks(name: str, pages: Sequence[tuple[int, str]], steps: range) -> str:
    """``name`` at every step: the alerts ``pages`` (first step, alert) says are firing by then."""
    text = []
    for step in steps:
        firing = "".join(alert for first, alert in pages if first <= step)
        expected = f"\n{firing}" if firing else " []\n"
        text.append(
            f"      - eval_time: {step * STEP_SECONDS}s\n        alertname: {name}\n        exp_alerts:{expected}"
        )
    return "".join(text)


def _journey_alert(journey: str, title: str, scenarios: str, team: str) -> str:
    return (
        "          - exp_labels:\n"
        "              severity: page\n"
        f"              journey: {journey}\n"
        f"              team: {team}\n"
        "              layer: synthetic\n"
        f"              target: {TARGET}\n"
        "            exp_annotations:\n"
        f"              summary: {title} is failing in 2 of 2 regions\n"
        f"              description: 'The last two runs of {scenarios} failed from 2 probe regions against "
        f"{TARGET}: customers are very likely affected.'\n"
        f"              runbook_url: {RUNBOOKS}JourneyFailingMultiRegion.md\n"
        # the first failing region in name order (monitoring.rules: the runner whose run list opens)
        f"              runs_url: https://mystery-guest-{min(REGIONS)}.probes.internal/runs?journey={journey}"
        f"&target={TARGET}&outcome=failure\n"
    )


def _dependency_alert() -> str:
    return (
        "          - exp_labels:\n"
        "              severity: page\n"
        "              layer: health\n"
        "              service: room_service\n"
        "              dependency: chat\n"
        f"              target: {TARGET}\n"
        "            exp_annotations:\n"
        "              summary: room_service reports its chat down (seen from 2 regions)\n"
        f"              description: The /health answer of room_service on {TARGET} marks chat as failing. "
        "Alerts of the journeys that depend on it are silenced while this one fires.\n"
        f"              runbook_url: {RUNBOOKS}DependencyDown.md\n"
    )


def _test(name: str, series: Sequence[str], checks: str) -> str:
    return (
        f"  - name: {name}\n    interval: {STEP_SECONDS}s\n    input_series:\n"
        + "".join(series)
        + "    alert_rule_test:\n"
        + checks
    )


def render() -> tuple[str, dict[str, float]]:
    """The promtool file, and for the report each page's time from the fault (s) and the flakes."""
    rng = random.Random(SEED)
    fault_at = NOISE_MINUTES * 60.0
    until = fault_at + FAULT_MINUTES * 60
    steps = int(until // STEP_SECONDS) + 1
    every_step = range(1, steps)

    def flaky_until_fault(index: int, start: float) -> bool:
        return start >= fault_at or rng.random() < FLAKE_RATE

    figures: dict[str, float] = {}
    journey_series, journey_pages = [], []
    for scenario, journey, title, scenarios, team in (
        (BetSettlement, "bets", "Betting", "bet_settlement, spa_bet", "payments-ledger"),
        (DepositEachCurrency, "deposits", "Depositing", "deposit_each_currency", "payments"),
    ):
        interval = scenario.interval_seconds
        per_region = [simulate(rng, interval, rng.uniform(0, interval), flaky_until_fault, until) for _ in REGIONS]
        step = first_page_step(per_region, fault_at, 2)
        figures[scenario.name] = step * STEP_SECONDS - fault_at
        figures[f"{scenario.name} runs failed at random in the hour"] = _flakes(per_region, fault_at)
        journey_series += [
            scenario_series(scenario.name, region, runs, interval, steps)
            for region, runs in zip(REGIONS, per_region, strict=True)
        ]
        journey_pages.append((step, _journey_alert(journey, title, scenarios, team)))
    journey_test = _test(
        "bets and deposits failing 1 % of runs at random never page; failing every run pages",
        journey_series,
        _checks("JourneyFailingMultiRegion", sorted(journey_pages), every_step),
    )

    interval = Uptime.interval_seconds
    chat_runs = [simulate(rng, interval, rng.uniform(0, interval), flaky_until_fault, until) for _ in REGIONS]
    # the cause fires when ``for:`` (15 s) has held, at the next evaluation
    chat_step = first_page_step(chat_runs, fault_at, 1) + 1
    figures["uptime (chat)"] = chat_step * STEP_SECONDS - fault_at
    figures["uptime runs failed at random in the hour"] = _flakes(chat_runs, fault_at)

    def flapping(index: int, start: float) -> bool:
        return index % 2 == 1

    flapping_runs = [simulate(rng, interval, rng.uniform(0, interval), flapping, until) for _ in REGIONS]
    health_test = _test(
        "chat's check failing 1 % at random, and kafka's flapping in both regions at their own phase, "
        "never page; chat down pages",
        [
            *(dependency_series(region, runs, steps) for region, runs in zip(REGIONS, chat_runs, strict=True)),
            *(
                dependency_series(region, runs, steps, dependency="kafka")
                for region, runs in zip(REGIONS, flapping_runs, strict=True)
            ),
        ],
        _checks("DependencyDown", [(chat_step, _dependency_alert())], every_step),
    )
    header = (
        "# GENERATED by tests/monitoring/flake_series.py (python -m tests.monitoring.flake_series): do not edit.\n"
        "# An hour of seeded noise at the shipped intervals, then a real fault; see the script's docstring.\n"
        "rule_files:\n  - ../rules/*.yml\n"
        f"evaluation_interval: {STEP_SECONDS}s\n"
        "group_eval_order:\n" + "".join(f"  - {group}\n" for group in GROUPS) + "\ntests:\n"
    )
    return header + journey_test + "\n" + health_test, figures


def main() -> None:
    text, figures = render()
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    for name, figure in figures.items():
        print(f"{name}: {figure:g}")


if __name__ == "__main__":
    main()
