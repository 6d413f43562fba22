"""The chat, rates and uptime journeys, run through the runner's own code path.

Against the session's sandbox (healthy, then with one fault on), against local servers that
misbehave, and uptime against an https target with a self-signed certificate. Each fault's
step and reason is in ``test_bet_and_rewards.py``'s one table.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from harness.results import Outcome
from sandbox.testing import SandboxHandle
from tests.local_server import MISBEHAVIOURS, misbehaving_server
from tests.support import describe, local_config, run_journeys, run_passing, same_url, sample, where, write_config

JOURNEYS = ["uptime", "chat", "rates_freshness"]
SERVICES = ("vault", "concierge", "room_service", "cdn")
CURRENCIES = ("USD", "EUR", "GBP", "BTC")


async def test_the_journeys_pass_and_export_their_series(clean_sandbox: SandboxHandle, tmp_path: Path) -> None:
    results, registry = await run_passing(tmp_path, clean_sandbox, JOURNEYS)
    assert [s.name for s in results["uptime"].steps] == [
        *(f"{service} health" for service in SERVICES),
        "socket websocket",
        "socket polling",
    ]
    for service in SERVICES:
        assert sample(registry, "synthetic_service_up", service=service) == 1
    for service, dependency in [
        ("vault", "database"),
        ("vault", "kafka"),
        ("concierge", "kafka"),
        ("room_service", "chat"),
        ("cdn", "origin"),
    ]:
        assert sample(registry, "synthetic_dependency_up", service=service, dependency=dependency) == 1
    assert sample(registry, "synthetic_push_latency_seconds_count", event="chat:message") == 1
    for code in CURRENCIES:
        assert sample(registry, "synthetic_currency_success", scenario="rates_freshness", currency=code) == 1


@pytest.mark.parametrize(
    ("fault", "down"),
    [
        ("chat_down", ("room_service", "chat")),
        ("kafka_down", ("concierge", "kafka")),
        ("db_down", ("vault", "database")),
    ],
)
async def test_each_dependency_is_its_own_series(
    clean_sandbox: SandboxHandle, tmp_path: Path, fault: str, down: tuple[str, str]
) -> None:
    config = write_config(tmp_path, clean_sandbox, ["uptime"])
    clean_sandbox.fault_on(fault)
    _, registry = await run_journeys(config, ["uptime"])
    assert sample(registry, "synthetic_dependency_up", service=down[0], dependency=down[1]) == 0
    assert sample(registry, "synthetic_dependency_up", service="cdn", dependency="origin") == 1
    others = {("vault", "database"), ("room_service", "chat"), ("concierge", "database")} - {down}
    if fault == "kafka_down":  # one broker: every service's kafka check is down with it
        others -= {("vault", "kafka"), ("room_service", "kafka")}
    for service, dependency in others:
        assert sample(registry, "synthetic_dependency_up", service=service, dependency=dependency) == 1


async def test_a_polling_client_refused_fails_fast_as_connect_error(
    clean_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    config = write_config(tmp_path, clean_sandbox, ["uptime"], options={"uptime": {"socket_transports": ["polling"]}})
    clean_sandbox.fault_on("socket_rejects_connections")
    results, _ = await run_journeys(config, ["uptime"])
    assert results["uptime"].outcome is Outcome.FAILURE, describe(results)  # not a timeout
    assert where(results["uptime"]) == ("socket polling", "connect_error")
    assert "refused" in results["uptime"].message


async def test_flapping_health_fails_uptime_in_one_run(clean_sandbox: SandboxHandle, tmp_path: Path) -> None:
    config = write_config(tmp_path, clean_sandbox, ["uptime"])
    clean_sandbox.fault_on("health_flapping")
    results, registry = await run_journeys(config, ["uptime"])
    assert where(results["uptime"]) == ("vault health", "dependency_down"), describe(results)
    assert "flapping (1 of 2 reads ok)" in results["uptime"].message
    for service in SERVICES:
        assert sample(registry, "synthetic_service_up", service=service) == 0
    clean_sandbox.fault_off("health_flapping")
    again, _ = await run_journeys(config, ["uptime"])
    assert again["uptime"].outcome is Outcome.SUCCESS, describe(again)


@pytest.mark.parametrize("kind", sorted(MISBEHAVIOURS))
async def test_a_misbehaving_target_fails_at_the_first_call(tmp_path: Path, kind: str) -> None:
    first_step = {"uptime": "vault health", "chat": "log in", "rates_freshness": "read rates"}
    async with misbehaving_server(kind) as url:
        # uptime's reads (2 x liveness and health) must fit in the 3 s: 0.5 s each
        options = {"uptime": {"health_timeout_seconds": 0.5}}
        config = write_config(tmp_path, same_url(url), JOURNEYS, timeout_seconds=3, options=options)
        results, registry = await run_journeys(config, JOURNEYS)
    for name in JOURNEYS:
        assert results[name].outcome in (Outcome.FAILURE, Outcome.TIMEOUT), describe(results)
        assert where(results[name]) == (first_step[name], MISBEHAVIOURS[kind]), describe(results)
    for service in SERVICES:
        assert sample(registry, "synthetic_service_up", service=service) == 0


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
async def test_uptime_exports_the_tls_expiry_of_https_services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "45", "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    end = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-enddate"], check=True, capture_output=True, text=True
    ).stdout
    not_after = float(ssl.cert_time_to_seconds(end.strip().removeprefix("notAfter=")))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trusted by httpx and by the default SSL context
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    async with misbehaving_server("healthy", server_context) as url:
        assert url.startswith("https://")
        config = local_config(tmp_path, url)
        results, registry = await run_journeys(config, ["uptime"])
    assert results["uptime"].outcome is Outcome.SUCCESS, describe(results)
    assert "vault tls" in [s.name for s in results["uptime"].steps]
    for service in SERVICES:
        assert sample(registry, "synthetic_tls_cert_expiry_timestamp_seconds", service=service) == not_after
