"""Root fixtures: one real sandbox subprocess for the whole session (see ``sandbox.testing``), clients of it,
and the fake platform (``tests/core/fake_platform.py``) for tests that need answers the sandbox never gives."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from sandbox.testing import SandboxHandle, VaultSession, start_sandbox
from tests.core.fake_platform import FakePlatform, running_fake_platform


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


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client for a test's own calls to the sandbox."""
    async with httpx.AsyncClient(timeout=20, trust_env=False) as http:
        yield http


@pytest.fixture
def session_for(clean_sandbox: SandboxHandle, client: httpx.AsyncClient) -> Callable[[str], VaultSession]:
    """Logs a sandbox account in to Vault: ``session_for("probe-eu-20")``."""

    def make(username: str) -> VaultSession:
        return VaultSession(client, clean_sandbox.vault_url, clean_sandbox.login(username))

    return make


@pytest.fixture(scope="module")
def fake_platform() -> Iterator[FakePlatform]:
    """The fake platform for one test module; healthy again after each test that set its ``mode``."""
    with running_fake_platform() as state:
        yield state


@pytest.fixture(autouse=True)
def _healthy_again(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "fake_platform" in request.fixturenames:
        request.getfixturevalue("fake_platform").mode = "healthy"
