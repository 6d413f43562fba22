"""promtool checks every rule file and the Prometheus config, and runs the rule unit tests."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitoring.model import Record
from monitoring.prometheus_config import (
    AGENT_JOB,
    RUNNER_JOB,
    AgentSettings,
    PrometheusSettings,
    agent_files,
    central_file,
    render_agent_config,
    render_prometheus_config,
)
from monitoring.rules import RULES_DIR, RuleSettings, alert_names, rule_files, write_rule_files

PROMETHEUS_DIR = RULES_DIR.parent
UNIT_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("rule_file", sorted(RULES_DIR.glob("*.yml")), ids=lambda p: p.name)
def test_promtool_accepts_rule_file(promtool: str, rule_file: Path) -> None:
    result = _run(promtool, "check", "rules", str(rule_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_rejects_a_broken_rule_file(promtool: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: sum(rate(x[5m])\n", encoding="utf-8")
    result = _run(promtool, "check", "rules", str(broken))
    assert result.returncode != 0


def test_promtool_accepts_prometheus_config(promtool: str) -> None:
    result = _run(promtool, "check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(list(RULES_DIR.glob('*.yml')))} rule files found" in result.stdout


def test_there_are_rule_unit_tests() -> None:
    assert len(UNIT_TESTS) >= 5


@pytest.mark.parametrize("unit_test", UNIT_TESTS, ids=lambda p: p.name)
def test_promtool_rule_unit_tests_pass(promtool: str, unit_test: Path) -> None:
    result = _run(promtool, "test", "rules", str(unit_test))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_can_fail(promtool: str, tmp_path: Path) -> None:
    """The same harness reports a wrong expectation (here: a page one region short of quorum)."""
    source = (PROMETHEUS_DIR / "tests" / "health_test.yml").read_text(encoding="utf-8")
    wrong = source.replace("summary: room_service is down, seen from 2 regions", "summary: seen from 1 region")
    assert wrong != source
    copy = tmp_path / "health_test.yml"
    copy.write_text(wrong.replace("../rules/*.yml", f"{RULES_DIR}/*.yml"), encoding="utf-8")
    result = _run(promtool, "test", "rules", str(copy))
    assert result.returncode == 1
    assert "seen from 1 region" in result.stdout + result.stderr


def _unit_test_documents() -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text(encoding="utf-8")) for path in UNIT_TESTS]


def test_every_alert_has_a_unit_test_where_it_fires() -> None:
    fired = {
        case["alertname"]
        for document in _unit_test_documents()
        for test in document["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    missing = set(alert_names()) - fired
    assert not missing, f"alerts no promtool test sees firing: {sorted(missing)}"


def test_unit_tests_evaluate_every_group_records_first() -> None:
    """promtool evaluates unlisted groups in random order; records must come before alerts."""
    groups = [group for file in rule_files(RuleSettings()) for group in file.groups]
    records = [g.name for g in groups if all(isinstance(rule, Record) for rule in g.rules)]
    alerts = [g.name for g in groups if g.name not in records]
    for path, document in zip(UNIT_TESTS, _unit_test_documents(), strict=True):
        order = document.get("group_eval_order", [])
        assert sorted(order) == sorted(records + alerts), path.name
        assert set(order[: len(records)]) == set(records), path.name


def test_rendered_local_config_passes_promtool(promtool: str, tmp_path: Path) -> None:
    write_rule_files(tmp_path / "rules", RuleSettings(for_scale=Decimal("0.01")))
    config = tmp_path / "prometheus.yml"
    config.write_text(
        render_prometheus_config(
            PrometheusSettings(
                runners={"eu-west-1": "127.0.0.1:9150", "us-east-1": "127.0.0.1:9151"},
                services={"vault": "127.0.0.1:8101"},
                alertmanager="127.0.0.1:9093",
                scrape_interval="1s",
                evaluation_interval="1s",
            )
        ),
        encoding="utf-8",
    )
    result = _run(promtool, "check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    (runners,) = [job for job in document["scrape_configs"] if job["job_name"] == RUNNER_JOB]
    assert runners["honor_labels"] is True
    assert [c["labels"]["region"] for c in runners["static_configs"]] == ["eu-west-1", "us-east-1"]


def test_the_shipped_config_scrapes_runners_as_the_runner_alerts_expect() -> None:
    document = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    (runners,) = [job for job in document["scrape_configs"] if job["job_name"] == RUNNER_JOB]
    assert runners["honor_labels"] is True, "the runners' own region and target labels must win"
    assert all("region" in c["labels"] for c in runners["static_configs"])
    assert document["rule_files"] == ["rules/*.yml"]


@pytest.mark.parametrize("path", sorted(agent_files()), ids=lambda p: p.name)
def test_shipped_agent_configs_push_their_region_and_its_heartbeat(promtool: str, path: Path) -> None:
    """Each region's agent: valid, scrapes the runners and itself, labels what it pushes with its region."""
    result = _run(promtool, "check", "config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert document["global"]["external_labels"] == {"region": path.stem}
    jobs = {job["job_name"]: job for job in document["scrape_configs"]}
    assert set(jobs) == {RUNNER_JOB, AGENT_JOB}
    assert jobs[RUNNER_JOB]["honor_labels"] is True, "the runners' own region and target labels must win"
    (remote_write,) = document["remote_write"]
    assert remote_write["url"].endswith("/api/v1/write")
    assert "rule_files" not in document and "alerting" not in document, "an agent evaluates nothing"


def test_a_central_config_without_runners_has_no_runner_job(promtool: str, tmp_path: Path) -> None:
    """Where every region pushes, the central server scrapes no runner: their series arrive."""
    write_rule_files(tmp_path / "rules")
    config = tmp_path / "prometheus.yml"
    config.write_text(render_prometheus_config(PrometheusSettings(runners={})), encoding="utf-8")
    result = _run(promtool, "check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert yaml.safe_load(config.read_text(encoding="utf-8"))["scrape_configs"] == []


def test_the_shipped_central_config_evaluates_the_rules_and_scrapes_no_runner(promtool: str) -> None:
    """Where every region pushes, the shipped central.yml: valid with the shipped rules, no runner job."""
    ((path, text),) = central_file().items()
    result = _run(promtool, "check", "config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(list(RULES_DIR.glob('*.yml')))} rule files found" in result.stdout
    jobs = {job["job_name"] for job in yaml.safe_load(text)["scrape_configs"]}
    assert RUNNER_JOB not in jobs and {"platform", "pushgateway"} <= jobs
    assert "--web.enable-remote-write-receiver" in text


def test_a_bad_agent_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="not a Prometheus duration: '15 s'"):
        render_agent_config(AgentSettings("eu-west-1", "http://central/api/v1/write", scrape_interval="15 s"))
