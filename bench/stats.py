"""Order statistics for small samples: median and nearest-rank percentiles."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

__all__ = ["median", "percentile", "summary"]


def median(values: Sequence[float]) -> float:
    if not values:
        return math.nan
    return float(statistics.median(values))


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100): an observed value, never an interpolation.

    With 100 samples p99 is the second largest; with 30 samples it is the largest.
    """
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, p95, p99 and extremes, the figures every table here shows."""
    return {
        "n": float(len(values)),
        "median": median(values),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "min": min(values) if values else math.nan,
        "max": max(values) if values else math.nan,
    }
