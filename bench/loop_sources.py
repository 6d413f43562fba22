"""What holds the runner's event loop: every slow callback, and the code it spent its time in.

asyncio's debug mode (``loop.slow_callback_duration``) names a slow callback only by its
handle (a task's outermost coroutine), and debug mode slows every callback. This recorder
times each callback the loop runs (``Handle._run``, the call the loop makes for every ready
handle; other threads' loops are left alone), and a sampler thread takes the loop thread's
stack once a callback has held the loop for a millisecond, every millisecond after that. A
callback that took longer than the threshold is written as one JSON line: when, how long,
how much of it on CPU, and its sampled stacks; ``classify`` names each stack's source
(client construction, JSON logging, metrics exposition, ...).

The sampler needs the GIL to read a stack: the recorder lowers the interpreter's switch
interval to a millisecond so that it gets it while the loop thread runs Python code. Garbage
collections are timed apart (``gc.callbacks``): a full one walks every live object, whichever
code happened to allocate when it started.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

__all__ = [
    "GARBAGE_COLLECTION",
    "OFF_CPU",
    "SOURCES",
    "SlowCallbackRecorder",
    "classify",
    "read_slow_callbacks",
    "shares",
]

SLOW_CALLBACK_SECONDS = 0.002
SAMPLE_SECONDS = 0.001
MAX_FRAMES = 60

# (source, path fragment, function or "" for any), in order of precedence: a stack belongs to the
# first source any of its frames matches (JSON logging called from a scenario is logging, an
# exposition that reads histograms is the exposition). Generic code (json, re, asyncio) matches none.
SOURCES: tuple[tuple[str, str, str], ...] = (
    ("module imports (first use; before: httpcore's failing import of sniffio, every lock)", "importlib", ""),
    ("client construction (httpx/TLS context)", "ssl.py", "create_default_context"),
    ("client construction (httpx/TLS context)", "ssl.py", "load_verify_locations"),
    ("client construction (httpx/TLS context)", "httpx/_config.py", ""),
    ("client construction (httpx/TLS context)", "httpx/_client.py", "__init__"),
    ("client construction (httpx/TLS context)", "certifi/", ""),
    ("trace and HAR scrubbing (zip rewrites)", "zipfile", ""),
    ("trace and HAR scrubbing (zip rewrites)", "harness/browser.py", "scrub"),
    ("trace and HAR scrubbing (zip rewrites)", "probes/browser", "scrub"),
    ("metrics exposition", "prometheus_client/exposition.py", ""),
    ("metrics exposition", "prometheus_client/openmetrics/exposition.py", ""),
    ("pydantic validation", "pydantic", ""),
    ("JSON logging", "logging/__init__.py", ""),
    ("JSON logging", "harness/logs.py", ""),
    ("JSON logging", "harness/secrets.py", ""),
    ("run history (SQLite)", "sqlite3", ""),
    ("run history (SQLite)", "harness/history.py", ""),
    ("tracing (OpenTelemetry)", "opentelemetry", ""),
    ("metrics recording", "prometheus_client/", ""),
    ("Playwright's driver traffic", "playwright/", ""),
    ("socket.io client", "socketio/", ""),
    ("socket.io client", "engineio/", ""),
    ("aiohttp (runner's HTTP server, socket.io transport)", "aiohttp/", ""),
    ("HTTP client I/O (httpx/httpcore/h11)", "httpcore/", ""),
    ("HTTP client I/O (httpx/httpcore/h11)", "h11/", ""),
    ("HTTP client I/O (httpx/httpcore/h11)", "httpx/", ""),
    ("TLS I/O", "ssl.py", ""),
    ("scheduler (APScheduler)", "apscheduler/", ""),
    ("artifacts and reports", "harness/reports.py", ""),
    ("artifacts and reports", "harness/upload.py", ""),
    ("artifacts and reports", "harness/html_report.py", ""),
    ("scenario code", "/scenarios/", ""),
    ("probes", "/probes/", ""),
    ("harness", "/harness/", ""),
)
UNSAMPLED = "unsampled (done within a millisecond of the sampler's wake-up)"
GARBAGE_COLLECTION = "garbage collection (full: every live object)"
OFF_CPU = "off CPU: waiting for a core (machine load) or for the GIL (the runner's threads)"
OTHER = "other (asyncio internals, stdlib)"


def _frames(frame: FrameType | None) -> list[str]:
    """``path:function`` of every frame, innermost first."""
    found: list[str] = []
    while frame is not None and len(found) < MAX_FRAMES:
        found.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")
        frame = frame.f_back
    return found


def classify(stack: Sequence[str]) -> str:
    """The source a sampled stack (``path:function`` frames) belongs to."""
    frames = [frame.rpartition(":") for frame in stack]
    for source, fragment, wanted in SOURCES:
        if any(fragment in path and (not wanted or wanted in function) for path, _, function in frames):
            return source
    return OTHER


class SlowCallbackRecorder:
    """Times every callback of the running loop; writes the slow ones, with stacks, to ``out``."""

    def __init__(self, out: TextIO, threshold_seconds: float = SLOW_CALLBACK_SECONDS) -> None:
        self.out = out
        self.threshold = threshold_seconds
        self._loop_thread = threading.get_ident()
        self._started: float | None = None  # when the running callback began; None between callbacks
        self._serial = 0
        self._samples: list[list[str]] = []
        self._sampled_serial = -1
        self._stop = threading.Event()
        self._original_run: Callable[[asyncio.Handle], None] | None = None
        self._collections: list[tuple[int, float]] = []  # (generation, seconds) within the running callback
        self._collection_started = 0.0

    def install(self) -> None:
        """Wrap ``asyncio.Handle._run`` and start the sampler; call from the loop's thread."""
        self._loop_thread = threading.get_ident()
        original: Callable[[asyncio.Handle], None] = getattr(asyncio.Handle, "_run")  # noqa: B009  # private
        self._original_run = original
        recorder = self

        def timed_run(handle: asyncio.Handle) -> None:
            if threading.get_ident() != recorder._loop_thread:  # another loop (the HTTP timing thread's)
                original(handle)
                return
            recorder._serial += 1
            started, cpu_started = time.perf_counter(), time.thread_time()
            recorder._started = started
            if recorder._collections:
                recorder._collections = []
            try:
                original(handle)
            finally:
                recorder._started = None
                took = time.perf_counter() - started
                if took >= recorder.threshold:
                    recorder._write(handle, started, took, time.thread_time() - cpu_started)

        setattr(asyncio.Handle, "_run", timed_run)  # noqa: B010  # the call the loop makes for every callback
        gc.callbacks.append(self._on_collection)
        sys.setswitchinterval(SAMPLE_SECONDS)
        threading.Thread(target=self._sample_forever, name="loop-sampler", daemon=True).start()

    def uninstall(self) -> None:
        self._stop.set()
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)
        if self._original_run is not None:
            setattr(asyncio.Handle, "_run", self._original_run)  # noqa: B010

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._collection_started = time.perf_counter()
        elif self._started is not None and threading.get_ident() == self._loop_thread:
            self._collections.append((info["generation"], time.perf_counter() - self._collection_started))

    def _sample_forever(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            started, serial = self._started, self._serial
            if started is None or time.perf_counter() - started < SAMPLE_SECONDS:
                continue
            frame = sys._current_frames().get(self._loop_thread)
            if serial != self._serial or self._started is None:
                continue  # the callback ended while we looked
            if serial != self._sampled_serial:
                self._sampled_serial, self._samples = serial, []
            self._samples.append(_frames(frame))

    def _write(self, handle: asyncio.Handle, started: float, took: float, cpu: float) -> None:
        samples = self._samples if self._sampled_serial == self._serial else []
        line: dict[str, Any] = {
            "t": time.time() - (time.perf_counter() - started),
            "seconds": round(took, 6),
            "cpu_seconds": round(min(cpu, took), 6),
            "handle": repr(handle)[:300],
            "samples": samples,
            "collections": [[generation, round(seconds, 6)] for generation, seconds in self._collections],
        }
        self.out.write(json.dumps(line) + "\n")
        self.out.flush()


def read_slow_callbacks(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(raw) for raw in path.read_text().splitlines() if raw.strip()]


def shares(callbacks: Iterable[dict[str, Any]]) -> dict[str, float]:
    """Seconds of slow callbacks per source.

    A callback's garbage collections count as such; the rest of its CPU time is split evenly
    over its sampled stacks' sources; the rest of its wall time the loop thread spent off CPU
    (preempted, or waiting for the GIL), whatever code it was in.
    """
    seconds: dict[str, float] = {}
    for callback in callbacks:
        took = float(callback["seconds"])
        cpu = float(callback.get("cpu_seconds", took))
        collected = min(cpu, sum(float(s) for _, s in callback.get("collections", [])))
        if collected:
            seconds[GARBAGE_COLLECTION] = seconds.get(GARBAGE_COLLECTION, 0.0) + collected
        samples = callback.get("samples") or []
        sources = [classify(stack) for stack in samples] or [UNSAMPLED]
        for source in sources:
            seconds[source] = seconds.get(source, 0.0) + (cpu - collected) / len(sources)
        if took > cpu:
            seconds[OFF_CPU] = seconds.get(OFF_CPU, 0.0) + took - cpu
    return seconds
