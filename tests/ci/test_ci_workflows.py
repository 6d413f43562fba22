"""The CI pack of ``docs/ci/``: each workflow file is well formed, and every command in it
that calls the runner runs green against the sandbox, exactly as written.

Only what the CI job's environment supplies is substituted (as the files' headers list):
``MG_CONFIG`` points at the sandbox, ``REPORTS`` and ``GITHUB_STEP_SUMMARY`` into a
temporary directory. The commands run with bash, as both CI systems run them, from the
repository root, with this virtualenv's ``python`` first on PATH.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.testing import SandboxHandle
from tests.browser.conftest import sandbox_config

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "docs" / "ci" / "github-actions.yml"
GITLAB = ROOT / "docs" / "ci" / "gitlab-ci.yml"


def _load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), path
    return document


def _github_job() -> dict[str, Any]:
    document = _load(GITHUB)
    triggers = document.get("on", document.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers and "deployment_status" in triggers and "workflow_dispatch" in triggers
    (job,) = document["jobs"].values()
    assert job["runs-on"] and job["timeout-minutes"] > 0
    for step in job["steps"]:
        assert ("uses" in step) != ("run" in step), step
    return dict(job)


def _gitlab_job() -> dict[str, Any]:
    (job,) = (value for key, value in _load(GITLAB).items() if isinstance(value, dict) and "script" in value)
    return dict(job)


def _runner_commands(commands: list[str]) -> list[str]:
    return [command for command in commands if "runner.py" in command]


def test_github_workflow_has_what_a_gate_needs() -> None:
    job = _github_job()
    uses = [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]
    assert uses[:2] == ["actions/checkout", "actions/setup-python"]
    (upload,) = [step for step in job["steps"] if step.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["if"] == "always()" and upload["with"]["path"] == "${{ env.REPORTS }}"
    (gate,) = [c for c in _runner_commands([s.get("run", "") for s in job["steps"]]) if " run " in c]
    for flag in ("--wait-healthy", "--tag smoke", "--junit", "--report", '--summary "$GITHUB_STEP_SUMMARY"'):
        assert flag in gate, flag
    assert "${{" not in gate, "a run step reads the job's env, so the test runs it as written"


def test_gitlab_job_has_what_a_gate_needs() -> None:
    job = _gitlab_job()
    assert job["stage"] and job["image"].startswith("python:3.11")
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert artifacts["reports"]["junit"] == f"{job['variables']['REPORTS']}/synthetic.xml"
    assert f"{job['variables']['REPORTS']}/" in artifacts["paths"]
    (gate,) = [c for c in _runner_commands(job["script"]) if " run " in c]
    for flag in ("--wait-healthy", "--tag smoke", "--junit", "--report", "--summary"):
        assert flag in gate, flag


def _run_as_ci(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command],
        cwd=ROOT,
        env={**os.environ, **env, "PATH": path},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_every_runner_command_of_the_ci_files_runs_green_against_the_sandbox(
    ci: str, clean_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    job = _github_job() if ci == "github" else _gitlab_job()
    commands = _runner_commands([s.get("run", "") for s in job["steps"]] if ci == "github" else job["script"])
    assert len(commands) == 2  # check-config, then the gate
    reports = tmp_path / "reports"
    summary = tmp_path / "step-summary.md"
    env = {"MG_CONFIG": str(sandbox_config(clean_sandbox, tmp_path)), "REPORTS": str(reports)}
    if ci == "github":
        env["GITHUB_STEP_SUMMARY"] = str(summary)
    for command in commands:
        done = _run_as_ci(command, env)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    suite = ET.parse(reports / "synthetic.xml").getroot()
    names = {case.get("name") for case in suite.iter("testcase")}
    assert {"uptime", "rates_freshness", "bet_settlement", "chat", "spa_load"} <= names
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    assert json.loads((reports / "synthetic.json").read_text())["passed"] is True
    written = (summary if ci == "github" else reports / "summary.md").read_text(encoding="utf-8")
    assert written.startswith("## Mystery Guest synthetic checks: ✅ passed")
    assert "| ✅ | uptime | sandbox | success |" in written
