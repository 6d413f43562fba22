"""``runner.py serve`` as a child process of a benchmark, and reading its ``/metrics``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.processes import Child, running

__all__ = ["Samples", "line_time", "read_run_lines", "running_serve", "scrape"]

READY = r"metrics at (http://\S+/metrics)"


@contextlib.contextmanager
def running_serve(
    config: Path,
    log_path: Path,
    *,
    extra_args: Sequence[str] = (),
    max_start_offset: float = 1.0,
    command: Sequence[str] | None = None,
    env: dict[str, str] | None = None,
    cpus: set[int] | None = None,
) -> Iterator[Child]:
    """``python runner.py serve`` on a free port; ``child.url`` is its /metrics URL.

    ``command`` replaces ``python runner.py`` (e.g. the instrumented wrapper of the soak).
    """
    import sys

    base = list(command) if command else [sys.executable, "runner.py"]
    argv = [
        *base,
        "serve",
        "--config",
        str(config),
        "--listen",
        "127.0.0.1:0",
        "--max-start-offset",
        f"{max_start_offset:g}",
        *extra_args,
    ]
    with running(argv, log_path, ready=READY, timeout=60, env=env, cpus=cpus) as child:
        yield child


@dataclass(frozen=True)
class Samples:
    """One scrape: (name, labels, value) for every sample."""

    rows: tuple[tuple[str, dict[str, str], float], ...]

    def select(self, name: str, **labels: str) -> list[tuple[dict[str, str], float]]:
        return [
            (row_labels, value)
            for row_name, row_labels, value in self.rows
            if row_name == name and all(row_labels.get(k) == v for k, v in labels.items())
        ]

    def value(self, name: str, **labels: str) -> float | None:
        found = self.select(name, **labels)
        return found[0][1] if found else None

    def total(self, name: str, **labels: str) -> float:
        return sum(value for _, value in self.select(name, **labels))

    @property
    def series(self) -> int:
        return len(self.rows)


def parse(text: str) -> Samples:
    rows = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            rows.append((sample.name, dict(sample.labels), float(sample.value)))
    return Samples(tuple(rows))


def scrape(client: httpx.Client, url: str) -> Samples:
    answer = client.get(url, timeout=10)
    answer.raise_for_status()
    return parse(answer.text)


def read_run_lines(log_path: Path) -> list[dict[str, Any]]:
    """The runner's JSON ``run finished`` lines (one per recorded result, skipped ones included)."""
    lines = []
    for raw in log_path.read_text(errors="replace").splitlines():
        if not raw.startswith("{"):
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if line.get("msg") == "run finished":
            lines.append(line)
    return lines


def line_time(line: dict[str, Any]) -> float:
    """The Unix time of a log line's ``ts`` (``2026-11-26T01:17:19.239Z``, when it was written)."""
    from datetime import UTC, datetime

    return datetime.strptime(str(line["ts"]), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
