"""The interpreter setting serve mode runs with, so that protocol timings stay exact beside browser journeys.

A scenario's HTTP is timed on a thread of its own (``harness.http_thread``), but that thread
shares the GIL with the runner's loop, which carries Playwright's driver traffic. When an answer
arrives while the loop holds the GIL, the timing thread waits for the loop to let go of it, for
up to the interpreter's switch interval (5 ms by default), and the wait lands in the probe's
timing. A shorter interval bounds that wait; what it costs (more GIL hand-overs for a busy loop)
is measured in ``bench/RESULTS.md`` §1 ("HTTP beside browsers, before and after").
"""

from __future__ import annotations

import sys

__all__ = ["SWITCH_INTERVAL_SECONDS", "settle_for_timing"]

SWITCH_INTERVAL_SECONDS = 0.001
"""The longest the runner's loop holds the GIL off the timing thread once that thread asks for it."""


def settle_for_timing() -> None:
    """Set the switch interval for this process (serve mode calls it once at start-up)."""
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
