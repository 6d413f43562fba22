"""Conditions are data: parsed once, evaluated with the actual value shown (table-driven)."""

from __future__ import annotations

import pytest

from probes.conditions import Condition, InvalidCondition

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
