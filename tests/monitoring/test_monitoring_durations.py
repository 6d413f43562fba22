"""The ``for:`` scaling that lets an end-to-end test run the shipped rules fast."""

from __future__ import annotations

from decimal import Decimal

import pytest

from monitoring.durations import format_duration, parse_duration, scale_duration


@pytest.mark.parametrize(
    ("text", "milliseconds"),
    [("0s", 0), ("0", 0), ("90s", 90_000), ("1h30m", 5_400_000), ("250ms", 250), ("1d", 86_400_000)],
)
def test_parse_duration(text: str, milliseconds: int) -> None:
    assert parse_duration(text) == milliseconds


@pytest.mark.parametrize("text", ["", "5", "1.5m", "m5", "5 m", "-1m", "1m junk"])
def test_parse_duration_rejects_what_prometheus_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a Prometheus duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("milliseconds", "text"),
    [(0, "0s"), (600, "600ms"), (90_000, "1m30s"), (5_400_000, "1h30m"), (90_061_001, "1d1h1m1s1ms")],
)
def test_format_duration(milliseconds: int, text: str) -> None:
    assert format_duration(milliseconds) == text
    assert parse_duration(text) == milliseconds


@pytest.mark.parametrize(
    ("text", "scale", "expected"),
    [
        ("1m", Decimal("0.01"), "600ms"),
        ("15m", Decimal("0.01"), "9s"),
        ("2m", Decimal(0), "0s"),
        ("5m", Decimal(2), "10m"),
        ("1s", Decimal("0.0001"), "0s"),
    ],
)
def test_scale_duration(text: str, scale: Decimal, expected: str) -> None:
    assert scale_duration(text, scale) == expected


def test_negative_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        scale_duration("1m", Decimal(-1))
