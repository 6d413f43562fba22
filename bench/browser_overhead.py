"""What the runner adds to a browser journey, what each artifact policy costs, and what a
browser per run costs.

The same ``spa_login_balance`` journey, against the sandbox, several ways:

(a) through the runner: ``harness.execute.execute`` as serve mode calls it, with the runner's
    one long-lived Chromium (a fresh context per run) and the default ``runner.browser.trace:
    on_retry``: a passing journey's runs record no trace and no HAR;
(a') the same with ``trace: on_failure``: every run records a trace and a HAR, kept only when
    it fails (what a retry, or the run after a failure, costs under ``on_retry`` too);
(a'') the same with ``trace: always``: every run records and keeps (scrubs and writes) them;
(b) a bare Playwright script doing the same steps on one browser, with a context per run and
    nothing else (no trace, no HAR, no page watch, no metrics);
(b') the bare script recording a trace and a HAR as the runner does, to tell how much of
    (a') - (b) is that recording;
(b'') the bare script reading the page's navigation and paint timings right after ``load``,
    as the runner did before it read them beside the journey's next steps (what that saves);
(c) through the runner with a fresh browser per run (the pool closed after every run, as a
    per-run canary process would start and stop Chromium): launch and close are counted.

The modes take turns in blocks of eight runs (four rounds), so that a change in the machine's
background load hits them alike; each block starts its own browser and warms it with one run.
Wall time per run (median, p95) and the peak summed PSS of every Chromium process, sampled
from a separate process (``bench.pss_sampler``) during each block.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
from playwright.async_api import Browser, async_playwright

from bench.processes import python_module, start, stop
from bench.report import BenchOptions, Goal, Section, table
from bench.sandbox_runtime import load, plans_for, sandbox_for_bench
from bench.stats import median, percentile
from config.settings import Settings
from harness.execute import execute
from harness.runtime import Runtime
from probes.browser_pool import find_chromium
from probes.browser_watch import page_timings

__all__ = ["NAME", "run", "bare_journey"]

NAME = "browser"
TITLE = "2. Browser run overhead: runner vs bare Playwright vs a browser per run"
SCENARIO = "spa_login_balance"
ROUNDS = 4
BLOCK_RUNS = 8  # per mode per round: 32 runs per mode in all
QUICK_ROUNDS = 1
QUICK_BLOCK_RUNS = 2
SHOWS_TEXT = "([sel, text]) => { const e = document.querySelector(sel); return e && e.textContent.trim() === text; }"
MODES = {
    "runner": "(a) runner, trace: on_retry (default)",
    "runner_on_failure": "(a') runner, trace: on_failure",
    "runner_always": "(a'') runner, trace: always",
    "bare": "(b) bare Playwright script, same steps",
    "bare_recording": "(b') bare script + trace and HAR",
    "bare_timings": "(b'') bare script + timings read after load",
    "fresh": "(c) runner, fresh browser per run",
}
TRACE_POLICY = {"runner": "on_retry", "runner_on_failure": "on_failure", "runner_always": "always", "fresh": "on_retry"}


@dataclass
class ModeResult:
    walls: list[float]
    failures: int
    peak_pss_kib: int
    peak_processes: int
    messages: list[str]


class BareJourney:
    """spa_login_balance's steps in plain Playwright: the floor any runner is measured against."""

    def __init__(
        self,
        settings: Settings,
        browser: Browser,
        http: httpx.AsyncClient,
        recording: Path | None = None,
        timings: bool = False,
    ) -> None:
        target = settings.targets["sandbox"]
        assert target.accounts is not None
        self.settings = settings
        self.browser = browser
        self.http = http
        self.spa_url = str(target.spa_url).rstrip("/")
        self.vault_url = str(target.vault_url).rstrip("/")
        self.currencies = target.currencies
        self.username = target.accounts.username_for(SCENARIO, settings.runner.region) or ""
        self.password = settings.secret(target.accounts.password)
        self.selectors = settings.contract.selectors
        self.token: str | None = None
        self.recording = recording  # a scratch folder: record a trace and a HAR as the runner does
        self.timings = timings  # read the page's timings after load, waiting for them

    async def vault_balance(self, code: str) -> str:
        if self.token is None:  # tokens are reused across runs, as the runner does
            answer = await self.http.post(
                self.vault_url + "/v1/auth/login", json={"username": self.username, "password": self.password}
            )
            answer.raise_for_status()
            self.token = str(answer.json()["token"])
        answer = await self.http.get(self.vault_url + "/v1/balance", headers={"Authorization": f"Bearer {self.token}"})
        answer.raise_for_status()
        return str(answer.json()["balances"][code])

    async def run_once(self) -> None:
        s = self.selectors
        har: dict[str, str] = {}
        if self.recording is not None:
            har = {"record_har_path": str(self.recording / "network.har"), "record_har_content": "embed"}
        context = await self.browser.new_context(
            base_url=self.spa_url,
            viewport={"width": 1280, "height": 800},
            **har,  # type: ignore[arg-type]
        )
        if self.recording is not None:
            await context.tracing.start(screenshots=True, snapshots=True, sources=False)
        try:
            context.set_default_timeout(15_000)
            page = await context.new_page()
            await page.goto("/", wait_until="load")
            if self.timings:
                await page_timings(page)
            await page.locator(s.login_username).first.wait_for(state="visible")
            await page.locator(s.login_username).first.fill(self.username)
            await page.locator(s.login_password).first.fill(self.password)
            await page.locator(s.login_submit).first.click()
            for code in self.currencies:
                selector = f'{s.balance}[data-currency="{code}"]'
                await page.locator(selector).first.wait_for(state="visible")
                shown = (await page.locator(selector).all_text_contents())[0].strip()
                expected = await self.vault_balance(code)
                Decimal(shown)
                if shown != expected:
                    raise AssertionError(f"{code}: page shows {shown}, Vault says {expected}")
            await page.wait_for_function(SHOWS_TEXT, arg=[s.connection_status, "connected"], polling=50)
        finally:
            if self.recording is not None:
                await context.tracing.stop()  # a passing run's trace is dropped, as the runner drops it
            await context.close()


async def bare_journey(
    settings: Settings, runs: int, recording: Path | None = None, timings: bool = False
) -> tuple[list[float], list[str]]:
    """Run the bare script ``runs`` times on one browser; wall seconds per run and failure messages."""
    walls: list[float] = []
    failures: list[str] = []
    async with async_playwright() as playwright, httpx.AsyncClient(trust_env=False) as http:
        browser = await playwright.chromium.launch(executable_path=str(find_chromium()))
        try:
            journey = BareJourney(settings, browser, http, recording, timings)
            await journey.run_once()  # warm-up, as the runner's first run launches its browser
            for _ in range(runs):
                started = time.perf_counter()
                try:
                    await journey.run_once()
                except Exception as exc:  # a failed run is counted, never hidden
                    failures.append(f"{type(exc).__name__}: {str(exc)[:120]}")
                walls.append(time.perf_counter() - started)
        finally:
            await browser.close()
    return walls, failures


async def runner_journey(settings: Settings, runs: int, fresh_browser: bool) -> tuple[list[float], list[str]]:
    plan = plans_for(settings, [SCENARIO])[0]
    runtime = Runtime(settings)
    walls: list[float] = []
    failures: list[str] = []
    try:
        if not fresh_browser:
            await execute(runtime, plan)  # warm-up: launches the long-lived browser
        for _ in range(runs):
            started = time.perf_counter()
            result = await execute(runtime, plan)
            if fresh_browser:
                pool, runtime.browser_pool = runtime.browser_pool, None
                if pool is not None:
                    await pool.close()
            walls.append(time.perf_counter() - started)
            if not result.passed:
                failures.append(f"{result.outcome} at {result.failed_step}: {result.reason}: {result.message[:120]}")
    finally:
        await runtime.aclose()
    return walls, failures


def _block(options: BenchOptions, mode: str, settings: dict[str, Settings], runs: int, found: ModeResult) -> None:
    """One block of ``runs`` runs of ``mode``, its Chromium sampled from outside; adds to ``found``."""
    work = options.work_dir / NAME
    log = work / f"pss-{mode}.log"
    sampler = start(python_module("bench.pss_sampler", "--root", str(os.getpid())), log, ready="sampling")
    try:
        if mode == "bare":
            walls, failures = asyncio.run(bare_journey(settings[mode], runs))
        elif mode == "bare_recording":
            scratch = work / "recording"
            scratch.mkdir(exist_ok=True)
            walls, failures = asyncio.run(bare_journey(settings[mode], runs, scratch))
        elif mode == "bare_timings":
            walls, failures = asyncio.run(bare_journey(settings[mode], runs, timings=True))
        else:
            walls, failures = asyncio.run(runner_journey(settings[mode], runs, fresh_browser=mode == "fresh"))
    finally:
        stop(sampler)
    peak = json.loads(log.read_text().strip().splitlines()[-1])
    found.walls += walls
    found.failures += len(failures)
    found.peak_pss_kib = max(found.peak_pss_kib, int(peak["peak_pss_kib"]))
    found.peak_processes = max(found.peak_processes, int(peak["peak_processes"]))
    found.messages += failures[: 3 - len(found.messages)]


def run(options: BenchOptions) -> Section:
    rounds, block = (QUICK_ROUNDS, QUICK_BLOCK_RUNS) if options.quick else (ROUNDS, BLOCK_RUNS)
    work = options.work_dir / NAME
    work.mkdir(parents=True, exist_ok=True)
    results = {mode: ModeResult([], 0, 0, 0, []) for mode in MODES}
    with sandbox_for_bench(work) as sandbox:
        settings = {
            mode: load(work, sandbox, runner={"browser": {"max_concurrent_runs": 1, "trace": policy}})[1]
            for mode, policy in TRACE_POLICY.items()
        }
        settings["bare"] = settings["bare_recording"] = settings["bare_timings"] = settings["runner"]
        for _ in range(rounds):
            for mode in MODES:
                _block(options, mode, settings, block, results[mode])
    return _section(results, rounds, block)


def _section(results: dict[str, ModeResult], rounds: int, block: int) -> Section:
    bare = median(results["bare"].walls)
    rows = []
    for mode, label in MODES.items():
        r = results[mode]
        rows.append(
            (
                label,
                len(r.walls),
                f"{median(r.walls):.3f}",
                f"{percentile(r.walls, 95):.3f}",
                f"{median(r.walls) / bare:.2f}x",
                f"{r.peak_pss_kib / 1024:.0f}",
                r.peak_processes,
                r.failures,
            )
        )
    figures = table(
        (
            "mode",
            "runs",
            "wall median (s)",
            "wall p95 (s)",
            "vs bare (median)",
            "peak Chromium PSS (MiB)",
            "peak Chromium processes",
            "failed runs",
        ),
        rows,
    )

    def ratio(mode: str, to: str = "bare") -> float:
        return median(results[mode].walls) / median(results[to].walls)

    runner_ratio, fresh_ratio = ratio("runner"), ratio("fresh", "runner")
    goals = [
        Goal("(a) default within 1.1x of (b), wall median", runner_ratio <= 1.1, f"{runner_ratio:.2f}x"),
        Goal(
            "(a) well below (c)",
            fresh_ratio >= 1.2,
            f"(c) takes {fresh_ratio:.2f}x as long as (a) per run",
        ),
    ]
    notes = [
        f"{rounds * block} runs per mode: {rounds} rounds in which each mode runs a block of {block}, in turn (never "
        "two browsers at once). Each block except (c)'s launches its browser and warms it with one run that is not "
        "counted; (c) counts launch and close in every run.",
        "PSS is summed over every Chromium process alive at each 0.5 s sample, from a separate sampler process; the "
        "peak is the largest sum seen.",
        "What recording costs: a trace (screenshots and DOM snapshots) and a HAR make a run "
        f"{ratio('bare_recording'):.2f}x as long in the bare script ((b') vs (b)) and "
        f"{ratio('runner_on_failure', 'runner'):.2f}x in the runner ((a') vs (a)); keeping them on every run "
        f"(scrubbed and written in a thread) makes it {ratio('runner_always', 'runner'):.2f}x ((a'') vs (a)). "
        "`on_failure` records on every run to keep only a failure's: it saves disk, not time.",
        "The default, `on_retry`, records on the run after a failure of the same journey (run mode's retry, serve "
        "mode's next run) and keeps that trace pass or fail: a passing journey pays nothing, the retry pays what (a') "
        "pays, and every failure still leaves its screenshot (password fields masked) and console log (its steps, "
        "the page's console, errors, failed requests and pushes). The cost: a one-off failure has no trace.",
        f"What is left of (a)'s {runner_ratio:.2f}x: the page watch, metrics, steps and spans. Reading the page's "
        f"timings right after `load` costs {ratio('bare_timings'):.2f}x in the bare script ((b'') vs (b): the read "
        "waits 50 ms for the last paint); the runner now reads them beside the journey's next steps.",
    ]
    for mode, r in results.items():
        if r.messages:
            notes.append(f"{MODES[mode]} failures, first: {'; '.join(r.messages)}")
    body = figures + "\n\n" + "\n".join(f"- {note}" for note in notes)
    data = {mode: vars(r) for mode, r in results.items()}
    return Section(NAME, TITLE, ".venv/bin/python -m bench --only browser", body, goals, data=data)
