"""The detection matrix: every sandbox fault is caught by exactly the journeys it should be.

``detection_matrix.yaml`` lists each fault of ``sandbox.faults.FAULTS`` with the scenarios
that must fail under it (cascades included), at which step and for which reason, and what it
costs a customer. The slow test starts one sandbox (``--profile fast``), runs every HTTP and
socket.io journey once (all must pass), then for each row switches the fault on through the
admin API, runs the journeys once through ``runner.py run`` (whose config holds no admin URL
or token: the runner cannot peek), and checks that exactly the listed scenarios fail, at the
listed step with the listed reason, and that every other one passes.

``docs/detection-matrix.md`` is rendered from the YAML; regenerate it with
``python tests/scenarios/test_detection_matrix.py`` (a test checks that it is current).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # when run as a script to regenerate the doc
    sys.path.insert(0, str(ROOT))

from harness.discovery import discover  # noqa: E402
from probes.result import Reason  # noqa: E402
from sandbox.faults import FAULTS, Faults  # noqa: E402
from sandbox.testing import SandboxHandle, secret, start_sandbox  # noqa: E402
from tests.support import run_cli, write_config  # noqa: E402

MATRIX = Path(__file__).with_name("detection_matrix.yaml")
DOC = ROOT / "docs" / "detection-matrix.md"

# The journeys the matrix runs: HTTP and socket.io, never the browser ones (issue 6).
SELECTED_TAGS = ("api", "socketio")
EXCLUDED_TAGS = ("browser",)
RUN_TIMEOUT_SECONDS = 150


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Expected(_Model):
    step: str
    reason: Reason


class Row(_Model):
    """One fault: what it breaks for a customer, and which journeys catch it, where and why."""

    fault: str  # name[:param], as the admin API takes it
    customer_impact: str
    metric: str  # the metric (and labels) that shows it on a dashboard
    fails: dict[str, Expected] = Field(default_factory=dict)
    note: str | None = None
    api: bool = True  # False: only browser journeys can see it (its row is skipped here)
    skip_reason: str | None = None
    settle_seconds: float = Field(0.0, ge=0)  # wait after switching it off (late events drain)

    @model_validator(mode="after")
    def _browser_rows_say_why(self) -> Row:
        if not self.api and not self.skip_reason:
            raise ValueError(f"{self.fault}: a row with api: false needs a skip_reason")
        if not self.api and self.fails:
            raise ValueError(f"{self.fault}: a row with api: false lists no API failures")
        return self

    @property
    def name(self) -> str:
        return self.fault.partition(":")[0]


class Matrix(_Model):
    faults: list[Row]


def load_matrix(path: Path = MATRIX) -> list[Row]:
    return Matrix.model_validate(yaml.safe_load(path.read_text())).faults


def api_scenarios() -> set[str]:
    """The journeys ``runner.py run --tag api --tag socketio`` runs, minus the browser ones."""
    return {
        name
        for name, scenario in discover().items()
        if set(scenario.tags) & set(SELECTED_TAGS) and not set(scenario.tags) & set(EXCLUDED_TAGS)
    }


# -- the doc ------------------------------------------------------------------------------


BROWSER_MATRIX = ROOT / "tests" / "browser" / "browser_matrix.yaml"
README = ROOT / "README.md"
README_START, README_END = "<!-- detection-matrix:start -->", "<!-- detection-matrix:end -->"


def browser_catches() -> dict[str, list[str]]:
    """fault name -> "`scenario` (step, `reason`)" of the browser rows (tests/browser/browser_matrix.yaml)."""
    found: dict[str, list[str]] = {}
    for row in yaml.safe_load(BROWSER_MATRIX.read_text()):
        if row["fault"]:
            name = str(row["fault"]).partition(":")[0]
            found[name] = [f"`{scenario}` ({step}, `{reason}`)" for scenario, (step, reason) in row["fails"].items()]
    return found


def render_table(rows: list[Row]) -> list[str]:
    """fault | what breaks for a customer | who catches it (API and browser journeys) | the metric."""
    browser = browser_catches()
    lines = [
        "| fault | what breaks for a customer | caught by (step, reason) | metric |",
        "|---|---|---|---|",
    ]
    for row in rows:
        catches = [f"`{name}` ({expected.step}, `{expected.reason}`)" for name, expected in row.fails.items()]
        if row.name in browser:
            catches.append("in the browser: " + ", ".join(browser[row.name]))
        caught = "<br>".join(catches) or f"not by an API journey: {row.skip_reason or row.note or '-'}"
        if row.note and row.fails:
            caught += f"<br>*{row.note}*"
        metric = ", ".join(f"`{part}`" for part in row.metric.split(", "))
        lines.append(f"| `{row.fault}` | {row.customer_impact} | {caught} | {metric} |")
    return lines


def render_doc(rows: list[Row]) -> str:
    lines = [
        "# Detection matrix",
        "",
        "Every fault the sandbox can inject, what it breaks for a customer, the journey that",
        "catches it (failing step and reason) and the metric that shows it. Generated from",
        "`tests/scenarios/detection_matrix.yaml` and `tests/browser/browser_matrix.yaml` by",
        "`python tests/scenarios/test_detection_matrix.py`; `tests/scenarios/test_detection_matrix.py`",
        "and `tests/browser/test_browser_matrix.py` prove every row against a real sandbox.",
        "",
        *render_table(rows),
    ]
    return "\n".join(lines) + "\n"


def readme_with_table(readme: str, rows: list[Row]) -> str:
    """The README with its detection-matrix block replaced by the rendered table."""
    head, _, rest = readme.partition(README_START)
    _, _, tail = rest.partition(README_END)
    return "\n".join([head + README_START, *render_table(rows), README_END]) + tail


# -- fast checks of the data --------------------------------------------------------------


def test_every_fault_has_one_row_and_every_row_a_fault() -> None:
    rows = load_matrix()
    names = [row.name for row in rows]
    unknown = sorted(set(names) - set(FAULTS))
    assert not unknown, f"rows for faults the sandbox does not have: {unknown}"
    missing = sorted(set(FAULTS) - set(names))
    assert not missing, f"faults without a row in {MATRIX.name}: {missing}"
    twice = sorted({name for name in names if names.count(name) > 1})
    assert not twice, f"faults with more than one row: {twice}"
    for row in rows:
        Faults.parse(row.fault)  # a parameter of the right shape, or UnknownFault


def test_rows_name_real_api_journeys_and_browser_faults_are_skipped() -> None:
    journeys = api_scenarios()
    for row in load_matrix():
        unknown = sorted(set(row.fails) - journeys)
        assert not unknown, f"{row.fault}: not HTTP/socket.io journeys: {unknown}"
        browser_only = FAULTS[row.name].service == "cdn"
        assert row.api is not browser_only, f"{row.fault}: cdn faults (and only they) are browser rows"


def test_doc_is_rendered_from_the_matrix() -> None:
    readme = README.read_text()
    assert README_START in readme and README_END in readme
    assert readme == readme_with_table(readme, load_matrix()), (
        "README's detection matrix is stale: run python tests/scenarios/test_detection_matrix.py"
    )
    assert DOC.read_text() == render_doc(load_matrix()), (
        f"{DOC.relative_to(ROOT)} is stale: run python tests/scenarios/test_detection_matrix.py"
    )


def test_comparison_reports_each_kind_of_mismatch() -> None:
    """The comparison the slow test relies on names a missed fault, a wrong step and a bystander."""
    row = Row(
        fault="kafka_down",
        customer_impact="-",
        metric="-",
        fails={
            "rewards": Expected(step="rewards updated", reason=Reason.TIMEOUT),
            "uptime": Expected(step="vault health", reason=Reason.DEPENDENCY_DOWN),
        },
    )
    results: dict[str, dict[str, Any]] = {
        "rewards": {"outcome": "success", "failed_step": None, "reason": None},
        "uptime": {"outcome": "failure", "failed_step": "concierge health", "reason": "dependency_down"},
        "chat": {"outcome": "failure", "failed_step": "join room", "reason": "unexpected_body"},
    }
    problems = compare(row, results)
    assert any("rewards: passed" in p for p in problems)
    assert any("uptime: failed at 'concierge health'" in p for p in problems)
    assert any("chat: failed" in p and "should pass" in p for p in problems)
    assert (
        compare(
            row,
            {
                **results,
                "rewards": _failed("rewards updated", "timeout"),
                "uptime": _failed("vault health", "dependency_down"),
                "chat": {"outcome": "success", "failed_step": None, "reason": None},
            },
        )
        == []
    )


def _failed(step: str, reason: str) -> dict[str, Any]:
    return {"outcome": "failure", "failed_step": step, "reason": reason}


def compare(row: Row, results: dict[str, dict[str, Any]]) -> list[str]:
    """Every way the runs differ from the row: a journey that missed it, caught it elsewhere, or
    failed without being listed."""
    problems = []
    for name in sorted(set(row.fails) - set(results)):
        problems.append(f"{name}: listed but did not run")
    for name, result in sorted(results.items()):
        expected = row.fails.get(name)
        passed = result["outcome"] == "success"
        got = f"{result['outcome']} at {result['failed_step']!r} ({result['reason']})"
        if expected is None:
            if not passed:
                problems.append(f"{name}: failed at {result['failed_step']!r} ({result['reason']}), should pass")
        elif passed:
            problems.append(f"{name}: passed, should fail at {expected.step!r} ({expected.reason})")
        elif (result["failed_step"], result["reason"]) != (expected.step, str(expected.reason)):
            problems.append(
                f"{name}: failed at {result['failed_step']!r} ({result['reason']}), "
                f"should fail at {expected.step!r} ({expected.reason}) [{got}]"
            )
    return problems


# -- the slow test against a real sandbox -------------------------------------------------


def write_matrix_config(folder: Path, sandbox: SandboxHandle) -> Path:
    """The runner's config for the matrix: the sandbox's URLs, short deadlines, no admin access."""
    path = write_config(
        folder,
        sandbox,
        sorted(api_scenarios()),
        timeout_seconds=30,
        runner={"max_concurrent_runs": 16},
        scenarios={"exclude_tags": list(EXCLUDED_TAGS)},
    )
    text = path.read_text()
    assert secret("admin_token") not in text and sandbox.admin_url not in text, "the runner must not see the admin API"
    return path


def run_journeys(config: Path, report: Path) -> dict[str, dict[str, Any]]:
    """``runner.py run`` of every HTTP/socket.io journey once; scenario -> its JSON result."""
    tags = [arg for tag in SELECTED_TAGS for arg in ("--tag", tag)]
    done = run_cli("run", "--config", str(config), *tags, "--report", str(report), timeout=RUN_TIMEOUT_SECONDS)
    assert done.returncode in (0, 1), f"runner exited {done.returncode}:\n{done.stdout}\n{done.stderr[-3000:]}"
    results = {r["scenario"]: r for r in json.loads(report.read_text())["results"]}
    return results


def table(results: dict[str, dict[str, Any]]) -> str:
    return "\n".join(
        f"  {name}: {r['outcome']} {r['failed_step'] or ''} {r['reason'] or ''} {r['message'][:160]}".rstrip()
        for name, r in sorted(results.items())
    )


@pytest.fixture(scope="module")
def matrix_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxHandle, Path]]:
    """One fast sandbox of its own (fresh accounts), every journey passing once on it first."""
    workdir = tmp_path_factory.mktemp("matrix")
    handle = start_sandbox(workdir / "sandbox")
    try:
        config = write_matrix_config(workdir, handle)
        results = run_journeys(config, workdir / "baseline.json")
        assert set(results) == api_scenarios(), f"ran {sorted(results)}"
        failing = {name: r for name, r in results.items() if r["outcome"] != "success"}
        assert not failing, f"with no fault on, every journey must pass:\n{table(results)}"
        yield handle, config
    finally:
        code = handle.stop()
        assert code == 0, f"sandbox exited with {code}; log: {handle.log_path}"


def _row_id(row: Row) -> str:
    return row.fault


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("row", load_matrix(), ids=_row_id)
def test_fault_is_caught_by_exactly_the_listed_journeys(
    row: Row, matrix_sandbox: tuple[SandboxHandle, Path], tmp_path: Path
) -> None:
    if not row.api:
        pytest.skip(row.skip_reason or "no API journey can see this fault")
    sandbox, config = matrix_sandbox
    sandbox.faults_clear()
    sandbox.fault_on(row.fault)
    try:
        assert sandbox.active_faults() == dict([Faults.parse(row.fault)])
        results = run_journeys(config, tmp_path / "report.json")
    finally:
        sandbox.faults_clear()
        time.sleep(row.settle_seconds)
    problems = compare(row, results)
    assert not problems, f"{row.fault}:\n" + "\n".join(problems) + f"\nall results:\n{table(results)}"


if __name__ == "__main__":
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(render_doc(load_matrix()))
    README.write_text(readme_with_table(README.read_text(), load_matrix()))
    print(f"wrote {DOC.relative_to(ROOT)}")
