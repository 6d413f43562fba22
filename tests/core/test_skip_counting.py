"""Serve mode counts one ``skipped`` per planned run time a dropped run covers, never one per event.

After the loop stalls, APScheduler submits every run time that came due at once; when the last
run is still going, one ``EVENT_JOB_MAX_INSTANCES`` event covers them all. The events here are
APScheduler's own classes, fed to the service's listener as the scheduler would feed them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent, JobSubmissionEvent

from config.loader import load_settings
from harness.discovery import ScenarioPlan, options_for
from harness.runtime import Runtime
from harness.scheduler import Service
from tests.core import scenarios_for_tests as s
from tests.support import REGION, TARGET, local_config

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def service(tmp_path: Path) -> Service:
    runtime = Runtime(load_settings(local_config(tmp_path, "http://127.0.0.1:9")))
    plan = ScenarioPlan(s.Quick, TARGET, 10.0, 5.0, options_for(runtime.settings, s.Quick))
    return Service(runtime, [plan], "127.0.0.1:0", 1.0)


def skipped(service: Service) -> float:
    metric = service.runtime.metrics.registry.get_sample_value
    found = metric(
        "synthetic_scenario_runs_total", {"scenario": "quick", "target": TARGET, "region": REGION, "result": "skipped"}
    )
    return found or 0.0


@pytest.mark.parametrize("missed", [1, 2, 3, 7])
def test_a_max_instances_drop_counts_every_run_time_it_covers(tmp_path: Path, missed: int) -> None:
    runner = service(tmp_path)
    run_times = [START + timedelta(seconds=10 * i) for i in range(missed)]
    runner._on_dropped(JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, f"quick@{TARGET}", "default", run_times))
    assert skipped(runner) == missed


def test_drops_add_up_across_events(tmp_path: Path) -> None:
    runner = service(tmp_path)
    runner._on_dropped(JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, f"quick@{TARGET}", "default", [START]))
    later = [START + timedelta(seconds=10), START + timedelta(seconds=20), START + timedelta(seconds=30)]
    runner._on_dropped(JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, f"quick@{TARGET}", "default", later))
    runner._on_dropped(JobExecutionEvent(EVENT_JOB_MISSED, f"quick@{TARGET}", "default", START + timedelta(seconds=40)))
    assert skipped(runner) == 5


def test_a_missed_start_is_one_skip_and_an_unknown_job_none(tmp_path: Path) -> None:
    runner = service(tmp_path)
    runner._on_dropped(JobExecutionEvent(EVENT_JOB_MISSED, f"quick@{TARGET}", "default", START))
    runner._on_dropped(JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, f"gone@{TARGET}", "default", [START, START]))
    assert skipped(runner) == 1
