"""Alert annotations and dashboard data links open a run list the runner can answer.

The rendered links themselves (the region filled in from the alert or a query) are checked by
promtool in ``monitoring/prometheus/tests/journeys_test.yml``; here, that every journey alert
has one, that each link's filters are ones the runner's ``/runs`` reads, and that a data link
names only labels its panel's series keep.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from harness.pages_http import BadQuery, run_query
from monitoring.__main__ import generated_files
from monitoring.dashboard import DASHBOARD_FILE, dashboard
from monitoring.rules import DEFAULT_RUNNER_URL_TEMPLATE, RULES_DIR, RuleSettings, all_alerts, render_rule_files

_TEMPLATE = re.compile(r"\{\{.*?\}\}|\$\{__field\.labels\.(\w+)\}")


def _filters(url: str) -> dict[str, str]:
    """The link's query with every template replaced by a value the runner accepts for it."""
    sample = {"outcome": "failure", "reason": "assertion", "journey": "bets"}
    query = parse_qs(urlsplit(url).query)
    return {name: _TEMPLATE.sub(sample.get(name, "x"), values[0]) for name, values in query.items()}


def test_every_journey_alert_links_its_runs_on_the_failing_regions_runner() -> None:
    settings = RuleSettings(runner_url_template="https://runner-{region}.example/")
    urls = [
        rule["annotations"]["runs_url"]
        for text in render_rule_files(settings).values()
        for group in yaml.safe_load(text)["groups"]
        for rule in group["rules"]
        if "runs_url" in rule.get("annotations", {})
    ]
    linked = {a.name for a in all_alerts(settings) if a.runs is not None}
    assert {"JourneyFailingMultiRegion", "JourneyFailingSingleRegion", "GuardrailBreached", "CurrencyFailing"} <= linked
    assert len(urls) == sum(1 for a in all_alerts(settings) if a.runs is not None)
    for url in urls:
        assert url.startswith("https://runner-{{") and ".example/runs?" in url
        assert "target" in _filters(url)
        run_query(_filters(url))  # raises BadQuery for a filter the runner does not read


def test_dashboard_data_links_use_labels_their_series_keep() -> None:
    settings = RuleSettings(runner_url_template="https://runner-{region}.example/")
    links = 0
    for panel in dashboard(settings)["panels"]:
        for link in panel.get("fieldConfig", {}).get("defaults", {}).get("links", []):
            links += 1
            kept: set[str] = set()
            for target in panel["targets"]:
                by = re.search(r"by \(([^)]*)\)", target["expr"])
                kept |= {label.strip() for label in by.group(1).split(",")} if by else {"journey", "target", "region"}
            assert set(re.findall(r"\$\{__field\.labels\.(\w+)\}", link["url"])) <= kept, panel["title"]
            assert link["url"].startswith("https://runner-${__field.labels.region}.example/runs?")
            run_query(_filters(link["url"]))
    assert links >= 3


@pytest.mark.parametrize("filters", [{"journey": "no_such_journey"}, {"scenarios": "x"}, {"outcome": "red"}])
def test_a_link_with_an_unknown_filter_or_value_is_refused(filters: dict[str, str]) -> None:
    with pytest.raises(BadQuery):
        run_query(filters)


def test_the_runner_config_says_where_the_links_go(tmp_path: Path) -> None:
    config = tmp_path / "prod.yaml"
    config.write_text(yaml.safe_dump({"runner": {"pages": {"url_template": "https://probes.example/{region}"}}}))
    files = generated_files(config)
    journeys = files[RULES_DIR / "journeys.yml"]
    assert "runs_url: https://probes.example/{{ $labels.region }}/runs?journey=bets&" in journeys
    assert "https://probes.example/${__field.labels.region}/runs?" in files[DASHBOARD_FILE]
    shipped = "".join(generated_files().values())
    assert DEFAULT_RUNNER_URL_TEMPLATE.split("{")[0] in shipped and "evidence_url" not in shipped


def test_with_uploads_configured_alerts_also_link_the_uploaded_evidence(tmp_path: Path) -> None:
    config = tmp_path / "prod.yaml"
    upload = {"bucket": "mg-evidence", "prefix": "runs", "region": "eu-west-1"}
    config.write_text(yaml.safe_dump({"runner": {"upload": upload}}))
    rules = yaml.safe_load(generated_files(config)[RULES_DIR / "journeys.yml"])["groups"]
    annotations = {r["alert"]: r["annotations"] for g in rules for r in g["rules"] if "alert" in r}
    console = "https://s3.console.aws.amazon.com/s3/buckets/mg-evidence?region=eu-west-1&prefix=runs/"
    assert annotations["GuardrailBreached"]["evidence_url"] == console + "{{ $labels.region }}/{{ $labels.scenario }}/"
    assert annotations["JourneyFailingSingleRegion"]["evidence_url"] == console + "{{ $labels.region }}/"
    # an S3-compatible store has no console to link
    config.write_text(yaml.safe_dump({"runner": {"upload": {**upload, "endpoint_url": "http://127.0.0.1:9000"}}}))
    assert "evidence_url" not in generated_files(config)[RULES_DIR / "journeys.yml"]
