"""``python -m tests.hostile.measured_run JOBS.json``: runs of ``runner.py``, each measured.

``JOBS.json`` lists jobs, ``{"args": [runner.py arguments], "out": PREFIX}``. This process
imports everything the runner uses once, then forks one child per job, all at once (a
runner's start-up costs a second of CPU; a fork costs none). Each child runs
``runner.main(args)`` with its stdout and stderr in ``PREFIX.stdout`` / ``PREFIX.stderr``
and writes ``PREFIX.json``: ``{"exit", "seconds", "rss_growth_bytes"}``.

``seconds`` runs from the runner's first event loop (``asyncio.run``: from there on the target
has its say, in ``--wait-healthy`` and in the runs) to the return of ``main``, shutdown and
reports included; reading the config before it is the runner's own business, and with every
job starting at once on a small machine it is mostly waiting for a CPU. ``rss_growth_bytes``
is the peak resident set size ``main`` added over its baseline: the kernel's own high-water
mark (``VmHWM``), reset to the baseline by writing 5 to ``/proc/self/clear_refs``, so a
spike between two samples is never missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx

import harness.oneshot  # noqa: F401  (imported before the baseline: only what a run adds counts)
import harness.reports  # noqa: F401
import probes  # noqa: F401
import runner
from harness.discovery import discover

T = TypeVar("T")


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _measure(args: list[str], out: str) -> int:
    for fd, suffix in ((1, ".stdout"), (2, ".stderr")):
        os.dup2(os.open(out + suffix, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS now
    baseline = _status("VmRSS")
    loop_started: list[float] = []
    run_loop = asyncio.run

    def timed_run(main: Coroutine[Any, Any, T], *, debug: bool | None = None) -> T:
        loop_started.append(time.monotonic())
        return run_loop(main, debug=debug)

    asyncio.run = timed_run
    code = runner.main(args)
    seconds = time.monotonic() - loop_started[0] if loop_started else 0.0
    growth = _status("VmHWM") - baseline
    Path(out + ".json").write_text(json.dumps({"exit": code, "seconds": seconds, "rss_growth_bytes": growth}))
    return code


def _warm_up() -> None:
    """What a run imports on its first request (httpcore, anyio...) is imported here once,
    not in every child."""

    async def first_request() -> None:
        async with httpx.AsyncClient() as client:
            with contextlib.suppress(httpx.HTTPError):
                await client.get("http://127.0.0.1:9/")

    asyncio.run(first_request())


def main(jobs_file: str) -> int:
    discover()
    _warm_up()
    assert threading.active_count() == 1, "fork only from a single-threaded process"
    children = []
    for job in json.loads(Path(jobs_file).read_text()):
        pid = os.fork()
        if pid == 0:
            code = 3
            try:
                code = _measure(job["args"], job["out"])
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
