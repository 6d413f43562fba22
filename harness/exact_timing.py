"""What keeps protocol timings exact beside browser journeys: the GIL handed over sooner, and the
timing thread ahead of Chromium for the CPU.

A scenario's HTTP is timed on a thread of its own (``harness.http_thread``), but two things can
still hold it up once an answer is in, and the wait lands in the probe's timing:

- the GIL, which it shares with the runner's loop (Playwright's driver traffic): the loop lets go
  of it only after the interpreter's switch interval, 5 ms by default. Serve mode sets 1 ms.
- the CPU, which it shares with Chromium: where the process may (root, or ``CAP_SYS_NICE``),
  Chromium raises its display threads to nice -8, ahead of everything the runner runs at nice 0.
  The timing thread raises itself further (it mostly waits on sockets: it takes little from the
  rest). Where it may not (a container without ``CAP_SYS_NICE``, e.g. Fargate), it keeps the
  process's priority, and Chromium, refused alike, has no lead over it either.

``bench/RESULTS.md`` §1b measures both against Python's defaults, side by side, and what they cost.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

__all__ = ["SWITCH_INTERVAL_SECONDS", "TIMING_THREAD_NICE_STEP", "put_timing_thread_first", "settle_for_timing"]

log = logging.getLogger(__name__)

SWITCH_INTERVAL_SECONDS = 0.001
"""The longest the runner's loop holds the GIL off the timing thread once that thread asks for it."""

TIMING_THREAD_NICE_STEP = 10
"""How far the timing thread raises itself above the process (nice 0 -> -10: ahead of Chromium's -8)."""


def settle_for_timing() -> None:
    """Set the switch interval for this process (serve mode calls it once at start-up)."""
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)


def put_timing_thread_first() -> bool:
    """Raise the calling thread's CPU priority by ``TIMING_THREAD_NICE_STEP``; False where refused.

    Linux only: there a thread has a nice value of its own (elsewhere ``setpriority`` on a thread id
    would reach another process)."""
    if sys.platform != "linux":
        return False
    thread = threading.get_native_id()
    current = os.getpriority(os.PRIO_PROCESS, thread)
    try:
        os.setpriority(os.PRIO_PROCESS, thread, max(current - TIMING_THREAD_NICE_STEP, -20))
    except PermissionError:
        log.info("timing thread keeps nice %d: raising it needs CAP_SYS_NICE (or root)", current)
        return False
    return True
