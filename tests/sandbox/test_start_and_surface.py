"""The sandbox starts with any fault on, and shows no more surface than the real services."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from sandbox.testing import SandboxHandle, running_sandbox


async def test_a_sandbox_started_with_db_down_starts_and_the_fault_meets_requests(tmp_path: Path) -> None:
    """The ledger's opening transaction is not a request: only requests meet the fault."""
    with running_sandbox(tmp_path, ["--fault", "db_down"]) as faulty:
        async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
            health = await client.get(faulty.vault_url + "/health")
            assert (health.status_code, health.json()["checks"]["database"]["status"]) == (500, "error")
            token = faulty.login("probe-eu-21")
            balance = await client.get(faulty.vault_url + "/v1/balance", headers={"Authorization": f"Bearer {token}"})
            assert (balance.status_code, balance.json()["error"]) == (500, "database_unavailable")
            faulty.fault_off("db_down")
            balance = await client.get(faulty.vault_url + "/v1/balance", headers={"Authorization": f"Bearer {token}"})
            assert balance.status_code == 200 and balance.json()["balances"]["USD"] == "0.00"


@pytest.mark.parametrize("service", ["vault", "concierge"])
@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
async def test_no_api_documentation_is_served(sandbox: SandboxHandle, service: str, path: str) -> None:
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        answer = await client.get(sandbox.url(service) + path)
    assert answer.status_code == 404, f"{service} serves {path}"
