"""Conditions on a result, written as data and parsed once (after Gatus' endpoint conditions).

A condition is a string ``<placeholder> <op> <value>``:

    [STATUS] == 200
    [BODY].status == settled
    [BODY].balances.USD >= 10.00
    [HEADER].cache-control contains immutable
    [RESPONSE_TIME] < 800            (milliseconds)
    len([BODY].rates) > 0
    has([BODY].updated_at)

Placeholders: ``[STATUS]``, ``[BODY]`` (JSON, with a dotted path), ``[HEADER].<name>``,
``[RESPONSE_TIME]``. Operators: ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``contains``,
``!contains``. Numbers compare as ``Decimal``, so money compares exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["Condition", "ConditionResult", "InvalidCondition", "parse_conditions"]

_OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "!contains", "contains")
_PLACEHOLDER = re.compile(r"^(len\(|has\()?\[(STATUS|BODY|HEADER|RESPONSE_TIME)\]((?:\.[^\s.()]+)*)\)?$")
_MISSING = object()


class InvalidCondition(ValueError):
    """A condition string that does not parse."""


@dataclass(frozen=True)
class ConditionResult:
    condition: str
    success: bool
    shown: str  # the condition with the actual value, e.g. "[STATUS] (503) == 200"


@dataclass(frozen=True)
class Condition:
    text: str
    function: str | None  # "len", "has" or None
    placeholder: str
    path: tuple[str, ...]
    operator: str | None
    expected: str | None

    @classmethod
    def parse(cls, text: str) -> Condition:
        text = text.strip()
        operator: str | None = None
        left, right = text, None
        for op in _OPERATORS:
            parts = re.split(rf"\s+{re.escape(op)}\s+", text, maxsplit=1)
            if len(parts) == 2:
                operator, (left, right) = op, (parts[0].strip(), parts[1].strip())
                break
        match = _PLACEHOLDER.match(left)
        if not match:
            raise InvalidCondition(f"invalid condition: {text!r} (left side must be a placeholder)")
        function = match.group(1)[:-1] if match.group(1) else None
        if function == "has" and operator is not None:
            raise InvalidCondition(f"invalid condition: {text!r} (has() takes no operator)")
        if function != "has" and operator is None:
            raise InvalidCondition(f"invalid condition: {text!r} (missing operator)")
        if bool(match.group(1)) != left.endswith(")"):
            raise InvalidCondition(f"invalid condition: {text!r} (unbalanced parenthesis)")
        path = tuple(p for p in match.group(3).split(".") if p)
        if match.group(2) == "HEADER" and len(path) != 1:
            raise InvalidCondition(f"invalid condition: {text!r} ([HEADER] needs one name)")
        return cls(text, function, match.group(2), path, operator, right)

    def evaluate(self, status: int, body: Any, headers: dict[str, str], response_ms: float) -> ConditionResult:
        actual = self._resolve(status, body, headers, response_ms)
        if self.function == "has":
            ok = actual is not _MISSING
            return ConditionResult(self.text, ok, f"{self.text} ({'present' if ok else 'absent'})")
        if self.function == "len":
            actual = len(actual) if isinstance(actual, (str, list, dict)) else _MISSING
        shown_value = "<missing>" if actual is _MISSING else _short(actual)
        ok = actual is not _MISSING and _compare(actual, self.operator or "==", self.expected or "")
        left = self.text.split(None, 1)[0]  # a placeholder holds no whitespace
        return ConditionResult(self.text, ok, f"{left} ({shown_value}) {self.operator} {self.expected}")

    def _resolve(self, status: int, body: Any, headers: dict[str, str], response_ms: float) -> Any:
        if self.placeholder == "STATUS":
            return status
        if self.placeholder == "RESPONSE_TIME":
            return response_ms
        if self.placeholder == "HEADER":
            lowered = {k.lower(): v for k, v in headers.items()}
            return lowered.get(self.path[0].lower(), _MISSING)
        value = body
        for key in self.path:
            if isinstance(value, dict) and key in value:
                value = value[key]
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            else:
                return _MISSING
        return value


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _compare(actual: Any, operator: str, expected: str) -> bool:
    if operator in ("contains", "!contains"):
        found = expected in (actual if isinstance(actual, (str, list)) else str(actual))
        return found if operator == "contains" else not found
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        pair: tuple[Any, Any] = (left, right)
    else:
        text = str(actual).lower() if isinstance(actual, bool) else str(actual)
        pair = (text, expected)
    a, b = pair
    if operator == "==":
        return bool(a == b)
    if operator == "!=":
        return bool(a != b)
    if left is None or right is None:
        return False  # ordering needs numbers
    return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[operator])


def parse_conditions(texts: list[str] | tuple[str, ...]) -> tuple[Condition, ...]:
    return tuple(Condition.parse(t) for t in texts)
