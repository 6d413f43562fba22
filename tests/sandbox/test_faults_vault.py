"""Each Vault fault really changes what Vault does, and switching it off restores the contract.

Also the admin API that switches faults: its token, its catalogue and its refusals.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.faults import FAULTS
from sandbox.testing import SandboxHandle, VaultSession


@pytest.fixture
def probe(session_for: Callable[[str], VaultSession]) -> VaultSession:
    return session_for("probe-eu-20")


async def bets_until_both_outcomes(
    vault: VaultSession, currency: str, stake: str
) -> dict[str, tuple[Decimal, dict[str, Any]]]:
    """Bet until one win and one loss were seen: ``{outcome: (balance before, bet)}``."""
    seen: dict[str, tuple[Decimal, dict[str, Any]]] = {}
    for _ in range(60):
        before = await vault.balance(currency)
        bet = (await vault.bet(currency, stake)).json()
        seen.setdefault(bet["outcome"], (before, bet))
        if len(seen) == 2:
            return seen
    raise AssertionError("60 bets without both a win and a loss")


async def rows_for(vault: VaultSession, ref_id: str) -> list[dict[str, Any]]:
    return [e for e in await vault.history(20) if e["ref_id"] == ref_id]


async def test_slow_api_delays_every_vault_answer(clean_sandbox: SandboxHandle, client: httpx.AsyncClient) -> None:
    url = clean_sandbox.vault_url + "/v1/currencies"
    clean_sandbox.fault_on("slow_api:5000")
    started = time.monotonic()
    assert (await client.get(url)).status_code == 200
    assert time.monotonic() - started >= 5.0
    clean_sandbox.fault_off("slow_api")
    started = time.monotonic()
    assert (await client.get(url)).status_code == 200
    assert time.monotonic() - started < 5.0  # the injected delay is gone (no speed claim)


async def test_bet_wrong_payout_books_one_unit_wrong(clean_sandbox: SandboxHandle, probe: VaultSession) -> None:
    await probe.top_up("USD", "100.00")
    clean_sandbox.fault_on("bet_wrong_payout")
    seen = await bets_until_both_outcomes(probe, "USD", "1.00")
    before, win = seen["win"]
    assert win["payout"] == "1.99"
    assert Decimal(win["balance_after"]) == before - Decimal("1.00") + Decimal("1.99")
    credit = [r for r in await rows_for(probe, win["bet_id"]) if r["type"] == "bet_credit"]
    assert credit[0]["amount"] == "1.99"
    before, loss = seen["loss"]
    assert Decimal(loss["balance_after"]) == before - Decimal("1.01")
    debit = [r for r in await rows_for(probe, loss["bet_id"]) if r["type"] == "bet_debit"]
    assert debit[0]["amount"] == "-1.01"

    clean_sandbox.fault_off("bet_wrong_payout")
    seen = await bets_until_both_outcomes(probe, "USD", "1.00")
    assert seen["win"][1]["payout"] == "2.00"
    before, loss = seen["loss"]
    assert Decimal(loss["balance_after"]) == before - Decimal("1.00")


async def test_bet_missing_history_moves_money_without_rows(clean_sandbox: SandboxHandle, probe: VaultSession) -> None:
    await probe.top_up("USD", "10.00")
    clean_sandbox.fault_on("bet_missing_history")
    before = await probe.balance("USD")
    bet = (await probe.bet("USD", "1.00")).json()
    assert await probe.balance("USD") != before
    assert await rows_for(probe, bet["bet_id"]) == []
    clean_sandbox.fault_off("bet_missing_history")
    bet = (await probe.bet("USD", "1.00")).json()
    assert "bet_debit" in [r["type"] for r in await rows_for(probe, bet["bet_id"])]


async def test_stake_limit_not_enforced_accepts_over_limit_stakes_but_not_over_balance(
    clean_sandbox: SandboxHandle, probe: VaultSession
) -> None:
    await probe.top_up("USD", "150.00")
    clean_sandbox.fault_on("stake_limit_not_enforced")
    accepted = await probe.bet("USD", "100.01")
    assert accepted.status_code == 200 and accepted.json()["status"] == "settled"
    tiny = await probe.bet("USD", "0.01")
    assert tiny.status_code == 200
    balance = await probe.balance("USD")
    over_balance = await probe.bet("USD", format(balance + Decimal("0.01"), "f"))
    assert over_balance.json()["error"] == "insufficient_funds"
    assert await probe.balance("USD") == balance
    clean_sandbox.fault_off("stake_limit_not_enforced")
    refused = await probe.bet("USD", "100.01")
    assert (refused.status_code, refused.json()["error"]) == (422, "stake_above_limit")


async def test_rollback_allowed_reverses_a_settled_bet(clean_sandbox: SandboxHandle, probe: VaultSession) -> None:
    await probe.top_up("USD", "10.00")
    before = await probe.balance("USD")
    bet = (await probe.bet("USD", "2.00")).json()
    clean_sandbox.fault_on("rollback_allowed")
    rolled = await probe.post(f"/v1/bets/{bet['bet_id']}/rollback", {})
    assert rolled.status_code == 200
    assert rolled.json()["status"] == "rolled_back"
    assert await probe.balance("USD") == before
    again = await probe.post(f"/v1/bets/{bet['bet_id']}/rollback", {})
    assert again.status_code == 409
    clean_sandbox.fault_off("rollback_allowed")
    other = (await probe.bet("USD", "2.00")).json()
    refused = await probe.post(f"/v1/bets/{other['bet_id']}/rollback", {})
    assert refused.json()["error"] == "bet_already_settled"


async def test_idempotency_ignored_runs_a_replay_again(clean_sandbox: SandboxHandle, probe: VaultSession) -> None:
    await probe.top_up("USD", "10.00")
    clean_sandbox.fault_on("idempotency_ignored")
    key = str(uuid.uuid4())
    first, second = [(await probe.bet("USD", "1.00", key=key)).json() for _ in range(2)]
    assert first["bet_id"] != second["bet_id"]
    assert Decimal(second["balance_after"]) == (
        Decimal(first["balance_after"]) - Decimal("1.00") + Decimal(second["payout"])
    )
    clean_sandbox.fault_off("idempotency_ignored")
    key = str(uuid.uuid4())
    first, second = [(await probe.bet("USD", "1.00", key=key)).json() for _ in range(2)]
    assert first == second


async def test_deposit_fails_in_one_currency_only(clean_sandbox: SandboxHandle, probe: VaultSession) -> None:
    before = await probe.balance("EUR")
    clean_sandbox.fault_on("deposit_fails:EUR")
    assert (await probe.top_up("EUR", "5.00"))["status"] == "failed"
    assert (await probe.top_up("USD", "5.00"))["status"] == "completed"
    assert await probe.balance("EUR") == before
    clean_sandbox.fault_off("deposit_fails")
    assert (await probe.top_up("EUR", "5.00"))["status"] == "completed"
    assert await probe.balance("EUR") == before + Decimal("5.00")


async def test_deposit_stuck_pending_never_completes(clean_sandbox: SandboxHandle, probe: VaultSession) -> None:
    before = await probe.balance("GBP")
    clean_sandbox.fault_on("deposit_stuck_pending:GBP")
    deposit = (await probe.deposit("GBP", "5.00")).json()
    stuck = await probe.settled("deposit", deposit["deposit_id"], timeout=1.5)
    assert stuck["status"] == "pending"  # 1.5 s is many times the fast profile's 0.2 s
    assert await probe.balance("GBP") == before
    clean_sandbox.fault_off("deposit_stuck_pending")
    assert (await probe.top_up("GBP", "5.00"))["status"] == "completed"


async def test_withdrawal_fails_returns_the_held_amount(clean_sandbox: SandboxHandle, probe: VaultSession) -> None:
    await probe.top_up("USD", "20.00")
    before = await probe.balance("USD")
    clean_sandbox.fault_on("withdrawal_fails:USD")
    withdrawal = (await probe.withdraw("USD", "6.00")).json()
    assert await probe.balance("USD") == before - Decimal("6.00")
    settled = await probe.settled("withdrawal", withdrawal["withdrawal_id"])
    assert settled["status"] == "failed"
    assert await probe.balance("USD") == before
    amounts = [r["amount"] for r in await rows_for(probe, withdrawal["withdrawal_id"])]
    assert amounts == ["6.00", "-6.00"]  # newest first: the return, then the hold
    clean_sandbox.fault_off("withdrawal_fails")
    withdrawal = (await probe.withdraw("USD", "6.00")).json()
    assert (await probe.settled("withdrawal", withdrawal["withdrawal_id"]))["status"] == ("completed")


async def test_withdrawal_limit_not_enforced(clean_sandbox: SandboxHandle, probe: VaultSession) -> None:
    await probe.top_up("BTC", "0.20000000")
    clean_sandbox.fault_on("withdrawal_limit_not_enforced")
    accepted = await probe.withdraw("BTC", "0.10000001")
    assert accepted.status_code == 200
    clean_sandbox.fault_off("withdrawal_limit_not_enforced")
    refused = await probe.withdraw("BTC", "0.10000001")
    assert refused.json()["error"] == "withdrawal_above_limit"


async def _race(vault: VaultSession, amount: str) -> list[int]:
    balance = await vault.balance("EUR")
    if balance:
        await vault.withdraw("EUR", format(balance, "f"))
    await vault.top_up("EUR", amount)
    answers = await asyncio.gather(vault.withdraw("EUR", amount), vault.withdraw("EUR", amount))
    return sorted(a.status_code for a in answers)


async def test_withdrawal_double_spend_lets_two_racing_withdrawals_through(
    clean_sandbox: SandboxHandle, probe: VaultSession
) -> None:
    clean_sandbox.fault_on("withdrawal_double_spend")
    assert await _race(probe, "25.00") == [200, 200]
    clean_sandbox.fault_off("withdrawal_double_spend")
    assert await _race(probe, "25.00") == [200, 422]


async def test_rates_stale_makes_rates_hours_old(clean_sandbox: SandboxHandle, client: httpx.AsyncClient) -> None:
    def age(body: dict[str, Any]) -> float:
        updated = datetime.strptime(body["updated_at"], "%Y-%m-%dT%H:%M:%SZ")
        return (datetime.now(UTC) - updated.replace(tzinfo=UTC)).total_seconds()

    url = clean_sandbox.vault_url + "/v1/rates"
    clean_sandbox.fault_on("rates_stale")
    assert age((await client.get(url)).json()) > 5 * 3600
    clean_sandbox.fault_off("rates_stale")
    assert age((await client.get(url)).json()) < 60


async def test_db_down_fails_health_and_every_ledger_call(
    clean_sandbox: SandboxHandle, client: httpx.AsyncClient, probe: VaultSession
) -> None:
    clean_sandbox.fault_on("db_down")
    health = await client.get(clean_sandbox.vault_url + "/health")
    assert health.status_code == 500
    checks = health.json()["checks"]
    assert checks["database"]["status"] == "error"
    assert checks["kafka"]["status"] == "ok"
    for response in (
        await probe.get("/v1/balance"),
        await probe.get("/v1/transactions"),
        await probe.bet("USD", "1.00"),
        await probe.deposit("USD", "5.00"),
    ):
        assert (response.status_code, response.json()["error"]) == (500, "database_unavailable")
    assert clean_sandbox.login("probe-eu-20")  # auth does not touch the ledger
    clean_sandbox.fault_off("db_down")
    assert (await client.get(clean_sandbox.vault_url + "/health")).status_code == 200
    assert (await probe.get("/v1/balance")).status_code == 200


async def test_kafka_down_fails_health_but_bets_still_settle(
    clean_sandbox: SandboxHandle, client: httpx.AsyncClient, probe: VaultSession
) -> None:
    await probe.top_up("USD", "5.00")
    clean_sandbox.fault_on("kafka_down")
    health = await client.get(clean_sandbox.vault_url + "/health")
    assert health.status_code == 500
    assert health.json()["checks"]["kafka"]["status"] == "error"
    assert health.json()["checks"]["database"]["status"] == "ok"
    assert (await probe.bet("USD", "1.00")).json()["status"] == "settled"
    clean_sandbox.fault_off("kafka_down")
    assert (await client.get(clean_sandbox.vault_url + "/health")).status_code == 200


async def test_health_flapping_alternates(clean_sandbox: SandboxHandle, client: httpx.AsyncClient) -> None:
    url = clean_sandbox.vault_url + "/health"
    clean_sandbox.fault_on("health_flapping")
    codes = [(await client.get(url)).status_code for _ in range(4)]
    assert codes in ([200, 500, 200, 500], [500, 200, 500, 200])
    clean_sandbox.fault_off("health_flapping")
    assert [(await client.get(url)).status_code for _ in range(3)] == [200, 200, 200]


# -- the admin API ---------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "wrong"])
async def test_admin_api_wants_the_admin_token(
    clean_sandbox: SandboxHandle, client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    url = clean_sandbox.admin_url + "/faults"
    for response in (
        await client.get(url, headers=headers),
        await client.post(url, headers=headers, json={"fault": "rates_stale"}),
        await client.delete(url, headers=headers),
        await client.delete(url + "/rates_stale", headers=headers),
    ):
        assert (response.status_code, response.json()["error"]) == (401, "unauthorized")
    assert clean_sandbox.active_faults() == {}


async def test_admin_api_lists_switches_and_clears(clean_sandbox: SandboxHandle, client: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {clean_sandbox.admin_token}"}
    url = clean_sandbox.admin_url + "/faults"
    listing = (await client.get(url, headers=headers)).json()
    assert listing["active"] == {}
    assert {entry["name"] for entry in listing["catalogue"]} == set(FAULTS)
    assert set(listing["catalogue"][0]) == {"name", "service", "param", "customer_impact"}

    on = await client.post(url, headers=headers, json={"fault": "deposit_fails:EUR"})
    assert on.status_code == 200
    await client.post(url, headers=headers, json={"fault": "rates_stale"})
    listing = (await client.get(url, headers=headers)).json()
    assert listing["active"] == {"deposit_fails": "EUR", "rates_stale": None}

    off = await client.delete(url + "/deposit_fails", headers=headers)
    assert off.json()["active"] == {"rates_stale": None}
    cleared = await client.delete(url, headers=headers)
    assert cleared.json()["active"] == {}


@pytest.mark.parametrize("body", [{"fault": "no_such_fault"}, {"fault": "deposit_fails"}, {"fault": "db_down:x"}])
async def test_admin_api_refuses_unknown_faults(
    clean_sandbox: SandboxHandle, client: httpx.AsyncClient, body: dict[str, str]
) -> None:
    headers = {"Authorization": f"Bearer {clean_sandbox.admin_token}"}
    response = await client.post(clean_sandbox.admin_url + "/faults", headers=headers, json=body)
    assert (response.status_code, response.json()["error"]) == (400, "unknown_fault")
    assert clean_sandbox.active_faults() == {}
