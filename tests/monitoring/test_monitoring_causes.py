"""A journey's page leaves out exactly the causes that inhibit it in Alertmanager.

Both are generated from the same data (``Journey.services``, ``DEPENDENCY_IMPACTS``); this test
reads them back from the rendered files, so a cause added to one side only fails here. What
the leaving out is for (a page that must not beat its cause to the pager) is shown by
``monitoring/prometheus/tests/causes_test.yml`` and ``test_alerting_e2e.py``.
"""

from __future__ import annotations

import functools
import re

import pytest
import yaml

from monitoring.alertmanager import inhibit_rules
from monitoring.causes import DEPENDENCY_DOWN, SERVICE_DOWN
from monitoring.journeys import JOURNEYS
from monitoring.rules import render_rule_files

Cause = tuple[str, str, str]
"""(alert, service, dependency); "*" stands for any."""

_SERVICE_DOWN = re.compile(rf'{re.escape(SERVICE_DOWN)}\{{service=~"([^"]+)"\}}')
_DEPENDENCY_DOWN = re.compile(rf"{re.escape(DEPENDENCY_DOWN)}\{{([^}}]*)\}}")
_MATCHER = re.compile(r'(service|dependency)=~?"([^"]+)"')


def _left_out(expr: str) -> set[Cause]:
    """The causes an alert expression leaves out, read from its ``unless`` selectors."""
    causes = {("ServiceDown", service, "*") for found in _SERVICE_DOWN.findall(expr) for service in found.split("|")}
    for matchers in _DEPENDENCY_DOWN.findall(expr):
        found = dict(_MATCHER.findall(matchers))
        for dependency in found.get("dependency", "*").split("|"):
            causes.add(("DependencyDown", found.get("service", "*"), dependency))
    return causes


def _inhibiting(journey: str) -> set[Cause]:
    """The causes whose inhibition rule silences ``journey``'s alerts."""
    causes: set[Cause] = set()
    for rule in inhibit_rules():
        source = dict(matcher.replace('"', "").split("=", 1) for matcher in rule["source_matchers"])
        targets = [matcher for matcher in rule["target_matchers"] if matcher.startswith("journey=~")]
        if source.get("alertname") not in ("ServiceDown", "DependencyDown") or not targets:
            continue
        if journey in targets[0].removeprefix("journey=~").strip('"').split("|"):
            causes.add((source["alertname"], source.get("service", "*"), source.get("dependency", "*")))
    return causes


@functools.cache
def _pages() -> dict[str, str]:
    documents = [yaml.safe_load(text) for text in render_rule_files().values()]
    return {
        rule["labels"]["journey"]: rule["expr"]
        for document in documents
        for group in document["groups"]
        for rule in group["rules"]
        if rule.get("alert") == "JourneyFailingMultiRegion"
    }


@pytest.mark.parametrize("journey", [journey.name for journey in JOURNEYS])
def test_a_journey_page_leaves_out_the_causes_that_inhibit_it(journey: str) -> None:
    expected = _inhibiting(journey)
    assert expected, f"{journey}: no cause inhibits it"
    assert _left_out(_pages()[journey]) == expected


def test_the_reading_sees_a_cause_missing() -> None:
    bets = _pages()["bets"]
    without_database = bets.replace('dependency=~"database"', 'dependency=~"redis"')
    assert ("DependencyDown", "vault", "database") not in _left_out(without_database)
    assert _left_out(bets) == {("ServiceDown", "vault", "*"), ("DependencyDown", "vault", "database")}
