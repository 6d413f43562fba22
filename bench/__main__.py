"""``python -m bench`` (``make bench``): run the benchmarks and rewrite ``bench/RESULTS.md``.

    python -m bench                    # all of make bench's, about 30 minutes on the 2-core build machine
    python -m bench --only http        # one (repeatable); RESULTS.md keeps the others' last figures
    python -m bench --only long-soak   # one that make bench leaves out (make soak, ~18 minutes)
    python -m bench --list             # what there is
    python -m bench --quick --out DIR  # tiny counts, results under DIR (the smoke test)

A benchmark that fails is reported as not measured, with its error, and the others still run.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import FrameType

from bench.machine import machine_line, versions_line
from bench.registry import BENCHES
from bench.report import (
    RESULTS_FILE,
    SECTIONS_DIR,
    BenchOptions,
    Section,
    load_sections,
    render_results,
    save_section,
)

__all__ = ["main"]

HEADER = """\
# Benchmark results

Written by `python -m bench` (`make bench`); do not edit by hand. Rerun one benchmark with
`.venv/bin/python -m bench --only NAME`, NAME one of: {names}. The others keep their last
figures, each with its own date, machine and load average. Every figure is a ratio or a
side-by-side comparison measured in one run on one machine: compare within a table, not
across machines, and distrust a table measured at a high load average (other work on the
same cores). Counts are chosen so that `make bench` runs in about {minutes:.0f} minutes on a
2-core machine (budget: 30); `make soak` runs the long soak (`long-soak`) on its own.

This file: {machine}; {versions}.

## Goals at a glance

{goals}
"""


def _run_one(name: str, options: BenchOptions) -> Section:
    bench = next(b for b in BENCHES if b.name == name)
    started = time.time()
    load = os.getloadavg()[0]
    try:
        section = bench.runner()(options)
    except Exception as exc:  # one broken benchmark must not hide the others' figures
        traceback.print_exc()
        section = Section(bench.name, bench.title, f".venv/bin/python -m bench --only {bench.name}", "")
        section.skipped = f"the benchmark failed: {type(exc).__name__}: {str(exc)[:500]}"
    section.measured_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    section.machine = f"{machine_line()}, load average {load:.2f} at the start; {versions_line()}"
    section.seconds = time.time() - started
    return section


def _goals_summary(sections: list[Section]) -> str:
    lines = []
    for section in sections:
        for goal in section.goals:
            lines.append(f"- {section.title.split(':')[0]}: {goal.line()[2:]}")
        if section.skipped:
            lines.append(f"- {section.title.split(':')[0]}: not measured ({section.skipped[:200]})")
    return "\n".join(lines) or "- nothing measured yet"


def write_results(results_file: Path, sections_dir: Path) -> None:
    known = load_sections(sections_dir)
    ordered = [known[b.name] for b in BENCHES if b.name in known]
    header = HEADER.format(
        names=", ".join(b.name for b in BENCHES),
        minutes=sum(b.minutes for b in BENCHES if b.in_make_bench),
        machine=machine_line(),
        versions=versions_line(),
        goals=_goals_summary(ordered),
    )
    results_file.write_text(render_results(header, ordered))


def _stop_cleanly(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (or SIGINT, even where a background shell ignores it) unwinds the benchmark, so that
    every ``with running(...)`` stops its child process."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _stop_cleanly)
    signal.signal(signal.SIGINT, _stop_cleanly)
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", action="append", choices=[b.name for b in BENCHES], help="run only this (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--quick", action="store_true", help="tiny counts: checks the machinery, not the figures")
    parser.add_argument("--out", type=Path, help="write RESULTS.md and results/ here (default: bench/)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (logs, configs)")
    args = parser.parse_args(argv)
    if args.list:
        for b in BENCHES:
            print(f"{b.name:<9} ~{b.minutes:g} min  {b.summary}")
        return 0
    if args.quick and args.out is None:
        parser.error("--quick needs --out: quick figures must not replace the real ones")
    results_file = args.out / "RESULTS.md" if args.out else RESULTS_FILE
    sections_dir = args.out / "results" if args.out else SECTIONS_DIR
    work_dir = Path(tempfile.mkdtemp(prefix="mg-bench-"))
    failed = False
    try:
        for name in args.only or [b.name for b in BENCHES if b.in_make_bench]:
            print(f"bench {name}: running", flush=True)
            section = _run_one(name, BenchOptions(work_dir, quick=args.quick))
            save_section(section, sections_dir)
            write_results(results_file, sections_dir)
            failed = failed or bool(section.skipped)
            print(
                f"bench {name}: done in {section.seconds:.0f} s" + (" (FAILED)" if section.skipped else ""), flush=True
            )
    finally:
        if args.keep:
            print(f"working files kept in {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    print(f"results in {results_file}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
