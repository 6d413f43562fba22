"""The browser rows of the detection matrix (``browser_matrix.yaml``), one fault per row.

Same method as the API matrix: one sandbox, the fault on, the ``browser``-tagged scenarios
run once through the runner; exactly the listed ones fail, at the listed step, for the
listed reason, and the others pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.testing import SandboxHandle
from tests.browser.conftest import failures, run_runner, sandbox_config

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROWS: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "browser_matrix.yaml").read_text())
SCENARIOS = {"spa_load", "spa_login_balance", "spa_deposit_push", "spa_bet", "spa_chat", "spa_level_up"}


def test_rows_name_only_browser_scenarios() -> None:
    for row in ROWS:
        assert set(row["fails"]) <= SCENARIOS, row["fault"]


@pytest.mark.parametrize("row", ROWS, ids=[str(row["fault"]) for row in ROWS])
def test_fault_fails_exactly_the_listed_browser_scenarios(
    clean_sandbox: SandboxHandle, tmp_path: Path, row: dict[str, Any]
) -> None:
    if row["fault"]:
        clean_sandbox.fault_on(row["fault"])
    code, results, stderr = run_runner(sandbox_config(clean_sandbox, tmp_path), "--tag", "browser")
    assert {r["scenario"] for r in results} == SCENARIOS, stderr[-2000:]
    expected = {name: tuple(where) for name, where in row["fails"].items()}
    messages = {r["scenario"]: r["message"] for r in results if r["outcome"] != "success"}
    assert failures(results) == expected, messages
    assert code == (1 if expected else 0)
    for result in results:
        if result["scenario"] in expected:
            assert result["artifacts_dir"], f"{result['scenario']} failed without artifacts"
