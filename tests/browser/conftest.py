"""Fixtures of the browser tests: a page server of our own, configs for it and for the sandbox.

Pages of our own (``page_server``) let a test make a page misbehave exactly (throw, log an
error, miss an asset) without the sandbox; journeys run against the session ``sandbox``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from config.loader import load_settings
from harness.discovery import discover
from harness.results import RunResult
from harness.runtime import Runtime
from sandbox.testing import SandboxHandle
from tests.local_server import serving
from tests.support import FAST_DEADLINES, local_config, run_cli, write_config

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


@pytest.fixture
async def page_runtime(tmp_path: Path, page_server: str) -> AsyncIterator[Runtime]:
    """A runtime whose every service is the page server (``local_config``); closed after the test."""
    runtime = Runtime(load_settings(local_config(tmp_path, page_server)))
    yield runtime
    await runtime.aclose()


def sandbox_config(
    sandbox: SandboxHandle,
    tmp_path: Path,
    options: dict[str, dict[str, Any]] | None = None,
    browser: dict[str, Any] | None = None,
    top: dict[str, Any] | None = None,
) -> Path:
    """``config/sandbox.yaml`` pointed at the session sandbox, fast deadlines for the browser journeys."""
    names = list(options) if options else BROWSER_JOURNEYS
    path = write_config(tmp_path, sandbox, names, options=options, runner={"browser": browser or {}}, top=top)
    load_settings(path, scenario_names=discover())  # a broken config fails here, clearly
    return path


def run_runner(config: Path, *args: str, timeout: float = 240) -> tuple[int, list[dict[str, Any]], str]:
    """``python runner.py run --config CONFIG ARGS --report R`` in a subprocess: exit code, results, stderr."""
    report = config.parent / f"report-{len(list(config.parent.glob('report-*')))}.json"
    done = run_cli("run", "--config", str(config), "--report", str(report), *args, timeout=timeout)
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
