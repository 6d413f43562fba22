"""``harness.exact_timing``: serve mode sets the switch interval before its loop starts, and the
timing thread raises its CPU priority where the process may, keeping it (with one log line) where not."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import runner
from harness.exact_timing import SWITCH_INTERVAL_SECONDS, TIMING_THREAD_NICE_STEP
from harness.http_thread import HttpThread
from harness.scheduler import Service
from tests.core.fake_platform import FakePlatform
from tests.support import local_config

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMING_THREAD_NICE = """
import asyncio, logging, os, threading, httpx
from harness.http_thread import HttpThread
from probes.context import ProbeContext
logging.basicConfig(level=logging.INFO, format="%(message)s")
async def main():
    http = HttpThread(httpx.AsyncClient())
    await http.exchange("GET", "http://127.0.0.1:1/", ProbeContext())  # refused: the thread has started
    thread = next(t for t in threading.enumerate() if t.name == "http-timing")
    print("nice", os.getpriority(os.PRIO_PROCESS, thread.native_id), flush=True)
    await http.aclose()
asyncio.run(main())
"""


@pytest.fixture
def switch_interval_restored() -> Iterator[float]:
    """This process's own switch interval, set back afterwards (serve mode changes it for good)."""
    default = sys.getswitchinterval()
    try:
        yield default
    finally:
        sys.setswitchinterval(default)


def test_serve_shortens_the_switch_interval_before_its_loop_starts(
    tmp_path: Path, fake_platform: FakePlatform, monkeypatch: pytest.MonkeyPatch, switch_interval_restored: float
) -> None:
    seen: list[float] = []

    async def serve(self: Service) -> int:
        seen.append(sys.getswitchinterval())
        return 0

    monkeypatch.setattr(Service, "serve", serve)
    config = local_config(tmp_path, fake_platform.url)
    argv = ["serve", "--config", str(config), "--listen", "127.0.0.1:0", "--artifacts", str(tmp_path / "artifacts")]
    assert runner.main(argv) == 0
    assert seen == [SWITCH_INTERVAL_SECONDS]
    assert SWITCH_INTERVAL_SECONDS < switch_interval_restored  # Python's default: 5 ms


@pytest.mark.skipif(sys.platform != "linux", reason="a thread has a nice value of its own on Linux only")
async def test_the_timing_thread_alone_is_raised_where_the_process_may() -> None:
    if os.geteuid() != 0:
        pytest.skip("raising a thread's priority needs root or CAP_SYS_NICE")
    process = os.getpriority(os.PRIO_PROCESS, 0)
    http = HttpThread(httpx.AsyncClient())
    try:
        thread = next(t for t in threading.enumerate() if t.name == "http-timing" and t.native_id)
        for _ in range(100):  # the thread raises itself first thing, right after it starts
            if os.getpriority(os.PRIO_PROCESS, thread.native_id or 0) != process:
                break
            await asyncio.sleep(0.01)
        assert os.getpriority(os.PRIO_PROCESS, thread.native_id or 0) == max(process - TIMING_THREAD_NICE_STEP, -20)
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == process  # the rest keeps its own
    finally:
        await http.aclose()


@pytest.mark.skipif(
    shutil.which("capsh") is None or os.geteuid() != 0, reason="needs capsh, as root, to drop a capability"
)
def test_without_cap_sys_nice_the_timing_thread_keeps_the_process_priority_and_says_why() -> None:
    done = subprocess.run(
        ["capsh", "--drop=cap_sys_nice", "--", "-c", f'exec "{sys.executable}" -c "$0"', TIMING_THREAD_NICE],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    process = os.getpriority(os.PRIO_PROCESS, 0)  # the child inherits it
    assert f"nice {process}" in done.stdout.splitlines()
    assert f"timing thread keeps nice {process}: raising it needs CAP_SYS_NICE" in done.stderr
