"""The bet, rewards and level-up journeys, run through the runner's own code path.

Each test writes a config in a tmp dir, loads it with the real loader and runs the journeys with
``harness.oneshot.run_once``: against the session's sandbox (healthy, then with one fault on),
and against small local servers that misbehave (refuse, reset, hang, answer the ALB's HTML 503,
answer JSON of the wrong shape). The misbehaving servers are shared with
``test_chat_rates_uptime.py``; config and running come from ``tests.support``.
"""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from harness.results import Outcome
from sandbox.testing import SandboxHandle, secret
from tests.local_server import MISBEHAVIOURS, misbehaving_server
from tests.support import describe, run_journeys, run_passing, same_url, sample, where, write_config

MONEY_JOURNEYS = ["bet_settlement", "rewards", "level_up"]


# -- misbehaving servers -------------------------------------------------------------------------


# -- against the real sandbox ------------------------------------------------------------------


async def test_money_journeys_pass_and_report_their_latencies(clean_sandbox: SandboxHandle, tmp_path: Path) -> None:
    results, registry = await run_passing(tmp_path, clean_sandbox, MONEY_JOURNEYS)
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
    config = write_config(tmp_path, clean_sandbox, names, options=options)
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
        ("chat_down", "chat", "join room", "unexpected_body"),
        ("chat_down", "uptime", "room_service health", "dependency_down"),
        ("rates_stale", "rates_freshness", "rates fresh", "assertion"),
        ("db_down", "uptime", "vault health", "dependency_down"),
        ("kafka_down", "uptime", "vault health", "dependency_down"),
        ("concierge_down", "uptime", "concierge health", "http_status"),
        ("room_service_down", "uptime", "room_service health", "http_status"),
        ("room_service_down", "chat", "connect sockets", "connect_error"),
        ("socket_rejects_connections", "uptime", "socket websocket", "connect_error"),
        ("socket_rejects_connections", "chat", "connect sockets", "connect_error"),
    ],
)
async def test_a_fault_fails_the_journey_at_its_step(
    clean_sandbox: SandboxHandle, tmp_path: Path, fault: str, scenario: str, step: str, reason: str
) -> None:
    config = write_config(tmp_path, clean_sandbox, [scenario])
    clean_sandbox.fault_on(fault)
    results, _ = await run_journeys(config, [scenario])
    assert where(results[scenario]) == (step, reason), describe(results)
    if fault == "kafka_down" and scenario == "rewards":
        assert "kafka" in results[scenario].message  # the timeout says what Concierge's health says


async def test_rewards_past_the_deadline_fail_as_timeout_and_arrive_late(
    clean_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    config = write_config(tmp_path, clean_sandbox, ["rewards"], options={"rewards": {"rewards_deadline_seconds": 1}})
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
