"""The processes a runner started, found again after it exited: what a soak counts as leaked.

A benchmark starts the runner in a session of its own (``start_new_session``), which its
children share (Playwright's driver); Chromium starts a session of its own, which its zygotes,
renderers and utilities share. A process keeps its session when its parent dies and it is
re-parented, so every process in one of those sessions that is still alive after the runner
exited was left behind by it. Chromium's sessions are learnt by looking below the runner while
it runs (``look``, once a second or so), so that a browser replaced mid-run is known too.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

from bench.procfs import chromium_pids, descendants, in_sessions, is_chromium, session

__all__ = ["Count", "RunnerSessions"]


@dataclass(frozen=True)
class Count:
    processes: int
    chromium: int

    @staticmethod
    def of(pids: list[int]) -> Count:
        return Count(len(pids), sum(1 for pid in pids if is_chromium(pid)))


class RunnerSessions:
    def __init__(self, runner_pid: int) -> None:
        self.runner_pid = runner_pid
        self.sessions = {runner_pid}

    def look(self) -> None:
        """Learn the session of every Chromium below the runner now."""
        for pid in chromium_pids(self.runner_pid):
            found = session(pid)
            if found is not None:
                self.sessions.add(found)

    def below(self) -> Count:
        """The runner's children and their children, now."""
        return Count.of(descendants(self.runner_pid))

    def astray(self) -> Count:
        """Processes of the runner's sessions no longer below it while it runs: orphaned already."""
        below = set(descendants(self.runner_pid)) | {self.runner_pid}
        return Count.of([pid for pid in in_sessions(self.sessions) if pid not in below])

    def left_behind(self, wait_seconds: float) -> Count:
        """After the runner exited: what of its sessions is still alive ``wait_seconds`` on (those exiting
        already get that long). They are killed once counted: a leak is reported, not left running."""
        deadline = time.monotonic() + wait_seconds
        left = in_sessions(self.sessions)
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = in_sessions(self.sessions)
        count = Count.of(left)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return count
