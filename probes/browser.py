"""The browser probe: load a page in a real Chromium and judge it as its customer would.

    async def probe(target: str, module: BrowserModule, ctx: ProbeContext) -> BrowserResult

Success when the document answers below 400, the page logs no console error and no uncaught
error, none of its own requests answers 4xx/5xx and no request fails (and, when given,
``ready_selector`` becomes visible). Phases are the browser's own timings: ``ttfb``,
``dom_content_loaded``, ``load``, ``fcp``, ``lcp``.

This probe launches a browser per call (it has no runner to keep one). Scenarios use the
runner's long-lived browser instead: ``harness.browser.browser_page(run)``.

Modules: ``browser_pool`` (finding and keeping Chromium), ``browser_watch`` (what a page went
through), ``browser_artifacts`` (scrubbed trace, HAR, console log), ``browser_process``
(Chromium's processes), and ``harness.browser`` (the scenario API, the engine's per-run adapter).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from playwright.async_api import Browser, async_playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout
from pydantic import BaseModel, ConfigDict, Field

from probes.browser_pool import BrowserMissing, find_chromium, launch
from probes.browser_watch import PageWatch, origin_of, page_timings
from probes.context import ProbeContext
from probes.result import BrowserResult, Reason

__all__ = ["BrowserModule", "probe", "verdict"]


class BrowserModule(BaseModel):
    """One page load as data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = "/"
    timeout_seconds: float = Field(20.0, gt=0)
    executable_path: Path | None = None  # None: Debian/Ubuntu Chromium found automatically
    ready_selector: str | None = None  # an element that must become visible, e.g. the login form


def verdict(watch: PageWatch) -> tuple[Reason, str] | None:
    """The first thing a customer would suffer from, as (reason, message), or None."""
    if watch.crashed:
        return Reason.BROWSER_CRASH, "the page crashed"
    if watch.http_errors:
        return Reason.HTTP_STATUS, _listed("the page's own requests failed", watch.http_errors)
    if watch.page_errors:
        return Reason.PAGE_ERROR, _listed("uncaught error in the page", watch.page_errors)
    if watch.console_errors:
        return Reason.PAGE_ERROR, _listed("console error", watch.console_errors)
    if watch.failed_requests:
        return Reason.CONNECT_ERROR, _listed("request failed", watch.failed_requests)
    return None


def _listed(what: str, items: list[str]) -> str:
    more = f" (+{len(items) - 1} more)" if len(items) > 1 else ""
    return f"{what}: {items[0][:200]}{more}"


async def probe(target: str, module: BrowserModule, ctx: ProbeContext) -> BrowserResult:
    """Load ``target`` + ``module.path`` in a fresh Chromium. Never raises for a target's failure."""
    try:
        executable = find_chromium(module.executable_path)
    except BrowserMissing as exc:
        return BrowserResult.failed(Reason.ERROR, str(exc))
    async with async_playwright() as playwright:
        try:
            browser = await launch(playwright, executable)
        except PlaywrightError as exc:
            return BrowserResult.failed(Reason.BROWSER_CRASH, f"the browser did not start: {_first_line(exc)}")
        try:
            return await _load(browser, target.rstrip("/") + module.path, module, ctx)
        except PlaywrightError as exc:  # the browser itself failed (the page's failures are handled in _load)
            return BrowserResult.failed(Reason.BROWSER_CRASH, f"the browser failed: {_first_line(exc)}")
        finally:
            with contextlib.suppress(Exception):
                await browser.close()


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


async def _load(browser: Browser, url: str, module: BrowserModule, ctx: ProbeContext) -> BrowserResult:
    started = time.perf_counter()
    context = await browser.new_context(extra_http_headers=ctx.headers())
    page = await context.new_page()
    watch = PageWatch(page, origin_of(url))
    phases: dict[str, float] = {}
    try:
        response = await page.goto(url, wait_until="load", timeout=module.timeout_seconds * 1000)
        phases = await page_timings(page)
        if response is not None and response.status >= 400:
            return BrowserResult(
                success=False,
                reason=Reason.HTTP_STATUS,
                message=f"GET {module.path} answered {response.status}",
                phases=phases,
                status=response.status,
            )
        if module.ready_selector:
            remaining = max(0.1, module.timeout_seconds - (time.perf_counter() - started))
            await page.locator(module.ready_selector).first.wait_for(state="visible", timeout=remaining * 1000)
    except PlaywrightTimeout:
        what = module.ready_selector if module.ready_selector else f"load of {module.path}"
        return BrowserResult.failed(Reason.TIMEOUT, f"{what}: not within {module.timeout_seconds:g} s", phases)
    except PlaywrightError as exc:
        reason = Reason.BROWSER_CRASH if watch.crashed else Reason.CONNECT_ERROR
        return BrowserResult.failed(reason, f"GET {module.path}: {_first_line(exc)}", phases)
    phases["total"] = time.perf_counter() - started
    found = verdict(watch)
    if found is not None:
        return BrowserResult(
            success=False, reason=found[0], message=found[1], phases=phases, console=tuple(watch.log_lines())
        )
    return BrowserResult(success=True, phases=phases, status=response.status if response else None)
