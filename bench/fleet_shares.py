"""Part of the fleet benchmark: how much of a region's work each replica carries when
``serve --shard I/N`` splits it.

Work is counted from the shipped ``config/sandbox.yaml`` through the same selection the
runner uses (``harness.discovery.plan`` with a shard): each replica's schedules and the runs
per hour they come to (3600 / interval), browser runs apart from API runs, since browser
runs, not API runs, bound a runner (see the browser and scale sections).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.report import Goal, table
from config.loader import DEFAULT_CONFIG, load_settings
from harness.discovery import ScenarioPlan, discover, plan
from harness.shards import Shard

__all__ = ["ReplicaWork", "replica_work", "work_per_replica"]

REPLICAS = (1, 2, 4)


@dataclass(frozen=True)
class ReplicaWork:
    shard: Shard
    api_schedules: int
    browser_schedules: int
    api_runs_per_hour: float
    browser_runs_per_hour: float


def _is_browser(p: ScenarioPlan) -> bool:
    return "browser" in p.scenario.tags


def replica_work(plans: list[ScenarioPlan], shard: Shard) -> ReplicaWork:
    """One replica's schedules and runs per hour, API and browser apart."""
    api = [p for p in plans if not _is_browser(p)]
    browser = [p for p in plans if _is_browser(p)]
    return ReplicaWork(
        shard,
        len(api),
        len(browser),
        sum(3600 / p.interval_seconds for p in api),
        sum(3600 / p.interval_seconds for p in browser),
    )


def _percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


def work_per_replica() -> tuple[str, Goal, dict[str, Any]]:
    """The Markdown of the part, its goal and its raw figures (counted, no processes: a second)."""
    settings = load_settings(DEFAULT_CONFIG, scenario_names=discover())
    found = discover()
    whole = replica_work(plan(settings, found), Shard(1, 1))
    rows, busiest, busiest_browser, covered = [], {}, {}, True
    data: dict[str, Any] = {}
    for count in REPLICAS:
        replicas = [
            replica_work(plan(settings, found, shard=Shard(i, count)), Shard(i, count)) for i in range(1, count + 1)
        ]
        covered &= sum(r.api_schedules + r.browser_schedules for r in replicas) == (
            whole.api_schedules + whole.browser_schedules
        )
        for r in replicas:
            rows.append(
                (
                    count,
                    r.shard.label,
                    f"{r.api_schedules} + {r.browser_schedules}",
                    f"{r.api_runs_per_hour:.0f}",
                    f"{r.browser_runs_per_hour:.0f}",
                    _percent(
                        r.api_runs_per_hour + r.browser_runs_per_hour,
                        whole.api_runs_per_hour + whole.browser_runs_per_hour,
                    ),
                    _percent(r.browser_runs_per_hour, whole.browser_runs_per_hour),
                )
            )
        all_runs = whole.api_runs_per_hour + whole.browser_runs_per_hour
        busiest[count] = max(r.api_runs_per_hour + r.browser_runs_per_hour for r in replicas) / all_runs
        busiest_browser[count] = max(r.browser_runs_per_hour for r in replicas) / whole.browser_runs_per_hour
        data[str(count)] = [r.__dict__ | {"shard": r.shard.label} for r in replicas]
    body = "\n".join(
        [
            "### A region's work per replica (shards)",
            "",
            f"`config/sandbox.yaml`, one target: {whole.api_schedules} API and {whole.browser_schedules} browser "
            f"schedules, {whole.api_runs_per_hour:.0f} API and {whole.browser_runs_per_hour:.0f} browser runs an hour. "
            "Each replica's share as `serve --shard I/N` selects it (rendezvous hashing on scenario and target):",
            "",
            table(
                (
                    "replicas (N)",
                    "shard",
                    "schedules (API + browser)",
                    "API runs/h",
                    "browser runs/h",
                    "share of all runs",
                    "share of browser runs",
                ),
                rows,
            ),
            "",
            _commentary(busiest, busiest_browser),
        ]
    )
    return body, Goal("every schedule runs in exactly one replica at N = 1, 2, 4", covered), data


def _commentary(busiest: dict[int, float], busiest_browser: dict[int, float]) -> str:
    """What the table says, from its own figures (so it never goes stale)."""
    parts = []
    for count in REPLICAS[1:]:
        parts.append(
            f"at N = {count} the busiest replica carries {100 * busiest[count]:.0f} % of all runs and "
            f"{100 * busiest_browser[count]:.0f} % of the browser runs, against an even {100 / count:.0f} %"
        )
    return (
        "Rendezvous hashing keeps a schedule where it is when replicas come and go, but with a "
        "handful of schedules it does not even out the load: "
        + "; ".join(parts)
        + ". Size replicas for the busiest share, not for 1/N, or give browser journeys a region's "
        "replicas of their own (`--tag browser` on one service, `--tag api` on another)."
    )
