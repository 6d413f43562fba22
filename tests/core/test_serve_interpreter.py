"""Serve mode sets the interpreter's switch interval before its loop starts (``harness.interpreter``):
the timing thread then waits at most that long for the GIL once an answer is in."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import runner
from harness.interpreter import SWITCH_INTERVAL_SECONDS
from harness.scheduler import Service
from tests.core.fake_platform import FakePlatform
from tests.support import local_config


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
