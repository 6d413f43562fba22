"""Vault against the platform contract: every call, every rule, over real HTTP to the sandbox."""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import yaml

from sandbox.health import health_body
from sandbox.testing import SandboxHandle, VaultSession

# Accounts these tests use; every test works from balance deltas, so sharing is safe.
_ACCOUNTS = itertools.cycle([f"probe-us-{n:02d}" for n in range(13, 25)])
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture
def probe(session_for: Callable[[str], VaultSession]) -> VaultSession:
    return session_for(next(_ACCOUNTS))


def key() -> str:
    return str(uuid.uuid4())


async def set_balance(vault: VaultSession, currency: str, amount: str) -> None:
    """Bring the balance to exactly ``amount`` (withdraw all, then deposit)."""
    balance = await vault.balance(currency)
    while balance > 0:
        chunk = min(balance, Decimal("5000") if currency != "BTC" else Decimal("0.1"))
        response = await vault.withdraw(currency, format(chunk, "f"))
        assert response.status_code == 200, response.text
        balance -= chunk
    if Decimal(amount) > 0:
        assert (await vault.top_up(currency, amount))["status"] == "completed"
    assert await vault.balance(currency) == Decimal(amount)


# -- health, liveness, auth ------------------------------------------------------------------


async def test_health_reports_each_dependency(clean_sandbox: SandboxHandle, client: httpx.AsyncClient) -> None:
    response = await client.get(clean_sandbox.vault_url + "/health")
    assert response.status_code == 200
    body = response.json()
    assert body["service"] == "ok"
    assert TIMESTAMP.match(body["timestamp"])
    assert set(body["checks"]) == {"database", "kafka"}
    assert all(check["status"] == "ok" for check in body["checks"].values())


async def test_liveness_says_ok(clean_sandbox: SandboxHandle, client: httpx.AsyncClient) -> None:
    response = await client.get(clean_sandbox.vault_url + "/liveness")
    assert (response.status_code, response.text) == (200, "OK")


def test_health_body_picks_status_from_checks_and_shutdown() -> None:
    assert health_body({"database": (True, "ok")})[0] == 200
    code, body = health_body({"database": (True, "ok"), "kafka": (False, "broker gone")})
    assert code == 500 and body["service"] == "error"
    assert body["checks"] == {
        "database": {"status": "ok", "message": "ok"},
        "kafka": {"status": "error", "message": "broker gone"},
    }
    code, body = health_body({"database": (True, "ok")}, shutting_down=True)
    assert (code, body["service"]) == (503, "shutting_down")


async def test_login_gives_a_token_and_user_id(clean_sandbox: SandboxHandle, client: httpx.AsyncClient) -> None:
    token = clean_sandbox.login("probe-eu-13")
    response = await client.get(clean_sandbox.vault_url + "/v1/balance", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"username": "probe-eu-13", "password": "wrong"}, {"username": "nobody", "password": "x"}],
)
async def test_login_refuses_bad_credentials(
    clean_sandbox: SandboxHandle, client: httpx.AsyncClient, body: dict[str, str]
) -> None:
    response = await client.post(clean_sandbox.vault_url + "/v1/auth/login", json=body)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/balance"),
        ("GET", "/v1/transactions"),
        ("POST", "/v1/deposits"),
        ("GET", "/v1/deposits/dep_x"),
        ("POST", "/v1/withdrawals"),
        ("GET", "/v1/withdrawals/wd_x"),
        ("POST", "/v1/bets"),
        ("GET", "/v1/bets/bet_x"),
        ("POST", "/v1/bets/bet_x/rollback"),
    ],
)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic abc"])
async def test_every_account_call_wants_a_valid_bearer_token(
    clean_sandbox: SandboxHandle,
    client: httpx.AsyncClient,
    method: str,
    path: str,
    authorization: str | None,
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.request(method, clean_sandbox.vault_url + path, headers=headers, json={})
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


async def test_unknown_route_answers_in_the_error_format(
    clean_sandbox: SandboxHandle, client: httpx.AsyncClient
) -> None:
    response = await client.get(clean_sandbox.vault_url + "/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


# -- reference data --------------------------------------------------------------------------


async def test_currencies_list_decimals_and_limits(clean_sandbox: SandboxHandle, client: httpx.AsyncClient) -> None:
    currencies = (await client.get(clean_sandbox.vault_url + "/v1/currencies")).json()
    by_code = {c["code"]: c for c in currencies}
    assert set(by_code) == {"USD", "EUR", "GBP", "BTC"}
    assert by_code["USD"] == {
        "code": "USD",
        "kind": "fiat",
        "decimals": 2,
        "min_stake": "0.10",
        "max_stake": "100.00",
        "min_deposit": "1.00",
        "max_withdrawal": "5000.00",
    }
    assert by_code["BTC"]["kind"] == "crypto"
    assert by_code["BTC"]["decimals"] == 8
    assert by_code["BTC"]["min_deposit"] == "0.00001000"
    assert by_code["BTC"]["max_withdrawal"] == "0.10000000"


async def test_rates_are_per_usd_and_fresh(clean_sandbox: SandboxHandle, client: httpx.AsyncClient) -> None:
    body = (await client.get(clean_sandbox.vault_url + "/v1/rates")).json()
    assert body["base"] == "USD"
    assert body["rates"] == {"USD": "1", "EUR": "0.92", "GBP": "0.79", "BTC": "0.0000105"}
    updated = datetime.strptime(body["updated_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert 0 <= (datetime.now(UTC) - updated).total_seconds() < 60


async def test_limits_per_currency(clean_sandbox: SandboxHandle, client: httpx.AsyncClient) -> None:
    body = (await client.get(clean_sandbox.vault_url + "/v1/limits")).json()
    assert body["max_stake"] == {
        "USD": "100.00",
        "EUR": "100.00",
        "GBP": "100.00",
        "BTC": "0.00100000",
    }
    assert body["min_stake"]["BTC"] == "0.00000100"
    assert body["min_stake"]["EUR"] == "0.10"


# -- deposits and withdrawals ----------------------------------------------------------------


async def test_deposit_goes_pending_then_completed_and_books_the_amount(
    probe: VaultSession,
) -> None:
    before = await probe.balance("EUR")
    response = await probe.deposit("EUR", "12.34")
    assert response.status_code == 200
    deposit = response.json()
    assert deposit["status"] == "pending"
    assert await probe.balance("EUR") == before
    settled = await probe.settled("deposit", deposit["deposit_id"])
    assert settled["status"] == "completed"
    assert settled["amount"] == "12.34"
    assert await probe.balance("EUR") == before + Decimal("12.34")
    newest = (await probe.history(1))[0]
    assert newest["type"] == "deposit"
    assert newest["ref_id"] == deposit["deposit_id"]
    assert newest["amount"] == "12.34"
    assert Decimal(newest["balance_after"]) == before + Decimal("12.34")


async def test_btc_keeps_eight_decimals(probe: VaultSession) -> None:
    before = await probe.balance("BTC")
    assert (await probe.top_up("BTC", "0.00012345"))["status"] == "completed"
    response = await probe.get("/v1/balance")
    shown = response.json()["balances"]["BTC"]
    assert re.fullmatch(r"\d+\.\d{8}", shown)
    assert Decimal(shown) == before + Decimal("0.00012345")
    refused = await probe.deposit("BTC", "0.000123456")
    assert (refused.status_code, refused.json()["error"]) == (422, "invalid_amount")


async def test_sandbox_method_is_forbidden_to_ordinary_accounts(
    session_for: Callable[[str], VaultSession],
) -> None:
    player = session_for("player-03")
    before = await player.balance("USD")
    for call in (player.deposit, player.withdraw):
        response = await call("USD", "5.00")
        assert response.status_code == 403
        assert response.json()["error"] == "forbidden"
    assert await player.balance("USD") == before


async def test_other_payment_methods_are_not_allowed(probe: VaultSession) -> None:
    body = {"currency": "USD", "amount": "5.00", "method": "card"}
    for path in ("/v1/deposits", "/v1/withdrawals"):
        response = await probe.post(path, body)
        assert response.status_code == 422
        assert response.json()["error"] == "method_not_allowed"


async def test_withdrawal_holds_the_amount_at_once_then_completes(probe: VaultSession) -> None:
    await probe.top_up("USD", "30.00")
    before = await probe.balance("USD")
    response = await probe.withdraw("USD", "7.50")
    assert response.status_code == 200
    withdrawal = response.json()
    assert withdrawal["status"] == "pending"
    assert await probe.balance("USD") == before - Decimal("7.50")
    settled = await probe.settled("withdrawal", withdrawal["withdrawal_id"])
    assert settled["status"] == "completed"
    assert await probe.balance("USD") == before - Decimal("7.50")
    newest = (await probe.history(1))[0]
    assert (newest["type"], newest["amount"], newest["ref_id"]) == (
        "withdrawal",
        "-7.50",
        withdrawal["withdrawal_id"],
    )


async def test_withdrawal_refusals_move_nothing(probe: VaultSession) -> None:
    await set_balance(probe, "BTC", "0.00050000")
    history_before = await probe.history(5)
    above_balance = await probe.withdraw("BTC", "0.00050001")
    assert above_balance.json()["error"] == "insufficient_funds"
    above_limit = await probe.withdraw("BTC", "0.10000001")
    assert above_limit.json()["error"] == "withdrawal_above_limit"
    assert above_balance.status_code == above_limit.status_code == 422
    assert await probe.balance("BTC") == Decimal("0.00050000")
    assert await probe.history(5) == history_before


async def test_two_withdrawals_racing_for_the_same_funds_never_both_complete(
    probe: VaultSession,
) -> None:
    await set_balance(probe, "GBP", "40.00")
    first, second = await asyncio.gather(probe.withdraw("GBP", "40.00"), probe.withdraw("GBP", "40.00"))
    codes = sorted([first.status_code, second.status_code])
    assert codes == [200, 422]
    refused = first if first.status_code == 422 else second
    assert refused.json()["error"] == "insufficient_funds"
    assert await probe.balance("GBP") == Decimal("0.00")


async def test_payments_of_other_users_are_not_found(
    probe: VaultSession, session_for: Callable[[str], VaultSession]
) -> None:
    deposit = (await probe.deposit("USD", "2.00")).json()
    other = session_for("probe-eu-14")
    response = await other.get(f"/v1/deposits/{deposit['deposit_id']}")
    assert (response.status_code, response.json()["error"]) == (404, "not_found")
    as_withdrawal = await probe.get(f"/v1/withdrawals/{deposit['deposit_id']}")
    assert as_withdrawal.status_code == 404


# -- bets ------------------------------------------------------------------------------------


async def test_bets_settle_by_the_contracts_arithmetic(probe: VaultSession) -> None:
    await probe.top_up("USD", "200.00")
    outcomes = set()
    for _ in range(30):
        before = await probe.balance("USD")
        response = await probe.bet("USD", "2.50", selection="low")
        assert response.status_code == 200
        bet = response.json()
        assert bet["status"] == "settled"
        assert (bet["multiplier"], bet["currency"], bet["stake"]) == ("2.00", "USD", "2.50")
        assert bet["stake_usd"] == "2.50"
        expected_payout = Decimal("5.00") if bet["outcome"] == "win" else Decimal("0.00")
        assert Decimal(bet["payout"]) == expected_payout
        assert Decimal(bet["balance_after"]) == before - Decimal("2.50") + expected_payout
        assert await probe.balance("USD") == Decimal(bet["balance_after"])
        rows = [e for e in await probe.history(4) if e["ref_id"] == bet["bet_id"]]
        types = sorted(e["type"] for e in rows)
        assert types == (["bet_credit", "bet_debit"] if bet["outcome"] == "win" else ["bet_debit"])
        outcomes.add(bet["outcome"])
        if outcomes == {"win", "loss"}:
            break
    assert outcomes == {"win", "loss"}


@pytest.mark.parametrize(
    ("currency", "top_up", "stake", "stake_usd"),
    [
        ("EUR", "20.00", "10.00", "10.87"),  # 10 / 0.92 = 10.8695...
        ("GBP", "20.00", "0.79", "1.00"),
        ("BTC", "0.00100000", "0.00010000", "9.52"),  # 0.0001 / 0.0000105 = 9.5238...
        ("BTC", "0.00100000", "0.00000105", "0.10"),
    ],
)
async def test_stake_usd_is_rounded_half_even_at_the_rate(
    probe: VaultSession, currency: str, top_up: str, stake: str, stake_usd: str
) -> None:
    await probe.top_up(currency, top_up)
    bet = (await probe.bet(currency, stake)).json()
    assert bet["stake_usd"] == stake_usd
    assert bet["stake"] == stake


async def test_bet_lookup_returns_the_bet_only_to_its_owner(
    probe: VaultSession, session_for: Callable[[str], VaultSession]
) -> None:
    await probe.top_up("USD", "5.00")
    bet = (await probe.bet("USD", "1.00")).json()
    found = await probe.get(f"/v1/bets/{bet['bet_id']}")
    assert found.status_code == 200
    assert {k: found.json()[k] for k in bet} == bet
    stranger = await session_for("probe-eu-15").get(f"/v1/bets/{bet['bet_id']}")
    assert (stranger.status_code, stranger.json()["error"]) == (404, "not_found")


async def test_a_settled_bet_cannot_be_rolled_back(probe: VaultSession) -> None:
    await probe.top_up("USD", "5.00")
    bet = (await probe.bet("USD", "1.00")).json()
    before = await probe.balance("USD")
    response = await probe.post(f"/v1/bets/{bet['bet_id']}/rollback", {})
    assert (response.status_code, response.json()["error"]) == (409, "bet_already_settled")
    assert await probe.balance("USD") == before
    missing = await probe.post("/v1/bets/bet_nope/rollback", {})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"game": "roulette", "currency": "USD", "stake": "1.00", "selection": "high"},
        {"game": "dice", "currency": "USD", "stake": "1.00", "selection": "middle"},
        {"currency": "USD", "stake": "1.00", "selection": "high"},
    ],
)
async def test_unknown_game_or_selection_is_an_invalid_bet(probe: VaultSession, body: dict[str, str]) -> None:
    response = await probe.post("/v1/bets", body)
    assert (response.status_code, response.json()["error"]) == (422, "invalid_bet")


REFUSALS = yaml.safe_load((Path(__file__).with_name("vault_refusals.yaml")).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("call", "currency", "amount", "code"), [(call, *row) for call, rows in REFUSALS.items() for row in rows]
)
async def test_refusals_follow_the_contracts_order_and_move_nothing(
    session_for: Callable[[str], VaultSession], call: str, currency: str | None, amount: object, code: str
) -> None:
    """Each row of ``vault_refusals.yaml``, against the guardrail account."""
    guardrail = session_for("probe-eu-16")
    await set_balance(guardrail, "USD", "5.00")
    await set_balance(guardrail, "BTC", "0.00050000")
    history_before = await guardrail.history(3)
    if call == "deposits":
        body = {"currency": currency, "amount": amount, "method": "sandbox"}
    else:
        body = {"game": "dice", "currency": currency, "stake": amount, "selection": "high"}
    response = await guardrail.post(f"/v1/{call}", body)
    assert response.status_code == 422
    assert response.json()["error"] == code
    assert set(response.json()) == {"error", "message"}
    assert await guardrail.balance("USD") == Decimal("5.00")
    assert await guardrail.balance("BTC") == Decimal("0.00050000")
    assert await guardrail.history(3) == history_before


# -- history ---------------------------------------------------------------------------------


async def test_history_is_newest_first_and_accounts_for_every_change(probe: VaultSession) -> None:
    await probe.top_up("USD", "20.00")
    start = await probe.balance("USD")
    ids = []
    for _ in range(4):
        ids.append((await probe.bet("USD", "1.00")).json()["bet_id"])
    await probe.withdraw("USD", "3.00")
    end = await probe.balance("USD")
    entries = await probe.history(50)
    since_start = []
    for entry in entries:
        if Decimal(entry["balance_after"]) == start and entry["type"] == "deposit":
            break
        since_start.append(entry)
    assert since_start[0]["type"] == "withdrawal"
    assert sum(Decimal(e["amount"]) for e in since_start) == end - start
    bet_refs = [e["ref_id"] for e in since_start if e["type"] == "bet_debit"]
    assert bet_refs == list(reversed(ids))
    seqs = [e["created_at"] for e in since_start]
    assert seqs == sorted(seqs, reverse=True)
    assert len(await probe.history(2)) == 2


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "100000"])
async def test_history_limit_must_be_sane(probe: VaultSession, limit: str) -> None:
    response = await probe.get(f"/v1/transactions?limit={limit}")
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


# -- idempotency -----------------------------------------------------------------------------


async def test_bet_replay_returns_the_first_answer_and_moves_money_once(
    probe: VaultSession,
) -> None:
    await probe.top_up("USD", "10.00")
    before = await probe.balance("USD")
    k = key()
    first = await probe.bet("USD", "1.00", key=k)
    second = await probe.bet("USD", "1.00", key=k)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert await probe.balance("USD") == Decimal(first.json()["balance_after"])
    outcome = Decimal(first.json()["payout"]) - Decimal("1.00")
    assert await probe.balance("USD") == before + outcome
    debits = [e for e in await probe.history(10) if e["ref_id"] == first.json()["bet_id"]]
    assert [e["type"] for e in debits].count("bet_debit") == 1


async def test_concurrent_copies_of_one_request_move_money_once(probe: VaultSession) -> None:
    await probe.top_up("USD", "10.00")
    before = await probe.balance("USD")
    k = key()
    answers = await asyncio.gather(*(probe.bet("USD", "1.00", key=k) for _ in range(8)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["bet_id"] for a in answers}) == 1
    bet = answers[0].json()
    assert await probe.balance("USD") == before - Decimal("1.00") + Decimal(bet["payout"])


async def test_deposit_replay_credits_once(probe: VaultSession) -> None:
    before = await probe.balance("GBP")
    k = key()
    copies = await asyncio.gather(*(probe.deposit("GBP", "3.00", key=k) for _ in range(3)))
    assert len({c.json()["deposit_id"] for c in copies}) == 1
    await probe.settled("deposit", copies[0].json()["deposit_id"])
    replay = await probe.deposit("GBP", "3.00", key=k)
    assert replay.json() == copies[0].json()  # the first answer, even though it is now settled
    await asyncio.sleep(0.5)  # more than the fast profile's deposit delay
    assert await probe.balance("GBP") == before + Decimal("3.00")


async def test_withdrawal_replay_debits_once(probe: VaultSession) -> None:
    await probe.top_up("EUR", "10.00")
    before = await probe.balance("EUR")
    k = key()
    first = await probe.withdraw("EUR", "4.00", key=k)
    second = await probe.withdraw("EUR", "4.00", key=k)
    assert first.json() == second.json()
    assert await probe.balance("EUR") == before - Decimal("4.00")


async def test_same_key_with_another_body_is_refused(probe: VaultSession) -> None:
    await probe.top_up("USD", "10.00")
    k = key()
    assert (await probe.bet("USD", "1.00", key=k)).status_code == 200
    before = await probe.balance("USD")
    reused = await probe.bet("USD", "2.00", key=k)
    assert (reused.status_code, reused.json()["error"]) == (422, "idempotency_key_reused")
    assert await probe.balance("USD") == before


async def test_keys_are_scoped_to_user_and_endpoint(
    probe: VaultSession, session_for: Callable[[str], VaultSession]
) -> None:
    other = session_for("probe-eu-17")
    await probe.top_up("USD", "10.00")
    await other.top_up("USD", "10.00")
    k = key()
    mine = await probe.bet("USD", "1.00", key=k)
    theirs = await other.bet("USD", "1.00", key=k)
    assert mine.json()["bet_id"] != theirs.json()["bet_id"]
    deposit = await probe.deposit("USD", "1.00", key=k)  # same key, another endpoint
    assert deposit.status_code == 200 and "deposit_id" in deposit.json()


async def test_a_refusal_is_replayed_too(probe: VaultSession) -> None:
    await set_balance(probe, "GBP", "1.00")
    k = key()
    first = await probe.bet("GBP", "2.00", key=k)
    assert first.json()["error"] == "insufficient_funds"
    await probe.top_up("GBP", "5.00")
    again = await probe.bet("GBP", "2.00", key=k)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert await probe.balance("GBP") == Decimal("6.00")
