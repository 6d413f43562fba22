"""The pool's scratch folders (page traces and HARs): gone when it closes, or at the next start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from probes.browser_pool import BrowserPool, remove_stale_scratch


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_folders_of_dead_runners_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead = tmp_path / f"mg-browser-{dead_pid()}-abc"
    (dead / "page").mkdir(parents=True)
    live = tmp_path / f"mg-browser-{os.getpid()}-def"
    live.mkdir()
    unrelated = tmp_path / "mg-browser-notapid"
    unrelated.mkdir()
    assert remove_stale_scratch(tmp_path) == [dead]
    assert not dead.exists() and live.exists() and unrelated.exists()


async def test_a_pool_cleans_stale_folders_and_removes_its_own_on_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    stale = tmp_path / f"mg-browser-{dead_pid()}-xyz"
    stale.mkdir()  # what a SIGKILLed runner leaves
    pool = BrowserPool()
    page_folder = pool.scratch()
    assert not stale.exists()
    [own] = tmp_path.glob("mg-browser-*")
    assert own.name.startswith(f"mg-browser-{os.getpid()}-") and page_folder.parent == own
    await pool.close()
    assert list(tmp_path.iterdir()) == []
