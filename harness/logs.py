"""Log lines, redacted: one per run and one per step, joinable by run and trace id.

A failed step logs at WARNING; a passing one at DEBUG, so ``run -v`` shows every step.
JSON for machines (the default off a terminal: containers, CI logs), or text for a person at
a terminal: one readable line per finished scenario (result, duration, failing step and
reason) instead of a screen of JSON.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from harness.results import RunResult
from harness.secrets import RedactingFilter, redact

__all__ = ["LOG_FORMATS", "setup_logging", "log_result"]

LOG_FORMATS = ("auto", "json", "text")
"""``auto``: text when the log stream is a terminal, else JSON."""

_FIELDS = "fields"
log = logging.getLogger("runner")


def _iso(unix_time: float) -> str:
    """``2026-11-26T01:17:19.239Z``: UTC, to the millisecond, as every line's ``ts``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(unix_time)) + f".{int(unix_time * 1000) % 1000:03d}Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _iso(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(getattr(record, _FIELDS, {}))
        if record.exc_info and record.levelno >= logging.DEBUG:
            line["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return redact(json.dumps(line, default=str))


class TextFormatter(logging.Formatter):
    """A person's view: ``PASS bet_settlement [prod] 1.23s`` or ``FAIL ... at 'deposit EUR': reason: why``."""

    _MARKS = {"success": "PASS", "failure": "FAIL", "timeout": "TIME", "aborted": "ABRT", "skipped": "SKIP"}

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = dict(getattr(record, _FIELDS, {}))
        clock = time.strftime("%H:%M:%S", time.localtime(record.created))
        if record.getMessage() == "run finished":
            return redact(f"{clock} {self._run_line(fields)}")
        extra = " ".join(f"{key}={value}" for key, value in fields.items() if value not in (None, ""))
        line = f"{clock} {record.levelname.lower():7} {record.getMessage()}" + (f"  {extra}" if extra else "")
        return redact(line)

    def _run_line(self, fields: dict[str, Any]) -> str:
        result = str(fields.get("result"))
        line = f"{self._MARKS.get(result, result.upper())} {fields.get('scenario')} [{fields.get('target')}]"
        line += f" {float(fields.get('duration_seconds') or 0):.2f}s"
        if fields.get("flaky"):
            line += f" (flaky, {fields.get('attempts')} attempts)"
        if fields.get("step"):
            line += f" at '{fields['step']}'"
        if fields.get("reason"):
            line += f": {fields['reason']}"
        if fields.get("message") and result != "success":
            line += f": {fields['message']}"
        if fields.get("artifacts_url"):
            line += f" (artifacts: {fields['artifacts_url']})"
        return line


def _not_a_step_line(record: logging.LogRecord) -> bool:
    """In text, the run's line names its failing step; JSON keeps a line per failed step."""
    return record.getMessage() != "step failed"


def setup_logging(level: str = "INFO", stream: Any = None, log_format: str = "auto") -> None:
    """Log to ``stream`` (stderr) at ``level``; third-party chatter only at debug."""
    stream = stream or sys.stderr
    if log_format == "auto":
        log_format = "text" if getattr(stream, "isatty", lambda: False)() else "json"
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter() if log_format == "text" else JsonFormatter())
    handler.addFilter(RedactingFilter())
    if log_format == "text":
        handler.addFilter(_not_a_step_line)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet = logging.DEBUG if level == "DEBUG" else logging.WARNING
    for noisy in ("httpx", "httpcore", "socketio", "engineio", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(quiet)  # "Adding job tentatively", "Running job": debug only


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
    fields: dict[str, Any] = {
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
    if result.artifacts_url:
        fields["artifacts_url"] = result.artifacts_url
    if result.message:
        fields["message"] = result.message
    if result.planned_at is not None:  # serve mode: how late the run started, and why
        fields["planned_at"] = _iso(result.planned_at)
        fields["start_delay_seconds"] = round(sum(result.start_delay.values()), 4)
        fields["start_delay_by_cause"] = {cause: round(s, 4) for cause, s in result.start_delay.items()}
    level = logging.INFO if result.outcome in ("success", "skipped") else logging.WARNING
    log.log(level, "run finished", extra={_FIELDS: fields})
