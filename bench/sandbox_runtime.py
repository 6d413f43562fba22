"""A sandbox on free ports and the runner's machinery pointed at it, in this process.

Benchmarks that measure the runner's own work (browser overhead) run its executor
(``harness.execute.execute``, what serve mode calls per run) in-process, so that no process
start-up is counted; those that need serve mode start ``runner.py serve`` (``bench.serve``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.runner_config import write_config
from config.loader import load_settings
from config.settings import Settings
from harness.discovery import ScenarioPlan, discover, plan
from sandbox.testing import SandboxHandle, running_sandbox

__all__ = ["load", "plans_for", "sandbox_for_bench"]


@contextlib.contextmanager
def sandbox_for_bench(work_dir: Path, extra_args: Sequence[str] = ()) -> Iterator[SandboxHandle]:
    """``python -m sandbox --profile fast`` on free loopback ports, log in ``work_dir``."""
    with running_sandbox(work_dir / "sandbox", extra_args) as sandbox:
        yield sandbox


def load(
    work_dir: Path,
    sandbox: SandboxHandle,
    *,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    only: Sequence[str] = (),
    runner: Mapping[str, Any] | None = None,
    mirrors: Mapping[str, str] | None = None,
) -> tuple[Path, Settings]:
    """Write a config for ``sandbox`` (see ``write_config``) and load it as the runner would."""
    found = discover()
    path = write_config(
        work_dir,
        sandbox.urls,
        overrides=overrides,
        only=only,
        runner=runner,
        known_scenarios=list(found),
        mirrors=mirrors,
    )
    return path, load_settings(path, scenario_names=found)


def plans_for(settings: Settings, names: Sequence[str]) -> list[ScenarioPlan]:
    return plan(settings, discover(), names=list(names))
