"""Serve mode: every scenario on its interval, forever, with /metrics, /healthz and /readyz,
and the status and run pages over the run history (``harness.pages_http``).

Each (scenario, target) is one APScheduler job with ``max_instances=1`` (a run never overlaps
itself: a run that comes due while the last is still going is dropped and counted as
``skipped``) and ``coalesce=False``: after a stalled loop every missed run time is reported
(run, skipped or missed), never silently merged into one, so no planned run is lost. Each run
knows the time it was planned for (``_planned``), so its start delay is measured, not guessed. A
browser journey waits for a browser before it takes a run slot (``_browser_turn``). First runs
are spread once, the jobs of one interval evenly apart (``harness.start_spread``), rather than by
APScheduler's per-run ``jitter``, which makes the schedule drift. On SIGTERM/SIGINT the scheduler stops,
``/readyz`` answers 503, in-flight runs get a grace period, then are cancelled and recorded
as ``aborted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
import signal
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

from aiohttp import web
from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client.exposition import choose_encoder

from config.settings import Settings
from harness.discovery import ScenarioPlan
from harness.execute import execute, skipped_result
from harness.history import HISTORY_FILE, RunHistory
from harness.logs import log_result
from harness.loop_lag import watch_loop_lag
from harness.memory import keep_heap_trimmed
from harness.pages_http import Pages
from harness.results import ScheduledStart
from harness.runtime import Runtime
from harness.start_spread import first_run_offsets

__all__ = ["Service"]

log = logging.getLogger("runner")

BROWSER_TAG = "browser"
"""The tag of the scenarios that drive the browser (one page of ``runner.browser``'s pool per run)."""


class Service:
    """The scheduled runner: one process, one region."""

    def __init__(
        self,
        runtime: Runtime,
        plans: list[ScenarioPlan],
        listen: str,
        grace_seconds: float,
        max_start_offset_seconds: float = 60.0,
        reload: Callable[[], tuple[Settings, list[ScenarioPlan]]] | None = None,
    ) -> None:
        self.runtime = runtime
        self.reload = reload
        self.plans = {f"{p.name}@{p.target}": p for p in plans}
        self.host, _, port = listen.rpartition(":")
        self.port = int(port)
        self.grace_seconds = grace_seconds
        self.max_start_offset_seconds = max_start_offset_seconds
        self.ready = False
        self.stopping = asyncio.Event()
        self.in_flight: set[asyncio.Future[None]] = set()
        self.bound_port: int | None = None
        self._slots = asyncio.Semaphore(runtime.settings.runner.max_concurrent_runs)
        self._browser_turns = asyncio.Semaphore(runtime.settings.runner.browser.max_concurrent_runs)
        self._planned: dict[str, deque[datetime]] = {}  # per job: submitted run times its calls have yet to take
        self._scheduler: AsyncIOScheduler | None = None
        self.pages_port: int | None = None  # the pages' own listener, when runner.pages.listen sets one

    # -- HTTP -----------------------------------------------------------------------------
    async def _metrics(self, request: web.Request) -> web.Response:
        # OpenMetrics when the scraper asks for it (Prometheus does): it carries the trace exemplars.
        # Encoding every series takes milliseconds of CPU, so it runs in a thread: the loop keeps
        # timing the runs in flight (the registry's values are each behind their own lock).
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        body = await asyncio.to_thread(encode, self.runtime.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        if self.ready and not self.stopping.is_set():
            return web.Response(text="ready\n")
        return web.Response(status=503, text="stopping\n" if self.stopping.is_set() else "not ready\n")

    def _open_history_and_pages(self, app: web.Application) -> web.Application | None:
        """Keep every result; serve the pages on ``app``, or return their own app (``pages.listen``)."""
        runner = self.runtime.settings.runner
        history = RunHistory(
            self.runtime.artifacts_dir / HISTORY_FILE,
            runner.history.keep_per_scenario,
            runner.history.keep_days * 86400,
        )
        self.runtime.history = history
        self.runtime.on_close(lambda: asyncio.to_thread(history.close))
        if not runner.pages.enabled:
            return None
        pages = Pages(self.runtime.settings, history, self.runtime.artifacts_dir, self._scheduled)
        own = web.Application() if runner.pages.listen else None
        pages.add_routes(own or app)
        return own

    def _scheduled(self) -> list[tuple[str, str]]:
        """(scenario, target) of every job now: the status page shows them before their first run."""
        return [(p.name, p.target) for p in self.plans.values()]

    # -- runs -----------------------------------------------------------------------------
    async def _run(self, key: str) -> None:
        """The APScheduler job. The run itself is a task of ours, shielded: APScheduler cancels
        its jobs' tasks on shutdown, but in-flight runs get the grace period first."""
        run = asyncio.ensure_future(self._execute(key, self._planned_at(key)))
        self.in_flight.add(run)
        run.add_done_callback(self.in_flight.discard)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(run)

    def _on_submitted(self, event: JobSubmissionEvent) -> None:
        """APScheduler names the planned run times only in this event, sent before the job's task starts."""
        if event.job_id in self.plans:
            self._planned.setdefault(event.job_id, deque()).extend(event.scheduled_run_times)

    def _planned_at(self, key: str) -> float | None:
        """The run time this call of the job is for. APScheduler calls a job once per submitted run
        time, oldest first, except those already past their misfire grace time (reported missed)."""
        times = self._planned.get(key)
        job = self._scheduler.get_job(key) if self._scheduler is not None else None
        grace = job.misfire_grace_time if job is not None else None
        now = datetime.now(UTC)
        while times:
            planned = times.popleft()
            if not times or grace is None or (now - planned).total_seconds() <= grace:
                return planned.timestamp()
        return None

    @contextlib.asynccontextmanager
    async def _browser_turn(self, plan: ScenarioPlan) -> AsyncIterator[float]:
        """A browser journey's turn at one of ``runner.browser.max_concurrent_runs`` browsers, taken
        before its run slot (yields when it got it). Queued inside its run instead, for the browser
        pool's page slot, it held a run slot all the while: a burst of browser journeys left the API
        runs a few slots, and they started late. Holding a turn, its page slot is always free."""
        if BROWSER_TAG not in plan.scenario.tags:
            yield time.time()
            return
        async with self._browser_turns:
            yield time.time()

    async def _execute(self, key: str, planned_at: float | None) -> None:
        plan = self.plans[key]
        started = False
        fired_at = time.time()
        try:
            async with self._browser_turn(plan) as browser_at, self._slots:
                if self.stopping.is_set():
                    self._record_dropped(plan, "runner is shutting down")
                    return
                started = True
                scheduled = None
                if planned_at is not None:
                    scheduled = ScheduledStart(planned_at, fired_at, browser_at, time.time())
                await execute(self.runtime, plan, scheduled)
        except asyncio.CancelledError:
            if not started:  # cancelled while waiting for a slot: still a result, never lost
                self._record_dropped(plan, "runner shut down before the run could start")
            # else the executor already recorded the run as aborted
        except Exception:  # never let one scenario's failure reach the scheduler
            log.exception("runner error in %s", key)
            self.runtime.metrics.runner_errors.labels(self.runtime.settings.runner.region).inc()

    def _on_dropped(self, event: JobExecutionEvent | JobSubmissionEvent) -> None:
        """A dropped run is a result too: one ``skipped`` per planned run time the event covers."""
        plan = self.plans.get(event.job_id)
        if plan is None:
            return
        why = "previous run still in progress" if event.code == EVENT_JOB_MAX_INSTANCES else "run missed its start"
        # a max-instances event covers every run time submitted together (several after a stall)
        for _ in getattr(event, "scheduled_run_times", None) or [None]:
            self._record_dropped(plan, why)

    def _record_dropped(self, plan: ScenarioPlan, why: str) -> None:
        result = skipped_result(self.runtime, plan, why)
        self.runtime.record(result)
        log_result(result)

    def _arm(self) -> AsyncIOScheduler:
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_listener(self._on_dropped, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        scheduler.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED)
        offsets = self._first_run_offsets()
        for key, plan in self.plans.items():
            self._schedule(scheduler, key, plan, offsets[key])
        scheduler.start()
        return scheduler

    def _first_run_offsets(self) -> dict[str, float]:
        intervals = {key: plan.interval_seconds for key, plan in self.plans.items()}
        return first_run_offsets(intervals, self.max_start_offset_seconds)

    def _schedule(self, scheduler: AsyncIOScheduler, key: str, plan: ScenarioPlan, offset: float | None = None) -> None:
        """One job; ``offset`` is its first run's distance from now (a random one within its
        interval when it joins a running schedule)."""
        self.runtime.metrics.declare(plan.name, plan.target, plan.interval_seconds)
        if offset is None:
            offset = random.uniform(0, min(plan.interval_seconds, self.max_start_offset_seconds))
        first_run = datetime.now(UTC) + timedelta(seconds=offset)
        scheduler.add_job(
            self._run,
            IntervalTrigger(seconds=plan.interval_seconds, start_date=first_run),
            # Named outright: a start_date already past by the time the job is added (offset 0, a busy
            # loop) would otherwise make APScheduler wait a whole interval for the first run.
            next_run_time=first_run,
            args=[key],
            id=key,
            name=key,
            max_instances=1,
            coalesce=False,
            misfire_grace_time=max(1, int(plan.interval_seconds)),
        )

    def _reload(self) -> None:
        """SIGHUP: read the config again, as Prometheus and Alertmanager do.

        Metrics, history and the registry stay; a scenario still selected keeps its job and
        so its phase (a changed interval starts from its next planned run); new ones are
        scheduled, dropped ones unscheduled. A config that does not load changes nothing.
        """
        if self.reload is None or self._scheduler is None:
            return
        try:
            settings, plans = self.reload()
        except Exception as exc:  # a broken edit must never take the running schedule down
            lines = getattr(exc, "lines", None) or getattr(exc, "errors", None) or [str(exc)]
            log.error("config reload failed; keeping the running config", extra={"fields": {"errors": lines}})
            return
        self.runtime.settings = settings
        wanted = {f"{p.name}@{p.target}": p for p in plans}
        for key in set(self.plans) - set(wanted):
            self._scheduler.remove_job(key)
            self._planned.pop(key, None)
        for key, plan in wanted.items():
            old = self.plans.get(key)
            if old is None:
                self._schedule(self._scheduler, key, plan)
                continue
            if plan.interval_seconds != old.interval_seconds:
                job = self._scheduler.get_job(key)
                start = job.next_run_time if job is not None else datetime.now(UTC)
                self._scheduler.reschedule_job(
                    key, trigger=IntervalTrigger(seconds=plan.interval_seconds, start_date=start)
                )
                self.runtime.metrics.declare(plan.name, plan.target, plan.interval_seconds)
        self.plans = wanted
        windows = [w.name for w in settings.maintenance]
        log.info(
            "config reloaded",
            extra={"fields": {"scheduled_runs": len(wanted), "maintenance_windows": windows}},
        )

    # -- lifecycle ------------------------------------------------------------------------
    async def _warm_up(self) -> None:
        """Before the first run: build the shared HTTP client, and so the trusted TLS context
        (loading the CA bundle is 20-70 ms of CPU that would stall the loop under the first
        runs), then move what start-up made out of the garbage collector's sight: a full
        collection walks every live object (~100k after start-up, ~100 ms) on whichever
        callback allocates; frozen, they are not walked again (``gc.unfreeze`` at the end)."""
        await asyncio.to_thread(lambda: self.runtime.http)
        gc.collect()
        gc.freeze()

    async def serve(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload)
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        pages_app = self._open_history_and_pages(app)
        http_runner, self.bound_port = await _listen(app, self.host, self.port)
        if pages_app is not None:
            host, _, port = (self.runtime.settings.runner.pages.listen or "").rpartition(":")
            pages_runner, self.pages_port = await _listen(pages_app, host, int(port))
            self.runtime.on_close(pages_runner.cleanup)
        await self._warm_up()
        lag_watch = asyncio.create_task(watch_loop_lag(self.runtime.metrics.loop_lag), name="loop-lag")
        heap_trim = asyncio.create_task(keep_heap_trimmed(), name="heap-trim")
        self._scheduler = self._arm()
        self.ready = True
        print(
            f"mystery-guest: {len(self.plans)} scheduled runs, region {self.runtime.settings.runner.region}, "
            f"shard {self.runtime.shard.label}; "
            f"metrics at http://{self.host}:{self.bound_port}/metrics",
            flush=True,
        )
        if self.runtime.settings.runner.pages.enabled:
            pages_host, _, _ = (self.runtime.settings.runner.pages.listen or "").rpartition(":")
            print(
                f"mystery-guest: pages at http://{pages_host or self.host}:{self.pages_port or self.bound_port}/",
                flush=True,
            )
        await self.stopping.wait()
        log.info(
            "shutting down: draining in-flight runs",
            extra={"fields": {"in_flight": len(self.in_flight), "grace_seconds": self.grace_seconds}},
        )
        self._scheduler.shutdown(wait=False)
        await self._drain()
        lag_watch.cancel()
        heap_trim.cancel()
        await http_runner.cleanup()
        await self.runtime.aclose()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        gc.unfreeze()
        return 0

    async def _drain(self) -> None:
        pending = set(self.in_flight)
        if pending:
            _, pending = await asyncio.wait(pending, timeout=self.grace_seconds)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _listen(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on ``host:port``; the port it is bound to (port 0: a free one)."""
    http_runner = web.AppRunner(app, access_log=None)
    await http_runner.setup()
    site = web.TCPSite(http_runner, host.strip("[]"), port)
    await site.start()
    server = site._server  # aiohttp has no public accessor for the bound port (listen on :0)
    sockets = getattr(server, "sockets", None) or []
    return http_runner, sockets[0].getsockname()[1] if sockets else port
