"""The stake budget at its edges: a stake that fits exactly is taken, one cent more is not."""

from __future__ import annotations

from decimal import Decimal

import pytest

from harness.budget import StakeBudget

DAY = 86400.0
CENT = Decimal("0.01")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The budget's clock, set by the test: noon UTC of some day, moved by assigning ``clock[0]``."""
    now = [20_000 * DAY + DAY / 2]
    monkeypatch.setattr("harness.budget.time.time", lambda: now[0])
    return now


@pytest.mark.parametrize(
    ("spent", "stake", "fits"),
    [
        ("0.00", "5.00", True),  # the whole budget in one stake
        ("0.00", "5.01", False),  # one cent over the whole budget
        ("4.99", "0.01", True),  # the last cent
        ("4.99", "0.02", False),  # one cent over what is left
        ("3.00", "2.00", True),  # exactly what is left
        ("3.00", "2.001", False),  # a fraction of a cent over
        ("5.00", "0.01", False),  # nothing left
    ],
)
def test_a_stake_fits_exactly_at_the_limit_and_not_one_unit_over(
    clock: list[float], spent: str, stake: str, fits: bool
) -> None:
    budget = StakeBudget({"prod": Decimal("5.00")})
    if Decimal(spent):
        assert budget.try_spend("prod", Decimal(spent))
    assert budget.try_spend("prod", Decimal(stake)) is fits
    left = Decimal("5.00") - Decimal(spent) - (Decimal(stake) if fits else 0)
    assert budget.remaining("prod") == left  # a refused stake takes nothing


def test_spending_to_the_last_cent_then_nothing_more(clock: list[float]) -> None:
    budget = StakeBudget({"prod": Decimal("0.03")})
    assert [budget.try_spend("prod", CENT) for _ in range(4)] == [True, True, True, False]
    assert budget.remaining("prod") == 0


def test_targets_spend_apart_and_an_unknown_target_has_no_budget(clock: list[float]) -> None:
    budget = StakeBudget({"prod": Decimal("1.00"), "staging": Decimal("2.00")})
    assert budget.try_spend("prod", Decimal("1.00"))
    assert budget.remaining("staging") == Decimal("2.00")
    assert budget.remaining("nowhere") == 0
    assert not budget.try_spend("nowhere", CENT)


def test_the_budget_resets_at_midnight_utc_and_not_a_second_before(clock: list[float]) -> None:
    budget = StakeBudget({"prod": Decimal("1.00")})
    assert budget.try_spend("prod", Decimal("1.00"))
    midnight = (clock[0] // DAY + 1) * DAY
    clock[0] = midnight - 0.001
    assert budget.remaining("prod") == 0 and not budget.try_spend("prod", CENT)
    clock[0] = midnight
    assert budget.remaining("prod") == Decimal("1.00")
    assert budget.try_spend("prod", Decimal("1.00")) and not budget.try_spend("prod", CENT)
