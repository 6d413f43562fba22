"""What Linux says about a process: CPU time, PSS, RSS, open files, children, affinity.

PSS, not RSS, is the memory figure for Chromium: its processes share most pages, and RSS
counts each shared page once per process (see the environment notes).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "ALL_CPUS",
    "cpu_seconds",
    "descendants",
    "fd_count",
    "in_sessions",
    "is_chromium",
    "pin",
    "peak_rss_kib",
    "pss_kib",
    "rss_kib",
    "chromium_pids",
    "session",
]

_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK")
ALL_CPUS = frozenset(os.sched_getaffinity(0))  # before anything here pins this process


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces)."""
    text = (_PROC / str(pid) / "stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid`` (its own threads, not its children)."""
    fields = _stat_fields(pid)
    # after "pid (comm) ": state=0, ppid=1, ..., utime=11, stime=12
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _ppid(pid: int) -> int | None:
    try:
        return int(_stat_fields(pid)[1])
    except (OSError, ValueError, IndexError):
        return None


def descendants(root: int) -> list[int]:
    """Every live process below ``root`` (children, grandchildren...)."""
    parents: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            parent = _ppid(int(entry.name))
            if parent is not None:
                parents.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    stack = [root]
    while stack:
        for child in parents.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def is_chromium(pid: int) -> bool:
    """True for Chromium's browser, renderer, GPU and utility processes."""
    try:
        argv0 = (_PROC / str(pid) / "cmdline").read_bytes().split(b"\0", 1)[0]
    except OSError:
        return False
    return b"chrom" in os.path.basename(argv0).lower() or b"headless_shell" in argv0


def session(pid: int) -> int | None:
    """The session ``pid`` belongs to (``setsid``): Chromium starts one of its own, which all its processes share.
    None for a process gone, or dead and not yet reaped (a zombie)."""
    try:
        fields = _stat_fields(pid)  # state, ppid, pgrp, session, ...
        return None if fields[0] == "Z" else int(fields[3])
    except (OSError, ValueError, IndexError):
        return None


def in_sessions(sessions: Iterable[int]) -> list[int]:
    """Every live process in one of ``sessions``: found even once re-parented, after their parent exited."""
    wanted = set(sessions)
    found = []
    for entry in _PROC.iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid() and session(int(entry.name)) in wanted:
            found.append(int(entry.name))
    return found


def chromium_pids(root: int) -> list[int]:
    """Chromium processes below ``root`` (a runner, or this process for in-process browsers)."""
    return [pid for pid in descendants(root) if is_chromium(pid)]


def _status_kib(pid: int, key: str, file: str) -> int:
    try:
        for line in (_PROC / str(pid) / file).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def pss_kib(pids: Iterable[int]) -> int:
    """Proportional set size summed over ``pids``, in KiB (processes that exited count 0)."""
    return sum(_status_kib(pid, "Pss:", "smaps_rollup") for pid in pids)


def rss_kib(pid: int) -> int:
    return _status_kib(pid, "VmRSS:", "status")


def peak_rss_kib(pid: int) -> int:
    """The kernel's high-water mark of ``pid``'s RSS (``VmHWM``), in KiB."""
    return _status_kib(pid, "VmHWM:", "status")


def fd_count(pid: int) -> int:
    try:
        return len(os.listdir(_PROC / str(pid) / "fd"))
    except OSError:
        return 0


def pin(cpus: set[int], pid: int = 0) -> bool:
    """Pin ``pid`` (0: this process) to ``cpus``; False where the machine has fewer cores."""
    if not cpus <= ALL_CPUS:
        return False
    os.sched_setaffinity(pid, cpus)
    return True
