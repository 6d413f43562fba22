"""The bet, rewards and level-up journeys, run through the runner's own code path.

Each test writes a config in a tmp dir, loads it with the real loader and runs the journeys with
``harness.oneshot.run_once``: against the session's sandbox (healthy, then with one fault on),
and against small local servers that misbehave (refuse, reset, hang, answer the ALB's HTML 503,
answer JSON of the wrong shape). The helpers at the top are shared with
``test_chat_rates_uptime.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import struct
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry

from config.loader import load_settings
from harness.discovery import discover, plan
from harness.oneshot import run_once
from harness.results import Outcome, RunResult
from harness.runtime import Runtime
from sandbox.health import ALB_503_BODY
from sandbox.testing import SandboxHandle, secret

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ROOT / "config" / "sandbox-secrets"
REGION = "eu"
TARGET = "sandbox"
MONEY_JOURNEYS = ["bet_settlement", "rewards", "level_up"]

# Deadlines for the fast profile (the defaults suit the real platform's minutes, not a sandbox's ms).
FAST_OPTIONS: dict[str, dict[str, Any]] = {
    "bet_settlement": {"deposit_deadline_seconds": 5, "push_deadline_seconds": 2},
    "rewards": {"deposit_deadline_seconds": 5, "rewards_deadline_seconds": 3, "poll_interval_seconds": 0.05},
    "level_up": {"deposit_deadline_seconds": 5, "level_up_deadline_seconds": 2},
    "chat": {"ack_deadline_seconds": 2, "delivery_deadline_seconds": 2},
}


# -- shared helpers: config, running, metrics, misbehaving servers -------------------------------


def sandbox_urls(sandbox: SandboxHandle) -> dict[str, str]:
    return {
        "vault_url": sandbox.vault_url,
        "concierge_url": sandbox.concierge_url,
        "room_service_url": sandbox.room_service_url,
        "spa_url": sandbox.cdn_url,
    }


def same_url(url: str) -> dict[str, str]:
    return {key: url for key in ("vault_url", "concierge_url", "room_service_url", "spa_url")}


def write_config(
    folder: Path,
    urls: dict[str, str],
    names: list[str],
    *,
    timeout_seconds: float | None = None,
    options: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """A runner config in ``folder`` for ``names`` against ``urls``, with the sandbox's accounts."""
    accounts = yaml.safe_load((ROOT / "config" / "sandbox.yaml").read_text())["targets"]["sandbox"]["accounts"]
    overrides: dict[str, dict[str, Any]] = {}
    for name in names:
        override: dict[str, Any] = {"options": {**FAST_OPTIONS.get(name, {}), **(options or {}).get(name, {})}}
        if timeout_seconds is not None:
            override["timeout_seconds"] = timeout_seconds
        overrides[name] = override
    config = {
        "runner": {"region": REGION, "artifacts_dir": str(folder / "artifacts")},
        "targets": {
            TARGET: {
                **urls,
                "allow_money": True,
                "stake_budget_usd_per_day": "5000.00",
                "currencies": ["USD", "EUR", "GBP", "BTC"],
                "reset_secret": {"file": str(SECRETS / "reset_secret")},
                "accounts": {
                    "password": {"file": str(SECRETS / "probe_password")},
                    "by_scenario": {name: accounts["by_scenario"][name] for name in names},
                },
            }
        },
        "scenarios": {"overrides": overrides},
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


async def run_journeys(config: Path, names: list[str]) -> tuple[dict[str, RunResult], CollectorRegistry]:
    """Load ``config`` as ``runner.py run`` does and run ``names`` once, all at the same time."""
    found = discover()
    settings = load_settings(config, scenario_names=found)
    registry = CollectorRegistry()
    runtime = Runtime(settings, registry=registry)
    results = await run_once(runtime, plan(settings, found, names=names))
    return {result.scenario: result for result in results}, registry


def where(result: RunResult) -> tuple[str | None, str | None]:
    """(failing step, reason) of a run, or (None, None) when it passed."""
    return result.failed_step, result.reason


def describe(results: dict[str, RunResult]) -> str:
    return "\n".join(f"{r.scenario}: {r.outcome} {r.failed_step} {r.reason} {r.message}" for r in results.values())


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, {**labels, "target": TARGET, "region": REGION})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


HEALTHY_BODY = json.dumps(
    {
        "service": "ok",
        "timestamp": "2026-11-26T00:00:00Z",
        "checks": {"database": {"status": "ok", "message": "ok"}},
    }
).encode()


def _response(status: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


@contextlib.asynccontextmanager
async def misbehaving_server(kind: str, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """A raw asyncio HTTP server on a free port; ``kind``: refused, reset, hang, html503,
    wrong_json or healthy (``/liveness`` and ``/health`` only). Yields its base URL."""
    scheme = "https" if ssl_context else "http"
    if kind == "refused":
        yield f"http://127.0.0.1:{free_port()}"
        return
    held: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        length = 0
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if length:
            await reader.readexactly(length)
        path = head.split(b" ")[1].split(b"?")[0]
        if kind == "hang":
            held.append(writer)
            return
        if kind == "reset":
            raw = writer.get_extra_info("socket")
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        if kind == "html503":
            writer.write(_response("503 Service Temporarily Unavailable", "text/html", ALB_503_BODY.encode()))
        elif kind == "wrong_json":
            writer.write(_response("200 OK", "application/json", b'{"unexpected": "shape", "items": [1, 2]}'))
        elif path == b"/liveness":
            writer.write(_response("200 OK", "text/plain", b"OK"))
        elif path == b"/health":
            writer.write(_response("200 OK", "application/json", HEALTHY_BODY))
        else:
            writer.write(_response("404 Not Found", "application/json", b'{"error": "not_found", "message": "-"}'))
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ssl_context)
    try:
        yield f"{scheme}://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


# What a target that misbehaves in each way does to a journey's first call.
MISBEHAVIOURS = {
    "refused": "connect_error",
    "reset": "connect_error",
    "hang": "timeout",
    "html503": "http_status",
    "wrong_json": "unexpected_body",
}


# -- against the real sandbox ------------------------------------------------------------------


async def test_money_journeys_pass_and_report_their_latencies(clean_sandbox: SandboxHandle, tmp_path: Path) -> None:
    config = write_config(tmp_path, sandbox_urls(clean_sandbox), MONEY_JOURNEYS)
    results, registry = await run_journeys(config, MONEY_JOURNEYS)
    assert all(r.outcome is Outcome.SUCCESS for r in results.values()), describe(results)
    assert [s.name for s in results["bet_settlement"].steps] == [
        "log in",
        "read limits and rates",
        "top up USD",
        "read balance",
        "connect socket",
        "place bet",
        "check settlement",
        "check history",
        "balance push",
    ]
    assert sample(registry, "synthetic_push_latency_seconds_count", event="balance:update") == 1
    assert sample(registry, "synthetic_push_latency_seconds_count", event="rewards:level_up") == 1
    assert sample(registry, "synthetic_rewards_lag_seconds_count") == 1
    assert sample(registry, "synthetic_rewards_lag_seconds_sum") > 0  # type: ignore[operator]
    password, reset = secret("probe_password"), secret("reset_secret")
    for result in results.values():
        shown = json.dumps(result.to_dict())
        assert password not in shown and reset not in shown


async def test_a_bet_in_a_currency_with_eight_decimals_settles_exactly(
    clean_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    names = ["bet_settlement", "rewards"]
    options = {name: {"currency": "BTC"} for name in names}
    config = write_config(tmp_path, sandbox_urls(clean_sandbox), names, options=options)
    results, _ = await run_journeys(config, names)
    assert all(r.outcome is Outcome.SUCCESS for r in results.values()), describe(results)
    assert "top up BTC" in [s.name for s in results["bet_settlement"].steps]


@pytest.mark.parametrize(
    ("fault", "scenario", "step", "reason"),
    [
        ("bet_wrong_payout", "bet_settlement", "check settlement", "assertion"),
        ("bet_missing_history", "bet_settlement", "check history", "assertion"),
        ("balance_push_dropped", "bet_settlement", "balance push", "push_missing"),
        ("socket_rejects_connections", "bet_settlement", "connect socket", "connect_error"),
        ("db_down", "bet_settlement", "top up USD", "http_status"),
        ("rewards_wrong_points", "rewards", "rewards updated", "assertion"),
        ("rewards_wrong_points", "level_up", "new level", "assertion"),
        ("rewards_points_rounded", "rewards", "rewards updated", "assertion"),
        ("rewards_points_rounded", "level_up", "new level", "assertion"),
        ("kafka_down", "rewards", "rewards updated", "timeout"),
        ("concierge_down", "rewards", "read rules", "http_status"),
        ("level_up_dropped", "level_up", "level-up push", "push_missing"),
        ("kafka_down", "level_up", "level-up push", "push_missing"),
    ],
)
async def test_a_fault_fails_the_journey_at_its_step(
    clean_sandbox: SandboxHandle, tmp_path: Path, fault: str, scenario: str, step: str, reason: str
) -> None:
    config = write_config(tmp_path, sandbox_urls(clean_sandbox), [scenario])
    clean_sandbox.fault_on(fault)
    results, _ = await run_journeys(config, [scenario])
    assert where(results[scenario]) == (step, reason), describe(results)
    if fault == "kafka_down" and scenario == "rewards":
        assert "kafka" in results[scenario].message  # the timeout says what Concierge's health says


async def test_rewards_past_the_deadline_fail_as_timeout_and_arrive_late(
    clean_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path, sandbox_urls(clean_sandbox), ["rewards"], options={"rewards": {"rewards_deadline_seconds": 1}}
    )
    token = clean_sandbox.login("probe-eu-05")
    before = await _volume(clean_sandbox, token)
    clean_sandbox.fault_on("rewards_lag:2")
    results, registry = await run_journeys(config, ["rewards"])
    assert where(results["rewards"]) == ("rewards updated", "timeout"), describe(results)
    assert sample(registry, "synthetic_rewards_lag_seconds_count") in (None, 0.0)
    deadline = time.monotonic() + 10  # late, not lost: the next run must not see this bet land
    while await _volume(clean_sandbox, token) == before:
        assert time.monotonic() < deadline, "the lagging reward never arrived"
        await asyncio.sleep(0.1)


async def _volume(sandbox: SandboxHandle, token: str) -> Decimal:
    async with httpx.AsyncClient() as client:
        answer = await client.get(
            sandbox.concierge_url + "/v1/rewards/me", headers={"Authorization": f"Bearer {token}"}
        )
    return Decimal(answer.json()["volume_usd"])


# -- against targets that misbehave ------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(MISBEHAVIOURS))
async def test_a_misbehaving_target_fails_at_log_in_with_a_clear_reason(tmp_path: Path, kind: str) -> None:
    async with misbehaving_server(kind) as url:
        config = write_config(tmp_path, same_url(url), MONEY_JOURNEYS, timeout_seconds=3)
        results, _ = await run_journeys(config, MONEY_JOURNEYS)
    for name in MONEY_JOURNEYS:
        assert results[name].outcome in (Outcome.FAILURE, Outcome.TIMEOUT), describe(results)
        assert where(results[name]) == ("log in", MISBEHAVIOURS[kind]), describe(results)
        assert results[name].message
