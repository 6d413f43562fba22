"""Fixtures of the browser tests: a page server of our own, configs for it and for the sandbox.

Pages of our own (``page_server``) let a test make a page misbehave exactly (throw, log an
error, miss an asset) without the sandbox; journeys run against the session ``sandbox``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from config.loader import load_settings
from harness.discovery import discover
from harness.results import RunResult
from sandbox.testing import SandboxHandle
from tests.local_server import serving
from tests.support import FAST_DEADLINES, write_config

REPO = Path(__file__).resolve().parents[2]
SECRETS = REPO / "config" / "sandbox-secrets"
LOCAL_PASSWORD = "pw-browser-test-Qw3rTy9"
LOCAL_RESET_SECRET = "rs-browser-test-Zx8Cv7Bn"

BROWSER_JOURNEYS = [name for name in FAST_DEADLINES if name.startswith("spa_")]

PAGES = {
    "/": "<html><head><title>ok</title></head><body><h1 id=ready>hello</h1>"
    "<form><input data-testid=login-username><input data-testid=login-password type=password>"
    "<button data-testid=login-submit>Sign in</button></form></body></html>",
    "/console-error": "<html><body><p>x</p><script>console.error('boom from the page')</script></body></html>",
    "/throws": "<html><body><p>x</p><script>null.nope()</script></body></html>",
    "/missing-asset": '<html><body><p>x</p><script src="/assets/gone.js"></script></body></html>',
    "/storage": "<html><body><p id=seen></p><script>document.getElementById('seen').textContent ="
    " localStorage.getItem('k') || 'empty'; localStorage.setItem('k', 'set-by-an-earlier-run');"
    " document.cookie = 'c=1';</script></body></html>",
    "/slow": "<html><body><p>slow page</p></body></html>",
}


SEEN_HEADERS: list[dict[str, str]] = []  # the headers of every request the page server answered


async def _page(request: web.Request) -> web.Response:
    SEEN_HEADERS.append(dict(request.headers))
    body = PAGES.get(request.path)
    if body is None:
        return web.Response(status=404, text="not found")
    return web.Response(text=body, content_type="text/html")


@pytest.fixture
async def page_server() -> AsyncIterator[str]:
    """A tiny site on a free loopback port; its URL."""
    app = web.Application()
    app.router.add_get("/{tail:.*}", _page)
    async with serving(app) as url:
        yield url


def local_config(tmp_path: Path, url: str, browser: dict[str, Any] | None = None) -> Path:
    """A config whose every service is ``url`` (a page server), secrets in files."""
    (tmp_path / "pw").write_text(LOCAL_PASSWORD + "\n")
    (tmp_path / "reset").write_text(LOCAL_RESET_SECRET + "\n")
    config = {
        "runner": {"region": "test", "artifacts_dir": str(tmp_path / "artifacts"), "browser": browser or {}},
        "targets": {
            "local": {
                "vault_url": url,
                "concierge_url": url,
                "room_service_url": url,
                "spa_url": url,
                "currencies": ["USD"],
                "reset_secret": {"file": str(tmp_path / "reset")},
                "accounts": {"password": {"file": str(tmp_path / "pw")}, "default": "probe-{region}-{scenario}"},
            }
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def sandbox_config(
    sandbox: SandboxHandle,
    tmp_path: Path,
    options: dict[str, dict[str, Any]] | None = None,
    browser: dict[str, Any] | None = None,
) -> Path:
    """``config/sandbox.yaml`` pointed at the session sandbox, fast deadlines for the browser journeys."""
    names = list(options) if options else BROWSER_JOURNEYS
    path = write_config(tmp_path, sandbox, names, options=options, runner={"browser": browser or {}})
    load_settings(path, scenario_names=discover())  # a broken config fails here, clearly
    return path


def run_runner(config: Path, *args: str, timeout: float = 240) -> tuple[int, list[dict[str, Any]], str]:
    """``python runner.py run --config CONFIG ARGS --report R`` in a subprocess: exit code, results, stderr."""
    report = config.parent / f"report-{len(list(config.parent.glob('report-*')))}.json"
    done = subprocess.run(
        [sys.executable, "runner.py", "run", "--config", str(config), "--report", str(report), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    results = json.loads(report.read_text())["results"] if report.exists() else []
    return done.returncode, results, done.stderr


def failures(results: list[dict[str, Any]] | list[RunResult]) -> dict[str, tuple[str | None, str | None]]:
    """Scenario -> (failing step, reason) of every run that did not pass."""
    found = {}
    for result in results:
        row = result.to_dict() if isinstance(result, RunResult) else result
        if row["outcome"] != "success":
            found[row["scenario"]] = (row["failed_step"], row["reason"])
    return found
