from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.fake_platform import FakePlatform, running_fake_platform

KNOWN_PASSWORD = "pw-core-test-Xy7Qz3Lm"
KNOWN_RESET_SECRET = "rs-core-test-Ab12Cd34"


@pytest.fixture(scope="module")
def fake_platform() -> Iterator[FakePlatform]:
    with running_fake_platform() as state:
        yield state


@pytest.fixture(autouse=True)
def _healthy_again(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "fake_platform" in request.fixturenames:
        request.getfixturevalue("fake_platform").mode = "healthy"


def write_config(tmp_path: Path, url: str, extra: str = "") -> Path:
    """A config whose four services all point at ``url``, with secrets in files."""
    (tmp_path / "pw").write_text(KNOWN_PASSWORD + "\n")
    (tmp_path / "reset").write_text(KNOWN_RESET_SECRET + "\n")
    path = tmp_path / "config.yaml"
    path.write_text(f"""
runner:
  region: test
  artifacts_dir: {tmp_path / "artifacts"}
targets:
  fake:
    vault_url: {url}
    concierge_url: {url}
    room_service_url: {url}
    spa_url: {url}
    allow_money: false
    currencies: [USD]
    reset_secret: {{file: {tmp_path / "reset"}}}
    accounts:
      password: {{file: {tmp_path / "pw"}}}
      default: "probe-{{region}}-{{scenario}}"
scenarios:
  overrides:
    uptime:
      options: {{socket_transports: []}}  # the fake platform speaks no socket.io
{extra}
""")
    return path
