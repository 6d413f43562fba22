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
_ORDER = ("y", "w", "d", "h", "m", "s", "ms")
_GRAMMAR = re.compile("".join(rf"(?:(?P<{unit}>[0-9]+){unit})?" for unit in _ORDER))
"""Prometheus' own grammar (prometheus/common model.ParseDuration): every unit at most once,
largest first, so ``1h30m`` is a duration and ``30m1h`` or ``1h1h`` are not."""
_MAX_MS = (2**63 - 1) // 1_000_000
"""Prometheus holds a duration as Go nanoseconds in an int64: about 292 years."""


def parse_duration(text: str) -> int:
    """Return the duration in milliseconds; reject anything Prometheus would reject."""
    if text == "0":
        return 0
    match = _GRAMMAR.fullmatch(text) if text else None
    if match is None:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    milliseconds = sum(int(number) * _UNITS_MS[unit] for unit, number in match.groupdict().items() if number)
    if milliseconds > _MAX_MS:
        raise ValueError(f"not a Prometheus duration: {text!r} is out of range")
    return milliseconds


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
