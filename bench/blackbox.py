"""Debian's blackbox_exporter, run on loopback with a config of ours, probed through ``/probe``."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from bench.processes import Child, running

__all__ = ["BLACKBOX_BINARY", "BlackboxProbe", "blackbox_version", "parse_probe", "running_blackbox"]

BLACKBOX_BINARY = "/usr/bin/prometheus-blackbox-exporter"
MODULE = "http_200"
_CONFIG = f"""\
modules:
  {MODULE}:
    prober: http
    timeout: 10s
    http:
      valid_status_codes: [200]
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
"""
_SAMPLE = re.compile(r'^(probe_[a-z_]+)(?:\{phase="([a-z]+)"\})? (\S+)$', re.MULTILINE)


@dataclass(frozen=True)
class BlackboxProbe:
    """One ``/probe`` answer: success, ``probe_duration_seconds`` and the HTTP phases."""

    success: bool
    duration_seconds: float
    phases: dict[str, float]

    @property
    def http_seconds(self) -> float:
        """The sum of ``probe_http_duration_seconds`` over its phases (resolve to transfer)."""
        return sum(self.phases.values())


def parse_probe(text: str) -> BlackboxProbe:
    values: dict[str, float] = {}
    phases: dict[str, float] = {}
    for name, phase, value in _SAMPLE.findall(text):
        if name == "probe_http_duration_seconds" and phase:
            phases[phase] = float(value)
        elif not phase:
            values[name] = float(value)
    if "probe_duration_seconds" not in values:
        raise ValueError(f"no probe_duration_seconds in the /probe answer: {text[:200]!r}")
    return BlackboxProbe(values.get("probe_success") == 1.0, values["probe_duration_seconds"], phases)


def blackbox_version() -> str:
    if not shutil.which(BLACKBOX_BINARY):
        return "not installed"
    result = subprocess.run([BLACKBOX_BINARY, "--version"], capture_output=True, text=True, check=False)
    first = (result.stdout or result.stderr).splitlines()[:1]
    match = re.search(r"version (\S+)", first[0]) if first else None
    return match.group(1) if match else "unknown"


def probe_url(blackbox_url: str, target: str) -> str:
    return f"{blackbox_url}/probe?{urlencode({'target': target, 'module': MODULE})}"


@contextlib.contextmanager
def running_blackbox(work_dir: Path, cpu: int | None = None) -> Iterator[Child]:
    """blackbox_exporter on a free loopback port, one Go thread (``GOMAXPROCS=1``), pinned to ``cpu``.

    It binds port 0 and logs the address it got, so parallel runs never race for a port.
    """
    if not shutil.which(BLACKBOX_BINARY):
        raise RuntimeError(f"{BLACKBOX_BINARY} is missing: apt-get install prometheus-blackbox-exporter")
    config = work_dir / "blackbox.yml"
    config.write_text(_CONFIG)
    command = [BLACKBOX_BINARY, f"--config.file={config}", "--web.listen-address=127.0.0.1:0"]
    with running(
        command,
        work_dir / "blackbox.log",
        ready=r'msg="Listening on" address=(\S+)',
        env={"GOMAXPROCS": "1"},
        cpus={cpu} if cpu is not None else None,
    ) as child:
        child.url = f"http://{child.url}"
        yield child
