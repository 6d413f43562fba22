"""What many tests share: one builder of runner configs, one table of fast deadlines, running journeys once.

A test states only what differs from ``config/sandbox.yaml`` pointed at its sandbox (``write_config``)
or at a local server that stands in for the whole platform (``local_config``): the scenarios it runs,
the region, an option or a target field.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from config.loader import load_settings
from config.sandbox_config import FAST_DEADLINES, TARGET, URL_FIELDS, fast_sandbox_config
from config.sandbox_config import write_config as write_yaml
from harness.discovery import discover, plan
from harness.oneshot import run_once
from harness.results import Outcome, RunResult
from harness.runtime import Runtime
from sandbox.testing import SandboxHandle

__all__ = [
    "FAST_DEADLINES",
    "NO_SOCKETS",
    "PASSWORD",
    "REGION",
    "RESET_SECRET",
    "ROOT",
    "SECRETS",
    "TARGET",
    "describe",
    "local_config",
    "run_cli",
    "run_journeys",
    "run_passing",
    "same_url",
    "sample",
    "stop_process",
    "where",
    "write_config",
]

ROOT = Path(__file__).resolve().parents[1]
SECRETS = ROOT / "config" / "sandbox-secrets"
REGION = "eu"
# The secrets every config of these tests reads (sandbox-only values): a test looks for them where they must not be.
PASSWORD = (SECRETS / "probe_password").read_text().strip()
RESET_SECRET = (SECRETS / "reset_secret").read_text().strip()
NO_SOCKETS: dict[str, Any] = {"socket_transports": []}  # uptime's options where no socket.io server answers


def same_url(url: str) -> dict[str, str]:
    """Every service at ``url``: a local server that stands in for the whole platform."""
    return dict.fromkeys(URL_FIELDS.values(), url)


def write_config(
    folder: Path,
    urls: Mapping[str, str] | SandboxHandle,
    names: Iterable[str] | None = None,
    *,
    region: str = REGION,
    timeout_seconds: float | Mapping[str, float] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    target: Mapping[str, Any] | None = None,
    accounts: Mapping[str, Any] | None = None,
    runner: Mapping[str, Any] | None = None,
    scenarios: Mapping[str, Any] | None = None,
    top: Mapping[str, Any] | None = None,
) -> Path:
    """``config/sandbox.yaml`` at ``urls`` (or a sandbox's), artifacts in ``folder``, fast deadlines for ``names``.

    ``names`` default to every scenario of the fast-deadline table; ``timeout_seconds`` is theirs (one for
    all, or by name).
    ``options`` are merged over the fast deadlines per scenario; ``target``, ``accounts``, ``runner``,
    ``scenarios`` and ``top`` are merged over the target's, its accounts', the runner's, the scenarios'
    and the top-level fields.
    """
    config = fast_sandbox_config(
        urls.target_urls() if isinstance(urls, SandboxHandle) else urls,
        folder / "artifacts",
        names,
        timeout_seconds=timeout_seconds,
        options=options,
        scenarios=scenarios,
        runner={"region": region, **(runner or {})},
        target=target,
        accounts=accounts,
    )
    return write_yaml({**config, **(top or {})}, folder / "config.yaml")


def local_config(
    folder: Path,
    url: str,
    names: Iterable[str] = (),
    *,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    target: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Path:
    """``write_config`` with every service at ``url``, a local server that speaks no socket.io.

    Money may not move and USD is the only currency (unless ``target`` says otherwise); any scenario,
    a test's own too, logs in as ``probe-{region}-{name}``. ``names`` (uptime and those of ``options``
    always) and ``fields`` go to ``write_config``.
    """
    options = {**(options or {}), "uptime": {**NO_SOCKETS, **(options or {}).get("uptime", {})}}
    return write_config(
        folder,
        same_url(url),
        list(dict.fromkeys([*names, *options])),
        options=options,
        target={"allow_money": False, "currencies": ["USD"], **(target or {})},
        accounts={"default": "probe-{region}-{scenario}"},
        **fields,
    )


async def run_journeys(config: Path, names: list[str]) -> tuple[dict[str, RunResult], CollectorRegistry]:
    """Load ``config`` as ``runner.py run`` does and run ``names`` once, all at the same time."""
    found = discover()
    settings = load_settings(config, scenario_names=found)
    registry = CollectorRegistry()
    runtime = Runtime(settings, registry=registry)
    results = await run_once(runtime, plan(settings, found, names=names))
    return {result.scenario: result for result in results}, registry


async def run_passing(
    folder: Path, sandbox: SandboxHandle, names: list[str]
) -> tuple[dict[str, RunResult], CollectorRegistry]:
    """``names`` run once against a healthy ``sandbox``; each must pass."""
    results, registry = await run_journeys(write_config(folder, sandbox, names), names)
    assert all(r.outcome is Outcome.SUCCESS for r in results.values()), describe(results)
    return results, registry


def where(result: RunResult) -> tuple[str | None, str | None]:
    """(failing step, reason) of a run, or (None, None) when it passed."""
    return result.failed_step, result.reason


def describe(results: dict[str, RunResult]) -> str:
    return "\n".join(f"{r.scenario}: {r.outcome} {r.failed_step} {r.reason} {r.message}" for r in results.values())


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, {**labels, "target": TARGET, "region": REGION})


def run_cli(*args: str, timeout: float = 90, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python runner.py ARGS`` in a subprocess from the repository root, its output captured as text."""
    return subprocess.run(
        [sys.executable, "runner.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env
    )


def stop_process(process: subprocess.Popen[Any], grace_seconds: float, sig: int = signal.SIGTERM) -> None:
    """Ask ``process`` to stop with ``sig``; kill it when it has not within ``grace_seconds``."""
    process.send_signal(sig)
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
