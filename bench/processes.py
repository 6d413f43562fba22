"""Child processes of a benchmark: start one that prints its URL, stop it by its own pid."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["Child", "REPO_ROOT", "python_module", "running", "start", "stop"]

REPO_ROOT = Path(__file__).resolve().parent.parent


class Child:
    """A started subprocess, its log file and the URL it announced (if any)."""

    def __init__(self, process: subprocess.Popen[bytes], log_path: Path, url: str = "") -> None:
        self.process = process
        self.log_path = log_path
        self.url = url

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def start(
    command: Sequence[str],
    log_path: Path,
    *,
    ready: str | None = None,
    timeout: float = 30.0,
    env: dict[str, str] | None = None,
    cpus: set[int] | None = None,
) -> Child:
    """Start ``command`` with output to ``log_path``; wait for a line matching ``ready``.

    ``ready`` is a regular expression; its first group (if any) becomes ``Child.url``.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command), cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=full_env, start_new_session=True
        )
    child = Child(process, log_path)
    if cpus is not None:
        os.sched_setaffinity(process.pid, cpus)
    if ready is None:
        return child
    pattern = re.compile(ready)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        match = pattern.search(text)
        if match:
            child.url = match.group(1) if pattern.groups else ""
            return child
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited with {process.returncode}:\n{child.log_tail()}")
        time.sleep(0.05)
    stop(child)
    raise RuntimeError(f"{' '.join(command[:3])} not ready in {timeout:g} s:\n{child.log_tail()}")


def stop(child: Child, timeout: float = 30.0) -> int:
    """SIGTERM to the child (by its pid), then SIGKILL after ``timeout``; returns the exit code."""
    process = child.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return -9
    return process.returncode


@contextlib.contextmanager
def running(
    command: Sequence[str],
    log_path: Path,
    *,
    ready: str | None = None,
    timeout: float = 30.0,
    env: dict[str, str] | None = None,
    cpus: set[int] | None = None,
) -> Iterator[Child]:
    """``with running([...], log, ready=r"listening (\\S+)") as child: ...``; stopped on the way out."""
    child = start(command, log_path, ready=ready, timeout=timeout, env=env, cpus=cpus)
    try:
        yield child
    finally:
        stop(child)
