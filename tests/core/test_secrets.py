"""No password, token or reset secret reaches logs, metrics, reports or JUnit files."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from prometheus_client import generate_latest

from config.loader import load_settings
from harness.discovery import ScenarioPlan, options_for
from harness.logs import setup_logging
from harness.oneshot import run_once
from harness.reports import render_table, write_json, write_junit
from harness.runtime import Runtime
from tests.core import scenarios_for_tests as s
from tests.core.fake_platform import KNOWN_TOKEN, FakePlatform
from tests.support import PASSWORD, RESET_SECRET, TARGET, local_config


async def test_no_secret_in_anything_the_runner_writes(tmp_path: Path, fake_platform: FakePlatform) -> None:
    stream = io.StringIO()
    setup_logging("DEBUG", stream)
    try:
        runtime = Runtime(load_settings(local_config(tmp_path, fake_platform.url)), verbose=True)
        plans = [ScenarioPlan(sc, TARGET, 60, 10, options_for(runtime.settings, sc)) for sc in (s.LeakyLogin, s.Quick)]
        results = await run_once(runtime, plans)
        # the scenario really used the secrets and failed on an answer that echoes the token
        leaky = results[0]
        assert leaky.outcome == "failure" and leaky.failed_step == "read balance"
        assert leaky.reason == "http_status"
        logging.getLogger("scenario.leaky_login").warning("token in a message: %s", KNOWN_TOKEN)
        write_junit(results, tmp_path / "junit.xml")
        write_json(results, tmp_path / "report.json")
        table = render_table(results)
        metrics = generate_latest(runtime.metrics.registry).decode()
    finally:
        logging.getLogger().handlers.clear()
    written = {
        "log": stream.getvalue(),
        "junit": (tmp_path / "junit.xml").read_text(),
        "report": (tmp_path / "report.json").read_text(),
        "table": table,
        "metrics": metrics,
    }
    assert "***" in written["log"]  # the redaction really happened
    for where, text in written.items():
        for secret in (PASSWORD, KNOWN_TOKEN, RESET_SECRET):
            assert secret not in text, f"secret found in {where}"
    assert "read balance" in written["junit"] and "http_status" in written["junit"]
