"""First tenth against last tenth: how a soak tells a leak from a busy moment.

A soak samples its runner every few seconds (RSS, open files, Chromium processes), and every
sample swings with the runs in flight at that moment. The soak's time, from the first sample
after the warm-up to SIGTERM, is cut into ten equal stretches; each tenth is summed up by its
lowest value (the runner between runs: the connections and pages of runs in flight come and go)
and its median (one busy moment barely moves it). What leaks stays: it raises every later
sample, the quiet ones too, so the last tenth's lowest value rises above the first's.
Tenths are of time, not of runs: the schedule starts runs at a steady rate, so each tenth holds
about a tenth of them (``runs_per_tenth`` counts them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.stats import median

__all__ = ["TENTHS", "Tenths", "runs_per_tenth", "tenths"]

TENTHS = 10


@dataclass(frozen=True)
class Tenths:
    """One figure over the soak: its median and lowest value in each tenth (None: no sample there)."""

    medians: tuple[float | None, ...]
    lowest: tuple[float | None, ...]

    @property
    def growth(self) -> float | None:
        """The last tenth's lowest value over the first's, minus one (0.05: 5 % more); None if either is empty."""
        first, last = self.lowest[0], self.lowest[-1]
        if first is None or last is None or first <= 0:
            return None
        return last / first - 1


def _index(moment: float, start: float, end: float) -> int | None:
    if not start <= moment <= end or end <= start:
        return None
    return min(int((moment - start) / (end - start) * TENTHS), TENTHS - 1)


def tenths(samples: Sequence[tuple[float, float]], start: float, end: float) -> Tenths:
    """``samples`` are (time, value); those outside [start, end] are left out."""
    parts: list[list[float]] = [[] for _ in range(TENTHS)]
    for moment, value in samples:
        index = _index(moment, start, end)
        if index is not None:
            parts[index].append(value)
    return Tenths(
        tuple(median(part) if part else None for part in parts),
        tuple(min(part) if part else None for part in parts),
    )


def runs_per_tenth(starts: Sequence[float], start: float, end: float) -> list[int]:
    """How many of the runs that started at ``starts`` fall in each tenth."""
    counts = [0] * TENTHS
    for moment in starts:
        index = _index(moment, start, end)
        if index is not None:
            counts[index] += 1
    return counts
