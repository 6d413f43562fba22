"""Where a soaked runner's memory goes: tracemalloc, live objects and the C heap, side by side.

    python -m bench.rss_trace [--out FILE --every 60 --frames 4] [--as-before] -- <bench.serve_instrumented's arguments>

Runs ``bench.serve_instrumented`` (the soak's runner) with tracemalloc on, and every
``--every`` seconds writes one JSON line to FILE: RSS; what Python's allocators hold
(tracemalloc's total); glibc's heap (``mallinfo2``: in use against mapped, free inside the
arenas); RSS once more after ``malloc_trim(0)`` (what trimming gives back is fragmentation
or freed pages glibc kept, not live objects); the live objects by type whose count grew
most; and the allocation sites (by traceback) that grew most since the first line. A
structure that fills up to a bound grows early and stops; a leak keeps growing every line.
A snapshot holds the GIL for a second or more, so drift and lag figures of a traced run
mean nothing. ``MALLOC_ARENA_MAX=2`` in the environment shows how much glibc's per-thread
arenas account for. ``--as-before`` runs the runner as it was before the soak's RSS work
(``as_before``), without tracing unless ``--out`` is given, for a before/after comparison.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import ctypes.util
import gc
import json
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import TextIO

from bench import serve_instrumented
from bench.procfs import rss_kib
from harness import history, memory

__all__ = ["GrowthTracer", "as_before", "heap_figures", "main"]

TOP = 25


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
    ] + [("keepcost", ctypes.c_size_t)]


_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def heap_figures() -> dict[str, int]:
    """glibc's main and thread arenas (KiB): mapped, in use, free inside them; and mmapped blocks."""
    info = _LIBC.mallinfo2
    info.restype = _Mallinfo2
    found = info()
    return {
        "heap_mapped_kib": (found.arena) // 1024,
        "heap_in_use_kib": found.uordblks // 1024,
        "heap_free_kib": found.fordblks // 1024,
        "mmapped_kib": found.hblkhd // 1024,
    }


def _type_counts() -> collections.Counter[str]:
    return collections.Counter(type(o).__qualname__ for o in gc.get_objects())


class GrowthTracer:
    """Snapshots of this process every ``every`` seconds, each compared with the first."""

    def __init__(self, out: TextIO, every: float, frames: int) -> None:
        self.out, self.every, self.frames = out, every, frames
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-trace", daemon=True)
        self._first: tracemalloc.Snapshot | None = None
        self._first_types: collections.Counter[str] = collections.Counter()

    def start(self) -> None:
        tracemalloc.start(self.frames)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=120)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.out.write(json.dumps(self.line()) + "\n")
            self.out.flush()

    def line(self) -> dict[str, object]:
        """One line: the figures now, and what grew most since the first line."""
        pid = os.getpid()
        started = time.perf_counter()
        snapshot = tracemalloc.take_snapshot().filter_traces(
            (tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<unknown>"))
        )
        types = _type_counts()
        line: dict[str, object] = {
            "t": time.time(),
            "rss_kib": rss_kib(pid),
            "traced_kib": tracemalloc.get_traced_memory()[0] // 1024,
            "objects": sum(types.values()),
            **heap_figures(),
        }
        _LIBC.malloc_trim(0)
        line["rss_after_trim_kib"] = rss_kib(pid)
        if self._first is None:
            self._first, self._first_types = snapshot, types
        else:
            grown = snapshot.compare_to(self._first, "traceback")[:TOP]
            line["sites"] = [
                {
                    "kib": round(s.size_diff / 1024, 1),
                    "count": s.count_diff,
                    "where": s.traceback.format(limit=self.frames),
                }
                for s in grown
            ]
            types.subtract(self._first_types)
            line["types"] = dict(types.most_common(TOP))
        line["seconds"] = round(time.perf_counter() - started, 2)
        return line


def as_before() -> None:
    """The runner as it was before: the run history's SQLite page cache at SQLite's default size,
    and the C heap's free pages never handed back (``harness.memory``)."""
    history.PAGE_CACHE_KIB = 2000
    memory.trim_free_heap = lambda: False


def main(argv: list[str] | None = None) -> int:
    ours = argparse.ArgumentParser(prog="python -m bench.rss_trace")
    ours.add_argument("--out", type=Path, help="trace into this file (JSON lines)")
    ours.add_argument("--every", type=float, default=60.0)
    ours.add_argument("--frames", type=int, default=4)
    ours.add_argument("--as-before", action="store_true", help="undo the soak's RSS work (see as_before)")
    ours.add_argument("rest", nargs=argparse.REMAINDER, help="bench.serve_instrumented's arguments, after --")
    args = ours.parse_args(argv)
    if args.as_before:
        as_before()
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    if args.out is None:
        return serve_instrumented.main(rest)
    with args.out.open("a") as out:
        tracer = GrowthTracer(out, args.every, args.frames)
        tracer.start()
        try:
            return serve_instrumented.main(rest)
        finally:
            tracer.stop()


if __name__ == "__main__":
    sys.exit(main())
