"""Soak the runner's browser: N browser runs in serve mode, counting Chromium processes and handles.

    .venv/bin/python bench/browser_soak.py                 # starts a sandbox of its own, 200 runs
    .venv/bin/python bench/browser_soak.py --runs 50 --config /tmp/my-sandbox.yaml

It runs the real scheduler (``harness.scheduler.Service``) with ``spa_load`` and
``spa_login_balance`` due every second, so the runner's one browser serves run after run as it
does in production, and prints every ``--every`` runs: Chromium processes, file handles of the
runner, of Playwright's driver and of Chromium, and Chromium's memory (PSS). A leak shows as a
column whose lowest value keeps rising; the exit code is 1 when the second half's lowest counts
exceed the first half's by more than a small bound, when a run failed, or when Chromium outlives
the runner.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.runner_config import write_config  # noqa: E402
from config.loader import load_settings  # noqa: E402
from harness.discovery import ScenarioPlan, discover, plan  # noqa: E402
from harness.runtime import Runtime  # noqa: E402
from harness.scheduler import Service  # noqa: E402
from probes.browser_process import Footprint, chromium_tree, footprint  # noqa: E402

SCENARIOS = ["spa_load", "spa_login_balance"]
MORE_PROCESSES = 3
MORE_FDS = 12
COLUMNS = ("runs", "failed", "chromium", "runner fds", "driver fds", "chromium fds", "chromium PSS MiB")


def runs_so_far(runtime: Runtime) -> tuple[int, int]:
    """(runs finished, runs not passed), from the runner's own counter."""
    done = failed = 0
    for metric in runtime.metrics.runs.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels["result"] != "skipped":
                done += int(sample.value)
                failed += int(sample.value) if sample.labels["result"] != "success" else 0
    return done, failed


def row(done: int, failed: int, count: Footprint) -> str:
    cells = (
        done,
        failed,
        count.chromium_processes,
        count.runner_fds,
        count.driver_fds,
        count.browser_fds,
        count.chromium_pss_mib,
    )
    return "  ".join(str(c).rjust(len(h)) for c, h in zip(cells, COLUMNS, strict=True))


async def soak(config: Path, runs: int, every: int) -> int:
    settings = load_settings(config, scenario_names=discover())
    plans = [
        ScenarioPlan(p.scenario, p.target, 1.0, p.timeout_seconds, p.options)
        for p in plan(settings, discover(), names=SCENARIOS)
    ]
    runtime = Runtime(settings)
    service = Service(runtime, plans, "127.0.0.1:0", grace_seconds=30, max_start_offset_seconds=1)
    counts: list[Footprint] = []
    print("  ".join(COLUMNS))

    async def watch() -> None:
        next_report = every
        while True:
            done, failed = runs_so_far(runtime)
            if done >= next_report or done >= runs:
                count = footprint()
                counts.append(count)
                print(row(done, failed, count), flush=True)
                next_report += every
            if done >= runs:
                service.stopping.set()
                return
            await asyncio.sleep(0.2)

    watcher = asyncio.create_task(watch())
    started = time.monotonic()
    await service.serve()
    watcher.cancel()
    done, failed = runs_so_far(runtime)
    left = chromium_tree()
    for _ in range(50):
        if not left:
            break
        await asyncio.sleep(0.1)
        left = chromium_tree()
    print(
        f"{done} runs ({failed} not passed) in {time.monotonic() - started:.0f} s; "
        f"Chromium processes left after the runner closed: {len(left)}"
    )
    if len(counts) < 2:
        return 1
    # Counts are taken while runs are in flight, so they swing with them (a context's renderer
    # comes and goes); what leaks stays, and raises the floor: compare the lowest of each half.
    half = len(counts) // 2
    early, late = counts[:half] or counts[:1], counts[half:]

    def floor(values: list[Footprint], field: str) -> int:
        return min(int(getattr(c, field)) for c in values)

    bounds = {
        "chromium_processes": MORE_PROCESSES,
        "runner_fds": MORE_FDS,
        "driver_fds": MORE_FDS,
        "browser_fds": 5 * MORE_FDS,
    }
    grown = [
        f"{field} {floor(early, field)} -> {floor(late, field)}"
        for field, bound in bounds.items()
        if floor(late, field) > floor(early, field) + bound
    ]
    grew = bool(grown)
    print(
        f"growth beyond the bound: {', '.join(grown)}"
        if grew
        else "no growth beyond the bound: the second half's lowest counts stay within the first half's"
    )
    return 1 if grew or left or failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--every", type=int, default=20, help="print the counts every N runs")
    parser.add_argument("--config", type=Path, help="a config for a running sandbox (default: start one)")
    args = parser.parse_args(argv)
    if args.config:
        return asyncio.run(soak(args.config, args.runs, args.every))
    from sandbox.testing import running_sandbox

    with tempfile.TemporaryDirectory(prefix="mg-soak-") as folder, running_sandbox(Path(folder)) as sandbox:
        return asyncio.run(soak(write_config(Path(folder), sandbox.urls), args.runs, args.every))


if __name__ == "__main__":
    sys.exit(main())
