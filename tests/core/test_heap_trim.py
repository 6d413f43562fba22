"""Serve mode gives the C heap's free pages back: what freed blocks held no longer counts in RSS."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from harness import memory

BLOCK = 4096  # above pymalloc's 512 bytes: glibc's malloc holds it
BLOCKS = 12_000  # ~48 MiB


def _rss_kib() -> int:
    status = open(f"/proc/{os.getpid()}/status").read()
    return int(status.split("VmRSS:")[1].split()[0])


def _holes_in_a_threads_arena() -> list[bytes]:
    """Fill a thread's arena with blocks, free all but one in 64: the freed ones leave holes
    glibc keeps (not at the top of the arena, so free() alone never hands them back)."""
    kept: list[bytes] = []

    def fill() -> None:
        blocks = [os.urandom(8) * (BLOCK // 8) for _ in range(BLOCKS)]
        kept.extend(blocks[::64])
        blocks.clear()

    thread = threading.Thread(target=fill)
    thread.start()
    thread.join()
    return kept


@pytest.mark.skipif(not memory.trim_free_heap(), reason="the C library has no malloc_trim (not glibc)")
def test_serve_modes_trimmer_hands_freed_pages_back() -> None:
    kept = _holes_in_a_threads_arena()
    held = _rss_kib()

    async def trim_once() -> None:
        trimmer = asyncio.create_task(memory.keep_heap_trimmed(every_seconds=0.01))
        await asyncio.sleep(0.5)
        trimmer.cancel()

    asyncio.run(trim_once())
    given_back = held - _rss_kib()
    assert len(kept) == BLOCKS // 64 + 1
    assert given_back > 20 * 1024, f"RSS fell by {given_back} KiB only"
