"""A shorter soak to find what makes the runner's RSS climb (``make soak``'s code, fewer runs).

    python -m bench.rss_hunt --runs 2500 [--side api|browser|all] [--trace 60] [--arena-max 2] [--compare] --out DIR

Same runner, sandbox, intervals and tenths as ``bench.soak``; ``--side`` keeps only the API or
only the browser scenarios (which side grows); ``--trace N`` runs the runner under
``bench.rss_trace`` with a snapshot every N seconds (written to DIR/trace.jsonl; it stalls the
loop, so drift means nothing then); ``--arena-max`` sets ``MALLOC_ARENA_MAX`` for the runner.
``--compare`` runs the runner as it was before the soak's RSS work (``bench.rss_trace.as_before``),
then as it is, at the same count. Prints the tenths of RSS and open files, the last trace line's
biggest growers, and a table of each runner's lowest RSS per tenth.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.report import BenchOptions, Section
from bench.soak import SoakPlan, soak
from bench.tenths import TENTHS
from harness.discovery import discover

__all__ = ["main"]


def _side(side: str) -> list[str] | None:
    if side == "all":
        return None
    found = discover()
    return sorted(n for n, s in found.items() if ("browser" in s.tags) == (side == "browser"))


def _hunt(args: argparse.Namespace, name: str, as_before: bool) -> Section:
    work = args.out / name
    work.mkdir(parents=True, exist_ok=True)
    trace = ["--out", str(work / "trace.jsonl"), "--every", f"{args.trace:g}"] if args.trace else []
    wrapper = ["bench.rss_trace", *trace, *(["--as-before"] if as_before else []), "--"]
    env = {"MALLOC_ARENA_MAX": str(args.arena_max)} if args.arena_max else None
    plan = SoakPlan(name, f"RSS hunt: {args.runs:,} runs, {args.side}", args.runs, 1_800)
    return soak(plan, BenchOptions(work_dir=work, quick=False), only=_side(args.side), wrapper=wrapper, env=env)


def _rss_row(name: str, section: Section) -> str:
    lowest = section.data["tenths"]["rss_kib"]["lowest"]
    cells = " | ".join("-" if v is None else f"{v / 1024:.1f}" for v in lowest)
    growth = next(g.detail for g in section.goals if g.text.startswith("RSS"))
    return f"| {name} | {cells} | {growth} |"


def _print_trace(path: Path) -> None:
    lines = [json.loads(raw) for raw in path.read_text().splitlines() if raw.strip()] if path.exists() else []
    keys = ("rss_kib", "rss_after_trim_kib", "traced_kib", "heap_in_use_kib", "heap_free_kib", "objects", "seconds")
    for line in lines:
        print({k: line.get(k) for k in keys})
    if lines:
        print(json.dumps(lines[-1].get("types"), indent=1))
        for site in lines[-1].get("sites", [])[:12]:
            print(site["kib"], "KiB", site["count"], "blocks\n   ", "\n    ".join(site["where"][-6:]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rss_hunt")
    parser.add_argument("--runs", type=int, default=2500)
    parser.add_argument("--side", choices=("api", "browser", "all"), default="all")
    parser.add_argument("--trace", type=float, metavar="SECONDS", help="tracemalloc snapshot this often")
    parser.add_argument("--arena-max", type=int, help="MALLOC_ARENA_MAX for the runner")
    parser.add_argument("--compare", action="store_true", help="the runner as before first, then as now")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    rows = []
    for name, as_before in (("before", True), ("now", False)) if args.compare else (("now", False),):
        section = _hunt(args, name, as_before)
        print(f"## {name}\n" + "\n".join(g.line() for g in section.goals))
        print(section.body.split("Per scenario")[0])
        _print_trace(args.out / name / "trace.jsonl")
        rows.append(_rss_row(name, section))
    print("| runner | " + " | ".join(str(i + 1) for i in range(TENTHS)) + " | last vs first |")
    print("|---" * (TENTHS + 2) + "|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
