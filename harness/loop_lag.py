"""How late the runner's own event loop wakes: the noise in every duration it reports.

A step timed in serve mode includes any time the loop spent on other work (a browser
journey's artifacts, a metrics scrape) before it got back to the step. The watcher sleeps a
short tick over and over and reports how much later than asked it woke; the
``RunnerEventLoopLagging`` alert reads that histogram, so an operator knows when the
runner's timings cannot be trusted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["TICK_SECONDS", "watch_loop_lag"]

TICK_SECONDS = 0.1


async def watch_loop_lag(observe: Callable[[float], None], tick_seconds: float = TICK_SECONDS) -> None:
    """Call ``observe(lag_seconds)`` after every tick, until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        asked = loop.time() + tick_seconds
        await asyncio.sleep(tick_seconds)
        observe(max(0.0, loop.time() - asked))
