"""The runner's pages in real Chromium: serve mode against the sandbox with ``spa_wrong_balance``
on. The status page shows spa_deposit_push failed and the others passing; its cell leads to the
run page (failing step, reason, message, a screenshot that loads); the run list filters by
outcome. Every page passes axe-core with no serious or critical violation, and each test saves
a screenshot of the page it checked (under its tmp_path)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from playwright.async_api import Page, async_playwright

from harness.html_report import write_html_report
from harness.results import RunResult
from probes.browser_pool import find_chromium
from sandbox.demo import DEMO_FAULT, DEMO_SCENARIOS, demo_config, serving_runner, wait_for_runs
from sandbox.testing import SandboxHandle, secret

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[1] / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
FAILING = "spa_deposit_push"


@pytest.fixture(scope="module")
def pages_url(sandbox: SandboxHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A runner serving its pages after one run of each demo scenario, the fault on during the runs."""
    directory = tmp_path_factory.mktemp("pages")
    sandbox.faults_clear()
    sandbox.fault_on(DEMO_FAULT)
    try:
        with serving_runner(demo_config(sandbox, directory, DEMO_SCENARIOS), directory) as url:
            states = wait_for_runs(url, list(DEMO_SCENARIOS))
            sandbox.faults_clear()
            assert states == {FAILING: "failure", "spa_load": "success", "rates_freshness": "success"}, states
            yield url
    finally:
        sandbox.faults_clear()


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing ({AXE}): scripts/setup.sh installs it (npm ci --prefix tests/a11y)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=find_chromium())
        try:
            context = await browser.new_context(bypass_csp=True)  # axe is injected as an inline script
            yield await context.new_page()
        finally:
            await browser.close()


async def accessibility_problems(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations of the page (WCAG 2.x A and AA rules)."""
    await page.add_script_tag(content=AXE.read_text())
    found: dict[str, Any] = await page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in found["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def test_status_page_shows_the_failing_scenario_failed_and_the_others_passing(
    pages_url: str, page: Page, tmp_path: Path
) -> None:
    await page.goto(pages_url)
    states = {
        await cell.get_attribute("data-scenario"): await cell.get_attribute("data-state")
        for cell in await page.locator("li.cell").all()
    }
    assert states == {FAILING: "failure", "spa_load": "success", "rates_freshness": "success"}
    assert await page.locator("h2", has_text="Team frontend").count() == 1  # grouped by owner team
    # keyboard: tabbing onto the failing run's bar shows its time, duration and reason
    bar = page.locator(f'li.cell[data-scenario="{FAILING}"] .strip a').first
    await bar.focus()
    tip = bar.locator(".tip")
    assert await tip.is_visible() and "assertion" in await tip.inner_text()
    await page.screenshot(path=tmp_path / "status.png", full_page=True)
    assert await accessibility_problems(page) == []


async def test_the_failed_cell_leads_to_its_run_page_with_step_reason_message_and_screenshot(
    pages_url: str, page: Page, tmp_path: Path
) -> None:
    await page.goto(pages_url)
    await page.locator(f'li.cell[data-scenario="{FAILING}"] a.badge').click()
    await page.wait_for_load_state()
    assert "/runs/" in page.url
    assert await page.locator('[data-field="failed_step"]').inner_text() == "deposit USD"
    assert await page.locator('[data-field="reason"]').inner_text() == "assertion"
    message = await page.locator('[data-field="message"]').inner_text()
    assert "balance" in message.lower(), message
    assert await page.locator(".waterfall li.failed .step-name").inner_text() == "deposit USD (failed: assertion)"
    screenshot = page.locator("img.screenshot")
    await screenshot.scroll_into_view_if_needed()
    assert await screenshot.evaluate("img => img.complete && img.naturalWidth > 100")
    downloads = await page.locator("a[download]").all_inner_texts()
    assert {"trace.zip", "network.har", "console.log"} <= set(downloads)
    assert await page.get_by_text("npx playwright show-trace").count() == 1
    trace_link = page.locator('a[download]:has-text("trace.zip")')
    trace = await page.request.get(await trace_link.evaluate("a => a.href"))
    assert trace.ok and (await trace.body())[:2] == b"PK"
    await page.screenshot(path=tmp_path / "run.png", full_page=True)
    assert await accessibility_problems(page) == []


async def test_the_run_list_filters_by_outcome(pages_url: str, page: Page, tmp_path: Path) -> None:
    await page.goto(pages_url + "runs")
    assert set(await _row_outcomes(page)) == {"success", "failure"}
    await page.get_by_label("Outcome").select_option("failure")
    await page.get_by_role("button", name="Filter").click()
    await page.wait_for_url("**/runs?*outcome=failure*")
    assert await _row_outcomes(page) == ["failure"]
    assert FAILING in await page.locator("tbody").inner_text()
    await page.screenshot(path=tmp_path / "runs.png", full_page=True)
    assert await accessibility_problems(page) == []


async def _row_outcomes(page: Page) -> list[str]:
    return [await row.get_attribute("data-outcome") or "" for row in await page.locator("tbody tr").all()]


async def test_the_static_report_shows_the_failed_run_with_its_screenshot_offline(
    pages_url: str, page: Page, tmp_path: Path
) -> None:
    """``run --html``'s writer over the same runs: a folder that opens from disk, nothing fetched elsewhere."""
    runs = httpx.get(pages_url + "api/runs", timeout=10).json()["runs"]
    index = write_html_report([RunResult.from_dict(r) for r in runs], tmp_path / "report", "eu")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    await page.goto(index.as_uri())
    failed = page.locator('article.run[data-outcome="failure"]')
    assert await failed.locator('[data-field="failed_step"]').inner_text() == "deposit USD"
    screenshot = failed.locator("img.screenshot")
    await screenshot.scroll_into_view_if_needed()
    assert await screenshot.evaluate("img => img.complete && img.naturalWidth > 100")
    assert requested and all(url.startswith("file://") for url in requested), requested
    await page.screenshot(path=tmp_path / "report.png", full_page=True)
    assert await accessibility_problems(page) == []


def test_no_sandbox_secret_in_any_page_api_answer_or_served_artifact(pages_url: str) -> None:
    """The secrets the probes used against the sandbox: in no page, no JSON answer, no file served."""
    secrets = [secret(name).encode() for name in ("probe_password", "reset_secret", "admin_token")]
    with httpx.Client(timeout=10, trust_env=False) as client:
        runs = client.get(pages_url + "api/runs").json()["runs"]
        answers = [client.get(pages_url + path) for path in ("", "runs", "api/status", "api/runs")]
        for run in runs:
            answers.append(client.get(f"{pages_url}runs/{run['run_id']}"))
            one = client.get(f"{pages_url}api/runs/{run['run_id']}")
            answers.append(one)
            for link in one.json()["artifacts"].values():
                answers.append(client.get(urljoin(f"{pages_url}api/runs/{run['run_id']}", link)))
    served = [a for a in answers if a.url.path.startswith("/artifacts/")]
    assert {a.url.path.rsplit("/", 1)[1] for a in served} >= {"trace.zip", "network.har", "console.log"}
    for answer in answers:
        assert answer.status_code == 200, answer.url
        contents = [answer.content]
        if answer.url.path.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(answer.content)) as trace:
                contents += [trace.read(name) for name in trace.namelist()]
        for content in contents:
            assert not any(value in content for value in secrets), f"a sandbox secret in {answer.url}"
