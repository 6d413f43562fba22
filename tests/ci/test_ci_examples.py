"""The CI examples under ``docs/ci/`` are what the code writes, kept equal by this test.

The runs of ``example_runs.yaml`` (one flaky scenario that failed once, then passed, one failed
after a retry, one clean pass; fixed ids and times), rendered by ``harness.summary`` and ``harness.reports``.
Regenerate with ``python tests/ci/test_ci_examples.py``.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))

from harness.reports import write_json, write_junit  # noqa: E402
from harness.results import RunResult  # noqa: E402
from harness.summary import CiLinks, render_summary  # noqa: E402

DOCS = ROOT / "docs" / "ci"
NOW = 1_795_000_000.0  # 2026-11-18T11:06:40Z
LINKS = CiLinks.from_environment(
    {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "casino/platform", "GITHUB_RUN_ID": "4242"}
)


def example_results() -> list[RunResult]:
    """The runs of ``example_runs.yaml``, in the production target from the CI region."""
    rows = yaml.safe_load((Path(__file__).with_name("example_runs.yaml")).read_text(encoding="utf-8"))
    return [RunResult.from_dict({**row, "target": "production", "region": "ci"}) for row in rows]


def render_examples(directory: Path) -> dict[str, str]:
    """File name -> text of every example, written through the real writers into ``directory``."""
    results = example_results()
    (directory / "example-summary.md").write_text(render_summary(results, LINKS), encoding="utf-8")
    write_junit(results, directory / "example-junit.xml", now=NOW)
    write_json(results, directory / "example-report.json", now=NOW)
    return {name: (directory / name).read_text(encoding="utf-8") for name in EXAMPLES}


EXAMPLES = ("example-summary.md", "example-junit.xml", "example-report.json")


def test_committed_examples_are_what_the_code_writes(tmp_path: Path) -> None:
    for name, text in render_examples(tmp_path).items():
        assert (DOCS / name).read_text(encoding="utf-8") == text, f"{name} is stale: python {Path(__file__).name}"


def test_the_flaky_case_keeps_every_attempt_where_ci_readers_look() -> None:
    suite = ET.parse(DOCS / "example-junit.xml").getroot()
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    flaky = cases["bet_settlement"]
    assert flaky.find("failure") is None  # it passed
    (first,) = flaky.findall("flakyFailure")
    assert first.get("type") == "push_missing" and "balance push" in (first.get("message") or "")
    assert "no balance:update for USD" in (first.findtext("stackTrace") or "")
    out = flaky.findtext("system-out") or ""
    assert "attempt 1 of 2: failure at step 'balance push': push_missing" in out
    assert "attempt 2 of 2: success (run run-0002" in out
    failed = cases["deposit_each_currency"]
    assert failed.find("failure") is not None and len(failed.findall("rerunFailure")) == 1
    assert "attempt 1 of 2: failure at step 'deposit EUR'" in (failed.findtext("failure") or "")
    assert suite.get("failures") == "1" and suite.get("tests") == "3"


def test_the_summary_names_the_failing_step_and_links_the_run() -> None:
    summary = (DOCS / "example-summary.md").read_text(encoding="utf-8")
    assert summary.startswith("## Mystery Guest synthetic checks: ❌ failed")
    assert "| ❌ | deposit_each_currency | production | failure | 2.31 s | 2 | deposit EUR | http_status |" in summary
    assert "| ⚠️ | bet_settlement | production | success (flaky) |" in summary
    assert "https://github.com/casino/platform/actions/runs/4242" in summary
    assert "Step **deposit EUR** failed: `http_status`: POST /v1/deposits answered 503" in summary


def test_gitlab_links_point_into_the_artifact_browser() -> None:
    links = CiLinks.from_environment({"CI_JOB_URL": "https://gitlab.example/casino/platform/-/jobs/77"})
    summary = render_summary(example_results(), links)
    assert (
        "[`reports/artifacts/deposit_each_currency/run-0004`]"
        "(https://gitlab.example/casino/platform/-/jobs/77/artifacts/browse/reports/artifacts/deposit_each_currency/run-0004)"
    ) in summary


if __name__ == "__main__":
    render_examples(DOCS)
    print(f"wrote {', '.join(EXAMPLES)} in {DOCS}")
