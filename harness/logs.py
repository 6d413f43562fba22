"""JSON log lines, redacted: one per run and one per step, joinable by run and trace id.

A failed step logs at WARNING; a passing one at DEBUG, so ``run -v`` shows every step.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from harness.results import RunResult
from harness.secrets import RedactingFilter, redact

__all__ = ["setup_logging", "log_result"]

_FIELDS = "fields"
log = logging.getLogger("runner")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(getattr(record, _FIELDS, {}))
        if record.exc_info and record.levelno >= logging.DEBUG:
            line["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return redact(json.dumps(line, default=str))


def setup_logging(level: str = "INFO", stream: Any = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler.executors.default", "socketio", "engineio", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_result(result: RunResult) -> None:
    """One line per step (failed: WARNING, passed: DEBUG), then the run's line."""
    base = {
        "run_id": result.run_id,
        "trace_id": result.trace_id,
        "scenario": result.scenario,
        "target": result.target,
        "region": result.region,
    }
    for step in result.steps:
        timing = {**base, "step": step.name, "duration_seconds": round(step.duration_seconds, 4)}
        if step.success:
            log.debug("step passed", extra={_FIELDS: timing})
        else:
            log.warning("step failed", extra={_FIELDS: {**timing, "reason": step.reason, "message": step.message}})
    fields = {
        **base,
        "result": str(result.outcome),
        "duration_seconds": round(result.duration_seconds, 4),
        "step": result.failed_step,
        "reason": result.reason,
        "attempts": result.attempts,
    }
    if result.flaky:
        fields["flaky"] = True
    if result.artifacts_dir:
        fields["artifacts"] = result.artifacts_dir
    if result.message:
        fields["message"] = result.message
    level = logging.INFO if result.outcome in ("success", "skipped") else logging.WARNING
    log.log(level, "run finished", extra={_FIELDS: fields})
