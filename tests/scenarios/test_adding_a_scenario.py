"""Adding a scenario: the README's walk-through is true, complete, and its example runs.

The example journey lives in ``docs/examples/bet_history.py`` (not in ``scenarios/``, so the
runner does not schedule it); the README quotes it whole, and one test runs it against the
session's sandbox the way ``runner.py run`` would run it had it been copied into ``scenarios/``.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from config.loader import load_settings
from harness.discovery import discover, plan
from harness.oneshot import run_once
from harness.results import Outcome
from harness.runtime import Runtime
from harness.scenario import Scenario
from monitoring.journeys import JOURNEYS
from sandbox.testing import SandboxHandle
from tests.support import ROOT, describe, write_config

EXAMPLE = ROOT / "docs" / "examples" / "bet_history.py"
# Every place a new scenario touches, as the README's section must name it.
PLACES = (
    "scenarios/",
    "scenarios.kit",
    "monitoring/journeys.py",
    "python -m monitoring",
    "config/sandbox.yaml",
    "tests/support.py",
    "tests/scenarios/detection_matrix.yaml",
)


def readme_section() -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(r"^## Adding a scenario\n(.*?)(?=^## )", text, flags=re.M | re.S)
    assert found, "README.md has no '## Adding a scenario' section"
    return found.group(1)


def example_class() -> type[Scenario]:
    spec = importlib.util.spec_from_file_location("bet_history_example", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found: type[Scenario] = module.BetHistory
    return found


def test_every_scenario_belongs_to_a_journey_and_every_journey_to_scenarios() -> None:
    in_journeys = [name for journey in JOURNEYS for name in journey.scenarios]
    assert sorted(set(discover()) - set(in_journeys)) == [], "scenarios in no journey of monitoring/journeys.py"
    assert sorted(set(in_journeys) - set(discover())) == [], "journeys naming no scenario of scenarios/"
    assert len(in_journeys) == len(set(in_journeys)), "a scenario in two journeys"


def test_the_readme_names_every_place_to_touch() -> None:
    section = readme_section()
    missing = [place for place in PLACES if place not in section]
    assert missing == [], f"the README's 'Adding a scenario' does not name {missing}"


def test_the_readme_quotes_the_example_whole_and_it_is_short() -> None:
    code = EXAMPLE.read_text()
    body = code[code.index("from __future__") :]
    blocks = re.findall(r"```python\n(.*?)```", readme_section(), flags=re.S)
    assert body in blocks, "the README's example is not docs/examples/bet_history.py as it is"
    assert len(code.splitlines()) < 60
    assert re.findall(r"^from (\S+) import", code, flags=re.M) == ["__future__", "pydantic", "harness", "scenarios.kit"]


async def test_the_example_runs_against_the_sandbox(clean_sandbox: SandboxHandle, tmp_path: Path) -> None:
    example = example_class()
    found = {**discover(), example.name: example}
    accounts = {"by_scenario": {example.name: "probe-eu-22"}}
    options = {example.name: {"deposit_deadline_seconds": 2}}
    config = write_config(tmp_path, clean_sandbox, [example.name], options=options, accounts=accounts)
    settings = load_settings(config, scenario_names=found)
    [result] = await run_once(Runtime(settings), plan(settings, found, names=[example.name]))
    assert result.outcome is Outcome.SUCCESS, describe({result.scenario: result})
    assert [step.name for step in result.steps] == ["read limits and rates", "top up USD", "place bet", "check history"]
