"""A flaky browser journey under the default ``runner.browser.trace: on_retry``: the first
attempt fails on a real page fault and leaves its screenshot and console log (no recording),
the retry records a trace, passes and keeps it; JUnit, the JSON report and the CI summary
report both attempts with the evidence of each, and no artifact holds the password."""

from __future__ import annotations

import json
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
from aiohttp import web

from config.loader import load_settings
from harness import About, Run, Scenario
from harness.browser import browser_page
from harness.discovery import ScenarioPlan, options_for
from harness.oneshot import run_once
from harness.reports import write_json, write_junit
from harness.runtime import Runtime
from harness.summary import render_summary
from tests.local_server import serving
from tests.support import PASSWORD, TARGET, local_config

pytestmark = pytest.mark.browser

LOGIN = (
    "<html><body><form><input data-testid=login-username>"
    "<input data-testid=login-password type=password></form>{script}</body></html>"
)
THROWS = "<script>null.firstLoadOnly()</script>"


@pytest.fixture
async def flaky_site() -> AsyncIterator[str]:
    """A login page that throws on its first load only (a fault that fails one attempt)."""
    loads = 0

    async def login(_: web.Request) -> web.Response:
        nonlocal loads
        loads += 1
        return web.Response(text=LOGIN.format(script=THROWS if loads == 1 else ""), content_type="text/html")

    app = web.Application()
    app.router.add_get("/", login)
    async with serving(app) as url:
        yield url


class FlakyLogin(Scenario):
    """Types the password into the login page, which must have suffered nothing."""

    about = About("browser_flaky_login", tags=("browser",), interval="1m", timeout="30s")

    async def journey(self, run: Run) -> None:
        async with browser_page(run) as page, run.step("log in"):
            await page.goto("/")
            await page.fill_secret(run.contract.selectors.login_password, run.password(), "the password field")
            page.expect_clean()


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file of a run's folder and every member of its trace."""
    files = {path.name: path.read_bytes() for path in folder.iterdir()}
    if (folder / "trace.zip").exists():
        with zipfile.ZipFile(folder / "trace.zip") as trace:
            files |= {f"trace.zip:{name}": trace.read(name) for name in trace.namelist()}
    return files


async def test_the_retry_records_the_trace_and_every_attempt_is_reported(flaky_site: str, tmp_path: Path) -> None:
    runtime = Runtime(load_settings(local_config(tmp_path, flaky_site)))
    plan = ScenarioPlan(FlakyLogin, TARGET, 60.0, 30.0, options_for(runtime.settings, FlakyLogin))
    (result,) = await run_once(runtime, [plan], retries=1)

    assert (result.passed, result.flaky, result.attempts) == (True, True, 2), result.message
    (first,) = result.earlier_attempts
    assert (first.failed_step, first.reason) == ("log in", "page_error")
    assert "firstLoadOnly" in first.message
    assert first.artifacts_dir is not None and result.artifacts_dir is not None
    failed, retried = Path(first.artifacts_dir), Path(result.artifacts_dir)

    # The first attempt: what it looked like and what the page went through; nothing was recorded.
    failed_files = files_of(failed)
    assert sorted(failed_files) == ["console.log", "screenshot.png"]
    log = failed_files["console.log"].decode()
    assert "FAILED page_error" in log and "uncaught TypeError" in log and "no trace: not recorded" in log
    # The retry: the trace it recorded (the typing is in it), kept although it passed.
    retried_files = files_of(retried)
    assert {"console.log", "trace.zip"} == {name for name in retried_files if ":" not in name}
    assert "result passed" in retried_files["console.log"].decode()
    assert any(b'"fill"' in data for name, data in retried_files.items() if name.startswith("trace.zip:"))
    for name, data in (failed_files | {f"retry {n}": d for n, d in retried_files.items()}).items():
        assert PASSWORD.encode() not in data, name
    assert not runtime.failing  # it passed: the journey's next run records nothing again

    # Every report keeps both attempts, each with its own evidence.
    write_junit([result], tmp_path / "junit.xml")
    case = ElementTree.parse(tmp_path / "junit.xml").getroot().find("testcase")
    assert case is not None
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert (properties["flaky"], properties["attempts"], properties["artifacts"]) == ("true", "2", str(retried))
    (flaky_failure,) = case.iter("flakyFailure")
    assert f"artifacts: {failed}" in (flaky_failure.get("message") or "")
    write_json([result], tmp_path / "report.json")
    (reported,) = json.loads((tmp_path / "report.json").read_text())["results"]
    assert [a["artifacts_dir"] for a in reported["earlier_attempts"]] == [str(failed)]
    assert reported["artifacts_dir"] == str(retried) and reported["flaky"]
    summary = render_summary([result])
    assert "1 flaky" in summary and "attempt 1 of 2: failure at step 'log in'" in summary
    assert f"artifacts of run `{first.run_id}`" in summary and f"artifacts of run `{result.run_id}`" in summary
