"""The committed rule, Alertmanager and dashboard files are exactly what the generators write."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

import monitoring.__main__ as generate
from monitoring.journeys import JOURNEYS
from monitoring.rules import (
    RuleSettings,
    alert_names,
    all_alerts,
    recorded_names,
    render_rule_files,
    write_rule_files,
)
from monitoring.series import exported_names

REPO = Path(__file__).resolve().parents[2]


def _alerts_in(texts: dict[str, str]) -> list[dict[str, Any]]:
    return [
        rule
        for text in texts.values()
        for group in yaml.safe_load(text)["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


@pytest.mark.parametrize("path", sorted(generate.generated_files(), key=str), ids=lambda p: p.name)
def test_committed_file_matches_its_generator(path: Path) -> None:
    assert path.exists(), f"{path} is missing: run `python -m monitoring`"
    assert path.read_text(encoding="utf-8") == generate.generated_files()[path], (
        f"{path.relative_to(REPO)} differs from its generator: run `python -m monitoring`"
    )


def test_check_mode_names_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    current = tmp_path / "current.yml"
    current.write_text("groups: []\n", encoding="utf-8")
    stale = tmp_path / "stale.yml"
    stale.write_text("groups: []\n", encoding="utf-8")
    monkeypatch.setattr(generate, "generated_files", lambda *_: {current: "groups: []\n", stale: "groups: [x]\n"})
    assert generate.main(["--check"]) == 1
    assert f"stale: {stale}" in capsys.readouterr().err
    assert stale.read_text(encoding="utf-8") == "groups: []\n", "--check must not write"
    assert generate.main([]) == 0
    assert stale.read_text(encoding="utf-8") == "groups: [x]\n"


def test_check_mode_passes_on_the_repository() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "monitoring", "--check"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_for_scale_shrinks_every_for_duration() -> None:
    normal = {(a["alert"], a["expr"]): a["for"] for a in _alerts_in(render_rule_files())}
    fast = {
        (a["alert"], a["expr"]): a["for"]
        for a in _alerts_in(render_rule_files(RuleSettings(for_scale=Decimal("0.01"))))
    }
    assert normal.keys() == fast.keys()
    chat = next(k for k in normal if k[0] == "JourneyFailingMultiRegion" and 'journey="chat"' in k[1])
    assert (normal[chat], fast[chat]) == ("1m", "600ms")
    assert fast[next(k for k in fast if k[0] == "BrowserPageSlow")] == "9s"
    assert all(fast[key] == "0s" for key, value in normal.items() if value == "0s")


def test_for_overrides_win_over_the_scale() -> None:
    settings = RuleSettings(for_scale=Decimal(0), for_overrides={"JourneyFailingSingleRegion": "3s"})
    fors = {alert["alert"]: alert["for"] for alert in _alerts_in(render_rule_files(settings))}
    assert fors["JourneyFailingSingleRegion"] == "3s"
    assert fors["JourneyFailingMultiRegion"] == "0s"


def test_a_bad_override_is_refused() -> None:
    with pytest.raises(ValueError, match="not a Prometheus duration"):
        render_rule_files(RuleSettings(for_overrides={"RunnerDown": "soon"}))


def test_slo_target_and_quorum_reach_the_expressions() -> None:
    texts = render_rule_files(RuleSettings(slo_target=Decimal("0.99"), quorum=3))
    alerts = _alerts_in(texts)
    burn = next(a for a in alerts if a["alert"] == "JourneyErrorBudgetFastBurn")
    assert "/ 0.01 > 14.4" in burn["expr"]
    assert "99% SLO" in burn["annotations"]["description"]
    page = next(a for a in alerts if a["alert"] == "JourneyFailingMultiRegion")
    assert page["expr"].splitlines()[0].endswith(">= 3")
    assert ">= 2" not in page["expr"], "the causes it leaves out page with the same quorum"
    shipped = _alerts_in(render_rule_files())
    assert "/ 0.005 > 14.4" in next(a for a in shipped if a["alert"] == "JourneyErrorBudgetFastBurn")["expr"]


def test_cli_renders_a_fast_variant_that_promtool_accepts(tmp_path: Path, promtool: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "monitoring.rules", "--out", str(tmp_path), "--for-scale", "0.01"],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    files = sorted(tmp_path.glob("*.yml"))
    assert [f.name for f in files] == sorted(render_rule_files())
    fors = {a["for"] for a in _alerts_in({f.name: f.read_text(encoding="utf-8") for f in files})}
    assert "600ms" in fors and "1m" not in fors
    check = subprocess.run([promtool, "check", "rules", *map(str, files)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_write_rule_files_returns_what_it_wrote(tmp_path: Path) -> None:
    written = write_rule_files(tmp_path / "rules", RuleSettings(for_scale=Decimal(0)))
    assert {path.name for path in written} == set(render_rule_files())
    assert all(path.read_text(encoding="utf-8").startswith("# Generated") for path in written)


def test_every_alert_is_labelled_and_annotated() -> None:
    journeys = {journey.name for journey in JOURNEYS}
    for alert in _alerts_in(render_rule_files()):
        labels, annotations = alert["labels"], alert["annotations"]
        assert labels["severity"] in {"page", "warning"}, alert["alert"]
        assert labels["layer"] in {"synthetic", "health", "internal", "runner"}, alert["alert"]
        assert labels.get("journey", "bets") in journeys, alert["alert"]
        assert annotations["runbook_url"].endswith(f"/monitoring/runbooks/{alert['alert']}.md")
        assert annotations["summary"] and annotations["description"], alert["alert"]


def test_alert_names_are_distinct_per_rule_group_and_complete() -> None:
    names = alert_names()
    assert len(names) == len(set(names))
    assert set(names) == {alert.name for alert in all_alerts()}
    assert "JourneyFailingMultiRegion" in names and "GuardrailBreached" in names


_NAME = re.compile(r"\b((?:synthetic|platform)[a-z0-9_:]*|up)\b(?=\s*[{\[)\s]|$)")


def test_rules_read_only_series_that_exist() -> None:
    known = exported_names() | set(recorded_names())
    for text in render_rule_files().values():
        for group in yaml.safe_load(text)["groups"]:
            for rule in group["rules"]:
                unknown = set(_NAME.findall(rule["expr"])) - known
                assert not unknown, f"{rule.get('alert') or rule.get('record')} reads unknown {unknown}"


def test_the_name_lint_catches_a_misspelt_metric() -> None:
    assert set(_NAME.findall("rate(synthetic_scenario_run_total[5m])")) - exported_names() == {
        "synthetic_scenario_run_total"
    }
