"""A scheduled runner against a sandbox with a fault on: the pages' browser tests check it and
``make screenshots`` photographs it (scripts/screenshots.py).

``demo_config`` writes a config whose target is a running sandbox and whose chosen scenarios
run once an hour (so each runs once, at start); ``serving_runner`` runs ``runner.py serve`` on a
free port in a subprocess and yields its pages' URL; ``wait_for_runs`` polls ``/api/status``
until every chosen scenario has run.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from sandbox.testing import REPO_ROOT, SECRETS_DIR, SandboxHandle

__all__ = ["DEMO_FAULT", "DEMO_SCENARIOS", "demo_config", "serving_runner", "wait_for_runs"]

DEMO_FAULT = "spa_wrong_balance"
"""The page shows the balance from before a deposit's push: spa_deposit_push fails, with a screenshot."""
DEMO_SCENARIOS: dict[str, dict[str, Any]] = {
    "spa_deposit_push": {"ui_timeout_seconds": 10, "balance_deadline_seconds": 4},  # fails under DEMO_FAULT
    "spa_load": {"ui_timeout_seconds": 10},
    "rates_freshness": {},
}
_PAGES_LINE = re.compile(r"pages at (http://\S+)")


def demo_config(sandbox: SandboxHandle, directory: Path, scenarios: dict[str, dict[str, Any]]) -> Path:
    """``config/sandbox.yaml`` pointed at ``sandbox``, artifacts in ``directory``, each scenario hourly."""
    config = yaml.safe_load((REPO_ROOT / "config" / "sandbox.yaml").read_text())
    config["runner"]["artifacts_dir"] = str(directory / "artifacts")
    config["runner"]["browser"] = {"trace": "on_failure"}  # one run each: its failure shows a trace too
    target = config["targets"]["sandbox"]
    target.update(sandbox.target_urls())
    target["reset_secret"] = {"file": str(SECRETS_DIR / "reset_secret")}
    target["accounts"]["password"] = {"file": str(SECRETS_DIR / "probe_password")}
    config["scenarios"] = {
        "only": list(scenarios),
        "overrides": {name: {"interval_seconds": 3600, "options": options} for name, options in scenarios.items()},
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@contextmanager
def serving_runner(config: Path, log_dir: Path, timeout: float = 30) -> Iterator[str]:
    """``runner.py serve`` on a free loopback port; yields the pages' base URL (ending in ``/``)."""
    out, err = log_dir / "serve.out", log_dir / "serve.log"
    command = [sys.executable, "runner.py", "serve", "--config", str(config), "--listen", "127.0.0.1:0"]
    command += ["--max-start-offset", "0"]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=stdout, stderr=stderr, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
    try:
        deadline = time.monotonic() + timeout
        while not (found := _PAGES_LINE.search(out.read_text(errors="replace"))):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"runner did not serve its pages: {err.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        yield found.group(1)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_runs(base: str, scenarios: list[str], timeout: float = 90) -> dict[str, str]:
    """Scenario -> its state, once every one of ``scenarios`` has a finished run."""
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    with httpx.Client(timeout=10, trust_env=False) as client:
        while time.monotonic() < deadline:
            status = client.get(base + "api/status").json()
            states = {c["scenario"]: c["state"] for t in status["teams"] for r in t["rows"] for c in r["cells"]}
            if all(states.get(name, "no runs") != "no runs" for name in scenarios):
                return states
            time.sleep(0.3)
    raise TimeoutError(f"not every scenario ran in {timeout:g} s: {states}")
