"""Issue "hostile targets": ``/metrics`` beside a hostile target against beside a healthy one.

Two ``runner.py serve`` processes run at once with the same scenarios and intervals: one
probes a healthy target only, the other a healthy target and a hostile one (a 1 GiB
``Content-Length``, an endless chunked body, a trickled body and headers then silence, one
per service: ``sandbox/hostile.py``). Both ``/metrics`` are scraped in turn for the window;
per process: the scrape latency (p50, p99, max), scrapes that failed, the peak RSS growth
(``VmHWM`` over the RSS once ready) and the runs recorded. ``tests/hostile`` asserts the
bounds (memory, every scrape answered, every planned run recorded); here are the figures.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.processes import Child
from bench.procfs import peak_rss_kib, rss_kib
from bench.report import BenchOptions, Goal, Section, ms, table
from bench.runner_config import bench_config
from bench.serve import parse, running_serve
from bench.stats import percentile
from config.sandbox_config import TARGET, target_urls
from config.sandbox_config import write_config as write_yaml
from sandbox.hostile import HostileLoop, running_hostile

__all__ = [
    "HOSTILE_SERVICES",
    "SCENARIOS",
    "Watch",
    "beside_config",
    "hostile_urls",
    "run",
    "serving_beside",
    "watch",
]

NAME = "hostile"
TITLE = "7. Hostile targets: /metrics beside a hostile target against a healthy one"
SCENARIOS = {"uptime": (2.0, 3.0), "rates_freshness": (1.0, 2.0)}  # name: (interval, timeout) in seconds
HOSTILE_SERVICES = {  # how each service of the hostile target misbehaves
    "vault": "huge_body",
    "concierge": "endless_chunked",
    "room_service": "trickle",
    "cdn": "headers_then_stall",
}
RSS_GROWTH_GOAL = 64 << 20
WINDOW, QUICK_WINDOW = 40.0, 3.0
SCRAPE_EVERY = 0.1


def hostile_urls(hostile: HostileLoop) -> dict[str, str]:
    """One hostile server per service, each misbehaving its own way."""
    return {service: hostile.server(mode).url for service, mode in HOSTILE_SERVICES.items()}


def beside_config(directory: Path, targets: Mapping[str, Mapping[str, str]]) -> Path:
    """The sandbox config with ``targets`` (name: service URLs) and only ``SCENARIOS``, on short intervals."""
    overrides: dict[str, dict[str, Any]] = {
        name: {"interval_seconds": every, "timeout_seconds": timeout} for name, (every, timeout) in SCENARIOS.items()
    }
    overrides["uptime"]["options"] = {"health_timeout_seconds": 0.5}  # its reads fit in 3 s less a second
    first, *_ = targets.values()
    # a second of grace on SIGTERM: a run stuck on a hostile target is then cancelled, recorded as aborted
    config = bench_config(
        directory, first, overrides=overrides, only=list(SCENARIOS), runner={"shutdown_grace_seconds": 1}
    )
    template = config["targets"].pop(TARGET)
    config.pop("maintenance", None)  # its windows name the sandbox target, renamed here
    for name, urls in targets.items():
        config["targets"][name] = {**template, **target_urls(urls), "allow_money": False}
    return write_yaml(config, directory / "config.yaml")


@dataclass
class Watch:
    """What scraping one serve process for a window saw."""

    started: float  # monotonic, when the process was ready
    baseline_rss: int  # bytes, once ready
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    peak_rss: int = 0  # bytes: the kernel's high-water mark since the baseline
    last: str = ""  # the last /metrics text
    last_at: float = 0.0  # monotonic, when it was read

    @property
    def rss_growth(self) -> int:
        return self.peak_rss - self.baseline_rss

    def runs(self, **labels: str) -> float:
        return parse(self.last).total("synthetic_scenario_runs_total", **labels) if self.last else 0.0


def _reset_peak(pid: int) -> None:
    """VmHWM := VmRSS now (Linux: ``5 > clear_refs``); without the right, VmHWM keeps the start-up peak."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


@contextlib.contextmanager
def serving_beside(config: Path, log_path: Path) -> Iterator[tuple[Child, Watch]]:
    """``runner.py serve`` with ``config``, first runs at once, and a ``Watch`` whose baseline is now."""
    with running_serve(config, log_path, max_start_offset=0) as child:
        _reset_peak(child.pid)
        yield child, Watch(time.monotonic(), rss_kib(child.pid) * 1024)


def watch(client: httpx.Client, children: list[tuple[Child, Watch]], seconds: float) -> None:
    """Scrape every child's ``/metrics`` in turn for ``seconds``: latency, failures, peak RSS."""
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        for child, seen in children:
            started = time.perf_counter()
            try:
                answer = client.get(child.url, timeout=10)
                answer.raise_for_status()
                seen.latencies.append(time.perf_counter() - started)
                seen.last, seen.last_at = answer.text, time.monotonic()
            except httpx.HTTPError as exc:
                seen.failures.append(f"{type(exc).__name__}: {exc}"[:200])
            seen.peak_rss = max(seen.peak_rss, peak_rss_kib(child.pid) * 1024)
        time.sleep(SCRAPE_EVERY)


def run(options: BenchOptions) -> Section:
    window = QUICK_WINDOW if options.quick else WINDOW
    work = options.work_dir / NAME
    with running_hostile() as hostile:
        healthy = hostile.server("healthy").url
        healthy_urls = dict.fromkeys(HOSTILE_SERVICES, healthy)
        alone = beside_config(work / "healthy", {"healthy": healthy_urls})
        beside = beside_config(work / "beside", {"healthy": healthy_urls, "hostile": hostile_urls(hostile)})
        with (
            serving_beside(alone, work / "healthy.log") as healthy_only,
            serving_beside(beside, work / "beside.log") as with_hostile,
            httpx.Client(trust_env=False) as client,
        ):
            watch(client, [healthy_only, with_hostile], window)
    rows, data = [], {}
    for label, (_, seen) in (("healthy target only", healthy_only), ("beside a hostile target", with_hostile)):
        lat = seen.latencies
        data[label] = {"latencies": lat, "failures": seen.failures, "rss_growth": seen.rss_growth}
        rows.append(
            (
                label,
                len(lat),
                len(seen.failures),
                ms(percentile(lat, 50)) if lat else "-",
                ms(percentile(lat, 99)) if lat else "-",
                ms(max(lat)) if lat else "-",
                f"{seen.rss_growth / (1 << 20):.1f}",
                f"{seen.runs(target='healthy'):.0f} / {seen.runs(target='hostile'):.0f}",
            )
        )
    beside_seen = with_hostile[1]
    body = "\n".join(
        [
            f"Window {window:g} s, `/metrics` of both processes scraped in turn every {SCRAPE_EVERY:g} s; "
            f"scenarios {', '.join(f'{n} every {i:g} s (timeout {t:g} s)' for n, (i, t) in SCENARIOS.items())}. "
            f"Hostile services: {', '.join(f'{s} {m}' for s, m in HOSTILE_SERVICES.items())}. "
            "Before the body cap, one such target held 3.5 GB of RSS and `/metrics` took 1.65 s (max 5.5 s).",
            "",
            table(
                (
                    "serve process",
                    "scrapes",
                    "failed",
                    "p50 (ms)",
                    "p99 (ms)",
                    "max (ms)",
                    "peak RSS growth (MiB)",
                    "runs healthy / hostile",
                ),
                rows,
            ),
        ]
    )
    goals = [
        Goal("every /metrics scrape answered beside the hostile target", not beside_seen.failures),
        Goal(
            "peak RSS growth beside the hostile target under 64 MiB",
            beside_seen.rss_growth < RSS_GROWTH_GOAL,
            f"{beside_seen.rss_growth / (1 << 20):.1f} MiB",
        ),
    ]
    return Section(NAME, TITLE, f".venv/bin/python -m bench --only {NAME}", body, goals, data=data)
