"""Chromium's processes as the kernel sees them (``/proc``): which belong to us, and their files.

Playwright does not say which process is the browser it launched. The pool needs that to kill
a browser that hung (``close()`` would hang with it), and the soak benchmark and its test need
it to count processes and open file handles across many runs. Linux only; elsewhere the
functions return nothing and a hung browser is only closed, not killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Proc",
    "Footprint",
    "processes",
    "descendants",
    "browser_mains",
    "chromium_tree",
    "open_fds",
    "kill_tree",
    "footprint",
]

PROC = Path("/proc")
CHROMIUM_NAMES = ("chromium", "chrome", "chromium-browser", "headless_shell")
DRIVER_NAME = "node"  # Playwright's driver, a child of the runner


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    name: str  # the executable's base name (argv[0])
    is_chromium: bool


def _read(pid: int) -> Proc | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        argv = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    ppid = int(stat[stat.rindex(")") + 2 :].split()[1])  # the name in (...) may hold spaces
    # Chromium's children rewrite their command line as one string ("/usr/lib/chromium/chromium --type=...").
    program = argv[0].split(b" ")[0] if argv and argv[0] else b""
    name = os.path.basename(program.decode(errors="replace"))
    return Proc(pid, ppid, name, name in CHROMIUM_NAMES)


def processes() -> list[Proc]:
    """Every process we may read (empty where there is no ``/proc``)."""
    if not PROC.is_dir():
        return []
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            proc = _read(int(entry.name))
            if proc is not None:
                found.append(proc)
    return found


def descendants(root: int, table: list[Proc] | None = None) -> list[Proc]:
    """The processes below ``root`` (children, grandchildren...), not ``root`` itself."""
    table = processes() if table is None else table
    children: dict[int, list[Proc]] = {}
    for proc in table:
        children.setdefault(proc.ppid, []).append(proc)
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child.pid)
    return found


def browser_mains(root: int | None = None) -> set[int]:
    """Browser (main) processes below ``root``: Chromium processes whose parent is not Chromium."""
    table = processes()
    below = descendants(os.getpid() if root is None else root, table)
    chromium = {p.pid for p in below if p.is_chromium}
    return {p.pid for p in below if p.is_chromium and p.ppid not in chromium}


def chromium_tree(root: int | None = None) -> list[Proc]:
    """Every Chromium process below ``root`` (default: this process)."""
    return [p for p in descendants(os.getpid() if root is None else root) if p.is_chromium]


def open_fds(pid: int | None = None) -> int:
    """How many file descriptors ``pid`` (default: this process) holds open."""
    try:
        return len(os.listdir(PROC / str(os.getpid() if pid is None else pid) / "fd"))
    except OSError:
        return 0


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and everything below it (works on stopped processes too)."""
    for proc in [*descendants(pid), Proc(pid, 0, "", True)]:
        with contextlib.suppress(OSError):
            os.kill(proc.pid, signal.SIGKILL)


def _pss_kib(pid: int) -> int:
    """Proportional set size: shared pages counted once across processes (RSS counts them many times)."""
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


@dataclass(frozen=True)
class Footprint:
    """What the runner's browsing holds right now: processes, file handles, memory."""

    chromium_processes: int
    runner_fds: int
    driver_fds: int
    browser_fds: int
    chromium_pss_mib: float


def footprint(root: int | None = None) -> Footprint:
    """Count the Chromium processes below ``root`` (default: this process) and the handles held."""
    root = os.getpid() if root is None else root
    below = descendants(root)
    chromium = [p for p in below if p.is_chromium]
    drivers = [p for p in below if p.name == DRIVER_NAME]
    return Footprint(
        chromium_processes=len(chromium),
        runner_fds=open_fds(root),
        driver_fds=sum(open_fds(p.pid) for p in drivers),
        browser_fds=sum(open_fds(p.pid) for p in chromium),
        chromium_pss_mib=round(sum(_pss_kib(p.pid) for p in chromium) / 1024, 1),
    )
