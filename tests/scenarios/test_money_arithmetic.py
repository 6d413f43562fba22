"""The journeys' money arithmetic at its edges: the contract's roundings, each one way only.

``stake_usd`` is half-even to the cent, points are floored, the stake budget's USD value is
rounded up; a stake is the smallest amount worth at least its USD value. And the rewards and
level-up journeys' default stake earns a fraction of a point in every sandbox currency, so a
platform rounding points (or ``stake_usd``) the wrong way cannot pass them.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from config.loader import load_settings
from harness import Reason, Run, StepFailure
from harness.clients import Answer
from harness.runtime import Runtime
from sandbox.money import CURRENCIES, RATES
from scenarios.kit import (
    ROUNDING_STAKE_USD,
    Bet,
    Currency,
    Level,
    RewardRules,
    StakeFacts,
    Standing,
    VaultAccount,
    decimal,
    expect_earned,
    points_for,
    stake_usd,
    usd_value,
)
from scenarios.kit.concierge import _whole
from scenarios.kit.vault import _limit
from scenarios.level_up import LevelUpOptions
from scenarios.rewards import Rewards, RewardsOptions
from tests.support import TARGET, local_config

D = Decimal


@pytest.mark.parametrize(
    ("stake", "rate", "expected"),
    [
        ("0.125", "1", "0.12"),  # a half goes to the even cent ...
        ("0.135", "1", "0.14"),  # ... up or down
        ("0.1251", "1", "0.13"),  # just over a half goes up
        ("0.1249", "1", "0.12"),  # just under goes down
        ("1.45", "0.92", "1.58"),  # 1.5760...: up, where truncation gives 1.57
        ("1.44", "0.92", "1.57"),  # 1.5652...: up
        ("0.00001649", "0.0000105", "1.57"),  # 1.5704...: down
    ],
)
def test_stake_usd_is_half_even_to_the_cent(stake: str, rate: str, expected: str) -> None:
    assert stake_usd(D(stake), D(rate)) == D(expected)


@pytest.mark.parametrize(
    ("amount", "rate", "expected"),
    [
        ("1.00", "1", "1.00"),  # exact stays exact
        ("1.001", "1", "1.01"),  # any fraction of a cent counts as a cent
        ("1.45", "0.92", "1.58"),
        ("0.92", "0.92", "1.00"),
    ],
)
def test_the_budget_counts_a_stake_rounded_up_to_the_cent(amount: str, rate: str, expected: str) -> None:
    assert usd_value(D(amount), D(rate)) == D(expected)


@pytest.mark.parametrize(
    ("usd", "per_usd", "points"),
    [
        ("1.57", "1", "1"),
        ("1.57", "10", "15"),
        ("0.99", "1", "0"),
        ("2.00", "1", "2"),  # a whole number stays
        ("1.999", "10", "19"),
    ],
)
def test_points_are_floored(usd: str, per_usd: str, points: str) -> None:
    assert points_for(D(usd), D(per_usd)) == D(points)


def facts(code: str) -> StakeFacts:
    currency = CURRENCIES[code]
    unit = Currency(code, currency.decimals, currency.min_deposit, currency.max_withdrawal)
    return StakeFacts(unit, currency.min_stake, currency.max_stake, RATES[code])


@pytest.mark.parametrize(
    ("wanted_usd", "stake"),
    [
        (None, "0.10"),  # no value asked: the minimum stake
        ("0.01", "0.10"),  # below the minimum: the minimum
        ("1.57", "1.45"),  # 1.4444 EUR rounded up to the cent
        ("1.00", "0.92"),  # exact
        ("500", "100.00"),  # above the maximum: the maximum
    ],
)
def test_a_stake_is_worth_at_least_its_usd_value_within_the_limits(wanted_usd: str | None, stake: str) -> None:
    assert facts("EUR").stake_for(D(wanted_usd) if wanted_usd else None) == D(stake)


@pytest.mark.parametrize("code", sorted(RATES))
def test_the_default_stake_earns_a_fraction_of_a_point_in_every_currency(code: str) -> None:
    assert RewardsOptions().stake_usd == LevelUpOptions().stake_usd == ROUNDING_STAKE_USD
    usd = stake_usd(facts(code).stake_for(ROUNDING_STAKE_USD), RATES[code])
    for per_usd in (D(1), D(10)):  # the contract's VIP and leaderboard points per USD
        points = usd * per_usd
        assert points != points.to_integral_value(), f"{code}: {points} points are whole"
        assert points_for(usd, per_usd) != points.to_integral_value(ROUND_HALF_UP), f"{code}: half-up agrees"


def test_a_platform_truncating_stake_usd_differs_in_at_least_one_currency() -> None:
    differs = []
    for code, rate in RATES.items():
        stake = facts(code).stake_for(ROUNDING_STAKE_USD)
        if stake_usd(stake, rate) != (stake / rate).quantize(D("0.01"), rounding=ROUND_DOWN):
            differs.append(code)
    assert differs, "every currency's default stake is worth whole cents: truncation would pass"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (10, "expected a decimal string, got int"),
        (None, "expected a decimal string, got NoneType"),
        ("ten", "not a decimal: 'ten'"),
        ("twenty-five-characters-xx", "not a decimal: 'twenty-five-characte'"),  # cut at 20
    ],
)
def test_a_wire_amount_that_is_not_a_decimal_string_fails_the_step(value: object, problem: str) -> None:
    with pytest.raises(StepFailure) as failure:
        decimal(value, "balance USD")
    assert failure.value.reason is Reason.UNEXPECTED_BODY
    assert str(failure.value.message) == f"balance USD: {problem}"


def test_a_currency_knows_its_unit_and_wire_form() -> None:
    btc = Currency("BTC", 8, D("0.00001"), D("0.1"))
    assert (btc.unit, btc.text(D("0.5"))) == (D("0.00000001"), "0.50000000")
    usd = Currency("USD", 2, D("1"), D("5000"))
    assert (usd.unit, usd.text(D("5")), usd.text(D("1.005"))) == (D("0.01"), "5.00", "1.00")


# -- the rewards checks, on a real Run (no platform: the rate is read from a stand-in Vault client) ----


class RatesVault:
    """Stands in for Vault's ``GET /v1/rates`` only: ``expect_stake_usd`` re-reads the rate there."""

    def __init__(self, rate: str) -> None:
        self.rate, self.calls = rate, 0

    async def get(self, path: str, expect: tuple[str, ...] = ()) -> Answer:
        self.calls += 1
        return Answer(200, {"base": "USD", "rates": {"EUR": self.rate}}, {}, 0.0)


@pytest.fixture
def run(tmp_path: Path) -> Run[RewardsOptions]:
    runtime = Runtime(load_settings(local_config(tmp_path, "http://127.0.0.1:9")))
    return Run(runtime, Rewards(), TARGET, RewardsOptions(), 5.0)


def bet(stake: str, usd: str) -> Bet:
    return Bet("b-1", "EUR", D(stake), "loss", D(0), D(0), D(0), D(usd), 0.0)


async def test_stake_usd_at_the_rate_of_the_stake_passes_without_reading_rates_again(run: Run[RewardsOptions]) -> None:
    vault = RatesVault("0.92")
    assert await VaultAccount(run, vault).expect_stake_usd(facts("EUR"), bet("1.45", "1.58")) == D("1.58")  # type: ignore[arg-type]
    assert vault.calls == 0


async def test_stake_usd_at_a_rate_that_moved_is_checked_at_the_new_rate(run: Run[RewardsOptions]) -> None:
    vault = RatesVault("0.90")  # 1.45 / 0.90 = 1.6111...
    assert await VaultAccount(run, vault).expect_stake_usd(facts("EUR"), bet("1.45", "1.61")) == D("1.61")  # type: ignore[arg-type]
    assert vault.calls == 1


async def test_a_rate_gone_from_the_answer_keeps_the_rate_of_the_stake(run: Run[RewardsOptions]) -> None:
    class NoEurVault(RatesVault):
        async def get(self, path: str, expect: tuple[str, ...] = ()) -> Answer:
            self.calls += 1
            return Answer(200, {"base": "USD", "rates": {"GBP": "0.79"}}, {}, 0.0)

    with pytest.raises(StepFailure) as failure:
        await VaultAccount(run, NoEurVault("-")).expect_stake_usd(facts("EUR"), bet("1.45", "1.60"))  # type: ignore[arg-type]
    assert failure.value.message == "stake_usd of a 1.45 EUR bet at rate 0.92: got 1.60, expected 1.58"


@pytest.mark.parametrize("wrong", ["1.57", "1.59", "1.576"])
async def test_stake_usd_rounded_any_other_way_fails(run: Run[RewardsOptions], wrong: str) -> None:
    with pytest.raises(StepFailure) as failure:
        await VaultAccount(run, RatesVault("0.92")).expect_stake_usd(facts("EUR"), bet("1.45", wrong))  # type: ignore[arg-type]
    assert failure.value.reason is Reason.ASSERTION
    assert failure.value.message == f"stake_usd of a 1.45 EUR bet at rate 0.92: got {wrong}, expected 1.58"


RULES = RewardRules(D(1), D(10), (Level(1, "Bronze", D(0)),))
BEFORE = Standing(D("100.00"), D(100), D(1000), 1, "Bronze")


@pytest.mark.parametrize(
    ("after", "problem"),
    [
        (Standing(D("101.57"), D(101), D(1015), 1, "Bronze"), None),
        (Standing(D("101.56"), D(101), D(1015), 1, "Bronze"), "volume_usd: got 101.56, expected 101.57"),
        (Standing(D("101.57"), D(102), D(1015), 1, "Bronze"), "vip_points: got 102, expected 101"),
        (Standing(D("101.57"), D(101), D(1016), 1, "Bronze"), "leaderboard_points: got 1016, expected 1015"),
        (Standing(D("101.57"), D(101), D(1014), 1, "Bronze"), "leaderboard_points: got 1014, expected 1015"),
    ],
)
def test_one_bet_earns_its_volume_and_floored_points(
    run: Run[RewardsOptions], after: Standing, problem: str | None
) -> None:
    if problem is None:
        expect_earned(run, RULES, BEFORE, after, D("1.57"))
        return
    with pytest.raises(StepFailure) as failure:
        expect_earned(run, RULES, BEFORE, after, D("1.57"))
    assert (failure.value.reason, failure.value.message) == (Reason.ASSERTION, problem)


@pytest.mark.parametrize(("wire", "points"), [(15, D(15)), ("15", D(15)), (0, D(0))])
def test_points_arrive_as_a_whole_number_or_a_decimal_string(wire: object, points: Decimal) -> None:
    assert _whole(wire, "vip_points") == points


@pytest.mark.parametrize("wire", [True, 1.5, None])
def test_points_of_another_type_fail_the_step(wire: object) -> None:
    with pytest.raises(StepFailure) as failure:
        _whole(wire, "vip_points")
    assert failure.value.message.startswith("vip_points: expected a decimal string")


def test_the_first_level_up_is_the_lowest_level_that_needs_any_volume(run: Run[RewardsOptions]) -> None:
    levels = (Level(1, "Bronze", D(0)), Level(2, "Silver", D(1)), Level(3, "Gold", D(1000)))
    assert RewardRules(D(1), D(10), levels).first_level_up(run) == levels[1]


def test_rules_without_a_level_above_the_first_fail_the_step(run: Run[RewardsOptions]) -> None:
    with pytest.raises(StepFailure) as failure:
        RULES.first_level_up(run)
    assert (failure.value.reason, failure.value.message) == (Reason.UNEXPECTED_BODY, "rules: no level above the first")


def test_a_limit_is_read_from_its_table_by_currency() -> None:
    assert _limit({"min_stake": {"EUR": "0.10", "USD": "0.20"}}, "min_stake", "EUR") == D("0.10")


@pytest.mark.parametrize(
    "answer",
    [None, ["min_stake"], {"max_stake": {"EUR": "1"}}, {"min_stake": ["EUR"]}, {"min_stake": {"USD": "0.20"}}],
)
def test_a_limit_missing_from_the_answer_fails_the_step(answer: object) -> None:
    with pytest.raises(StepFailure) as failure:
        _limit(answer, "min_stake", "EUR")
    assert (failure.value.reason, failure.value.message) == (Reason.UNEXPECTED_BODY, "limits: no min_stake for EUR")


def test_a_limit_that_is_not_a_decimal_string_names_its_field_and_currency() -> None:
    with pytest.raises(StepFailure) as failure:
        _limit({"min_stake": {"EUR": 0.1}}, "min_stake", "EUR")
    assert failure.value.message == "min_stake EUR: expected a decimal string, got float"
