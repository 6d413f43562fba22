"""Every alert has a runbook that answers the 3 a.m. questions, and every runbook an alert."""

from __future__ import annotations

import re

import pytest

from monitoring.rules import RULES_DIR, alert_names

MONITORING = RULES_DIR.parent.parent
RUNBOOKS = MONITORING / "runbooks"
_SECTIONS = ("## What the customer sees", "## Why it fired", "## First checks", "## Likely causes", "## Owner")


def test_every_alert_has_a_runbook_and_every_runbook_an_alert() -> None:
    runbooks = {path.stem for path in RUNBOOKS.glob("*.md")}
    alerts = set(alert_names())
    assert alerts - runbooks == set(), "alerts without a runbook"
    assert runbooks - alerts == set(), "runbooks without an alert"


@pytest.mark.parametrize("name", alert_names())
def test_runbook_answers_the_first_questions(name: str) -> None:
    text = (RUNBOOKS / f"{name}.md").read_text(encoding="utf-8")
    assert text.startswith(f"# {name}\n")
    for section in _SECTIONS:
        assert section in text, f"{name}.md lacks {section!r}"
        body = text.split(section, 1)[1].split("\n## ", 1)[0]
        assert body.strip(), f"{name}.md: {section!r} is empty"
    assert "python runner.py run -v --config " in text and " --scenario " in text and " --artifacts " in text
    assert "trace_id" in text and "traceparent" in text and "X-Synthetic-Probe" in text
    assert "mystery-guest.json" in text, "names the dashboard"


@pytest.mark.parametrize("name", alert_names())
def test_runbook_points_at_the_rule_file_that_holds_its_alert(name: str) -> None:
    text = (RUNBOOKS / f"{name}.md").read_text(encoding="utf-8")
    match = re.search(r"`monitoring/prometheus/rules/([a-z]+\.yml)`", text)
    assert match, f"{name}.md names no rule file"
    assert f"alert: {name}\n" in (RULES_DIR / match.group(1)).read_text(encoding="utf-8")


def test_strategy_page_lists_every_alert() -> None:
    readme = (MONITORING / "README.md").read_text(encoding="utf-8")
    missing = [name for name in alert_names() if f"| `{name}` |" not in readme]
    assert not missing, f"monitoring/README.md's alert table lacks {missing}"


def test_strategy_page_covers_the_layers_and_the_synthetic_flag() -> None:
    readme = (MONITORING / "README.md").read_text(encoding="utf-8")
    for needle in ("/health", "/liveness", "Graceful shutdown", "ALB", "ECS", "CloudFront", "MSK", "synthetic"):
        assert needle in readme, needle
    assert "never" in readme.split("## Keeping synthetic traffic out of business figures", 1)[1]
