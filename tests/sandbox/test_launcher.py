"""The launcher and CLI: start-up, refusals, graceful SIGTERM/SIGINT, and no leaks under load.

Each test starts its own sandbox subprocess (``sandbox.testing``), because each one ends it.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from sandbox.cli import main
from sandbox.testing import REPO_ROOT, SandboxHandle, VaultSession, running_sandbox


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


async def _health_during_shutdown(handle: SandboxHandle, signum: int) -> None:
    async with httpx.AsyncClient(timeout=20, trust_env=False) as client:
        vault = VaultSession(client, handle.vault_url, handle.login("probe-eu-01"))
        # Every Vault answer takes 3 s, longer than the 1.5 s drain: both requests below are
        # still running when the servers stop, and must be allowed to finish.
        handle.fault_on("slow_api:3000")
        in_flight = asyncio.create_task(vault.get("/v1/balance"))
        await asyncio.sleep(0.3)  # the request is inside Vault, sleeping
        handle.process.send_signal(signum)
        health = await client.get(handle.vault_url + "/health")
        assert health.status_code == 503
        assert health.json()["service"] == "shutting_down"
        finished = await in_flight
        assert finished.status_code == 200  # the in-flight request was allowed to finish
    assert await asyncio.to_thread(handle.process.wait, 30) == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_signal_drains_with_health_503_then_exits_0(tmp_path: Path, signum: int) -> None:
    with running_sandbox(tmp_path, ["--drain-seconds", "1.5"]) as handle:
        await _health_during_shutdown(handle, signum)
    assert "sandbox stopped" in handle.log_path.read_text()


async def test_requests_still_running_after_the_shutdown_timeout_are_cut_off(
    tmp_path: Path,
) -> None:
    extra = ["--drain-seconds", "0.2", "--shutdown-timeout", "1"]
    with running_sandbox(tmp_path, extra) as handle:
        async with httpx.AsyncClient(timeout=60, trust_env=False) as client:
            handle.fault_on("slow_api:120000")  # a request that would take two minutes
            stuck = asyncio.create_task(client.get(handle.vault_url + "/v1/currencies"))
            await asyncio.sleep(0.3)
            handle.process.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(handle.process.wait, 30) == 0
            try:
                cut_off = (await stuck).status_code  # uvicorn answers 500 for a cancelled request
            except httpx.TransportError:
                cut_off = 0
            assert cut_off in (0, 500)
    assert "forcing the servers to stop" not in handle.log_path.read_text()


async def test_start_prints_urls_applies_faults_and_opening_balances(tmp_path: Path) -> None:
    with running_sandbox(tmp_path, ["--fault", "rates_stale", "--fault", "deposit_fails:BTC"]) as (handle):
        log = handle.log_path.read_text()
        assert "sandbox ready" in log
        assert handle.vault_url.startswith("http://127.0.0.1:")
        assert handle.admin_url.startswith("http://127.0.0.1:")
        assert handle.active_faults() == {"rates_stale": None, "deposit_fails": "BTC"}
        async with httpx.AsyncClient(timeout=20, trust_env=False) as client:
            probe = VaultSession(client, handle.vault_url, handle.login("probe-us-01"))
            player = VaultSession(client, handle.vault_url, handle.login("player-01"))
            assert (await probe.get("/v1/balance")).json()["balances"] == {
                "USD": "0.00",
                "EUR": "0.00",
                "GBP": "0.00",
                "BTC": "0.00000000",
            }
            assert (await player.get("/v1/balance")).json()["balances"] == {
                "USD": "1000.00",
                "EUR": "1000.00",
                "GBP": "1000.00",
                "BTC": "0.01000000",
            }
    assert handle.process.returncode == 0
    for secret_name in ("probe_password", "player_password", "admin_token", "reset_secret"):
        secret_value = (REPO_ROOT / "config" / "sandbox-secrets" / secret_name).read_text()
        assert secret_value.strip() not in handle.log_path.read_text()


async def test_ledger_survives_a_restart_on_the_same_db(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite3"
    async with httpx.AsyncClient(timeout=20, trust_env=False) as client:
        with running_sandbox(tmp_path / "first", ["--db", str(db)]) as handle:
            probe = VaultSession(client, handle.vault_url, handle.login("probe-us-02"))
            assert (await probe.top_up("EUR", "42.00"))["status"] == "completed"
        with running_sandbox(tmp_path / "second", ["--db", str(db)]) as handle:
            probe = VaultSession(client, handle.vault_url, handle.login("probe-us-02"))
            assert await probe.balance("EUR") == Decimal("42.00")


@pytest.mark.parametrize("fault", ["no_such_fault", "deposit_fails", "db_down:yes", "slow_api:fast"])
def test_cli_refuses_a_bad_fault_with_one_line_and_exit_2(fault: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--fault", fault]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert fault.partition(":")[0] in err


def test_python_m_sandbox_refuses_a_bad_fault() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "--fault", "nope"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "nope" in done.stderr
    assert done.stdout == ""


def test_a_port_in_use_is_one_clear_error_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = [f"--{name}-port" for name in ("cdn", "concierge", "room-service", "admin")]
        command = [sys.executable, "-m", "sandbox", "--vault-port", str(port)]
        for flag in ports:
            command += [flag, "0"]
        done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"vault cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "sandbox ready" not in done.stdout


@pytest.mark.slow
async def test_a_thousand_bets_and_deposits_leak_neither_memory_nor_descriptors(
    tmp_path: Path,
) -> None:
    with running_sandbox(tmp_path) as handle:
        async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
            sessions = [VaultSession(client, handle.vault_url, handle.login(f"probe-us-{n:02d}")) for n in range(1, 11)]

            async def work(rounds: int) -> None:
                async def one(vault: VaultSession) -> None:
                    for _ in range(rounds):
                        assert (await vault.deposit("USD", "1.00")).status_code == 200
                        assert (await vault.bet("USD", "0.10")).status_code in (200, 422)

                await asyncio.gather(*(one(v) for v in sessions))
                await asyncio.sleep(0.5)  # let the deposits settle

            for vault in sessions:
                await vault.top_up("USD", "50.00")
            await work(30)  # warm-up: 300 deposits and 300 bets
            warm_rss, warm_fds = rss_kib(handle.pid), open_fds(handle.pid)
            await work(100)  # 1,000 deposits and 1,000 bets
            end_rss, end_fds = rss_kib(handle.pid), open_fds(handle.pid)
    assert handle.process.returncode == 0
    assert end_fds <= warm_fds + 10, (warm_fds, end_fds)
    assert end_rss <= warm_rss * 1.25 + 20 * 1024, (warm_rss, end_rss)
