"""Where each job's first run falls within its interval: evenly spaced, as Prometheus spreads scrapes.

A random offset per job lets jobs of one interval come due together by chance; journeys that then
queue for one of a few browsers (or run slots) start late on every round after, because the
grid keeps its phase. Jobs of one interval are set an equal step apart instead, in a shuffled
order and with one random shift, so a restart still lands somewhere new.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping

__all__ = ["first_run_offsets"]


def first_run_offsets(
    intervals: Mapping[str, float], max_offset_seconds: float, rng: random.Random | None = None
) -> dict[str, float]:
    """Seconds from now to each job's first run: the jobs of one interval spread evenly over
    that interval, or over ``max_offset_seconds`` when it is shorter."""
    rng = rng or random.Random()
    by_interval: dict[float, list[str]] = defaultdict(list)
    for key in sorted(intervals):
        by_interval[intervals[key]].append(key)
    offsets: dict[str, float] = {}
    for interval, keys in by_interval.items():
        step = max(0.0, min(interval, max_offset_seconds)) / len(keys)
        shift = rng.uniform(0, step)
        rng.shuffle(keys)
        for place, key in enumerate(keys):
            offsets[key] = place * step + shift
    return offsets
