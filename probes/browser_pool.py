"""The runner's one long-lived Chromium: found, launched, limited, replaced when it dies or hangs.

A browser costs 0.3-0.4 s to launch and ~10 processes; a fresh context per run costs ~0.45 s
and shares nothing with other runs (cookies, storage). So the pool launches Chromium on first
use, hands out contexts, limits how many runs use it at once (``slots``), and replaces it when
it disconnects (crash) or stops answering (hang: it is killed, since ``close()`` would hang
with it). Playwright drives Debian's ``chromium`` through ``executable_path``; ``playwright
install`` is never used.

Each page records its trace and HAR in a scratch folder under the pool's own
``<tmp>/mg-browser-<pid>-*`` folder, removed when the pool closes. A runner killed with SIGKILL
cannot remove it, so the next pool removes every such folder whose process is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright

from probes.browser_process import browser_mains, kill_tree

__all__ = [
    "LAUNCH_ARGS",
    "CANDIDATES",
    "BrowserMissing",
    "BrowserPool",
    "find_chromium",
    "launch",
    "remove_stale_scratch",
]

log = logging.getLogger("probe.browser")

# Playwright already passes --headless, --no-sandbox (as root), --disable-dev-shm-usage...; these
# stop Chromium's own background connections, which a closed network refuses (and which are noise).
LAUNCH_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-gpu",
)
# Debian's real binary first (/usr/bin/chromium is a shell wrapper around it), then Ubuntu's.
CANDIDATES = (
    Path("/usr/lib/chromium/chromium"),
    Path("/usr/bin/chromium"),
    Path("/usr/bin/chromium-browser"),
    Path("/snap/bin/chromium"),
)
SETTING = "runner.browser.executable_path"
LAUNCH_TIMEOUT_SECONDS = 30.0
CLOSE_TIMEOUT_SECONDS = 5.0
ALIVE_TIMEOUT_SECONDS = 3.0
SCRATCH_PREFIX = "mg-browser-"
_SCRATCH_OWNER = re.compile(re.escape(SCRATCH_PREFIX) + r"(\d+)-")


class BrowserMissing(RuntimeError):
    """No Chromium to launch: the message names the setting that fixes it."""


def find_chromium(configured: Path | None = None) -> Path:
    """The configured executable, else the first Debian/Ubuntu Chromium found."""
    if configured is not None:
        if configured.is_file() and os.access(configured, os.X_OK):
            return configured
        raise BrowserMissing(f"{SETTING} is {configured}, which is not an executable file")
    for candidate in CANDIDATES:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    looked = ", ".join(str(c) for c in CANDIDATES)
    raise BrowserMissing(
        f"no Chromium found (looked for {looked}): install it (apt-get install chromium) or set {SETTING}"
    )


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_scratch(parent: Path) -> list[Path]:
    """Remove this user's ``mg-browser-<pid>-*`` folders in ``parent`` whose process is gone."""
    removed = []
    for folder in parent.glob(SCRATCH_PREFIX + "*"):
        owner = _SCRATCH_OWNER.match(folder.name)
        try:
            mine = folder.is_dir() and not folder.is_symlink() and folder.stat().st_uid == os.getuid()
        except OSError:
            continue
        if owner and mine and not _process_exists(int(owner.group(1))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


async def launch(playwright: Playwright, executable: Path) -> Browser:
    """Launch Chromium headless with the closed-network arguments."""
    return await playwright.chromium.launch(
        executable_path=str(executable), args=list(LAUNCH_ARGS), timeout=LAUNCH_TIMEOUT_SECONDS * 1000
    )


class BrowserPool:
    """One browser for many runs: ``async with pool.slots:`` then ``await pool.new_context(...)``."""

    def __init__(self, executable_path: Path | None = None, max_concurrent_runs: int = 2) -> None:
        self.executable_path = executable_path
        self.slots = asyncio.Semaphore(max_concurrent_runs)
        self.launches = 0
        self.replacements = 0
        self._lock = asyncio.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._pid: int | None = None  # the browser's main process, when /proc tells us
        self._closed = False
        self._scratch_root: Path | None = None

    def scratch(self) -> Path:
        """A new empty folder for one page's trace and HAR (the caller removes it when done)."""
        if self._scratch_root is None:
            parent = Path(tempfile.gettempdir())
            remove_stale_scratch(parent)
            self._scratch_root = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=parent))
        return Path(tempfile.mkdtemp(dir=self._scratch_root))

    @property
    def pid(self) -> int | None:
        """The browser's main process, when ``/proc`` told us (Linux)."""
        return self._pid

    @property
    def current(self) -> Browser | None:
        return self._browser

    async def browser(self) -> Browser:
        """The live browser, launched (again) when there is none or it disconnected."""
        async with self._lock:
            if self._closed:
                raise RuntimeError("the browser pool is closed")
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            if self._browser is not None:
                await self._discard(self._browser)
            executable = find_chromium(self.executable_path)
            try:
                self._browser = await self._launch(executable)
            except Exception:  # a dead or stuck driver: start Playwright afresh, once
                log.warning("browser launch failed: restarting Playwright", exc_info=True)
                await self._stop_playwright()
                self._browser = await self._launch(executable)
            return self._browser

    async def _launch(self, executable: Path) -> Browser:
        if self._playwright is None:
            self._playwright = await asyncio.wait_for(async_playwright().start(), LAUNCH_TIMEOUT_SECONDS)
        before = browser_mains()
        browser = await asyncio.wait_for(launch(self._playwright, executable), LAUNCH_TIMEOUT_SECONDS + 5)
        started = browser_mains() - before
        self._pid = next(iter(started)) if len(started) == 1 else None
        self.launches += 1
        log.info(
            "browser launched",
            extra={"fields": {"version": browser.version, "pid": self._pid, "launches": self.launches}},
        )
        return browser

    async def new_context(self, timeout: float, **options: object) -> BrowserContext:
        """A fresh context; a browser that does not give one within ``timeout`` is replaced (raises)."""
        browser = await self.browser()
        try:
            return await asyncio.wait_for(browser.new_context(**options), timeout)  # type: ignore[arg-type]
        except TimeoutError:
            await self.replace(browser, "no new context in time")
            raise

    async def alive(self, context: BrowserContext) -> bool:
        """Does the browser behind ``context`` still answer? (A hung one does not.)"""
        try:
            await asyncio.wait_for(context.cookies(), ALIVE_TIMEOUT_SECONDS)
        except Exception:
            return False
        return True

    async def replace(self, browser: Browser | None, why: str) -> None:
        """Kill ``browser`` (crashed or hung) so that the next run gets a new one."""
        async with self._lock:
            if browser is None or browser is not self._browser:
                return  # already replaced by another run
            log.warning("browser replaced", extra={"fields": {"why": why, "pid": self._pid}})
            self.replacements += 1
            await self._discard(browser)

    async def _discard(self, browser: Browser) -> None:
        if self._pid is not None:
            kill_tree(self._pid)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(browser.close(), CLOSE_TIMEOUT_SECONDS)
        self._browser, self._pid = None, None

    async def _stop_playwright(self) -> None:
        if self._playwright is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._playwright.stop(), CLOSE_TIMEOUT_SECONDS)
            self._playwright = None

    async def close(self) -> None:
        """Close the browser and stop Playwright's driver (the runtime's closer)."""
        async with self._lock:
            self._closed = True
            if self._browser is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._browser.close(), CLOSE_TIMEOUT_SECONDS)
                if self._pid is not None and self._browser.is_connected():
                    kill_tree(self._pid)
                self._browser, self._pid = None, None
            await self._stop_playwright()
            if self._scratch_root is not None:
                shutil.rmtree(self._scratch_root, ignore_errors=True)
                self._scratch_root = None
