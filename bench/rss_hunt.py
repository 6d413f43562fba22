"""A shorter soak to find what makes the runner's RSS climb (``make soak``'s code, fewer runs).

    python -m bench.rss_hunt --runs 2500 [--side api|browser|all] [--trace 60] [--arena-max 2] --out DIR

Same runner, sandbox, intervals and tenths as ``bench.soak``; ``--side`` keeps only the API or
only the browser scenarios (which side grows); ``--trace N`` runs the runner under
``bench.rss_trace`` with a snapshot every N seconds (written to DIR/trace.jsonl; it stalls the
loop, so drift means nothing then); ``--arena-max`` sets ``MALLOC_ARENA_MAX`` for the runner.
Prints the tenths of RSS and open files, and the last trace line's biggest growers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.report import BenchOptions
from bench.soak import SoakPlan, soak
from harness.discovery import discover

__all__ = ["main"]


def _side(side: str) -> list[str] | None:
    if side == "all":
        return None
    found = discover()
    return sorted(n for n, s in found.items() if ("browser" in s.tags) == (side == "browser"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rss_hunt")
    parser.add_argument("--runs", type=int, default=2500)
    parser.add_argument("--side", choices=("api", "browser", "all"), default="all")
    parser.add_argument("--trace", type=float, metavar="SECONDS", help="tracemalloc snapshot this often")
    parser.add_argument("--arena-max", type=int, help="MALLOC_ARENA_MAX for the runner")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    trace = args.out / "trace.jsonl"
    wrapper = ["bench.rss_trace", "--out", str(trace), "--every", f"{args.trace:g}", "--"] if args.trace else []
    env = {"MALLOC_ARENA_MAX": str(args.arena_max)} if args.arena_max else None
    plan = SoakPlan("rss-hunt", f"RSS hunt: {args.runs:,} runs, {args.side}", args.runs, 1_800)
    section = soak(plan, BenchOptions(work_dir=args.out, quick=False), only=_side(args.side), wrapper=wrapper, env=env)
    print("\n".join(g.line() for g in section.goals))
    print(section.body.split("Per scenario")[0])
    if trace.exists():
        lines = [json.loads(raw) for raw in trace.read_text().splitlines() if raw.strip()]
        keys = ("rss_kib", "rss_after_trim_kib", "traced_kib", "heap_in_use_kib", "heap_free_kib", "objects")
        for line in lines:
            print({k: line.get(k) for k in ("t", *keys)})
        if lines:
            last = lines[-1]
            print(json.dumps(last.get("types"), indent=1))
            for site in last.get("sites", [])[:12]:
                print(site["kib"], "KiB", site["count"], "blocks\n   ", "\n    ".join(site["where"][-6:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
