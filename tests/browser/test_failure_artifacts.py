"""A failing journey leaves a screenshot, trace, console log and HAR that show the failure, and no secret.

The journeys run in this process, so ``known_secrets()`` holds every secret they really used:
the probe password typed into the page, the reset secret sent to Concierge, the API token and
the token the page got at its own login. Every artifact file (and every member of the trace
zip) is searched for each of them, in every form a file may hold them.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from config.loader import load_settings
from harness.discovery import discover, plan
from harness.oneshot import run_once
from harness.results import RunResult
from harness.runtime import Runtime
from harness.secrets import known_secrets
from probes.browser_artifacts import secret_forms
from sandbox.testing import SandboxHandle, secret
from tests.browser.conftest import sandbox_config

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = ["console.log", "network.har", "screenshot.png", "trace.zip"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def faulty(clean_sandbox: SandboxHandle, request: pytest.FixtureRequest) -> Iterator[SandboxHandle]:
    clean_sandbox.fault_on(request.param)
    yield clean_sandbox


@pytest.fixture
async def runtime(clean_sandbox: SandboxHandle, tmp_path: Path) -> AsyncIterator[Runtime]:
    config = sandbox_config(clean_sandbox, tmp_path, browser={"trace": "on_failure"})  # a first failure's trace
    runtime = Runtime(load_settings(config, scenario_names=discover()))
    yield runtime
    await runtime.aclose()


async def run_one(runtime: Runtime, name: str) -> RunResult:
    (result,) = await run_once(runtime, plan(runtime.settings, discover(), names=[name]))
    return result


def artifacts_of(result: RunResult) -> tuple[Path, dict[str, bytes], dict[str, Any]]:
    """The run's folder (exactly the four files), the trace's members and the HAR."""
    assert result.artifacts_dir is not None
    folder = Path(result.artifacts_dir)
    assert sorted(p.name for p in folder.iterdir()) == ARTIFACTS
    with zipfile.ZipFile(folder / "trace.zip") as trace:
        members = {name: trace.read(name) for name in trace.namelist()}
    assert {"trace.trace", "trace.network"} <= set(members)
    assert (folder / "screenshot.png").read_bytes().startswith(PNG)
    return folder, members, json.loads((folder / "network.har").read_text())


def assert_no_secret(folder: Path, members: dict[str, bytes]) -> None:
    files = {path.name: path.read_bytes() for path in folder.iterdir()} | {
        f"trace.zip:{n}": d for n, d in members.items()
    }
    for value in known_secrets():
        for form in secret_forms(value):
            hits = [name for name, data in files.items() if form in data]
            assert not hits, f"a secret ({len(value)} characters) is in {hits}"


@pytest.mark.parametrize("faulty", ["level_up_dropped"], indirect=True)
async def test_failed_level_up_shows_the_failure_and_leaks_no_secret(faulty: SandboxHandle, runtime: Runtime) -> None:
    result = await run_one(runtime, "spa_level_up")
    assert (result.failed_step, result.reason) == ("level-up toast", "push_missing"), result.message
    folder, members, har = artifacts_of(result)

    log = (folder / "console.log").read_text()
    assert "step level-up toast" in log and "FAILED push_missing" in log
    assert "socket.io balance:update" in log  # the bet's push came; the level-up one did not
    bets = [e for e in har["log"]["entries"] if e["request"]["method"] == "POST" and "/v1/bets" in e["request"]["url"]]
    assert [e["response"]["status"] for e in bets] == [200]
    assert any(b"level-up-toast" in data for data in members.values())  # the trace waited for the toast

    # The journey really used every secret: password (typed), reset secret, API and page tokens.
    used = known_secrets()
    assert {secret("probe_password"), secret("reset_secret")} <= used
    api_token = runtime.tokens.get("sandbox", "probe-eu-15")
    assert api_token is not None and api_token.token in used
    page_tokens = {v for v in used if len(v) == len(api_token.token) and v != api_token.token}
    assert page_tokens, "the page's own token was never seen"
    assert_no_secret(folder, members)


@pytest.mark.parametrize("faulty", ["asset_missing"], indirect=True)
async def test_missing_bundle_shows_in_every_artifact(faulty: SandboxHandle, runtime: Runtime) -> None:
    result = await run_one(runtime, "spa_load")
    assert (result.failed_step, result.reason) == ("assets", "http_status")
    folder, members, har = artifacts_of(result)
    bundle = [
        e for e in har["log"]["entries"] if "/assets/" in e["request"]["url"] and e["request"]["url"].endswith(".js")
    ]
    assert [e["response"]["status"] for e in bundle] == [403]
    assert "403" in (folder / "console.log").read_text()
    assert b'"status":403' in members["trace.network"].replace(b" ", b"")
    assert_no_secret(folder, members)
