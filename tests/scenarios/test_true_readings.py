"""Gauges and step timings tell the truth, and each failure carries its true name and place.

A platform of our own (aiohttp on a free loopback port) answers what the sandbox never does: a
thousand-and-one health checks, a login with a token that is not a string, health paths that
moved on one service only. The health probe's messages are checked against the real sandbox.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from config.loader import load_settings
from harness.discovery import SelectionError, discover, plan
from harness.oneshot import run_once, wait_healthy
from harness.results import Outcome
from harness.runtime import Runtime
from probes import health
from probes.context import ProbeContext
from probes.result import Reason
from sandbox.testing import SandboxHandle
from tests.local_server import serving
from tests.support import NO_SOCKETS, describe, run_journeys, same_url, sample, where, write_config


@dataclass
class Platform:
    """What the platform of our own answers; change it between runs."""

    checks: dict[str, str] = field(default_factory=lambda: {"database": "ok"})
    health_delay: float = 0.0
    health_status: int = 200
    login: dict[str, Any] = field(default_factory=lambda: {"token": "tok-true-readings", "user_id": "u-1"})
    room_up: bool = True  # /room/health and /room/liveness answer (else 404)
    url: str = ""


@pytest.fixture
async def platform() -> AsyncIterator[Platform]:
    state = Platform()

    async def health_answer(request: web.Request) -> web.Response:
        if request.path.startswith("/room") and not state.room_up:
            raise web.HTTPNotFound()
        await asyncio.sleep(state.health_delay)
        checks = {name: {"status": status, "message": "-"} for name, status in state.checks.items()}
        body = {"service": "ok" if state.health_status == 200 else "error", "checks": checks}
        return web.json_response(body, status=state.health_status)

    async def liveness(request: web.Request) -> web.Response:
        if request.path.startswith("/room") and not state.room_up:
            raise web.HTTPNotFound()
        return web.Response(text="OK")

    async def login(_: web.Request) -> web.Response:
        return web.json_response(state.login)

    app = web.Application()
    for prefix in ("", "/room"):
        app.router.add_get(prefix + "/health", health_answer)
        app.router.add_get(prefix + "/liveness", liveness)
    app.router.add_post("/v1/auth/login", login)
    async with serving(app) as url:
        state.url = url
        yield state


def config(
    tmp_path: Path,
    urls: dict[str, str] | SandboxHandle,
    names: list[str],
    options: dict[str, dict[str, Any]] | None = None,
    contract: dict[str, Any] | None = None,
    timeout_seconds: float | None = None,
) -> Path:
    """``write_config``'s runner config, with a ``contract:`` section when given."""
    top = {"contract": contract} if contract else None
    return write_config(tmp_path, urls, names, options=options, timeout_seconds=timeout_seconds, top=top)


# -- dependency gauges -------------------------------------------------------------------------


async def test_unlisted_dependencies_export_the_worst_of_them(platform: Platform, tmp_path: Path) -> None:
    """1,000 unlisted checks, one down and not the last: ``other`` is 0, the listed one 1."""
    platform.checks = {"database": "ok", **{f"queue-{n:04}": "ok" for n in range(1000)}}
    platform.checks["queue-0500"] = "error"
    path = config(tmp_path, same_url(platform.url), ["uptime"], options={"uptime": NO_SOCKETS})
    results, registry = await run_journeys(path, ["uptime"])
    assert where(results["uptime"]) == ("vault health", "dependency_down"), describe(results)
    assert sample(registry, "synthetic_dependency_up", service="vault", dependency="other") == 0
    assert sample(registry, "synthetic_dependency_up", service="vault", dependency="database") == 1


async def test_the_dependencies_of_a_service_that_cannot_be_read_are_cleared(
    platform: Platform, tmp_path: Path
) -> None:
    """An unreadable service leaves no dependency at its last value; a check a service dropped goes too."""
    platform.checks = {"database": "ok", "chat": "ok"}
    urls = {**same_url(platform.url), "room_service_url": platform.url + "/room"}
    path = config(tmp_path, urls, ["uptime"], options={"uptime": NO_SOCKETS})
    found = discover()
    settings = load_settings(path, scenario_names=found)
    runtime = Runtime(settings)
    registry = runtime.metrics.registry
    try:
        [first] = await run_once(runtime, plan(settings, found, names=["uptime"]))
        assert first.outcome is Outcome.SUCCESS, first.message
        assert sample(registry, "synthetic_dependency_up", service="room_service", dependency="chat") == 1
        platform.checks = {"database": "ok"}  # every service dropped chat...
        platform.room_up = False  # ... and Room-Service cannot be read at all
        [second] = await run_once(runtime, plan(settings, found, names=["uptime"]))
    finally:
        await runtime.aclose()
    assert where(second) == ("room_service health", "http_status"), second.message
    assert sample(registry, "synthetic_service_up", service="room_service") == 0
    assert sample(registry, "synthetic_dependency_up", service="room_service", dependency="chat") is None
    assert sample(registry, "synthetic_dependency_up", service="room_service", dependency="database") is None
    assert sample(registry, "synthetic_dependency_up", service="vault", dependency="chat") is None
    assert sample(registry, "synthetic_dependency_up", service="vault", dependency="database") == 1


# -- uptime's steps and deadlines --------------------------------------------------------------


async def test_uptime_health_steps_time_their_own_requests(platform: Platform, tmp_path: Path) -> None:
    """Each of the 2 reads waits 0.3 s for /health: each service's step lasts at least 0.6 s."""
    platform.health_delay = 0.3
    path = config(tmp_path, same_url(platform.url), ["uptime"], options={"uptime": NO_SOCKETS})
    results, registry = await run_journeys(path, ["uptime"])
    assert results["uptime"].outcome is Outcome.SUCCESS, describe(results)
    for step in results["uptime"].steps:
        assert step.duration_seconds >= 0.6, f"{step.name} lasted {step.duration_seconds:.6f} s"
    timed = sample(registry, "synthetic_step_duration_seconds_sum", scenario="uptime", step="cdn health")
    assert timed is not None and timed >= 0.6


async def test_a_health_timeout_is_the_configured_one_and_says_so(platform: Platform, tmp_path: Path) -> None:
    platform.health_delay = 3
    options = {"uptime": {**NO_SOCKETS, "health_timeout_seconds": 1.5, "health_reads": 2}}
    path = config(tmp_path, same_url(platform.url), ["uptime"], options=options, timeout_seconds=10)
    results, _ = await run_journeys(path, ["uptime"])
    uptime = results["uptime"]
    assert where(uptime) == ("vault health", "timeout"), describe(results)
    assert "deadline 1.5 s" in uptime.message
    assert uptime.steps[0].duration_seconds >= 1.5


def test_health_reads_that_cannot_fit_in_the_timeout_are_a_config_error(tmp_path: Path) -> None:
    options = {"uptime": {"health_timeout_seconds": 12, "health_reads": 2}}
    path = config(tmp_path, same_url("http://127.0.0.1:9"), ["uptime"], options=options)
    found = discover()
    with pytest.raises(SelectionError) as error:
        plan(load_settings(path, scenario_names=found), found, names=["uptime"])
    message = str(error.value)
    assert message.startswith("scenarios.overrides.uptime.options: ")
    assert "health_timeout_seconds 12 = 48 s do not fit in the run's timeout_seconds 25" in message


# -- typed login answers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"token": {"value": "x"}, "user_id": "u-1"}, "token: Input should be a valid string (got dict)"),
        ({"token": "tok-true-readings", "user_id": None}, "user_id: Input should be a valid string (got NoneType)"),
        ({"user_id": "u-1"}, "token: missing"),
    ],
)
async def test_a_login_answer_of_the_wrong_shape_is_unexpected_body(
    platform: Platform, tmp_path: Path, answer: dict[str, Any], problem: str
) -> None:
    platform.login = answer
    results, _ = await run_journeys(config(tmp_path, same_url(platform.url), ["chat"]), ["chat"])
    assert where(results["chat"]) == ("log in", "unexpected_body"), describe(results)
    assert results["chat"].message == f"vault POST /v1/auth/login: {problem}"


# -- per-service health paths -----------------------------------------------------------------


async def test_a_service_whose_health_paths_moved_is_described_by_config_alone(
    platform: Platform, tmp_path: Path
) -> None:
    async def moved_health(_: web.Request) -> web.Response:
        return web.json_response({"service": "ok", "checks": {"chat": {"status": "ok", "message": "-"}}})

    async def moved_liveness(_: web.Request) -> web.Response:
        return web.Response(text="OK")

    app = web.Application()
    app.router.add_get("/status/health", moved_health)
    app.router.add_get("/status/live", moved_liveness)
    async with serving(app) as moved:
        urls = {**same_url(platform.url), "room_service_url": moved}
        plain = config(tmp_path / "plain", urls, ["uptime"], options={"uptime": NO_SOCKETS})
        results, _ = await run_journeys(plain, ["uptime"])
        assert where(results["uptime"]) == ("room_service health", "http_status"), describe(results)
        assert "GET /liveness: status 404" in results["uptime"].message

        contract = {"services": {"room_service": {"health": "/status/health", "liveness": "/status/live"}}}
        described = config(tmp_path / "described", urls, ["uptime"], options={"uptime": NO_SOCKETS}, contract=contract)
        results, registry = await run_journeys(described, ["uptime"])
        assert results["uptime"].outcome is Outcome.SUCCESS, describe(results)
        assert sample(registry, "synthetic_dependency_up", service="room_service", dependency="chat") == 1

        settings = load_settings(described, scenario_names=discover())
        runtime = Runtime(settings)
        try:
            assert await wait_healthy(runtime, list(settings.targets), 5) == []
        finally:
            await runtime.aclose()


def test_a_service_health_path_must_start_with_a_slash(tmp_path: Path) -> None:
    contract = {"services": {"cdn": {"health": "status/health"}}}
    path = config(tmp_path, same_url("http://127.0.0.1:9"), ["uptime"], contract=contract)
    with pytest.raises(Exception, match="contract.services.cdn.health") as error:
        load_settings(path, scenario_names=discover())
    assert "must start with '/'" in str(error.value)


# -- health answers that are not the contract's JSON ------------------------------------------


@pytest.mark.parametrize(
    ("service", "reason", "message"),
    [
        (
            "cdn",
            Reason.UNEXPECTED_BODY,
            "GET /moved/health: 200 text/html, not the contract's health JSON"
            " (an HTML page: a single-page app's fallback answers any path)",
        ),
        ("vault", Reason.HTTP_STATUS, "GET /moved/health: 404 application/json, not the contract's health JSON"),
    ],
)
async def test_a_wrong_health_path_names_the_path_and_what_answered(
    sandbox: SandboxHandle, service: str, reason: Reason, message: str
) -> None:
    module = health.HealthModule(health_path="/moved/health")
    result = await health.probe(sandbox.url(service), module, ProbeContext())
    assert (result.reason, result.message) == (reason, message)


# -- quiet logs --------------------------------------------------------------------------------


async def test_passing_uptime_runs_log_no_error(
    clean_sandbox: SandboxHandle, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Both socket.io transports against Room-Service: no "Unclosed connection" from aiohttp."""
    caplog.set_level(logging.WARNING)
    for attempt in range(2):
        path = config(tmp_path / str(attempt), clean_sandbox, ["uptime"])
        results, _ = await run_journeys(path, ["uptime"])
        assert results["uptime"].outcome is Outcome.SUCCESS, describe(results)
        gc.collect()  # an answer never read is found here, and its connection reported
        await asyncio.sleep(0.1)
    errors = [f"{r.name}: {r.getMessage()[:80]}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
