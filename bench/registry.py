"""The benchmarks, in the order ``python -m bench`` runs them, with what each takes.

``make bench`` runs those ``in_make_bench`` (its budget is 30 minutes); the others run on their
own (``make soak``), and their sections of ``bench/RESULTS.md`` sit among the rest.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from bench.report import BenchOptions, Section

__all__ = ["BENCHES", "Bench"]


@dataclass(frozen=True)
class Bench:
    name: str
    summary: str
    minutes: float  # a full run on the 2-core build machine, as last measured (RESULTS.md "in N s")
    module: str
    function: str = "run"
    in_make_bench: bool = True

    def runner(self) -> Callable[[BenchOptions], Section]:
        run: Callable[[BenchOptions], Section] = getattr(importlib.import_module(self.module), self.function)
        return run

    @property
    def title(self) -> str:
        """The section's title, as the module names it (also when the benchmark fails)."""
        module = importlib.import_module(self.module)
        plan = getattr(module, "PLANS", {}).get(self.name)
        return str(plan.title if plan else getattr(module, "TITLE", self.summary))


BENCHES = (
    Bench("http", "HTTP probe vs blackbox_exporter, alone and beside browsers", 5.8, "bench.http_accuracy"),
    Bench(
        "http-load",
        "HTTP beside browsers, serve mode before and after its timing settings (not make bench)",
        7,
        "bench.http_load",
        function="before_and_after",  # the smoke test runs its under-load condition in the http row
        in_make_bench=False,
    ),
    Bench("browser", "browser overhead: runner vs bare Playwright vs browser per run", 5.6, "bench.browser_overhead"),
    Bench("detect", "time to detect five faults, to metric and to alert", 7.8, "bench.detect"),
    Bench("soak", "1,000 runs in serve mode: resources, drift, lost results", 2.1, "bench.soak"),
    Bench(
        "long-soak",
        "10,000 runs in serve mode (make soak, not make bench): leaks, drift, lost results",
        18,
        "bench.soak",
        function="run_long",
        in_make_bench=False,
    ),
    Bench("scale", "API runs per minute one runner sustains", 4.2, "bench.scale"),
    Bench("fleet", "a region's samples through remote-write, and its work per replica", 2.6, "bench.fleet"),
    Bench("hostile", "/metrics latency and memory beside a hostile target vs a healthy one", 0.8, "bench.hostile"),
    Bench("pages", "time to page as shipped, false pages, and what the intervals cost", 0.6, "bench.time_to_page"),
    Bench(
        "loop",
        "serve mode's event loop, before and after, idle and loaded (not make bench): lag, drift, what blocks it",
        9,
        "bench.loop_profile",
        in_make_bench=False,
    ),
)
