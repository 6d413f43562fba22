"""The README, the CLI, the Makefile, CI and the Dockerfile agree with what is built.

No Docker engine runs on the build machines: what the replay of the Dockerfile cannot show (the
user and the health check) is checked as text here; tests/deploy/test_image.py builds and runs it.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import runner
from config.settings import Settings
from harness.maintenance import MaintenanceCollector
from harness.metrics import RunnerMetrics

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_readme_names_the_two_commands_and_ci_calls_the_test_one() -> None:
    assert "make run" in README and "make test" in README
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_flag_in_the_readme_exists_in_the_cli() -> None:
    parser = runner.build_parser()
    subparsers: dict[str, argparse.ArgumentParser] = next(a for a in parser._actions if a.dest == "command").choices  # type: ignore[assignment]
    block = README.split("## The command line", 1)[1].split("```", 2)[1]
    for line in block.strip().splitlines():
        if "runner.py" in line:
            command = line.split("runner.py", 1)[1].split()[0]
        if command == "sandbox":
            continue
        known = {opt for action in subparsers[command]._actions for opt in action.option_strings}  # noqa: SLF001
        for flag in re.findall(r"(--[a-z-]+|-v)\b", line):
            assert flag in known, f"README documents {command} {flag}, the CLI has no such flag"


def test_every_metric_in_the_readme_is_exported_and_vice_versa() -> None:
    metrics = RunnerMetrics("r", ["USD"], ["database"])
    url = "http://127.0.0.1:1"
    target = {"vault_url": url, "concierge_url": url, "room_service_url": url, "spa_url": url}
    settings = Settings.model_validate({"targets": {"t": target}})
    exported = set()
    for family in [*metrics.registry.collect(), *MaintenanceCollector(lambda: settings).collect()]:
        exported.add(family.name + ("_total" if family.type == "counter" else ""))
    documented = set(re.findall(r"^\| `(synthetic_[a-z_]+)", README, re.M))
    assert documented == exported


def test_dockerfile_runs_serve_as_non_root_with_healthcheck_and_chromium() -> None:
    runner_stage = (ROOT / "Dockerfile").read_text().rsplit("\nFROM ", 1)[1]
    assert re.match(r"python:3\.1\d-slim", runner_stage)
    assert "apt-get install" in runner_stage and " chromium " in runner_stage
    user = re.findall(r"^USER (\S+)", runner_stage, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", runner_stage, re.M)
    assert 'ENTRYPOINT ["mystery-guest", "serve"]' in runner_stage
    assert "[sandbox" not in runner_stage  # the production image does not install the sandbox extra
