"""The stake budget at its edges: a stake that fits exactly is taken, one cent more is not.

And a replica's share of it, and the ledger that carries a day's spending across a restart.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from pathlib import Path

import pytest

from harness.budget import LedgerError, StakeBudget, share_of_budget

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


# -- one replica's share, and the ledger a scheduled runner keeps ------------------------------


@pytest.mark.parametrize(
    ("per_day", "replicas", "share"),
    [
        ("10.00", 1, "10.00"),  # one replica: the whole budget, to the cent
        ("10", 4, "2.50"),  # always to the cent
        ("2.00", 3, "0.66"),  # 0.666...: down, where half-even gives 0.67
        ("0.07", 2, "0.03"),  # 0.035: down, where half-even gives 0.04
    ],
)
def test_a_replicas_share_is_rounded_down_to_a_cent(per_day: str, replicas: int, share: str) -> None:
    assert str(share_of_budget(Decimal(per_day), replicas)) == share


def test_the_ledger_is_written_after_each_spend_and_read_back_at_start(clock: list[float], tmp_path: Path) -> None:
    ledger = tmp_path / "not" / "yet" / "stake-budget.json"  # its folders are made on the first write
    budget = StakeBudget({"prod": Decimal("5.00"), "staging": Decimal("1.00")}, ledger=ledger)
    assert not ledger.exists()  # no file: nothing spent, and nothing written before a spend
    assert budget.try_spend("prod", Decimal("1.25")) and budget.try_spend("staging", Decimal("0.50"))
    today = int(clock[0] // DAY)
    assert json.loads(ledger.read_text()) == {"utc_day": today, "spent_usd": {"prod": "1.25", "staging": "0.50"}}
    assert [path.name for path in ledger.parent.iterdir()] == [ledger.name]  # the file aside was renamed over it
    assert not budget.try_spend("prod", Decimal("4.00"))  # refused: the ledger keeps what it had
    assert json.loads(ledger.read_text())["spent_usd"]["prod"] == "1.25"

    restarted = StakeBudget({"prod": Decimal("5.00"), "staging": Decimal("1.00")}, ledger=ledger)
    assert (restarted.remaining("prod"), restarted.remaining("staging")) == (Decimal("3.75"), Decimal("0.50"))
    assert restarted.try_spend("prod", Decimal("3.75")) and not restarted.try_spend("prod", CENT)


def test_after_midnight_the_ledger_holds_only_the_new_days_spending(clock: list[float], tmp_path: Path) -> None:
    ledger = tmp_path / "stake-budget.json"
    budget = StakeBudget({"prod": Decimal("5.00"), "staging": Decimal("1.00")}, ledger=ledger)
    assert budget.try_spend("prod", Decimal("5.00")) and budget.try_spend("staging", Decimal("1.00"))
    clock[0] += DAY
    assert budget.try_spend("prod", Decimal("2.00"))
    assert json.loads(ledger.read_text()) == {"utc_day": int(clock[0] // DAY), "spent_usd": {"prod": "2.00"}}
    assert StakeBudget({"prod": Decimal("5.00")}, ledger=ledger).remaining("prod") == Decimal("3.00")


@pytest.mark.parametrize(
    "body",
    [
        [],  # not a ledger's shape at all ...
        {"utc_day": 0, "spent_usd": {"prod": "5.00"}},  # ... or another day's
        {"utc_day": "DAY", "spent_usd": {"prod": "5.00"}},  # the day as text is no day
    ],
)
def test_a_ledger_of_another_day_means_nothing_spent_today(clock: list[float], tmp_path: Path, body: object) -> None:
    ledger = tmp_path / "stake-budget.json"
    ledger.write_text(json.dumps(body).replace('"DAY"', f'"{int(clock[0] // DAY)}"'))
    assert StakeBudget({"prod": Decimal("5.00")}, ledger=ledger).remaining("prod") == Decimal("5.00")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{half a file", "unreadable (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
        ('{"utc_day": DAY}', "not a ledger"),
        ('{"utc_day": DAY, "spent_usd": ["prod"]}', "not a ledger"),
        ('{"utc_day": DAY, "spent_usd": {"prod": "five"}}', "not a ledger"),
        ('{"utc_day": DAY, "spent_usd": {"prod": [5]}}', "not a ledger"),
    ],
)
def test_a_broken_ledger_is_refused_in_one_line_naming_the_file(
    clock: list[float], tmp_path: Path, text: str, problem: str
) -> None:
    ledger = tmp_path / "stake-budget.json"
    ledger.write_text(text.replace("DAY", str(int(clock[0] // DAY))))
    with pytest.raises(LedgerError) as refused:
        StakeBudget({"prod": Decimal("5.00")}, ledger=ledger)
    assert str(refused.value) == f"stake budget ledger {ledger}: {problem}; delete it to start over"
    assert refused.value.__cause__ is None and refused.value.__suppress_context__


def test_a_ledger_that_is_a_folder_is_unreadable(clock: list[float], tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match=r"^stake budget ledger .*: unreadable \(\[Errno 21\] Is a directory"):
        StakeBudget({"prod": Decimal("5.00")}, ledger=tmp_path)


def test_a_ledger_that_cannot_be_written_is_logged_and_the_spend_stands(
    clock: list[float], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = tmp_path / "state" / "stake-budget.json"
    budget = StakeBudget({"prod": Decimal("5.00")}, ledger=ledger)
    (tmp_path / "state").write_text("")  # now its folder cannot be made: a file is in the way
    with caplog.at_level(logging.WARNING, logger="runner"):
        assert budget.try_spend("prod", Decimal("2.00"))
    assert budget.remaining("prod") == Decimal("3.00")
    [record] = caplog.records
    assert (record.name, record.getMessage()) == ("runner", "stake budget ledger not written")
    fields = record.__dict__["fields"]  # what the JSON log line carries
    assert fields["path"] == str(ledger) and "File exists" in fields["error"]
