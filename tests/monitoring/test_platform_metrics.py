"""Abuse seen from inside: the sandbox's services count their customers on /metrics, and the rules fire.

A real sandbox (its own, so no other test's traffic is in its counters) is driven by an
ordinary account, ``player-01``, and by synthetic ones: the counters move for the customer
only, whatever headers the requests carry. Then a real Prometheus scrapes the three services
every second with the shipped rules (rendered by the generator) and the abuse alerts fire
on a spike of refused stakes, replays, rollbacks and bad tokens.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
from prometheus_client.parser import text_string_to_metric_families

from monitoring.prometheus_config import PrometheusSettings
from monitoring.rules import RuleSettings, all_alerts, write_rule_files
from sandbox.accounts import Account
from sandbox.context import SandboxSettings
from sandbox.metrics import VaultMetrics
from sandbox.server import build_context
from sandbox.testing import SandboxHandle, running_sandbox
from tests.monitoring.monitoring_servers import running_prometheus, wait_for

CUSTOMER = "player-01"
SOCKET_CUSTOMER = "player-02"
PROBE = "probe-us-24"
SOCKET_PROBE = "probe-us-23"
OVER_LIMIT = {"game": "dice", "currency": "USD", "stake": "100.01", "selection": "high"}
MIN_BET = {"game": "dice", "currency": "USD", "stake": "1.00", "selection": "high"}
PLATFORM_SERVICES = ("vault", "concierge", "room_service")

Sample = tuple[str, frozenset[tuple[str, str]]]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """A sandbox of this module's own: its counters hold only what these tests sent."""
    with running_sandbox(tmp_path_factory.mktemp("platform-metrics")) as handle:
        yield handle


def scrape(url: str) -> dict[Sample, float]:
    """Every sample of a service's /metrics, keyed by name and labels."""
    response = httpx.get(f"{url}/metrics", timeout=5, trust_env=False)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict[Sample, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def growth(before: dict[Sample, float], after: dict[Sample, float]) -> Callable[..., float]:
    """``grew(name, **labels)``: how much one series rose between two scrapes."""

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    return grew


def total(samples: dict[Sample, float], name: str, **labels: str) -> float:
    """The sum over every series of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


async def flood(count: int, request: Callable[[], Any], parallel: int = 20) -> list[httpx.Response]:
    """Send ``count`` requests, ``parallel`` at a time."""
    gate = asyncio.Semaphore(parallel)

    async def one() -> httpx.Response:
        async with gate:
            response: httpx.Response = await request()
            return response

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def refused_stakes(client: httpx.AsyncClient, vault: str, token: str, count: int, **headers: str) -> None:
    answers = await flood(
        count, lambda: client.post(f"{vault}/v1/bets", json=OVER_LIMIT, headers=bearer(token, **headers))
    )
    assert {(a.status_code, a.json()["error"]) for a in answers} == {(422, "stake_above_limit")}


async def replays_and_rollbacks(
    client: httpx.AsyncClient, vault: str, token: str, replays: int, rollbacks: int
) -> None:
    """One bet, ``replays`` replays of it (same key and body), ``rollbacks`` refused rollbacks."""
    key = str(uuid.uuid4())
    first = await client.post(f"{vault}/v1/bets", json=MIN_BET, headers=bearer(token, **{"Idempotency-Key": key}))
    assert first.status_code == 200, first.text
    bet_id = first.json()["bet_id"]
    answers = await flood(
        replays,
        lambda: client.post(f"{vault}/v1/bets", json=MIN_BET, headers=bearer(token, **{"Idempotency-Key": key})),
    )
    assert {a.json()["bet_id"] for a in answers} <= {bet_id}
    assert all(a.headers.get("idempotent-replayed") == "true" for a in answers)
    for _ in range(rollbacks):
        refused = await client.post(f"{vault}/v1/bets/{bet_id}/rollback", headers=bearer(token))
        assert (refused.status_code, refused.json()["error"]) == (409, "bet_already_settled")


async def fund(client: httpx.AsyncClient, vault: str, token: str) -> None:
    """Top a synthetic account up (they start empty) and wait for the deposit to complete."""
    deposit = await client.post(
        f"{vault}/v1/deposits", json={"currency": "USD", "amount": "20.00", "method": "sandbox"}, headers=bearer(token)
    )
    assert deposit.status_code == 200, deposit.text
    status_url = f"{vault}/v1/deposits/{deposit.json()['deposit_id']}"
    deadline = time.monotonic() + 10
    while (await client.get(status_url, headers=bearer(token))).json()["status"] != "completed":
        assert time.monotonic() < deadline, "the probe's deposit did not complete"
        await asyncio.sleep(0.05)


# --- the counters --------------------------------------------------------------------------


async def test_customer_requests_are_counted_by_route_template(platform: SandboxHandle) -> None:
    vault = platform.vault_url
    token = platform.login(CUSTOMER)
    before = scrape(vault)
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        # The correlation header says "probe", but only the account's flag could: it is a customer.
        await refused_stakes(client, vault, token, 7, **{"X-Synthetic-Probe": "run-1"})
        await replays_and_rollbacks(client, vault, token, replays=3, rollbacks=2)
        bet = await client.post(f"{vault}/v1/bets", json=MIN_BET, headers=bearer(token))
        bet_id = bet.json()["bet_id"]
        assert (await client.get(f"{vault}/v1/bets/{bet_id}", headers=bearer(token))).status_code == 200
        assert (await client.get(f"{vault}/v1/balance", headers=bearer("not-a-token"))).status_code == 401
        assert (await client.get(f"{vault}/no/such/route/{bet_id}")).status_code == 404
        assert (await client.get(f"{vault}/health")).status_code == 200
    after = scrape(vault)
    grew = growth(before, after)

    requests = "platform_http_requests_total"
    assert grew(requests, service="vault", route="/v1/bets", code="422") == 7
    assert grew(requests, service="vault", route="/v1/bets", code="200") == 1 + 3 + 1
    assert grew(requests, service="vault", route="/v1/bets/{bet_id}", code="200") == 1
    assert grew(requests, service="vault", route="/v1/bets/{bet_id}/rollback", code="409") == 2
    assert grew(requests, service="vault", route="/v1/balance", code="401") == 1
    assert grew(requests, service="vault", route="unmatched", code="404") == 1
    assert grew("platform_refusals_total", service="vault", error="stake_above_limit") == 7
    assert grew("platform_refusals_total", service="vault", error="bet_already_settled") == 2
    assert grew("platform_refusals_total", service="vault", error="unauthorized") == 1
    assert grew("platform_idempotency_replays_total") == 3
    assert grew("platform_bet_rollback_attempts_total") == 2

    routes = {dict(labels)["route"] for name, labels in after if name == requests}
    assert not [route for route in routes if bet_id in route or "/no/such" in route], routes
    assert not routes & {"/health", "/liveness", "/metrics"}, "the ALB's and Prometheus' requests are not customers'"


async def test_synthetic_accounts_are_left_out_by_their_flag(platform: SandboxHandle) -> None:
    vault = platform.vault_url
    before = scrape(vault)
    token = platform.login(PROBE)  # a login is counted as the account that logged in
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        await fund(client, vault, token)
        await refused_stakes(client, vault, token, 7)
        await replays_and_rollbacks(client, vault, token, replays=3, rollbacks=2)
        withdrawal = await client.post(
            f"{vault}/v1/withdrawals",
            json={"currency": "USD", "amount": "2.00", "method": "sandbox"},
            headers=bearer(token),
        )
        assert withdrawal.status_code == 200, withdrawal.text
    after = scrape(vault)
    for name in (
        "platform_http_requests_total",
        "platform_refusals_total",
        "platform_idempotency_replays_total",
        "platform_bet_rollback_attempts_total",
        "platform_deposits_total",
        "platform_withdrawals_total",
    ):
        assert total(after, name) == total(before, name), name


async def test_customer_payments_are_counted_by_currency_and_status(platform: SandboxHandle) -> None:
    """A customer cannot use the sandbox's payment method: refused, and no deposit counted."""
    vault = platform.vault_url
    token = platform.login(CUSTOMER)
    before = scrape(vault)
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        refused = await client.post(
            f"{vault}/v1/deposits",
            json={"currency": "EUR", "amount": "5.00", "method": "sandbox"},
            headers=bearer(token),
        )
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
    after = scrape(vault)
    assert value(after, "platform_refusals_total", service="vault", error="forbidden") == (
        value(before, "platform_refusals_total", service="vault", error="forbidden") + 1
    )
    assert total(after, "platform_deposits_total") == total(before, "platform_deposits_total")
    # Every currency and status is exported from the start, so a first failure is an increase.
    for status in ("pending", "completed", "failed"):
        assert ("platform_deposits_total", frozenset({("currency", "BTC"), ("status", status)})) in after

    # What Vault counts when a customer's payment settles (the same call Vault makes).
    metrics = VaultMetrics()
    customer = Account("u-9001", "player-99", "Player 99", synthetic=False)
    probe = Account("u-9002", "probe-eu-99", "Probe eu-99", synthetic=True)
    for account in (customer, probe):
        metrics.payment(account, "deposit", "EUR", "pending")
        metrics.payment(account, "deposit", "EUR", "failed")
        metrics.payment(account, "withdrawal", "EUR", "completed")
    counted = {
        (sample.name, sample.labels["currency"], sample.labels["status"]): sample.value
        for family in text_string_to_metric_families(metrics.exposition().decode())
        for sample in family.samples
        if sample.name in ("platform_deposits_total", "platform_withdrawals_total") and sample.value
    }
    assert counted == {
        ("platform_deposits_total", "EUR", "pending"): 1,
        ("platform_deposits_total", "EUR", "failed"): 1,
        ("platform_withdrawals_total", "EUR", "completed"): 1,
    }


async def test_concierge_counts_customers_and_its_refusals(platform: SandboxHandle) -> None:
    concierge = platform.concierge_url
    before = scrape(concierge)
    customer, probe = platform.login(CUSTOMER), platform.login(PROBE)
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        for token in (customer, probe):
            assert (await client.get(f"{concierge}/v1/rewards/me", headers=bearer(token))).status_code == 200
            reset = await client.post(f"{concierge}/v1/test-accounts/reset", headers=bearer(token))
            assert (reset.status_code, reset.json()["error"]) == (403, "forbidden")
        assert (await client.get(f"{concierge}/v1/rewards/me")).status_code == 401
    grew = growth(before, scrape(concierge))

    requests = "platform_http_requests_total"
    assert grew(requests, service="concierge", route="/v1/rewards/me", code="200") == 1
    assert grew(requests, service="concierge", route="/v1/rewards/me", code="401") == 1
    assert grew(requests, service="concierge", route="/v1/test-accounts/reset", code="403") == 1
    assert grew("platform_refusals_total", service="concierge", error="forbidden") == 1
    assert grew("platform_refusals_total", service="concierge", error="unauthorized") == 1


async def _socket_requests(platform: SandboxHandle, username: str, emits: int) -> float:
    """Room-Service's counted /socket.io/ requests while ``username`` polls and joins ``emits`` times."""
    url = platform.room_service_url

    def counted() -> float:
        return total(scrape(url), "platform_http_requests_total", service="room_service", route="/socket.io/")

    before = counted()
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        url, auth={"token": platform.login(username)}, transports=["polling"], socketio_path="socket.io", wait_timeout=5
    )
    try:
        for _ in range(emits):
            ack = await client.call("chat:join", {"room": "metrics-test"}, timeout=5)
            assert ack == {"ok": True}
    finally:
        await client.disconnect()
    return counted() - before


async def test_room_service_counts_customers_sockets_not_probes(platform: SandboxHandle) -> None:
    emits = 20
    # Each emit is at least one long-polling POST; a customer's are all counted.
    assert await _socket_requests(platform, SOCKET_CUSTOMER, emits) >= emits
    # Only the requests before the socket authenticated (the Engine.IO handshake) are anonymous.
    assert await _socket_requests(platform, SOCKET_PROBE, emits) <= 4

    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        before = scrape(platform.room_service_url)
        refused = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect(
                platform.room_service_url,
                auth={"token": "not-a-token"},
                transports=["websocket"],
                socketio_path="socket.io",
                wait_timeout=5,
            )
        assert (await client.get(f"{platform.room_service_url}/liveness")).status_code == 200
    after = scrape(platform.room_service_url)
    assert value(after, "platform_refusals_total", service="room_service", error="unauthorized") == (
        value(before, "platform_refusals_total", service="room_service", error="unauthorized") + 1
    )


def test_two_sandboxes_in_one_process_keep_their_own_counts() -> None:
    """Registries belong to a sandbox's context, not to the process."""
    first, second = build_context(SandboxSettings()), build_context(SandboxSettings())
    customer = next(a for a in first.accounts.by_id.values() if not a.synthetic)
    first.metrics.vault.rollback_attempt(customer)
    name = "platform_bet_rollback_attempts_total"
    assert first.metrics.vault.registry.get_sample_value(name) == 1
    assert second.metrics.vault.registry.get_sample_value(name) == 0
    assert first.metrics.vault.registry is not first.metrics.concierge.registry


# --- the rules, in a real Prometheus ----------------------------------------------------------


class Prometheus:
    """The HTTP API of a running Prometheus."""

    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=5, trust_env=False)
        assert response.status_code == 200, response.text
        result: list[dict[str, Any]] = response.json()["data"]["result"]
        return result

    def firing(self, alertname: str) -> list[dict[str, str]]:
        response = httpx.get(f"{self.url}/api/v1/alerts", timeout=5, trust_env=False)
        alerts: list[dict[str, Any]] = response.json()["data"]["alerts"]
        return [a["labels"] for a in alerts if a["labels"]["alertname"] == alertname and a["state"] == "firing"]


@pytest.fixture
def prometheus(
    prometheus_binary: str, platform: SandboxHandle, tmp_path: Path, free_port: Callable[[], int]
) -> Iterator[Prometheus]:
    """Prometheus scraping the sandbox's three services every second, with the generated rules."""
    write_rule_files(tmp_path / "rules", RuleSettings(for_scale=Decimal("0.01")))
    services = {service: platform.url(service).removeprefix("http://") for service in PLATFORM_SERVICES}
    settings = PrometheusSettings(
        runners={},
        services=services,
        rule_files=(str(tmp_path / "rules" / "*.yml"),),
        scrape_interval="1s",
        evaluation_interval="1s",
    )
    with running_prometheus(prometheus_binary, settings, tmp_path, free_port()) as url:
        yield Prometheus(url)


ABUSE_ALERTS = ("StakeLimitRefusalSpike", "IdempotencyReplaySpike", "BetRollbackAttempts", "AuthFailureSpike")


def _scraped_since(prometheus: Prometheus, moment: float) -> bool:
    """Whether every platform service has been scraped (twice, for rates) after ``moment``."""
    found = prometheus.query(
        f'count_over_time(up{{job="platform"}}[1m]) >= 2 and timestamp(up{{job="platform"}}) > {moment}'
    )
    return len(found) == len(PLATFORM_SERVICES)


@pytest.mark.slow
async def test_a_customers_abuse_spike_fires_the_abuse_alerts(platform: SandboxHandle, prometheus: Prometheus) -> None:
    vault = platform.vault_url
    wait_for(lambda: _scraped_since(prometheus, 0), "Prometheus to scrape the services twice", timeout=30)

    # The same spike from a synthetic account: nothing reaches Prometheus.
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        probe = platform.login(PROBE)
        await fund(client, vault, probe)
        await refused_stakes(client, vault, probe, 150)
        await replays_and_rollbacks(client, vault, probe, replays=240, rollbacks=5)
    done = time.time()
    wait_for(lambda: _scraped_since(prometheus, done), "a scrape after the probe's spike", timeout=30)
    expressions = {alert.name: alert.expr for alert in all_alerts() if alert.name in ABUSE_ALERTS}
    for name in ("StakeLimitRefusalSpike", "IdempotencyReplaySpike", "BetRollbackAttempts"):
        assert prometheus.query(expressions[name]) == [], f"{name} would fire on synthetic traffic"
    assert (
        prometheus.query('sum(increase(platform_refusals_total{error="stake_above_limit"}[1m]))')[0]["value"][1] == "0"
    )

    # A customer probing the limits, replaying and rolling back, and someone trying tokens.
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        customer = platform.login(CUSTOMER)
        await refused_stakes(client, vault, customer, 150)
        await replays_and_rollbacks(client, vault, customer, replays=240, rollbacks=5)
        answers = await flood(450, lambda: client.get(f"{vault}/v1/balance", headers=bearer("stolen-token")))
        assert {a.status_code for a in answers} == {401}

    def all_firing() -> bool:
        return all(prometheus.firing(name) for name in ABUSE_ALERTS)

    wait_for(all_firing, f"{', '.join(ABUSE_ALERTS)} to fire", timeout=60)
    for name in ABUSE_ALERTS:
        (labels,) = prometheus.firing(name)
        assert (labels["service"], labels["target"], labels["severity"], labels["layer"]) == (
            "vault",
            "production",
            "warning",
            "internal",
        ), labels
    assert prometheus.firing("StakeLimitRefusalSpike")[0]["team"] == "risk"
