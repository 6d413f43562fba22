"""Conditions are data: parsed once, evaluated with the actual value shown (table-driven)."""

from __future__ import annotations

import pytest

from probes.conditions import Condition, InvalidCondition, parse_conditions

BODY = {"status": "settled", "balance_after": "9.99", "rates": {"EUR": "0.92"}, "items": [1, 2], "ok": True}
HEADERS = {"Cache-Control": "public, max-age=31536000, immutable"}


@pytest.mark.parametrize(
    ("text", "holds", "shown"),
    [
        ("[STATUS] == 200", True, "[STATUS] (200) == 200"),
        ("[STATUS] == 201", False, "[STATUS] (200) == 201"),
        ("[BODY].status == settled", True, "[BODY].status (settled) == settled"),
        ("[BODY].balance_after == 9.990", True, "[BODY].balance_after (9.99) == 9.990"),
        ("[BODY].balance_after == 10.00", False, "[BODY].balance_after (9.99) == 10.00"),
        ("[BODY].balance_after < 10", True, "[BODY].balance_after (9.99) < 10"),
        ("[BODY].rates.EUR >= 0.92", True, "[BODY].rates.EUR (0.92) >= 0.92"),
        ("[BODY].rates.GBP == 0.79", False, "[BODY].rates.GBP (<missing>) == 0.79"),
        ("[BODY].items.1 == 2", True, "[BODY].items.1 (2) == 2"),
        ("[BODY].ok == true", True, "[BODY].ok (True) == true"),
        (
            "[HEADER].cache-control contains immutable",
            True,
            "[HEADER].cache-control (public, max-age=31536000, immutable) contains immutable",
        ),
        (
            "[HEADER].cache-control !contains no-store",
            True,
            "[HEADER].cache-control (public, max-age=31536000, immutable) !contains no-store",
        ),
        ("[RESPONSE_TIME] < 800", True, "[RESPONSE_TIME] (120.0) < 800"),
        ("len([BODY].items) == 2", True, "len([BODY].items) (2) == 2"),
        ("has([BODY].status)", True, "has([BODY].status) (present)"),
        ("has([BODY].token)", False, "has([BODY].token) (absent)"),
        ("[BODY].status < 3", False, "[BODY].status (settled) < 3"),
    ],
)
def test_condition_evaluates_with_shown_value(text: str, holds: bool, shown: str) -> None:
    result = Condition.parse(text).evaluate(200, BODY, HEADERS, 120.0)
    assert (result.success, result.shown) == (holds, shown)


@pytest.mark.parametrize(
    "text",
    [
        "[STATUS]==200",
        "STATUS == 200",
        "[NOPE] == 1",
        "len([BODY].items == 2",
        "has([BODY].x) == 1",
        "[HEADER] == x",
        "[BODY].status",
    ],
)
def test_invalid_condition_is_refused_at_parse_time(text: str) -> None:
    with pytest.raises(InvalidCondition, match="invalid condition"):
        Condition.parse(text)


# -- every operator at its boundary: just below, exactly at and just above it -------------
# (actual relative to the expected value) -> does the condition hold?
HOLDS = {
    "<": (True, False, False),
    "<=": (True, True, False),
    "==": (False, True, False),
    "!=": (True, False, True),
    ">=": (False, True, True),
    ">": (False, False, True),
}
# Numbers compare as Decimal, so "10" is at "10.00" and a cent either side is off it.
MONEY = ("9.99", "10", "10.01")
DURATIONS_MS = (799.999, 800.0, 800.001)


@pytest.mark.parametrize("operator", sorted(HOLDS))
@pytest.mark.parametrize(("position", "actual"), list(enumerate(MONEY)), ids=("below", "at", "above"))
def test_number_at_the_boundary(operator: str, position: int, actual: str) -> None:
    result = Condition.parse(f"[BODY].balance {operator} 10.00").evaluate(200, {"balance": actual}, {}, 0.0)
    assert result.success is HOLDS[operator][position], result.shown


@pytest.mark.parametrize("operator", sorted(HOLDS))
@pytest.mark.parametrize(("position", "elapsed"), list(enumerate(DURATIONS_MS)), ids=("below", "at", "above"))
def test_duration_at_the_boundary(operator: str, position: int, elapsed: float) -> None:
    result = Condition.parse(f"[RESPONSE_TIME] {operator} 800").evaluate(200, None, {}, elapsed)
    assert result.success is HOLDS[operator][position], result.shown


@pytest.mark.parametrize("operator", sorted(HOLDS))
@pytest.mark.parametrize(("position", "status"), list(enumerate((199, 200, 201))), ids=("below", "at", "above"))
def test_whole_number_at_the_boundary(operator: str, position: int, status: int) -> None:
    result = Condition.parse(f"[STATUS] {operator} 200").evaluate(status, None, {}, 0.0)
    assert result.success is HOLDS[operator][position], result.shown


@pytest.mark.parametrize(
    ("text", "actual", "holds"),
    [
        # equality is exact text: case, a longer or shorter word is not the same string
        ("[BODY].status == settled", "settled", True),
        ("[BODY].status == settled", "Settled", False),
        ("[BODY].status == settled", "settle", False),
        ("[BODY].status == settled", "settledx", False),
        ("[BODY].status != settled", "settled", False),
        ("[BODY].status != settled", "settle", True),
        # strings never order: "b" is after "a" and before "c", yet no ordering holds
        ("[BODY].status < b", "a", False),
        ("[BODY].status <= b", "b", False),
        ("[BODY].status > b", "c", False),
        ("[BODY].status >= b", "b", False),
        # a number against a word: equality is text, ordering does not hold
        ("[BODY].status == 10", "ten", False),
        ("[BODY].status != 10", "ten", True),
        ("[BODY].status < 10", "ten", False),
        # contains at its edges: the whole string, one character more than it has, empty list
        ("[BODY].status contains settled", "settled", True),
        ("[BODY].status contains settledx", "settled", False),
        ("[BODY].status !contains settled", "settled", False),
        ("[BODY].status !contains settledx", "settled", True),
        ("[BODY].status contains 2", ["1", "2"], True),
        ("[BODY].status contains 2", ["1", "22"], False),
        ("[BODY].status !contains 2", ["1", "22"], True),
        ("[BODY].status contains 2", 123, True),
        # booleans compare as lower-case words, never as numbers
        ("[BODY].status == true", True, True),
        ("[BODY].status == 1", True, False),
        ("[BODY].status > 0", True, False),
    ],
)
def test_string_at_the_boundary(text: str, actual: object, holds: bool) -> None:
    result = Condition.parse(text).evaluate(200, {"status": actual}, {}, 0.0)
    assert result.success is holds, result.shown


@pytest.mark.parametrize(
    ("text", "items", "holds"),
    [
        ("len([BODY].items) > 2", [1, 2], False),
        ("len([BODY].items) > 2", [1, 2, 3], True),
        ("len([BODY].items) >= 2", [1], False),
        ("len([BODY].items) >= 2", [1, 2], True),
        ("len([BODY].items) == 0", [], True),
        ("len([BODY].items) == 0", "", True),
        ("len([BODY].items) == 2", {"a": 1, "b": 2}, True),
        ("len([BODY].items) == 0", 0, False),  # a number has no length: missing, never equal
        ("[BODY].items.2 == 3", [1, 2, 3], True),
        ("[BODY].items.3 == 3", [1, 2, 3], False),  # one past the end is missing
    ],
)
def test_length_and_index_at_the_boundary(text: str, items: object, holds: bool) -> None:
    result = Condition.parse(text).evaluate(200, {"items": items}, {}, 0.0)
    assert result.success is holds, result.shown


def test_a_missing_value_never_holds_whatever_the_operator() -> None:
    for operator in (*HOLDS, "contains", "!contains"):
        result = Condition.parse(f"[BODY].nope {operator} 1").evaluate(200, {}, {}, 0.0)
        assert (result.success, result.shown) == (False, f"[BODY].nope (<missing>) {operator} 1")


def test_header_names_match_in_any_case_and_a_missing_header_is_missing() -> None:
    headers = {"X-Cache": "Hit from cloudfront"}
    assert Condition.parse("[HEADER].x-cache contains Hit").evaluate(200, None, headers, 0.0).success
    assert not Condition.parse("[HEADER].age == 0").evaluate(200, None, headers, 0.0).success


def test_long_values_are_shortened_in_the_shown_text() -> None:
    shown = Condition.parse("[BODY].status == x").evaluate(200, {"status": "y" * 61}, {}, 0.0).shown
    assert shown == f"[BODY].status ({'y' * 57}...) == x"
    exact = Condition.parse("[BODY].status == x").evaluate(200, {"status": "y" * 60}, {}, 0.0).shown
    assert exact == f"[BODY].status ({'y' * 60}) == x"


def test_the_right_side_may_hold_the_operator_again() -> None:
    condition = Condition.parse("[BODY].note == a == b")
    assert (condition.operator, condition.expected) == ("==", "a == b")
    result = condition.evaluate(200, {"note": "a == b"}, {}, 0.0)
    assert (result.condition, result.success, result.shown) == (
        "[BODY].note == a == b",
        True,
        "[BODY].note (a == b) == a == b",
    )


def test_extra_spaces_around_the_operator_still_show_just_the_placeholder() -> None:
    result = Condition.parse("[STATUS]   >=   200").evaluate(204, None, {}, 0.0)
    assert (result.condition, result.success, result.shown) == ("[STATUS]   >=   200", True, "[STATUS] (204) >= 200")


@pytest.mark.parametrize("operator", ["==", "!=", "<", ">=", "contains", "!contains"])
def test_a_missing_header_is_missing_whatever_the_operator(operator: str) -> None:
    result = Condition.parse(f"[HEADER].age {operator} 0").evaluate(200, None, {"X-Cache": "Hit"}, 0.0)
    assert (result.success, result.shown) == (False, f"[HEADER].age (<missing>) {operator} 0")


def test_has_reports_its_own_text() -> None:
    assert Condition.parse("has([BODY].ok)").evaluate(200, BODY, {}, 0.0).condition == "has([BODY].ok)"


def test_a_list_of_conditions_parses_in_order() -> None:
    parsed = parse_conditions(["[STATUS] == 200", "has([BODY].ok)"])
    assert [(c.placeholder, c.function) for c in parsed] == [("STATUS", None), ("BODY", "has")]
    assert parse_conditions(()) == ()
