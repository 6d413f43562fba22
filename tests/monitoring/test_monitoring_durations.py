"""The ``for:`` scaling that lets an end-to-end test run the shipped rules fast."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path

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


# Each row's verdict is promtool's: the test below asks it again, so the table cannot drift.
PROMETHEUS_VERDICTS = [
    ("0", True),
    ("0s", True),
    ("00s", True),
    ("01m", True),
    ("1h30m", True),
    ("1s1ms", True),
    ("1y2w3d4h5m6s7ms", True),
    ("292y", True),
    ("106751d", True),
    ("9223372036854ms", True),
    ("1m1h", False),
    ("1h1h", False),
    ("30s1m", False),
    ("1ms1s", False),
    ("5", False),
    ("1.5m", False),
    ("1H", False),
    ("ms", False),
    ("-1m", False),
    ("1m ", False),
    ("293y", False),
    ("106752d", False),
    ("9223372036855ms", False),
]


@pytest.mark.parametrize(("text", "valid"), PROMETHEUS_VERDICTS)
def test_parse_duration_agrees_with_prometheus(text: str, valid: bool) -> None:
    if valid:
        assert parse_duration(text) >= 0
    else:
        with pytest.raises(ValueError, match="not a Prometheus duration"):
            parse_duration(text)


def test_the_verdicts_are_promtools(promtool: str, tmp_path: Path) -> None:
    """One rule file per row (a ``for:`` of that duration); promtool's exit status is the verdict."""
    files = []
    for index, (text, _) in enumerate(PROMETHEUS_VERDICTS):
        path = tmp_path / f"rule{index}.yml"
        path.write_text(
            f'groups:\n- name: g\n  rules:\n  - alert: A\n    expr: vector(1)\n    for: "{text}"\n', encoding="utf-8"
        )
        files.append(path)
    for (text, valid), path in zip(PROMETHEUS_VERDICTS, files, strict=True):
        result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
        assert (result.returncode == 0) == valid, f"{text!r}: promtool says {result.stdout}{result.stderr}"
