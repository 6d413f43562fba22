"""A maintenance window added by SIGHUP pauses the money-moving runs, with nothing lost.

The real serve mode against the sandbox: bet_settlement (moves money) and uptime (does not)
run every 2 s; the config gains a window covering now and the process gets SIGHUP. From then
on bet_settlement is skipped (paused) while uptime goes on, ``synthetic_maintenance_active``
says so, and the counters carry on from where they were (same process, same registry).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from sandbox.testing import SandboxHandle
from tests.browser.conftest import sandbox_config

ROOT = Path(__file__).resolve().parents[2]


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(url, timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _runs(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], scenario: str, result: str) -> float:
    return sum(
        value
        for (name, labels), value in samples.items()
        if name == "synthetic_scenario_runs_total" and ("scenario", scenario) in labels and ("result", result) in labels
    )


def _wait_runs(
    url: str, scenario: str, result: str, at_least: float, timeout: float = 60
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The exposition once ``scenario`` has at least ``at_least`` runs with ``result``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        samples = _samples(url)
        if _runs(samples, scenario, result) >= at_least:
            return samples
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {at_least:g} {result} runs of {scenario}")


def test_a_reload_that_adds_a_window_pauses_money_moving_runs(clean_sandbox: SandboxHandle, tmp_path: Path) -> None:
    config = sandbox_config(clean_sandbox, tmp_path)
    settings = yaml.safe_load(config.read_text())
    settings["scenarios"]["overrides"] = {name: {"interval_seconds": 2} for name in ("bet_settlement", "uptime")}
    settings.pop("maintenance", None)
    config.write_text(yaml.safe_dump(settings))
    command = [sys.executable, "runner.py", "serve", "--config", str(config), "--listen", "127.0.0.1:0"]
    command += ["--scenario", "bet_settlement", "--scenario", "uptime", "--max-start-offset", "0"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        url = banner.split("metrics at ", 1)[1].strip()
        before = _wait_runs(url, "bet_settlement", "success", 1)
        assert ("synthetic_maintenance_active", ()) not in {(n, ()) for n, _ in before}

        now = datetime.now(UTC)
        settings["maintenance"] = [
            {
                "name": "vault-migration",
                "start": (now - timedelta(minutes=1)).isoformat(),
                "end": (now + timedelta(hours=1)).isoformat(),
                "targets": ["sandbox"],
                "services": ["vault"],
            }
        ]
        config.write_text(yaml.safe_dump(settings))
        process.send_signal(signal.SIGHUP)

        paused = _wait_runs(url, "bet_settlement", "skipped", 2)
        active = ("synthetic_maintenance_active", (("region", "eu"), ("service", "vault"), ("target", "sandbox")))
        assert paused[active] == 1
        # history kept: counters went on from where they were, in the same process
        assert _runs(paused, "bet_settlement", "success") >= _runs(before, "bet_settlement", "success")
        settled = _runs(paused, "bet_settlement", "success")
        time.sleep(4.5)  # two more intervals: no bet ran during the window
        later = _samples(url)
        assert _runs(later, "bet_settlement", "success") == settled
        assert _runs(later, "bet_settlement", "skipped") >= _runs(paused, "bet_settlement", "skipped") + 1
        assert _runs(later, "uptime", "success") > _runs(before, "uptime", "success")  # not money: not paused
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert "config reloaded" in stderr and "vault-migration" in stderr
    assert "paused during maintenance window vault-migration on sandbox" in stderr
