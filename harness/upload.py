"""Failed runs' artifacts copied to S3 (or any S3-compatible store), so the evidence of a
03:00 incident outlives the container that saw it.

An upload never fails or delays a run's result: the run hands its folder over and goes on.
The object URL is known from the key before the upload starts, so the run's log line carries
it at once. Uploads wait in a bounded queue and run ``max_concurrent`` at a time, each in a
daemon thread (boto3 blocks): not ``asyncio.to_thread``, whose pool the process waits for at
exit, so a store that hangs would hold the exit for as long as boto3's timeouts and retries
allow. A full queue drops the run's upload. Each run's upload is counted once in
``synthetic_artifact_uploads_total{result}``: ``success``, ``failure`` or ``dropped``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.settings import UploadSettings
from harness.metrics import RunnerMetrics
from harness.results import RunResult

__all__ = ["ArtifactUploads", "UPLOAD_RESULTS"]

log = logging.getLogger("runner")
UPLOAD_RESULTS = ("success", "failure", "dropped")


async def _in_daemon_thread(work: Callable[[], None]) -> None:
    """Run ``work`` off the loop; the loop (and the process at exit) never waits beyond its await."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(None)

    def thread() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the awaiting coroutine, never lost in the thread
            error: BaseException | None = exc
        else:
            error = None
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=thread, name="artifact-upload", daemon=True).start()
    await done


@dataclass(frozen=True)
class _Upload:
    result: RunResult
    folder: Path
    key: str  # the run's folder in the bucket, ending in "/"


class ArtifactUploads:
    """The uploader of one runner process: a queue, its workers and one S3 client."""

    def __init__(self, settings: UploadSettings, metrics: RunnerMetrics, *, verbose: bool = False) -> None:
        self.settings = settings
        self.verbose = verbose  # -v: passing runs' artifacts go too
        self._counter = metrics.artifact_uploads
        for outcome in UPLOAD_RESULTS:
            self._counter.labels(outcome)
        self._queue: asyncio.Queue[_Upload] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._client: Any = None
        self._client_lock = threading.Lock()

    # -- where things go ------------------------------------------------------------------
    def key_for(self, result: RunResult) -> str:
        day = time.strftime("%Y-%m-%d", time.gmtime(result.started_at))
        return f"{self.settings.prefix}{result.region}/{result.scenario}/{day}/{result.run_id}/"

    def url_for(self, key: str) -> str:
        bucket = self.settings.bucket
        if self.settings.endpoint_url is not None:
            return f"{str(self.settings.endpoint_url).rstrip('/')}/{bucket}/{key}"
        if self.settings.region:
            return f"https://{bucket}.s3.{self.settings.region}.amazonaws.com/{key}"
        return f"https://{bucket}.s3.amazonaws.com/{key}"

    # -- handing a run over ---------------------------------------------------------------
    def offer(self, result: RunResult) -> str | None:
        """Queue the run's artifacts if they should go; return where they will be, or None."""
        if result.artifacts_dir is None or (result.passed and not self.verbose):
            return None
        queue = self._started()
        upload = _Upload(result, Path(result.artifacts_dir), self.key_for(result))
        try:
            queue.put_nowait(upload)
        except asyncio.QueueFull:
            self._counter.labels("dropped").inc()
            log.warning("artifact upload dropped: queue full", extra={"fields": self._fields(upload)})
            return None
        return self.url_for(upload.key)

    def _started(self) -> asyncio.Queue[_Upload]:
        if self._queue is None:
            self._queue = asyncio.Queue(self.settings.queue_size)
            self._workers = [asyncio.create_task(self._work(self._queue)) for _ in range(self.settings.max_concurrent)]
        return self._queue

    async def _work(self, queue: asyncio.Queue[_Upload]) -> None:
        while True:
            upload = await queue.get()
            try:
                await _in_daemon_thread(functools.partial(self._put_folder, upload))
            except asyncio.CancelledError:  # the runner is exiting: the upload's end is unknown
                upload.result.artifacts_url = None
                self._counter.labels("dropped").inc()
                raise
            except Exception as exc:  # any failure of the store: counted and logged, never raised
                upload.result.artifacts_url = None  # reports written later name only what arrived
                self._counter.labels("failure").inc()
                log.warning(
                    "artifact upload failed",
                    extra={"fields": {**self._fields(upload), "error": f"{type(exc).__name__}: {exc}"[:300]}},
                )
            else:
                self._counter.labels("success").inc()
            finally:
                queue.task_done()

    def _fields(self, upload: _Upload) -> dict[str, str]:
        return {"run_id": upload.result.run_id, "scenario": upload.result.scenario, "key": upload.key}

    # -- the store (in a worker thread) ---------------------------------------------------
    def _s3(self) -> Any:
        with self._client_lock:  # one client for every thread; creating it is not thread-safe
            if self._client is None:
                import boto3
                from botocore.config import Config

                self._client = boto3.session.Session().client(
                    "s3",
                    region_name=self.settings.region,
                    endpoint_url=str(self.settings.endpoint_url) if self.settings.endpoint_url else None,
                    config=Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 2, "mode": "standard"}),
                )
            return self._client

    def _put_folder(self, upload: _Upload) -> None:
        client = self._s3()
        for path in sorted(p for p in upload.folder.rglob("*") if p.is_file()):
            client.upload_file(str(path), self.settings.bucket, upload.key + path.relative_to(upload.folder).as_posix())

    # -- exit -----------------------------------------------------------------------------
    async def drain(self) -> None:
        """Wait up to ``drain_seconds`` for queued uploads (so run mode's reports name them), then
        stop; uploads never started are counted as dropped."""
        if self._queue is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), self.settings.drain_seconds)
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        while not self._queue.empty():
            upload = self._queue.get_nowait()
            upload.result.artifacts_url = None
            self._counter.labels("dropped").inc()
            log.warning("artifact upload dropped: runner exiting", extra={"fields": self._fields(upload)})
        self._queue = None
