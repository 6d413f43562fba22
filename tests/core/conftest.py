"""The core tests' way to run ``runner.py`` against the fake platform (``fake_platform``, tests/conftest.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.core.fake_platform import FakePlatform, RunUptime
from tests.support import local_config, run_cli


@pytest.fixture
def run_uptime(tmp_path: Path, fake_platform: FakePlatform) -> RunUptime:
    """``run_uptime(mode, *flags)``: ``runner.py run --scenario uptime FLAGS`` with the fake platform in ``mode``."""
    config = local_config(tmp_path, fake_platform.url)

    def run(mode: str, *flags: str) -> subprocess.CompletedProcess[str]:
        fake_platform.mode = mode
        return run_cli("run", "--config", str(config), "--scenario", "uptime", *flags)

    return run
