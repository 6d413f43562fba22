"""The page's own API calls are matched by ``contract.page_requests``, apart from the probes' paths.

A platform whose page calls the API through another gateway route than the probes is described
by config; a pattern the page never requests fails in time, naming what the page did request.
(Which paths a pattern matches is ``tests/core/test_contract_patterns.py``: no browser needed.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.testing import SandboxHandle
from tests.browser.conftest import run_runner, sandbox_config

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_bet_the_page_posts_elsewhere_times_out_naming_what_the_page_requested(
    clean_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    options = {"spa_bet": {"ui_timeout_seconds": 4}}
    contract = {"page_requests": {"bet": "/gateway/*/bets"}}
    config = sandbox_config(clean_sandbox, tmp_path, options, top={"contract": contract})
    code, [result], stderr = run_runner(config, "--scenario", "spa_bet")
    assert code == 1, stderr[-2000:]
    assert (result["failed_step"], result["reason"]) == ("place bet", "timeout"), result["message"]
    message = result["message"]
    assert message.startswith("a POST of the page matching /gateway/*/bets: not within 4 s; the page requested: ")
    assert "POST /api/vault/v1/bets (200)" in message
    assert "?" not in message, message  # paths only, never a query string
