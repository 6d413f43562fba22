"""Samples the summed PSS of the Chromium processes below a root process, from outside it.

    python -m bench.pss_sampler --root PID [--interval 0.5]

Runs in its own process so that reading ``smaps_rollup`` never holds the measured process's
GIL. On SIGTERM it prints one JSON object: the peak summed PSS (KiB), the peak process count
and the number of samples, then exits.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from types import FrameType

from bench.procfs import chromium_pids, pss_kib

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pss_sampler")
    parser.add_argument("--root", type=int, required=True)
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    peak_pss = peak_processes = samples = 0
    print("sampling", flush=True)
    while not stopping:
        pids = chromium_pids(args.root)
        peak_pss = max(peak_pss, pss_kib(pids))
        peak_processes = max(peak_processes, len(pids))
        samples += 1
        time.sleep(args.interval)
    print(json.dumps({"peak_pss_kib": peak_pss, "peak_processes": peak_processes, "samples": samples}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
