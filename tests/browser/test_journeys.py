"""The browser journeys against the sandbox, through the runner: ``run --tag browser`` passes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from config.loader import load_settings
from harness.discovery import discover, plan
from harness.oneshot import run_once
from harness.runtime import Runtime
from sandbox.testing import SandboxHandle, secret
from tests.browser.conftest import run_runner, sandbox_config

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BROWSER_SCENARIOS = {"spa_load", "spa_login_balance", "spa_deposit_push", "spa_bet", "spa_chat", "spa_level_up"}


def test_every_browser_journey_passes_and_leaves_no_artifacts(clean_sandbox: SandboxHandle, tmp_path: Path) -> None:
    config = sandbox_config(clean_sandbox, tmp_path)
    code, results, stderr = run_runner(config, "--tag", "browser")
    assert {r["scenario"]: r["outcome"] for r in results} == dict.fromkeys(BROWSER_SCENARIOS, "success"), stderr[-3000:]
    assert code == 0
    assert all(r["artifacts_dir"] is None for r in results)
    steps = {r["scenario"]: [s["name"] for s in r["steps"]] for r in results}
    assert steps["spa_deposit_push"][:4] == ["read currencies", "start the browser", "open the app", "log in"]
    assert "deposit USD" in steps["spa_deposit_push"] and "level-up toast" in steps["spa_level_up"]


def test_verbose_run_keeps_the_scrubbed_trace_of_a_passing_run(clean_sandbox: SandboxHandle, tmp_path: Path) -> None:
    config = sandbox_config(clean_sandbox, tmp_path)
    code, results, stderr = run_runner(config, "--scenario", "spa_login_balance", "-v")
    assert code == 0, stderr[-3000:]
    (result,) = results
    folder = Path(result["artifacts_dir"])
    assert sorted(p.name for p in folder.iterdir()) == ["console.log", "trace.zip"]
    with zipfile.ZipFile(folder / "trace.zip") as trace:
        members = {name: trace.read(name) for name in trace.namelist()}
    assert any(b'"fill"' in data for data in members.values())  # the login was typed...
    password = secret("probe_password").encode()
    assert all(password not in data for data in members.values())  # ...and the password is not in it
    assert password not in stderr.encode()


async def test_deposit_push_reports_page_and_push_timings(clean_sandbox: SandboxHandle, tmp_path: Path) -> None:
    settings = load_settings(sandbox_config(clean_sandbox, tmp_path), scenario_names=discover())
    runtime = Runtime(settings)
    (result,) = await run_once(runtime, plan(settings, discover(), names=["spa_deposit_push"]))
    assert result.passed, result.message
    for metric in ("ttfb", "dom_content_loaded", "load", "fcp", "lcp", "deposit_to_balance"):
        labels = {"scenario": "spa_deposit_push", "metric": metric}
        value = runtime.metrics.registry.get_sample_value("synthetic_browser_timing_seconds", labels)
        assert value is not None and value > 0, metric
