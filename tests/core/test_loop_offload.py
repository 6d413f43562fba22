"""Serve mode keeps blocking work off its event loop (issue 17; figures in bench/RESULTS.md §9).

Each test pins where a piece of work runs, not how fast: the exposition of /metrics and the
shared HTTP client's TLS context are built in a worker thread, start-up's objects are kept out
of full garbage collections, and an HTTP request in steady state imports nothing (httpcore's
per-lock ``import sniffio`` used to fail, and so search sys.path, on every request).
"""

from __future__ import annotations

import asyncio
import gc
import importlib.abc
import ssl
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from prometheus_client.core import GaugeMetricFamily, Metric

import harness.runtime
from harness.scheduler import Service
from probes.http import trusted_tls_context
from tests.core import scenarios_for_tests as s
from tests.core.fake_platform import FakePlatform
from tests.core.test_serve_mode import service_for, start


class ThreadSpy:
    """A collector that notes the thread each exposition runs in."""

    def __init__(self) -> None:
        self.threads: list[int] = []

    def collect(self) -> Iterable[Metric]:
        self.threads.append(threading.get_ident())
        yield GaugeMetricFamily("test_exposition_thread_spy", "Seen by the test", value=1)


class ImportSpy(importlib.abc.MetaPathFinder):
    """Records every module the import system is asked to find (each one a search of sys.path)."""

    def __init__(self) -> None:
        self.searched: list[str] = []

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None) -> None:
        self.searched.append(name)


@pytest.fixture
def import_spy() -> Iterator[ImportSpy]:
    spy = ImportSpy()
    sys.meta_path.insert(0, spy)
    try:
        yield spy
    finally:
        sys.meta_path.remove(spy)


def quiet_service(tmp_path: Path, url: str) -> Service:
    """One quick scenario, due once an hour: the loop has little to do but serve."""
    return service_for(tmp_path, url, [(s.Quick, 3600)])


async def test_metrics_are_encoded_off_the_event_loop(tmp_path: Path, fake_platform: FakePlatform) -> None:
    service = quiet_service(tmp_path, fake_platform.url)
    spy = ThreadSpy()
    service.runtime.metrics.registry.register(spy)
    task = await start(service)
    try:
        async with httpx.AsyncClient() as client:
            for accept in ("", "application/openmetrics-text;version=1.0.0"):
                answer = await client.get(f"http://127.0.0.1:{service.bound_port}/metrics", headers={"Accept": accept})
                assert answer.status_code == 200
                assert "test_exposition_thread_spy 1" in answer.text
                assert "synthetic_runner_info" in answer.text
    finally:
        service.stopping.set()
        assert await asyncio.wait_for(task, 10) == 0
    assert len(spy.threads) == 2
    assert threading.get_ident() not in spy.threads, "the exposition ran on the event loop's thread"


async def test_shared_client_and_its_tls_context_are_built_before_the_first_run_off_the_loop(
    tmp_path: Path, fake_platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    built_in: list[int] = []
    real = trusted_tls_context

    def noting_thread() -> ssl.SSLContext:
        built_in.append(threading.get_ident())
        return real()

    monkeypatch.setattr(harness.runtime, "trusted_tls_context", noting_thread)
    service = quiet_service(tmp_path, fake_platform.url)
    task = await start(service)
    try:
        assert len(built_in) == 1, "the shared client was not built before the schedule was armed"
        assert built_in[0] != threading.get_ident(), "the TLS context was built on the event loop's thread"
        assert service.runtime.http is service.runtime.http
        assert len(built_in) == 1  # built once, kept
    finally:
        service.stopping.set()
        assert await asyncio.wait_for(task, 10) == 0


async def test_a_request_in_steady_state_imports_nothing(fake_platform: FakePlatform, import_spy: ImportSpy) -> None:
    async with httpx.AsyncClient() as client:
        await client.get(f"{fake_platform.url}/healthz")  # first use may import lazily: not counted
        import_spy.searched.clear()
        for _ in range(3):
            await client.get(f"{fake_platform.url}/healthz")
    async with httpx.AsyncClient() as fresh:  # a client per call, as the health probe makes
        await fresh.get(f"{fake_platform.url}/healthz")
    assert import_spy.searched == [], f"each request searched sys.path for {sorted(set(import_spy.searched))}"


async def test_start_up_objects_are_frozen_out_of_full_collections_while_serving(
    tmp_path: Path, fake_platform: FakePlatform
) -> None:
    service = quiet_service(tmp_path, fake_platform.url)
    assert gc.get_freeze_count() == 0
    task = await start(service)
    try:
        assert gc.get_freeze_count() > 10_000, "start-up's objects are walked by every full collection"
    finally:
        service.stopping.set()
        assert await asyncio.wait_for(task, 10) == 0
    assert gc.get_freeze_count() == 0, "the process keeps its frozen objects after serving"
