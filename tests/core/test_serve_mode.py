"""Serve mode: the scheduler keeps going through timeouts and crashes, never overlaps a
scenario with itself, drains on SIGTERM and exports a valid exposition."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from config.loader import load_settings
from harness.discovery import ScenarioPlan, options_for
from harness.runtime import Runtime
from harness.scenario import About, Scenario
from harness.scheduler import Service
from tests.core import scenarios_for_tests as s
from tests.core.fake_platform import FakePlatform
from tests.local_server import serving
from tests.support import REGION, TARGET, local_config


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for (sample_name, sample_labels), v in samples(text).items():
        if sample_name == name and set(labels.items()) <= sample_labels:
            total += v
    return total


def service_for(tmp_path: Path, url: str, scenarios: list[tuple[type[Scenario], float]], grace: float = 5.0) -> Service:
    runtime = Runtime(load_settings(local_config(tmp_path, url)))
    plans = [
        ScenarioPlan(sc, TARGET, interval, sc.timeout_seconds, options_for(runtime.settings, sc))
        for sc, interval in scenarios
    ]
    return Service(runtime, plans, "127.0.0.1:0", grace, max_start_offset_seconds=0.05)


async def metrics_text(service: Service) -> str:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"http://127.0.0.1:{service.bound_port}/metrics")).text


async def start(service: Service) -> asyncio.Task[int]:
    task = asyncio.create_task(service.serve())
    for _ in range(100):
        if service.ready:
            return task
        await asyncio.sleep(0.05)
    raise AssertionError("service never became ready")


async def until_in_flight(service: Service, count: int) -> None:
    """Both first runs start at once (offsets under 0.05 s); a loaded machine only delays them."""
    for _ in range(200):
        if len(service.in_flight) == count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{len(service.in_flight)} runs in flight, expected {count}")


async def test_a_zero_start_offset_runs_at_once_not_after_a_whole_interval(
    tmp_path: Path, fake_platform: FakePlatform
) -> None:
    runtime = Runtime(load_settings(local_config(tmp_path, fake_platform.url)))
    plan = ScenarioPlan(s.Quick, TARGET, 3600, s.Quick.timeout_seconds, options_for(runtime.settings, s.Quick))
    service = Service(runtime, [plan], "127.0.0.1:0", 5.0, max_start_offset_seconds=0)
    task = await start(service)
    try:
        for _ in range(200):
            if value(generate(service), "synthetic_scenario_runs_total", scenario="quick", result="success"):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("no run within 10 s of start: the first run waited for its interval (1 h)")
    finally:
        service.stopping.set()
        assert await asyncio.wait_for(task, 10) == 0


async def test_timeouts_crashes_and_overlaps_do_not_stop_the_scheduler(
    tmp_path: Path, fake_platform: FakePlatform
) -> None:
    service = service_for(
        tmp_path, fake_platform.url, [(s.Sleeper, 0.5), (s.Crasher, 0.5), (s.Quick, 0.5), (s.SlowPass, 0.25)]
    )
    task = await start(service)
    await asyncio.sleep(3.0)
    text = await metrics_text(service)
    service.stopping.set()
    assert await asyncio.wait_for(task, 15) == 0
    assert value(text, "synthetic_scenario_runs_total", scenario="sleeper", result="timeout") >= 2
    assert value(text, "synthetic_scenario_runs_total", scenario="crasher", result="failure") >= 3
    assert value(text, "synthetic_scenario_runs_total", scenario="quick", result="success") >= 4
    assert value(text, "synthetic_step_failures_total", scenario="crasher", step="crash", reason="error") >= 3
    # slow_pass takes 0.6 s on a 0.25 s interval: runs that came due meanwhile were skipped, not overlapped
    assert value(text, "synthetic_scenario_runs_total", scenario="slow_pass", result="skipped") >= 2
    assert value(text, "synthetic_scenario_runs_total", scenario="slow_pass", result="success") >= 2
    assert value(text, "synthetic_scenario_success", scenario="quick") == 1
    assert value(text, "synthetic_scenario_success", scenario="crasher") == 0
    assert value(text, "synthetic_runner_info", region=REGION) == 1


async def test_sigterm_drains_in_flight_runs_then_aborts_the_rest(tmp_path: Path, fake_platform: FakePlatform) -> None:
    class Finishes(s.SlowPass):
        about = About("finishes", tags=(), interval="1m", timeout="30s")

    class NeverFinishes(s.SlowPass):
        about = About("never_finishes", tags=(), interval="1m", timeout="1m")

        async def journey(self, run):  # type: ignore[no-untyped-def]
            async with run.step("forever"):
                await asyncio.sleep(60)

    service = service_for(tmp_path, fake_platform.url, [(Finishes, 30), (NeverFinishes, 30)], grace=1.5)
    task = await start(service)
    await until_in_flight(service, 2)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.sleep(0.2)
    async with httpx.AsyncClient() as client:
        ready = await client.get(f"http://127.0.0.1:{service.bound_port}/readyz")
        alive = await client.get(f"http://127.0.0.1:{service.bound_port}/healthz")
    assert ready.status_code == 503 and alive.status_code == 200
    text = generate(service)
    assert await asyncio.wait_for(task, 10) == 0
    text = generate(service)
    assert value(text, "synthetic_scenario_runs_total", scenario="finishes", result="success") == 1
    assert value(text, "synthetic_scenario_runs_total", scenario="never_finishes", result="aborted") == 1
    assert value(text, "synthetic_step_failures_total", scenario="never_finishes", reason="aborted") == 1


def generate(service: Service) -> str:
    from prometheus_client import generate_latest

    return generate_latest(service.runtime.metrics.registry).decode()


async def test_exposition_parses_and_passes_promtool(tmp_path: Path, fake_platform: FakePlatform) -> None:
    service = service_for(tmp_path, fake_platform.url, [(s.Quick, 0.2), (s.Crasher, 0.2)])
    task = await start(service)
    await asyncio.sleep(0.8)
    text = await metrics_text(service)
    service.stopping.set()
    await asyncio.wait_for(task, 10)
    names = {family.name for family in text_string_to_metric_families(text)}
    for expected in (
        "synthetic_scenario_success",
        "synthetic_scenario_duration_seconds",
        "synthetic_step_duration_seconds",
        "synthetic_scenario_runs",
        "synthetic_step_failures",
        "synthetic_scenario_last_run_timestamp_seconds",
        "synthetic_scenario_last_success_timestamp_seconds",
        "synthetic_runner_info",
        "synthetic_scenario_interval_seconds",
        "synthetic_runner_event_loop_lag_seconds",
    ):
        assert expected in names, expected
    assert value(text, "synthetic_scenario_runs_total", scenario="quick", result="aborted") == 0
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: make test installs Debian's prometheus package")
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_sigint_still_drains_after_a_socketio_client_connected(
    tmp_path: Path, fake_platform: FakePlatform
) -> None:
    """python-engineio installs its own SIGINT handler (cancelling every task) unless told not to."""
    import socketio
    from aiohttp import web

    sio_server = socketio.AsyncServer(async_mode="aiohttp")
    app = web.Application()
    sio_server.attach(app)
    async with serving(app) as url:

        class ConnectsASocket(s.Quick):
            about = About("connects_a_socket", tags=(), interval="1m", timeout="30s")

            async def journey(self, run):  # type: ignore[no-untyped-def]
                from probes.socketio import SocketModule, open_socket

                async with run.step("connect"):
                    _, client = await open_socket(url, SocketModule(), run.probe)
                    assert client is not None
                    await client.close()

        service = service_for(tmp_path, fake_platform.url, [(ConnectsASocket, 0.2)])
        task = await start(service)
        await asyncio.sleep(1.0)
        os.kill(os.getpid(), signal.SIGINT)
        assert await asyncio.wait_for(task, 10) == 0  # drained and returned, not cancelled
    assert (
        value(generate(service), "synthetic_scenario_runs_total", scenario="connects_a_socket", result="success") >= 1
    )


async def test_runs_missed_while_the_loop_stalled_are_counted_not_merged(
    tmp_path: Path, fake_platform: FakePlatform
) -> None:
    """Every planned run appears under some result, even when a blocking scenario stalls the loop."""
    import time

    class Blocker(s.Quick):
        about = About("blocker", tags=(), interval="1m", timeout="30s")

        async def journey(self, run):  # type: ignore[no-untyped-def]
            async with run.step("block the loop"):
                time.sleep(0.8)  # a scenario bug: synchronous work on the event loop

    service = service_for(tmp_path, fake_platform.url, [(s.Quick, 0.1), (Blocker, 1.0)])
    task = await start(service)
    started = time.monotonic()
    await asyncio.sleep(3.0)
    elapsed = time.monotonic() - started
    service.stopping.set()
    await asyncio.wait_for(task, 10)
    text = generate(service)
    accounted = value(text, "synthetic_scenario_runs_total", scenario="quick")
    planned = elapsed / 0.1
    assert accounted >= planned * 0.8, f"{accounted} results for about {planned:.0f} planned runs"
    # the stall shows in the runner's own loop lag: a 0.1 s tick woke at least 0.7 s late
    lag = "synthetic_runner_event_loop_lag_seconds_bucket"
    late = value(text, lag, le="+Inf") - value(text, lag, le="0.5")
    assert late >= 1, "the event-loop lag histogram missed an 0.8 s stall"
