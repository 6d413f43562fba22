"""At a terminal, the runner speaks to a person: one readable line per finished scenario.

stderr is a real pseudo-terminal here (``pty``), as in ``make run``; off a terminal the
lines stay JSON (containers, CI), and ``--log-format`` chooses explicitly.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import runner
from sandbox.testing import SandboxHandle
from tests.browser.conftest import sandbox_config

ROOT = Path(__file__).resolve().parents[2]


def _on_a_terminal(args: list[str], until: str | None, timeout: float = 60) -> tuple[subprocess.Popen[str], str]:
    """Start ``runner.py ARGS`` with stderr on a pty; read it until ``until`` appears or the process ends."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "runner.py", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=slave, text=True
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + timeout
    try:
        while (until is None or until.encode() not in seen) and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the process closed its end
                    break
                if not chunk:
                    break
                seen += chunk
            elif process.poll() is not None:
                break
    finally:
        os.close(master)
    return process, seen.decode(errors="replace").replace("\r\n", "\n")


def test_run_prints_one_readable_line_per_scenario(clean_sandbox: SandboxHandle, tmp_path: Path) -> None:
    clean_sandbox.fault_on("rates_stale")
    config = sandbox_config(clean_sandbox, tmp_path)
    args = ["run", "--config", str(config), "--scenario", "uptime", "--scenario", "rates_freshness"]
    process, text = _on_a_terminal(args, until=None)
    process.communicate(timeout=60)
    lines = [line for line in text.splitlines() if line.strip()]
    assert not any(line.lstrip().startswith("{") for line in lines), text
    assert any("PASS uptime [sandbox]" in line for line in lines), text
    (failed,) = [line for line in lines if "FAIL rates_freshness [sandbox]" in line]
    assert "at 'rates fresh': assertion: rates updated" in failed, failed
    assert process.returncode == 1


def test_json_stays_the_default_off_a_terminal_and_text_can_be_chosen(
    clean_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    config = sandbox_config(clean_sandbox, tmp_path)
    base = [sys.executable, "runner.py", "run", "--config", str(config), "--scenario", "uptime"]
    piped = subprocess.run(base, cwd=ROOT, capture_output=True, text=True, timeout=60)
    (line,) = [json.loads(line) for line in piped.stderr.splitlines() if "run finished" in line]
    assert line["scenario"] == "uptime" and line["result"] == "success"
    text = subprocess.run([*base, "--log-format", "text"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "PASS uptime [sandbox]" in text.stderr and "{" not in text.stderr, text.stderr


def test_serve_at_a_terminal_keeps_apscheduler_quiet(clean_sandbox: SandboxHandle, tmp_path: Path) -> None:
    config = sandbox_config(clean_sandbox, tmp_path)
    settings = yaml.safe_load(config.read_text())
    settings["scenarios"]["overrides"]["uptime"] = {"interval_seconds": 2}
    config.write_text(yaml.safe_dump(settings))
    args = ["serve", "--config", str(config), "--scenario", "uptime", "--listen", "127.0.0.1:0"]
    process, text = _on_a_terminal([*args, "--max-start-offset", "0"], until="PASS uptime [sandbox]")
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    assert "PASS uptime [sandbox]" in text, text
    assert "Adding job" not in text and "Running job" not in text, text
    assert not any(line.lstrip().startswith("{") for line in text.splitlines()), text


@pytest.mark.parametrize("command", ["run", "serve", "list", "check-config", "schema"])
def test_every_command_help_shows_exit_codes_and_an_example(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main([command, "--help"]) == 0
    shown = capsys.readouterr().out
    assert "exit codes:" in shown and "example" in shown, shown
    assert f"python runner.py {command}" in shown, shown
