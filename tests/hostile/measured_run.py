"""``python -m tests.hostile.measured_run JOBS.json``: runs of ``runner.py``, each measured.

``JOBS.json`` lists jobs, ``{"args": [runner.py arguments], "out": PREFIX}``. This process
imports everything the runner uses once, then forks one child per job, all at once (a
runner's start-up costs a second of CPU; a fork costs none). Each child runs
``runner.main(args)`` with its stdout and stderr in ``PREFIX.stdout`` / ``PREFIX.stderr``
and writes ``PREFIX.json``: ``{"exit", "seconds", "rss_growth_bytes"}``.

``seconds`` runs from the runner's first event loop (``asyncio.run``: from there on the target
has its say, in ``--wait-healthy`` and in the runs) to the return of ``main``, shutdown and
reports included. Reading the config before it is the runner's own business: every child
does it, then waits at a barrier until all have, so that one child's start-up never eats
into another's measured time on a small machine. ``rss_growth_bytes``
is the peak resident set size ``main`` added over its baseline: the kernel's own high-water
mark (``VmHWM``), reset to the baseline by writing 5 to ``/proc/self/clear_refs``, so a
spike between two samples is never missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import sys
import threading
import time
import traceback
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

import harness.oneshot  # noqa: F401  (imported before the baseline: only what a run adds counts)
import harness.reports  # noqa: F401
import probes  # noqa: F401
import runner
from harness.discovery import discover
from probes.http import trusted_tls_context

T = TypeVar("T")


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


BARRIER_SECONDS = 30.0  # a child that never reaches its event loop (it crashed) holds the others this long


@dataclass(frozen=True)
class _Barrier:
    """Children say "ready" on one pipe and wait for "go" on another; the parent counts."""

    ready: tuple[int, int] = field(default_factory=os.pipe)
    go: tuple[int, int] = field(default_factory=os.pipe)

    def wait(self) -> None:  # in a child
        os.write(self.ready[1], b".")
        os.read(self.go[0], 1)

    def release(self, children: int) -> None:  # in the parent
        arrived, ends = 0, time.monotonic() + BARRIER_SECONDS
        while arrived < children and time.monotonic() < ends:
            if select.select([self.ready[0]], [], [], 0.1)[0]:
                arrived += len(os.read(self.ready[0], children))
        os.write(self.go[1], b"." * children)


def _measure(args: list[str], out: str, barrier: _Barrier) -> int:
    for fd, suffix in ((1, ".stdout"), (2, ".stderr")):
        os.dup2(os.open(out + suffix, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS now
    baseline = _status("VmRSS")
    loop_started: list[float] = []
    run_loop = asyncio.run

    def timed_run(main: Coroutine[Any, Any, T], *, debug: bool | None = None) -> T:
        if not loop_started:
            barrier.wait()
        loop_started.append(time.monotonic())
        return run_loop(main, debug=debug)

    asyncio.run = timed_run
    code = runner.main(args)
    seconds = time.monotonic() - loop_started[0] if loop_started else 0.0
    growth = _status("VmHWM") - baseline
    Path(out + ".json").write_text(json.dumps({"exit": code, "seconds": seconds, "rss_growth_bytes": growth}))
    return code


def _warm_up() -> None:
    """What a run imports and builds on its first request (httpcore, anyio, the TLS context)
    is done here once, not in every child."""

    async def first_request() -> None:
        async with httpx.AsyncClient(verify=trusted_tls_context()) as client:
            with contextlib.suppress(httpx.HTTPError):
                await client.get("http://127.0.0.1:9/")

    asyncio.run(first_request())


def main(jobs_file: str) -> int:
    discover()
    _warm_up()
    assert threading.active_count() == 1, "fork only from a single-threaded process"
    children = []
    barrier = _Barrier()
    for job in json.loads(Path(jobs_file).read_text()):
        pid = os.fork()
        if pid == 0:
            code = 3
            try:
                code = _measure(job["args"], job["out"], barrier)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children.append(pid)
    barrier.release(len(children))
    for pid in children:
        os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
