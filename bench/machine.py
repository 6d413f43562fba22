"""The machine and the versions a figure was measured with, written next to every figure."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bench.blackbox import blackbox_version

__all__ = ["CHROMIUM", "chromium_version", "machine_line", "versions", "versions_line"]

CHROMIUM = "/usr/lib/chromium/chromium"  # the real binary; /usr/bin/chromium is a shell wrapper


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def machine_line() -> str:
    return f"{os.cpu_count()} cores (nproc), {_cpu_model()}, {_memory_gib():.1f} GiB RAM, Linux {platform.release()}"


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def chromium_version() -> str:
    if not Path(CHROMIUM).exists():
        return "not installed"
    result = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"(\d+\.\d+\.\d+\.\d+)", result.stdout)
    return match.group(1) if match else "unknown"


def versions() -> dict[str, str]:
    return {
        "python": sys.version.split()[0],
        "httpx": _package("httpx"),
        "playwright": _package("playwright"),
        "chromium": chromium_version(),
        "blackbox_exporter": blackbox_version(),
        "apscheduler": _package("APScheduler"),
    }


def versions_line() -> str:
    return ", ".join(f"{name} {value}" for name, value in versions().items())
