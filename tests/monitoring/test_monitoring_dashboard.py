"""The Grafana dashboard: every query parses as PromQL and reads series that exist."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitoring.dashboard import DASHBOARD_FILE, expressions
from monitoring.rules import RuleSettings, recorded_names
from monitoring.series import exported_names

GRAFANA_DIR = DASHBOARD_FILE.parent.parent
_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "$target": "production",
    "$region": ".*",
    "$scenario": ".*",
}
_NAME = re.compile(r"\b((?:synthetic|platform)[a-z0-9_:]*|up)\b(?=\s*[{\[)\s]|$)")


def _model() -> dict[str, Any]:
    model: dict[str, Any] = json.loads(DASHBOARD_FILE.read_text(encoding="utf-8"))
    return model


def _as_promql(expr: str) -> str:
    for variable, value in _VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"unknown dashboard variable in {expr!r}"
    return expr


def _check_as_rules(promtool: str, exprs: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    rules = [{"record": f"dashboard:panel_query_{i}", "expr": _as_promql(expr)} for i, expr in enumerate(exprs)]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8")
    return subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)


def test_the_dashboard_has_queries() -> None:
    assert len(expressions(_model())) >= 25


def test_every_dashboard_query_parses(promtool: str, tmp_path: Path) -> None:
    exprs = expressions(_model())
    result = _check_as_rules(promtool, exprs, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in result.stdout


def test_a_broken_query_would_be_caught(promtool: str, tmp_path: Path) -> None:
    result = _check_as_rules(promtool, ['sum by (journey (synthetic_scenario_success{target=~"$target"})'], tmp_path)
    assert result.returncode != 0


def test_every_dashboard_query_reads_known_series() -> None:
    known = exported_names() | set(recorded_names())
    for expr in expressions(_model()):
        unknown = set(_NAME.findall(expr)) - known
        assert not unknown, f"{expr!r} reads unknown {unknown}"


def test_the_dashboard_covers_what_the_issue_asks_for() -> None:
    exprs = "\n".join(expressions(_model()))
    for needle in (
        "synthetic:journey_region_up:bool",  # journeys by region
        "synthetic_step_duration_seconds_bucket",  # step latency percentiles
        "synthetic_rewards_lag_seconds_bucket",
        "synthetic_push_latency_seconds_bucket",
        'synthetic_currency_success{scenario="deposit_each_currency"',
        'synthetic_currency_success{scenario="withdraw_each_currency"',
        'reason="guardrail_breach"',
        'up{job="mystery-guest"',
        "synthetic_runner_errors_total",
    ):
        assert needle in exprs, needle


def test_panels_have_unique_ids_and_fit_the_grid() -> None:
    panels = _model()["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
    positions = [(p["gridPos"]["y"], p["gridPos"]["x"]) for p in panels]
    assert positions == sorted(positions), "panels are laid out top to bottom, left to right"


def test_queries_use_the_datasource_variable() -> None:
    model = _model()
    assert any(v["name"] == "datasource" and v["type"] == "datasource" for v in model["templating"]["list"])
    for panel in model["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]


@pytest.mark.parametrize("name", ["dashboards/mystery-guest.yml", "datasources/prometheus.yml"])
def test_provisioning_files_are_grafana_shaped(name: str) -> None:
    document = yaml.safe_load((GRAFANA_DIR / "provisioning" / name).read_text(encoding="utf-8"))
    assert document["apiVersion"] == 1
    if name.startswith("dashboards"):
        (provider,) = document["providers"]
        assert provider["type"] == "file" and provider["options"]["path"]
    else:
        (source,) = document["datasources"]
        assert source["type"] == "prometheus" and source["url"].startswith("http")


def test_every_panel_links_to_a_runbook_that_exists() -> None:
    runbooks = DASHBOARD_FILE.parents[2] / "runbooks"
    for panel in _model()["panels"]:
        if panel["type"] == "row":
            continue
        (link,) = panel["links"]
        name = link["url"].rsplit("/", 1)[-1]
        assert link["url"].startswith(RuleSettings().runbook_base_url), panel["title"]
        assert (runbooks / name).is_file(), f"{panel['title']}: no runbook {name}"


def test_firing_alerts_and_runner_deploys_are_annotations() -> None:
    annotations = {a["name"]: a for a in _model()["annotations"]["list"]}
    assert 'ALERTS{alertstate="firing"' in annotations["Alerts firing"]["expr"]
    assert "synthetic_runner_info" in annotations["Runner deploys"]["expr"]
    assert all(a["datasource"]["uid"] == "${datasource}" for a in annotations.values())
