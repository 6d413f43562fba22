"""Hostile targets, one row each: the runner names the failure, keeps its deadline, keeps its
memory and sends no credential to another origin.

Every row runs ``runner.py run`` in a process of its own (forked and measured by
``tests/hostile/measured_run.py``) against a real server on loopback (``sandbox/hostile.py``)
that stands for all four services of the target. The rows run at once; each is then checked
on its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox.hostile import HostileLoop, HostileServer, running_hostile
from tests.support import PASSWORD, local_config

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 3.0  # the scenarios' timeout in these runs
UPTIME_TIMEOUT_SECONDS = 6.0  # uptime reads eight /health at once, each given a share of it
UPTIME_HEALTH_TIMEOUT_SECONDS = 1.0  # 2 reads x 2 requests of it fit in the timeout less a second
WAIT_HEALTHY_SECONDS = 2.0
RSS_GROWTH_LIMIT = 64 << 20


@dataclass(frozen=True)
class Case:
    name: str
    mode: str  # the hostile server's mode, or "hang" (accepts, never answers)
    scenario: str
    reason: str  # the failing step's reason ("" for --wait-healthy, which reports on stderr)
    says: str = ""  # what the failure message must contain
    wait_healthy: bool = False


CASES = [
    Case(
        "1 GiB body", "huge_body", "rates_freshness", "unexpected_body", "Content-Length 1073741824 over the 1 MiB cap"
    ),
    Case("1 GiB /health", "huge_body", "uptime", "unexpected_body", "over the 1 MiB cap"),
    Case("endless chunked body", "endless_chunked", "rates_freshness", "unexpected_body", "body over the 1 MiB cap"),
    Case("trickled body", "trickle", "rates_freshness", "timeout"),
    Case("headers then stall", "headers_then_stall", "rates_freshness", "timeout"),
    Case("accept then hang", "hang", "rates_freshness", "timeout"),
    Case("redirect loop", "redirect_loop", "rates_freshness", "http_status", "[STATUS] (302) == 200"),
    Case("cross-origin redirect (HTTP)", "redirect_away", "chat", "http_status", "[STATUS] (307) == 200"),
    Case("cross-origin redirect (socket.io)", "socket_redirect_away", "chat", "connect_error", "not followed"),
    Case("socket.io drop mid-ack", "drop_mid_ack", "chat", "connect_error", "closed while waiting for the chat:join"),
    Case("socket.io drop mid-push", "drop_mid_push", "chat", "connect_error", "closed while waiting for chat:message"),
    Case("HTML 503", "html_503", "rates_freshness", "http_status", "(text/html)"),
    Case("invalid JSON", "invalid_json", "rates_freshness", "unexpected_body", "expected JSON"),
    Case("wrong-typed JSON", "wrong_types", "rates_freshness", "unexpected_body", "rates is not a mapping"),
    Case("1,000 unlisted health checks, half failing", "many_checks", "uptime", "dependency_down", "and 495 more down"),
    Case("--wait-healthy, nothing answers", "hang", "uptime", "", "not healthy after", wait_healthy=True),
]


@dataclass
class Measured:
    exit_code: int
    seconds: float
    rss_growth_bytes: int
    result: dict[str, Any] | None  # the JSON report's only result
    stderr: str
    credentials_elsewhere: list[str]  # credentials that reached the other origin


def _timeout(scenario: str) -> float:
    return UPTIME_TIMEOUT_SECONDS if scenario == "uptime" else TIMEOUT_SECONDS


def _config(tmp_path: Path, url: str) -> Path:
    """Every service at ``url``, every scenario's timeout made short."""
    timeouts = {name: _timeout(name) for name in ("rates_freshness", "uptime", "chat")}
    options = {"uptime": {"health_timeout_seconds": UPTIME_HEALTH_TIMEOUT_SECONDS}}
    return local_config(tmp_path, url, list(timeouts), options=options, timeout_seconds=timeouts)


@dataclass
class Prepared:
    """A case's servers and files, set up before the runs start."""

    case: Case
    other: HostileServer  # "the other origin": a working platform that records everything
    target: HostileServer | None  # None: the target hangs
    out: Path
    args: list[str]


def _prepare(case: Case, tmp_path: Path, hostile: HostileLoop) -> Prepared:
    other = hostile.server("healthy")
    target = None if case.mode == "hang" else hostile.server(case.mode, other_origin=other.url)
    url = target.url if target else hostile.hanging().url
    args = ["run", "--config", str(_config(tmp_path, url)), "--scenario", case.scenario]
    args += ["--report", str(tmp_path / "report.json")]
    if case.wait_healthy:
        args += ["--wait-healthy", f"{WAIT_HEALTHY_SECONDS:g}"]
    return Prepared(case, other, target, tmp_path / "run", args)


def _collect(prepared: Prepared) -> Measured:
    out = prepared.out
    stderr = Path(f"{out}.stderr").read_text() if Path(f"{out}.stderr").exists() else ""
    measurement = Path(f"{out}.json")
    assert measurement.exists(), f"{prepared.case.name}: no measurement; the runner said:\n{stderr}"
    measured = json.loads(measurement.read_text())
    report = out.parent / "report.json"
    results = json.loads(report.read_text())["results"] if report.exists() else []
    token = (prepared.target or prepared.other).token
    secrets = {"password": PASSWORD, "token": token}
    return Measured(
        exit_code=measured["exit"],
        seconds=measured["seconds"],
        rss_growth_bytes=measured["rss_growth_bytes"],
        result=results[0] if results else None,
        stderr=stderr,
        credentials_elsewhere=[name for name, value in secrets.items() if prepared.other.carries(value)],
    )


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Measured]]:
    """Every case at once: one measured runner process per case, forked from one that imported the runner."""
    with running_hostile() as hostile:
        prepared = [_prepare(case, tmp_path_factory.mktemp("hostile"), hostile) for case in CASES]
        jobs = tmp_path_factory.mktemp("jobs") / "jobs.json"
        jobs.write_text(json.dumps([{"args": p.args, "out": str(p.out)} for p in prepared]))
        subprocess.run(
            [sys.executable, "-m", "tests.hostile.measured_run", str(jobs)], cwd=ROOT, check=True, timeout=120
        )
        yield {p.case.name: _collect(p) for p in prepared}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_target(case: Case, measured: dict[str, Measured]) -> None:
    got = measured[case.name]
    bound = (WAIT_HEALTHY_SECONDS if case.wait_healthy else _timeout(case.scenario)) + 1
    assert got.exit_code == 1, got.stderr
    if case.wait_healthy:
        assert case.says in got.stderr and f"(--wait-healthy {WAIT_HEALTHY_SECONDS:g})" in got.stderr, got.stderr
    else:
        assert got.result is not None, got.stderr
        assert (got.result["reason"], got.result["outcome"] != "success") == (case.reason, True), got.result
        failed = next(step for step in got.result["steps"] if step["name"] == got.result["failed_step"])
        assert case.says in failed["message"], failed
        assert got.result["duration_seconds"] <= bound, got.result
    assert got.seconds <= bound, f"{case.name}: the runner took {got.seconds:.2f} s, over {bound:g} s"
    assert got.rss_growth_bytes < RSS_GROWTH_LIMIT, f"{case.name}: RSS grew {got.rss_growth_bytes >> 20} MiB"
    assert got.credentials_elsewhere == [], f"{case.name}: {got.credentials_elsewhere} reached the other origin"
