#!/usr/bin/env python3
"""``make screenshots``: the README's pictures of the status page and of a failed run's page.

Starts a sandbox, switches ``spa_wrong_balance`` on, runs ``runner.py serve`` until each demo
scenario has run once (``sandbox.demo``), then photographs the pages in Debian's Chromium into
``docs/screenshots/``: desktop width, and the status page at a phone's width.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from probes.browser_pool import find_chromium  # noqa: E402
from sandbox.demo import DEMO_FAULT, DEMO_SCENARIOS, demo_config, serving_runner, wait_for_runs  # noqa: E402
from sandbox.testing import running_sandbox  # noqa: E402

OUT = REPO / "docs" / "screenshots"
FAILING = "spa_deposit_push"


async def photograph(url: str) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=find_chromium())
        try:
            desktop = await browser.new_page(viewport={"width": 1100, "height": 700})
            await desktop.goto(url)
            await desktop.screenshot(path=OUT / "status.png", full_page=True)
            await desktop.locator(f'li.cell[data-scenario="{FAILING}"] a.badge').click()
            await desktop.wait_for_load_state()
            await desktop.screenshot(path=OUT / "failed-run.png", full_page=True)
            phone = await browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
            await phone.goto(url)
            await phone.screenshot(path=OUT / "status-phone.png", full_page=True)
        finally:
            await browser.close()


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mg-screenshots-") as scratch, running_sandbox(Path(scratch)) as sandbox:
        sandbox.fault_on(DEMO_FAULT)
        with serving_runner(demo_config(sandbox, Path(scratch), DEMO_SCENARIOS), Path(scratch)) as url:
            wait_for_runs(url, list(DEMO_SCENARIOS))
            sandbox.faults_clear()
            asyncio.run(photograph(url))
    for name in ("status.png", "failed-run.png", "status-phone.png"):
        print(f"wrote {(OUT / name).relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
