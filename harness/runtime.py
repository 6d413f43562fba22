"""What outlives a single run: settings, metrics, the HTTP pool, the browser, tokens and budgets."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from prometheus_client import CollectorRegistry

from config.settings import Settings
from harness.accounts import TokenCache
from harness.budget import StakeBudget, share_of_budget
from harness.history import RunHistory
from harness.http_thread import HttpThread
from harness.maintenance import MaintenanceCollector
from harness.metrics import RunnerMetrics
from harness.results import Outcome, RunResult
from harness.secrets import register_secret
from harness.shards import WHOLE, Shard
from harness.tracing import Tracing
from harness.upload import ArtifactUploads
from probes.credentials import register_credential_header
from probes.http import new_client, trusted_tls_context

if TYPE_CHECKING:
    from probes.browser_pool import BrowserPool

__all__ = ["Runtime", "VERSION"]

VERSION = "0.1.0"


class Runtime:
    """Shared by every run of one runner process (serve) or one invocation (run)."""

    def __init__(
        self,
        settings: Settings,
        *,
        registry: CollectorRegistry | None = None,
        verbose: bool = False,
        artifacts_dir: Path | None = None,
        shard: Shard = WHOLE,
        budget_ledger: Path | None = None,
    ) -> None:
        """``shard``: this replica's part of the region (it gets that part of each stake budget);
        ``budget_ledger``: the file that keeps today's spending across restarts (serve mode)."""
        self.settings = settings
        self.shard = shard
        self.verbose = verbose
        self.artifacts_dir = artifacts_dir or settings.runner.artifacts_dir
        currencies = {c for t in settings.targets.values() for c in t.currencies}
        self.metrics = RunnerMetrics(settings.runner.region, currencies, settings.runner.dependency_allowlist, registry)
        self.metrics.info.labels(VERSION, settings.runner.region, shard.label).set(1)
        self.metrics.registry.register(MaintenanceCollector(lambda: self.settings))
        self.tokens = TokenCache()
        self.budget = StakeBudget(
            {
                name: share_of_budget(t.stake_budget_usd_per_day, shard.count)
                for name, t in settings.targets.items()
                if t.allow_money
            },
            ledger=budget_ledger,
        )
        for name, target in settings.targets.items():
            if target.allow_money:
                self.metrics.stake_budget.labels(name).set(float(self.budget.remaining(name)))
        upload = settings.runner.upload
        self.uploads = ArtifactUploads(upload, self.metrics, verbose=verbose) if upload else None
        self.browser_pool: BrowserPool | None = None  # created on a browser journey's first run (harness.browser)
        self.history: RunHistory | None = None  # serve mode keeps every result (harness.history)
        self.failing: set[tuple[str, str]] = set()  # (scenario, target) whose last run failed or timed out
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self._http: HttpThread | None = None
        self._register_secrets()
        self.tracing = Tracing.from_environment(VERSION)
        self.on_close(self.tracing.close)  # closed last: it exports what every other closer left

    def _register_secrets(self) -> None:
        register_credential_header(self.settings.contract.headers.reset_secret)
        for target in self.settings.targets.values():
            for ref in (target.accounts.password if target.accounts else None, target.reset_secret):
                if ref is not None:
                    with contextlib.suppress(Exception):
                        register_secret(self.settings.secret(ref))

    @property
    def http(self) -> HttpThread:
        """The scenarios' HTTP client, timed on a loop of its own (``harness.http_thread``)."""
        if self._http is None:
            limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
            self._http = HttpThread(new_client(trusted_tls_context(), limits))
        return self._http

    def record(self, result: RunResult) -> None:
        """Count a result in the metrics, keep it in the history (when there is one) and note whether
        its journey is failing (the next run of a failing browser journey records a trace)."""
        self.metrics.record(result)
        if result.outcome in (Outcome.FAILURE, Outcome.TIMEOUT):
            self.failing.add((result.scenario, result.target))
        elif result.passed:
            self.failing.discard((result.scenario, result.target))
        if self.history is not None:
            self.history.add(result)

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        self._closers.append(closer)

    async def aclose(self) -> None:
        if self.uploads is not None:
            await self.uploads.drain()
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                await closer()
        self._closers.clear()
        if self._http is not None:
            await self._http.aclose()
            self._http = None
