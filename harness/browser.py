"""The scenario's browser: a fresh context and page per run in the runner's one Chromium.

    async with browser_page(run) as page:          # step "start the browser"
        async with run.step("open the app"):
            await page.goto("/")
            page.expect_clean()
            await page.wait_visible(run.contract.selectors.login_username, "the login form")

The engine's per-run adapter for the browser, beside ``harness.clients`` (HTTP): the probes
(``probes.browser_pool``, ``browser_watch``, ``browser_artifacts``) know nothing of runs. The
browser is kept in ``run.runtime.browser_pool`` (closed by ``run.runtime.on_close``);
each run gets its own context (no cookie or storage crosses runs) and holds one of
``runner.browser.max_concurrent_runs`` slots until its context is closed. Playwright's
exceptions are translated here, at one boundary: a timeout is ``timeout``, a crashed or hung
browser is ``browser_crash`` (and the browser is replaced, not the runner), a refused
connection is ``connect_error``.

When the run fails, its artifact folder (``run.artifacts_dir``) gets ``screenshot.png``
(password fields masked) and ``console.log`` (its steps and what the page went through), and,
when the run recorded them, ``trace.zip`` and ``network.har``, all scrubbed of every secret
(``probes.browser_artifacts``). Recording a trace (screenshots, DOM snapshots) and a HAR costs
about a third more of a journey's time (``bench/RESULTS.md`` section 2), so ``runner.browser.trace``
says which runs pay it: ``on_retry`` (the default) only the run after a failure of the same
journey, which keeps its trace whether it passes or fails; ``on_failure`` every run, kept when
it fails; ``always`` (and ``run -v``) every run, always kept. Each scenario keeps its newest
``keep_artifacts_per_scenario`` runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playwright.async_api import Browser, BrowserContext, Locator, Page
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from harness.errors import RunSkipped, StepFailure
from harness.runtime import Runtime
from harness.secrets import known_secrets, register_secret, register_session_secret
from probes.browser import verdict
from probes.browser_artifacts import prune_runs, save_har, save_trace, write_text_scrubbed
from probes.browser_pool import BrowserMissing, BrowserPool
from probes.browser_watch import PageWatch, origin_of, page_timings
from probes.result import Reason

if TYPE_CHECKING:
    from harness.run import Run

__all__ = ["BrowserPage", "browser_page", "open_page", "pool_for", "records_trace"]

log = logging.getLogger("probe.browser")

CONTEXT_TIMEOUT_SECONDS = 15.0
CLOSE_TIMEOUT_SECONDS = 10.0
FOLLOW_SECONDS = 5.0
SCREENSHOT_TIMEOUT_MS = 5000
TRACE_STOP_TIMEOUT_SECONDS = 15.0
TIMINGS_SECONDS = 5.0  # reading a page's timings (its wait for a first paint is 1 s at most)
CLOSE_TIMINGS_SECONDS = 2.0  # how long a closing page still waits for that read
VIEWPORT = {"width": 1280, "height": 800}
_CLOSED_MARKS = ("has been closed", "Target crashed", "Browser closed", "Connection closed", "crashed")


def records_trace(run: Run) -> bool:
    """Does ``run`` record a trace and a HAR? (``runner.browser.trace``; ``run -v`` records every run.)"""
    if run.runtime.verbose or run.runtime.settings.runner.browser.trace != "on_retry":
        return True
    return (run.scenario.name, run.target_name) in run.runtime.failing  # a retry, or the next run after a failure


def pool_for(runtime: Runtime) -> BrowserPool:
    """The runtime's browser pool, created on first use and closed with the runtime."""
    pool = runtime.browser_pool
    if pool is None:
        settings = runtime.settings.runner.browser
        pool = runtime.browser_pool = BrowserPool(settings.executable_path, settings.max_concurrent_runs)
        runtime.on_close(pool.close)
    return pool


def _closed(exc: BaseException) -> bool:
    return type(exc).__name__ == "TargetClosedError" or any(mark in str(exc) for mark in _CLOSED_MARKS)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


class BrowserPage:
    """One run's page in its own context, watched from the first request on."""

    def __init__(
        self,
        run: Run,
        pool: BrowserPool,
        browser: Browser,
        context: BrowserContext,
        page: Page,
        scratch: Path,
        ui_timeout_seconds: float,
        recording: bool,
    ) -> None:
        self.run = run
        self.pool = pool
        self.browser = browser
        self.context = context
        self.page = page
        self.scratch = scratch
        self.ui_timeout_seconds = ui_timeout_seconds
        self.recording = recording  # a trace and a HAR (records_trace)
        self.base_url = run.target.service_urls()["cdn"]
        self.watch = PageWatch(page, origin_of(self.base_url), on_secret=register_session_secret)
        self._closing: asyncio.Future[str | None] | None = None
        self._timings: asyncio.Future[None] | None = None  # the last page's timings, read beside the journey
        run.on_step_start(self._follow_step)

    # -- opening and closing ---------------------------------------------------------------
    @classmethod
    async def open(cls, run: Run, pool: BrowserPool, ui_timeout_seconds: float) -> BrowserPage:
        await pool.slots.acquire()
        scratch = pool.scratch()
        recording = records_trace(run)
        har: dict[str, Any] = {"record_har_path": str(scratch / "network.har"), "record_har_content": "embed"}
        try:
            context = await pool.new_context(
                CONTEXT_TIMEOUT_SECONDS,
                base_url=run.target.service_urls()["cdn"],
                extra_http_headers=run.probe.headers(),
                viewport=VIEWPORT,
                **(har if recording else {}),
            )
            context.set_default_timeout(ui_timeout_seconds * 1000)
            if recording:
                await context.tracing.start(
                    screenshots=True, snapshots=True, sources=False, title=f"{run.scenario.name} {run.probe.run_id}"
                )
            page = await context.new_page()
        except BaseException as exc:
            pool.slots.release()
            shutil.rmtree(scratch, ignore_errors=True)
            if isinstance(exc, BrowserMissing):
                raise StepFailure(Reason.ERROR, str(exc)) from None
            if isinstance(exc, TimeoutError):
                raise StepFailure(Reason.BROWSER_CRASH, "the browser gave no new page in time: replaced") from None
            if isinstance(exc, PlaywrightError):
                await pool.replace(pool.current, "could not open a page")
                raise StepFailure(
                    Reason.BROWSER_CRASH, f"the browser could not open a page: {_first_line(exc)}"
                ) from None
            raise
        assert context.browser is not None
        return cls(run, pool, context.browser, context, page, scratch, ui_timeout_seconds, recording)

    async def _follow_step(self) -> None:
        """Send the new step's ``traceparent``, so the platform's spans nest under that step."""
        if self._closing is None:
            with contextlib.suppress(PlaywrightError, TimeoutError):  # a dead browser fails the step's own work
                await asyncio.wait_for(self.context.set_extra_http_headers(self.run.probe.headers()), FOLLOW_SECONDS)

    async def close(self, failed: bool) -> str | None:
        """Close the context, keeping artifacts when ``failed`` or a trace is kept; idempotent, never raises.

        Returns a problem worth failing a passed run for (the browser hung while closing).
        """
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close(failed))
        return await asyncio.shield(self._closing)

    def _keeps_trace(self, failed: bool) -> bool:
        """A recorded trace is kept when the run failed, or always unless only failures keep theirs."""
        if not self.recording:
            return False
        return failed or self.run.runtime.verbose or self.run.runtime.settings.runner.browser.trace != "on_failure"

    async def _close(self, failed: bool) -> str | None:
        keeps_trace = self._keeps_trace(failed)
        keep = failed or keeps_trace
        problem = None
        notes: list[str] = []
        try:
            await self._timings_read(CLOSE_TIMINGS_SECONDS)
            if failed and not self.watch.crashed:
                await self._screenshot(notes)
            if self.recording:
                await self._stop_tracing(keeps_trace, notes)
            elif failed:
                notes.append("no trace: not recorded on this run (runner.browser.trace: on_retry records the next)")
            try:
                await asyncio.wait_for(self.context.close(), CLOSE_TIMEOUT_SECONDS)
            except Exception as exc:
                if not _closed(exc):  # it hung: a browser that cannot close a context serves no other run
                    problem = "the browser did not close the run's context in time: it was replaced"
                    await self.pool.replace(self.browser, "closing a context hung")
                elif not self.browser.is_connected():  # it died: make sure no process of it is left
                    await self.pool.replace(self.browser, "the browser died")
            await self.watch.settle()
            if keep:
                folder = self.run.artifacts_dir
                await asyncio.to_thread(self._save, folder, failed, notes)
                self.run.keep_artifacts = True
        except Exception:  # artifacts are a help for triage, never a reason for a run to fail
            log.warning("saving browser artifacts failed", exc_info=True)
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.pool.slots.release()
        return problem

    async def _stop_tracing(self, keep: bool, notes: list[str]) -> None:
        try:
            saved = self.scratch / "trace.zip" if keep else None
            await asyncio.wait_for(self.context.tracing.stop(path=saved), TRACE_STOP_TIMEOUT_SECONDS)
        except Exception as exc:
            notes.append(f"no trace: {_first_line(exc)}")

    async def _screenshot(self, notes: list[str]) -> None:
        secret_fields = self.page.locator(f"{self.run.contract.selectors.login_password}, input[type=password]")
        try:
            await self.page.screenshot(
                path=self.scratch / "screenshot.png",
                full_page=True,
                mask=[secret_fields],
                timeout=SCREENSHOT_TIMEOUT_MS,
            )
        except Exception as exc:
            notes.append(f"no screenshot: {_first_line(exc)}")

    def _save(self, folder: Path, failed: bool, notes: list[str]) -> None:
        secrets = sorted(known_secrets())
        screenshot = self.scratch / "screenshot.png"
        if screenshot.exists():
            shutil.move(screenshot, folder / "screenshot.png")
        trace = self.scratch / "trace.zip"
        if trace.exists():
            save_trace(trace, folder / "trace.zip", secrets)
        har = self.scratch / "network.har"
        if failed and har.exists():
            save_har(har, folder / "network.har", secrets)
        write_text_scrubbed(folder / "console.log", self._console_text(failed, notes), secrets)
        prune_runs(folder.parent, self.run.runtime.settings.runner.browser.keep_artifacts_per_scenario)

    def _console_text(self, failed: bool, notes: list[str]) -> str:
        run = self.run
        lines = [
            f"scenario {run.scenario.name} target {run.target_name} run {run.probe.run_id} trace {run.probe.trace_id}",
            f"page {self.base_url}",
            f"result {'failed' if failed else 'passed'}",
        ]
        for step in run.steps:
            state = "ok" if step.success else f"FAILED {step.reason}: {step.message}"
            lines.append(f"step {step.name}: {step.duration_seconds:.3f}s {state}")
        lines += notes
        lines.append("--- what the page went through ---")
        lines += self.watch.log_lines()
        return "\n".join(lines) + "\n"

    # -- translating Playwright ------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def guard(self, what: str, seconds: float | None = None, probe_alive: bool = True) -> AsyncIterator[None]:
        """Playwright's exceptions inside as bounded step failures (one boundary, as in httpx).

        On a timeout the browser is asked whether it still answers (a hung one is ``browser_crash``),
        unless ``probe_alive`` is False (short waits in a loop: the caller calls ``ensure_alive``).
        """
        try:
            yield
        except PlaywrightTimeout:
            if probe_alive:
                await self._crash_check(what, None)
            shown = seconds if seconds is not None else self.ui_timeout_seconds
            raise StepFailure(Reason.TIMEOUT, f"{what}: not within {shown:g} s") from None
        except PlaywrightError as exc:
            await self._crash_check(what, exc)
            if "net::ERR_" in str(exc):
                raise StepFailure(Reason.CONNECT_ERROR, f"{what}: {_first_line(exc)}") from None
            raise StepFailure(Reason.ERROR, f"{what}: {_first_line(exc)}") from None

    async def ensure_alive(self, what: str) -> None:
        """Fail as ``browser_crash`` when the page crashed or the browser stopped answering."""
        await self._crash_check(what, None)

    async def _crash_check(self, what: str, exc: BaseException | None) -> None:
        if self.watch.crashed:
            raise StepFailure(Reason.BROWSER_CRASH, f"{what}: the page crashed") from None
        if (exc is not None and _closed(exc)) or not await self.pool.alive(self.context):
            await self.pool.replace(self.browser, f"lost during: {what}")
            raise StepFailure(Reason.BROWSER_CRASH, f"{what}: the browser crashed or hung (replaced)") from None

    def seconds(self, seconds: float | None = None) -> float:
        """A wait's budget: the given or default UI timeout, never past the run's deadline."""
        wanted = self.ui_timeout_seconds if seconds is None else seconds
        return max(0.1, min(wanted, self.run.remaining_seconds()))

    # -- what scenarios do -----------------------------------------------------------------
    def locator(self, selector: str) -> Locator:
        return self.page.locator(selector).first

    async def goto(self, path: str = "/") -> None:
        """Open ``path`` of the CDN and wait for ``load``; the page's timings become metrics meanwhile."""
        await self._timings_read(TIMINGS_SECONDS)  # the last page's, before it is left
        seconds = self.seconds()
        async with self.guard(f"GET {path}", seconds):
            response = await self.page.goto(path, wait_until="load", timeout=seconds * 1000)
        if response is not None and response.status >= 400:
            raise StepFailure(Reason.HTTP_STATUS, f"GET {path} answered {response.status}")
        self._timings = asyncio.ensure_future(self._record_timings())

    async def _record_timings(self) -> None:
        """Navigation and paint timings as metrics, read while the journey goes on: the read waits
        for the last paint (50 ms or more after ``load``), which the customer does not wait for."""
        try:
            timings = await asyncio.wait_for(page_timings(self.page), TIMINGS_SECONDS)
        except Exception as exc:  # a metric the page could not give (closed, crashed): its steps judge the page
            log.debug("no page timings", extra={"fields": {"why": _first_line(exc)}})
            return
        for metric, value in timings.items():
            self.run.metrics.browser_timing(metric, value)

    async def _timings_read(self, seconds: float) -> None:
        """Let the page's timings read finish (within ``seconds``: then it is given up)."""
        if self._timings is not None:
            await asyncio.wait({self._timings}, timeout=seconds)
            self._timings.cancel()
            self._timings = None

    def expect_clean(self) -> None:
        """Fail when the page has suffered anything so far (own HTTP errors, JS errors, failed loads)."""
        found = verdict(self.watch)
        if found is not None:
            raise StepFailure(*found)

    async def wait_visible(self, selector: str, what: str, seconds: float | None = None) -> None:
        seconds = self.seconds(seconds)
        async with self.guard(f"{what} ({selector}) visible", seconds):
            await self.locator(selector).wait_for(state="visible", timeout=seconds * 1000)

    async def fill(self, selector: str, value: str, what: str) -> None:
        """Type ``value`` into a field (a secret is registered first, so no artifact keeps it)."""
        async with self.guard(f"typing into {what} ({selector})"):
            await self.locator(selector).fill(value, timeout=self.seconds() * 1000)

    async def fill_secret(self, selector: str, value: str, what: str) -> None:
        register_secret(value)
        await self.fill(selector, value, what)

    async def click(self, selector: str, what: str) -> None:
        async with self.guard(f"clicking {what} ({selector})"):
            await self.locator(selector).click(timeout=self.seconds() * 1000)

    async def select(self, selector: str, value: str, what: str) -> None:
        async with self.guard(f"choosing {value} in {what} ({selector})"):
            chosen = await self.locator(selector).select_option(value, timeout=self.seconds() * 1000)
        if value not in chosen:
            raise StepFailure(Reason.ASSERTION, f"{what} ({selector}) offers no {value}")

    async def text(self, selector: str, what: str) -> str:
        """The text of the first element matching ``selector`` (which must be there now)."""
        async with self.guard(f"reading {what} ({selector})", 5):
            texts = await self.page.locator(selector).all_text_contents()
        if not texts:
            raise StepFailure(Reason.ASSERTION, f"{what} ({selector}) is not on the page")
        return texts[0].strip()

    async def texts(self, selector: str) -> list[str]:
        async with self.guard(f"reading {selector}", 5):
            return [t.strip() for t in await self.page.locator(selector).all_text_contents()]

    async def attribute(self, selector: str, name: str, what: str) -> str | None:
        async with self.guard(f"reading {what} ({selector})", 5):
            return await self.locator(selector).get_attribute(name, timeout=5000)

    async def wait_text(
        self, selector: str, expected: str, seconds: float | None = None, probe_alive: bool = True
    ) -> float | None:
        """Wait until the first ``selector`` shows exactly ``expected``: seconds waited, or None if it never did."""
        seconds = self.seconds(seconds)
        started = time.perf_counter()
        try:
            async with self.guard(f"{selector} showing {expected}", seconds, probe_alive):
                await self.page.wait_for_function(
                    "([selector, expected]) => { const e = document.querySelector(selector);"
                    " return e !== null && e.textContent.trim() === expected; }",
                    arg=[selector, expected],
                    polling=50,
                    timeout=seconds * 1000,
                )
        except StepFailure as failure:
            if failure.reason is Reason.TIMEOUT:
                return None
            raise
        return time.perf_counter() - started

    async def wait_until(self, script: str, arg: Any, what: str, seconds: float | None = None) -> Any:
        """Wait for a page predicate (JS taking ``arg``) to be truthy: its value, or None when it never was."""
        seconds = self.seconds(seconds)
        try:
            async with self.guard(what, seconds):
                handle = await self.page.wait_for_function(script, arg=arg, polling=50, timeout=seconds * 1000)
                return await handle.json_value()
        except StepFailure as failure:
            if failure.reason is Reason.TIMEOUT:
                return None
            raise

    async def visible_texts(self, selector: str) -> list[str]:
        """Texts of the visible elements matching ``selector`` now (e.g. alerts the page shows)."""
        async with self.guard(f"reading {selector}", 5):
            found = []
            for element in await self.page.locator(selector).all():
                if await element.is_visible():
                    found.append((await element.text_content() or "").strip())
            return found


async def open_page(run: Run, ui_timeout_seconds: float = 15.0) -> BrowserPage:
    """A fresh page for ``run``; closed (with artifacts if the run failed) when the run ends."""
    page = await BrowserPage.open(run, pool_for(run.runtime), ui_timeout_seconds)

    async def close_when_run_ends() -> None:
        await page.close(failed=any(not step.success for step in run.steps))

    run.on_cleanup(close_when_run_ends)
    return page


@contextlib.asynccontextmanager
async def browser_page(run: Run, ui_timeout_seconds: float = 15.0) -> AsyncIterator[BrowserPage]:
    """``async with browser_page(run) as page:``; the page closes on the way out, artifacts saved."""
    async with run.step("start the browser"):
        page = await open_page(run, ui_timeout_seconds)
    failed = True
    try:
        yield page
        failed = False
    except RunSkipped:
        failed = False
        raise
    finally:
        problem = await page.close(failed)
    if problem:
        async with run.step("close the browser"):
            raise StepFailure(Reason.BROWSER_CRASH, problem)
