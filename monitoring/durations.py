"""Prometheus duration strings, parsed and scaled exactly, so a fast test variant keeps its rules."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

__all__ = ["format_duration", "parse_duration", "scale_duration"]

_UNITS_MS: dict[str, int] = {
    "y": 365 * 24 * 3_600_000,
    "w": 7 * 24 * 3_600_000,
    "d": 24 * 3_600_000,
    "h": 3_600_000,
    "m": 60_000,
    "s": 1_000,
    "ms": 1,
}
_PART = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")


def parse_duration(text: str) -> int:
    """Return the duration in milliseconds; reject anything Prometheus would reject."""
    if text == "0":
        return 0
    parts = _PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(number) * _UNITS_MS[unit] for number, unit in parts)


def format_duration(milliseconds: int) -> str:
    """Write milliseconds the way a person would, largest units first ("1h30m")."""
    if milliseconds < 0:
        raise ValueError("a duration cannot be negative")
    if milliseconds == 0:
        return "0s"
    text = ""
    rest = milliseconds
    for unit in ("d", "h", "m", "s", "ms"):
        count, rest = divmod(rest, _UNITS_MS[unit])
        if count:
            text += f"{count}{unit}"
    return text


def scale_duration(text: str, scale: Decimal | Fraction | int) -> str:
    """Multiply a duration, rounding to whole milliseconds (Prometheus' finest unit)."""
    scaled = Fraction(parse_duration(text)) * Fraction(scale)
    if scaled < 0:
        raise ValueError("a duration scale cannot be negative")
    return format_duration(round(scaled))
