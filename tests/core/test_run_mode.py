"""Run mode: exit codes 0/1/2, JUnit and JSON reports parsed back, correlation headers."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.core.fake_platform import FakePlatform, RunUptime
from tests.support import TARGET, local_config, run_cli


def test_passing_run_exits_0_and_writes_reports(tmp_path: Path, run_uptime: RunUptime) -> None:
    junit, report = tmp_path / "junit.xml", tmp_path / "report.json"
    done = run_uptime("healthy", "--junit", str(junit), "--report", str(report))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "uptime" in done.stdout and "success" in done.stdout
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "1" and suite.get("failures") == "0"
    case = suite.find("testcase")
    assert case is not None and case.get("name") == "uptime" and case.get("classname") == TARGET
    assert case.find("failure") is None
    data = json.loads(report.read_text())
    assert data["passed"] is True and data["results"][0]["outcome"] == "success"
    assert [s["name"] for s in data["results"][0]["steps"]] == [
        "vault health",
        "concierge health",
        "room_service health",
        "cdn health",
    ]


def test_failing_run_exits_1_with_step_and_reason_in_junit(tmp_path: Path, run_uptime: RunUptime) -> None:
    junit = tmp_path / "junit.xml"
    done = run_uptime("dependency_down", "--junit", str(junit))
    assert done.returncode == 1, done.stdout + done.stderr
    failure = ET.parse(junit).getroot().find("testcase/failure")
    assert failure is not None
    assert failure.get("type") == "dependency_down"
    assert "step 'vault health' failed: dependency_down" in (failure.get("message") or "")
    assert "chat down" in (failure.get("message") or "")


def test_html_error_page_fails_as_http_status_naming_it(tmp_path: Path, run_uptime: RunUptime) -> None:
    report = tmp_path / "r.json"
    done = run_uptime("html", "--report", str(report))
    assert done.returncode == 1
    result = json.loads(report.read_text())["results"][0]
    assert (result["failed_step"], result["reason"]) == ("vault health", "http_status")
    assert "GET /health: 503 text/html, not the contract's health JSON" in result["message"]


def test_connection_refused_fails_as_connect_error(tmp_path: Path) -> None:
    config = local_config(tmp_path, "http://127.0.0.1:9")
    report = tmp_path / "r.json"
    done = run_cli("run", "--config", str(config), "--scenario", "uptime", "--report", str(report))
    assert done.returncode == 1
    assert json.loads(report.read_text())["results"][0]["reason"] == "connect_error"


def test_usage_and_config_errors_exit_2(tmp_path: Path, fake_platform: FakePlatform) -> None:
    config = local_config(tmp_path, fake_platform.url)
    assert run_cli("run", "--config", str(config), "--scenario", "no_such").returncode == 2
    assert run_cli("run", "--config", str(config), "--retries", "-1").returncode == 2
    assert run_cli("run", "--config", str(config), "--bogus-flag").returncode == 2
    assert run_cli("run", "--config", str(tmp_path / "missing.yaml")).returncode == 2
    unknown_target = run_cli("run", "--config", str(config), "--target", "prod")
    assert unknown_target.returncode == 2 and "--target prod: unknown target" in unknown_target.stderr


def test_nothing_ran_exits_1_unless_allowed(tmp_path: Path, fake_platform: FakePlatform) -> None:
    config = local_config(tmp_path, fake_platform.url)
    nothing = ("--scenario", "uptime", "--tag", "browser")  # both exist; no scenario is both
    empty = run_cli("run", "--config", str(config), *nothing)
    assert empty.returncode == 1 and "nothing selected" in empty.stderr
    assert run_cli("run", "--config", str(config), *nothing, "--allow-empty").returncode == 0


def test_wait_healthy_fails_with_a_clear_line(run_uptime: RunUptime) -> None:
    done = run_uptime("dependency_down", "--wait-healthy", "1")
    assert done.returncode == 1
    assert re.search(
        rf"services not healthy after \d+\.\d s \(--wait-healthy 1\): {TARGET}/vault: dependency_down", done.stderr
    )


def test_every_request_carries_probe_header_and_traceparent(
    tmp_path: Path, fake_platform: FakePlatform, run_uptime: RunUptime
) -> None:
    fake_platform.requests.clear()
    report = tmp_path / "r.json"
    assert run_uptime("healthy", "--report", str(report)).returncode == 0
    result = json.loads(report.read_text())["results"][0]
    assert fake_platform.requests
    for headers in fake_platform.requests:
        assert headers["X-Synthetic-Probe"] == result["run_id"]
        version, trace_id, span_id, flags = headers["traceparent"].split("-")
        assert (version, trace_id, flags) == ("00", result["trace_id"], "01") and len(span_id) == 16
