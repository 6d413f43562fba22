"""The journeys' money arithmetic at its edges: the contract's roundings, each one way only.

``stake_usd`` is half-even to the cent, points are floored, the stake budget's USD value is
rounded up; a stake is the smallest amount worth at least its USD value. And the rewards and
level-up journeys' default stake earns a fraction of a point in every sandbox currency, so a
platform rounding points (or ``stake_usd``) the wrong way cannot pass them.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import pytest

from harness import Reason, StepFailure
from sandbox.money import CURRENCIES, RATES
from scenarios._money import Currency, decimal, stake_usd, usd_value
from scenarios.bet_settlement import StakeFacts, stake_for
from scenarios.level_up import LevelUp
from scenarios.rewards import ROUNDING_STAKE_USD, Rewards, points_for

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
    assert stake_for(facts("EUR"), D(wanted_usd) if wanted_usd else None) == D(stake)


@pytest.mark.parametrize("code", sorted(RATES))
def test_the_default_stake_earns_a_fraction_of_a_point_in_every_currency(code: str) -> None:
    assert Rewards.Options().stake_usd == LevelUp.Options().stake_usd == ROUNDING_STAKE_USD
    usd = stake_usd(stake_for(facts(code), ROUNDING_STAKE_USD), RATES[code])
    for per_usd in (D(1), D(10)):  # the contract's VIP and leaderboard points per USD
        points = usd * per_usd
        assert points != points.to_integral_value(), f"{code}: {points} points are whole"
        assert points_for(usd, per_usd) != points.to_integral_value(ROUND_HALF_UP), f"{code}: half-up agrees"


def test_a_platform_truncating_stake_usd_differs_in_at_least_one_currency() -> None:
    differs = []
    for code, rate in RATES.items():
        stake = stake_for(facts(code), ROUNDING_STAKE_USD)
        if stake_usd(stake, rate) != (stake / rate).quantize(D("0.01"), rounding=ROUND_DOWN):
            differs.append(code)
    assert differs, "every currency's default stake is worth whole cents: truncation would pass"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (10, "expected a decimal string, got int"),
        (None, "expected a decimal string, got NoneType"),
        ("ten", "not a decimal: 'ten'"),
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
