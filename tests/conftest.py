"""Root fixtures: one real sandbox subprocess for the whole session (see ``sandbox.testing``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.testing import SandboxHandle, start_sandbox


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """The sandbox (``--profile fast --seed 7``) on free loopback ports; must exit 0 on SIGTERM."""
    handle = start_sandbox(tmp_path_factory.mktemp("sandbox"))
    try:
        yield handle
    finally:
        code = handle.stop()
        assert code == 0, f"sandbox exited with {code}; log: {handle.log_path}"


@pytest.fixture
def clean_sandbox(sandbox: SandboxHandle) -> Iterator[SandboxHandle]:
    """The session sandbox with no fault on, before and after the test."""
    sandbox.faults_clear()
    yield sandbox
    sandbox.faults_clear()
