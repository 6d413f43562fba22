"""The deposit, withdrawal and guardrail journeys against a real sandbox, healthy and faulty.

Each test runs one scenario through the harness (``execute``) on the session's sandbox, then
checks the result and what really happened to the account, read from Vault directly.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from config.loader import load_settings
from config.settings import Settings
from harness.discovery import discover, plan
from harness.execute import execute
from harness.results import Outcome, RunResult
from harness.runtime import Runtime
from sandbox.testing import SandboxHandle, VaultSession, secret
from scenarios.kit import PaymentOptions
from tests.support import write_config

REGION = "us"  # these accounts (probe-us-03, -04, -07) are used by these tests only
CURRENCIES = ("USD", "EUR", "GBP", "BTC")
MIN_DEPOSIT = {"USD": Decimal("1.00"), "EUR": Decimal("1.00"), "GBP": Decimal("1.00"), "BTC": Decimal("0.00001000")}
ACCOUNTS = {  # config/sandbox.yaml's accounts in this region
    "deposit_each_currency": "probe-us-03",
    "withdraw_each_currency": "probe-us-04",
    "guardrails": "probe-us-07",
}
GUARDRAIL_STEPS = [
    "prepare account",
    "stake above max",
    "stake below min",
    "negative stake",
    "stake with too many decimals",
    "unsupported currency",
    "stake above balance",
    "withdrawal above balance",
    "withdrawal above max",
    "rollback settled bet",
    "idempotent replay",
    "concurrent replay",
    "idempotency key reuse",
    "withdrawal race",
    "reset without secret",
    "leaderboard hides synthetic",
]


def write_settings(
    tmp_path: Path,
    sandbox: SandboxHandle,
    *,
    allow_money: bool = True,
    budget: str = "5000.00",
    currencies: tuple[str, ...] = CURRENCIES,
    options: dict[str, dict[str, Any]] | None = None,
    paths: dict[str, str] | None = None,
) -> Settings:
    target = {"allow_money": allow_money, "stake_budget_usd_per_day": budget, "currencies": list(currencies)}
    contract = {"contract": {"paths": paths or {}}}
    path = write_config(tmp_path, sandbox, list(ACCOUNTS), region=REGION, options=options, target=target, top=contract)
    return load_settings(path, scenario_names=discover())


async def run_scenario(settings: Settings, name: str) -> tuple[RunResult, Runtime]:
    runtime = Runtime(settings)
    [only] = plan(settings, discover(), names=[name])
    try:
        return await execute(runtime, only), runtime
    finally:
        await runtime.aclose()


def currency_success(runtime: Runtime, scenario: str, currency: str) -> float | None:
    labels = {"scenario": scenario, "currency": currency, "target": "sandbox", "region": REGION}
    return runtime.metrics.registry.get_sample_value("synthetic_currency_success", labels)


def step(result: RunResult, name: str) -> Any:
    found = [s for s in result.steps if s.name == name]
    assert found, f"no step {name!r} in {[s.name for s in result.steps]}"
    return found[0]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=20, trust_env=False) as client:
        yield client


def account(sandbox: SandboxHandle, http: httpx.AsyncClient, scenario: str) -> VaultSession:
    return VaultSession(http, sandbox.vault_url, sandbox.login(ACCOUNTS[scenario]))


async def all_balances(session: VaultSession) -> dict[str, Decimal]:
    return {code: await session.balance(code) for code in CURRENCIES}


# -- deposits -----------------------------------------------------------------------------


async def test_deposit_in_each_currency_raises_each_balance_by_its_amount(
    clean_sandbox: SandboxHandle, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    vault = account(clean_sandbox, http, "deposit_each_currency")
    before = await all_balances(vault)
    result, runtime = await run_scenario(write_settings(tmp_path, clean_sandbox), "deposit_each_currency")
    assert result.outcome is Outcome.SUCCESS, result.message
    assert [s.name for s in result.steps][-4:] == [f"deposit {code}" for code in CURRENCIES]
    after = await all_balances(vault)
    assert after == {code: before[code] + MIN_DEPOSIT[code] for code in CURRENCIES}
    deposits = [e for e in await vault.history(10) if e["type"] == "deposit"]
    assert sorted((e["currency"], Decimal(e["amount"])) for e in deposits[:4]) == sorted(MIN_DEPOSIT.items())
    assert {code: currency_success(runtime, "deposit_each_currency", code) for code in CURRENCIES} == dict.fromkeys(
        CURRENCIES, 1.0
    )


async def test_a_failing_currency_is_named_and_every_other_is_still_checked(
    clean_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    clean_sandbox.fault_on("deposit_fails:EUR")
    result, runtime = await run_scenario(write_settings(tmp_path, clean_sandbox), "deposit_each_currency")
    assert result.outcome is Outcome.FAILURE
    assert (result.failed_step, result.reason) == ("deposit EUR", "assertion")
    assert "failed in EUR" in result.message and "USD" not in result.message
    assert step(result, "deposit GBP").success and step(result, "deposit BTC").success
    success = {code: currency_success(runtime, "deposit_each_currency", code) for code in CURRENCIES}
    assert success == {"USD": 1.0, "EUR": 0.0, "GBP": 1.0, "BTC": 1.0}


async def test_a_deposit_stuck_pending_fails_at_the_deadline_as_timeout(
    clean_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    clean_sandbox.fault_on("deposit_stuck_pending:BTC")
    result, _ = await run_scenario(write_settings(tmp_path, clean_sandbox), "deposit_each_currency")
    assert (result.outcome, result.failed_step, result.reason) == (Outcome.FAILURE, "deposit BTC", "timeout")
    assert "BTC" in result.message and "still pending after 2 s" in result.message


async def test_a_missing_balance_push_fails_every_currency_the_first_one_named_first(
    clean_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    clean_sandbox.fault_on("balance_push_dropped")
    settings = write_settings(
        tmp_path,
        clean_sandbox,
        currencies=("GBP", "USD"),
        options={"deposit_each_currency": {"push_deadline_seconds": 0.5}},
    )
    result, runtime = await run_scenario(settings, "deposit_each_currency")
    assert (result.failed_step, result.reason) == ("deposit GBP", "push_missing")
    assert result.message.startswith("failed in GBP, USD")
    assert [s.name for s in result.steps if s.name.startswith("deposit ")] == ["deposit GBP", "deposit USD"]
    assert currency_success(runtime, "deposit_each_currency", "EUR") is None  # only configured currencies


async def test_configured_amounts_are_what_is_deposited(
    clean_sandbox: SandboxHandle, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    vault = account(clean_sandbox, http, "deposit_each_currency")
    before = await vault.balance("USD")
    settings = write_settings(
        tmp_path, clean_sandbox, currencies=("USD",), options={"deposit_each_currency": {"amounts": {"USD": "2.35"}}}
    )
    result, _ = await run_scenario(settings, "deposit_each_currency")
    assert result.outcome is Outcome.SUCCESS, result.message
    assert await vault.balance("USD") == before + Decimal("2.35")


def test_amounts_must_be_decimal_strings_not_floats() -> None:
    assert PaymentOptions.model_validate({"amounts": {"EUR": "1.10"}}).amounts == {"EUR": Decimal("1.10")}
    with pytest.raises(ValidationError, match="decimal strings"):
        PaymentOptions.model_validate({"amounts": {"EUR": 1.1}})
    with pytest.raises(ValidationError, match="positive"):
        PaymentOptions.model_validate({"amounts": {"EUR": "-1.00"}})


async def test_money_journeys_are_skipped_where_money_may_not_move(
    clean_sandbox: SandboxHandle, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    vault = account(clean_sandbox, http, "deposit_each_currency")
    before = await all_balances(vault)
    settings = write_settings(tmp_path, clean_sandbox, allow_money=False)
    for name in ACCOUNTS:
        result, _ = await run_scenario(settings, name)
        assert result.outcome is Outcome.SKIPPED and "does not allow" in result.message
    assert await all_balances(vault) == before


async def test_a_run_over_the_stake_budget_is_skipped_before_money_moves(
    clean_sandbox: SandboxHandle, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    vault = account(clean_sandbox, http, "deposit_each_currency")
    before = await all_balances(vault)
    settings = write_settings(tmp_path, clean_sandbox, budget="2.00")  # four deposits are worth ~4.3 USD
    result, runtime = await run_scenario(settings, "deposit_each_currency")
    assert result.outcome is Outcome.SKIPPED and "stake budget" in result.message
    assert await all_balances(vault) == before
    labels = {"scenario": "deposit_each_currency", "target": "sandbox", "region": REGION, "result": "skipped"}
    assert runtime.metrics.registry.get_sample_value("synthetic_scenario_runs_total", labels) == 1.0


# -- withdrawals --------------------------------------------------------------------------


async def test_withdraw_in_each_currency_leaves_the_account_level(
    clean_sandbox: SandboxHandle, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    vault = account(clean_sandbox, http, "withdraw_each_currency")
    settings = write_settings(tmp_path, clean_sandbox)
    first, _ = await run_scenario(settings, "withdraw_each_currency")
    assert first.outcome is Outcome.SUCCESS, first.message
    level = await all_balances(vault)
    second, runtime = await run_scenario(settings, "withdraw_each_currency")
    assert second.outcome is Outcome.SUCCESS, second.message
    assert await all_balances(vault) == level
    withdrawals = [e for e in await vault.history(20) if e["type"] == "withdrawal"][:4]
    assert sorted((e["currency"], Decimal(e["amount"])) for e in withdrawals) == sorted(
        (code, -amount) for code, amount in MIN_DEPOSIT.items()
    )
    assert all(currency_success(runtime, "withdraw_each_currency", code) == 1.0 for code in CURRENCIES)


async def test_a_failing_withdrawal_is_named_by_its_currency(clean_sandbox: SandboxHandle, tmp_path: Path) -> None:
    clean_sandbox.fault_on("withdrawal_fails:GBP")
    result, runtime = await run_scenario(write_settings(tmp_path, clean_sandbox), "withdraw_each_currency")
    assert (result.outcome, result.failed_step, result.reason) == (Outcome.FAILURE, "withdraw GBP", "assertion")
    assert "withdrawal GBP ended 'failed'" in result.message
    assert currency_success(runtime, "withdraw_each_currency", "GBP") == 0.0
    assert currency_success(runtime, "withdraw_each_currency", "BTC") == 1.0


# -- guardrails ---------------------------------------------------------------------------


async def test_guardrails_hold_on_a_healthy_platform(
    clean_sandbox: SandboxHandle, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    result, _ = await run_scenario(write_settings(tmp_path, clean_sandbox), "guardrails")
    assert result.outcome is Outcome.SUCCESS, f"{result.failed_step}: {result.message}"
    assert [s.name for s in result.steps] == GUARDRAIL_STEPS
    vault = account(clean_sandbox, http, "guardrails")
    assert await vault.balance("USD") == Decimal("0.00")  # the race withdrew the whole balance, once
    history = await vault.history(40)
    assert sum(e["type"] == "withdrawal" for e in history[:2]) == 1  # one of the racing pair went out


@pytest.mark.parametrize(
    ("fault", "failing_step"),
    [
        ("stake_limit_not_enforced", "stake above max"),
        ("withdrawal_limit_not_enforced", "withdrawal above max"),
        ("rollback_allowed", "rollback settled bet"),
        ("idempotency_ignored", "idempotent replay"),
        ("withdrawal_double_spend", "withdrawal race"),
        ("leaderboard_shows_synthetic", "leaderboard hides synthetic"),
    ],
)
async def test_a_defence_that_gives_way_is_a_guardrail_breach(
    clean_sandbox: SandboxHandle, tmp_path: Path, fault: str, failing_step: str
) -> None:
    settings = write_settings(tmp_path, clean_sandbox)
    await run_scenario(settings, "guardrails")  # the account has bet: it has leaderboard points
    clean_sandbox.fault_on(fault)
    result, runtime = await run_scenario(settings, "guardrails")
    assert (result.outcome, result.failed_step, result.reason) == (Outcome.FAILURE, failing_step, "guardrail_breach")
    labels = {
        "scenario": "guardrails",
        "step": failing_step,
        "target": "sandbox",
        "region": REGION,
        "reason": "guardrail_breach",
    }
    assert runtime.metrics.registry.get_sample_value("synthetic_step_failures_total", labels) == 1.0


@pytest.mark.parametrize(
    ("path", "failing_step"),
    [
        ("bets", "stake above max"),
        ("withdrawals", "withdrawal above balance"),
        ("bet_rollback", "rollback settled bet"),
        ("rewards_reset", "reset without secret"),
    ],
)
async def test_a_guarded_path_that_answers_404_is_http_status_naming_the_path(
    clean_sandbox: SandboxHandle, tmp_path: Path, path: str, failing_step: str
) -> None:
    """A platform without the route refuses nothing: a contract mismatch, never a breach."""
    missing = "/v1/moved/" + path + ("/{id}" if path == "bet_rollback" else "")
    settings = write_settings(tmp_path, clean_sandbox, paths={path: missing})
    result, runtime = await run_scenario(settings, "guardrails")
    assert (result.outcome, result.failed_step, result.reason) == (Outcome.FAILURE, failing_step, "http_status")
    assert f"POST {missing} answered 404 not_found" in result.message
    labels = {"scenario": "guardrails", "step": failing_step, "target": "sandbox", "region": REGION}
    breaches = runtime.metrics.registry.get_sample_value(
        "synthetic_step_failures_total", {**labels, "reason": "guardrail_breach"}
    )
    assert breaches is None


async def test_an_account_holding_max_stake_is_refused_as_a_guardrail_account(
    clean_sandbox: SandboxHandle, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    """With top_up_stakes x min_stake at max_stake, an over-limit stake could move money: refuse to go on."""
    settings = write_settings(
        tmp_path, clean_sandbox, options={"guardrails": {"floor_stakes": 1000, "top_up_stakes": 1000}}
    )
    result, _ = await run_scenario(settings, "guardrails")
    assert (result.outcome, result.failed_step, result.reason) == (Outcome.FAILURE, "prepare account", "assertion")
    assert "not less than max_stake 100.00" in result.message
    vault = account(clean_sandbox, http, "guardrails")  # leave it level for the other tests
    await vault.withdraw("USD", str(await vault.balance("USD")))


async def test_no_secret_reaches_the_logs_or_the_result(
    clean_sandbox: SandboxHandle, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clean_sandbox.fault_on("leaderboard_shows_synthetic")  # a failing run writes the most
    settings = write_settings(tmp_path, clean_sandbox)
    results = [await run_scenario(settings, name) for name in ACCOUNTS]
    text = caplog.text + json.dumps([r.to_dict() for r, _ in results], default=str)
    tokens = [rt.tokens.get("sandbox", ACCOUNTS[r.scenario]) for r, rt in results]
    assert all(t is not None for t in tokens)
    for value in [secret("probe_password"), secret("reset_secret"), secret("admin_token")] + [
        t.token for t in tokens if t is not None
    ]:
        assert value not in text
