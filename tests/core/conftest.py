"""The core tests' fake platform (their config: ``tests.support.local_config`` at its URL)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.fake_platform import FakePlatform, RunUptime, running_fake_platform
from tests.support import local_config, run_cli


@pytest.fixture(scope="module")
def fake_platform() -> Iterator[FakePlatform]:
    with running_fake_platform() as state:
        yield state


@pytest.fixture(autouse=True)
def _healthy_again(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "fake_platform" in request.fixturenames:
        request.getfixturevalue("fake_platform").mode = "healthy"


@pytest.fixture
def run_uptime(tmp_path: Path, fake_platform: FakePlatform) -> RunUptime:
    """``run_uptime(mode, *flags)``: ``runner.py run --scenario uptime FLAGS`` with the fake platform in ``mode``."""
    config = local_config(tmp_path, fake_platform.url)

    def run(mode: str, *flags: str) -> subprocess.CompletedProcess[str]:
        fake_platform.mode = mode
        return run_cli("run", "--config", str(config), "--scenario", "uptime", *flags)

    return run
