"""Config errors are named by their place in the YAML, one line each (check-config)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from config.loader import ConfigError, load_settings
from tests.support import ROOT, local_config, run_cli


def check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("check-config", str(path), timeout=60)


def test_shipped_sandbox_config_is_valid() -> None:
    done = check_config(ROOT / "config" / "sandbox.yaml")
    assert done.returncode == 0, done.stderr
    assert "ok" in done.stdout and len(done.stdout.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("yaml_text", "expected_line"),
    [
        (
            "targets:\n  prod:\n    vault_url: nope\n    concierge_url: http://a\n    room_service_url: http://a\n"
            "    spa_url: http://a\n",
            "targets.prod.vault_url: not a URL",
        ),
        (
            "targets:\n  prod:\n    concierge_url: http://a\n    room_service_url: http://a\n    spa_url: http://a\n",
            "targets.prod.vault_url: required",
        ),
        ("runner:\n  listen: nowhere\ntargets: {}\n", "runner.listen: must be HOST:PORT"),
        ("targets: {}\n", "targets: at least one target is needed"),
        (
            "targets:\n  prod:\n    vault_url: http://a\n    concierge_url: http://a\n    room_service_url: http://a\n"
            "    spa_url: http://a\n    colour: red\n",
            "targets.prod.colour: unknown key",
        ),
        (
            "targets:\n  prod:\n    vault_url: http://a\n    concierge_url: http://a\n    room_service_url: http://a\n"
            "    spa_url: http://a\n    accounts:\n      password: hunter2hunter2\n",
            "targets.prod.accounts.password: inline secrets are not allowed; use {env: NAME} or {file: PATH}",
        ),
        (
            "targets:\n  prod:\n    vault_url: http://a\n    concierge_url: http://a\n    room_service_url: http://a\n"
            "    spa_url: http://a\n    accounts:\n      password: {env: MG_TEST_SURELY_UNSET}\n",
            "targets.prod.accounts.password: environment variable MG_TEST_SURELY_UNSET is not set",
        ),
        (
            "targets:\n  prod:\n    vault_url: http://a\n    concierge_url: http://a\n    room_service_url: http://a\n"
            "    spa_url: http://a\n    currencies: [usd]\n",
            "targets.prod.currencies: not a currency code: 'usd'",
        ),
        (
            "targets:\n  prod:\n    vault_url: http://a\n    concierge_url: http://a\n    room_service_url: http://a\n"
            "    spa_url: http://a\nscenarios:\n  overrides:\n    no_such_journey: {interval_seconds: 5}\n",
            "scenarios.overrides.no_such_journey: unknown scenario",
        ),
        (
            "targets:\n  prod:\n    vault_url: http://a\n    concierge_url: http://a\n    room_service_url: http://a\n"
            "    spa_url: http://a\nscenarios:\n  overrides:\n    uptime: {interval_seconds: -1}\n",
            "scenarios.overrides.uptime.interval_seconds: Input should be greater than 0",
        ),
        ("targets: [\n", "YAML syntax error"),
    ],
)
def test_each_error_names_its_place(tmp_path: Path, yaml_text: str, expected_line: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text)
    done = check_config(path)
    assert done.returncode == 2
    assert expected_line in done.stderr.splitlines() or expected_line in done.stderr, done.stderr


def test_every_error_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "runner:\n  listen: x\ntargets:\n  a:\n    vault_url: bad\n    concierge_url: http://a\n"
        "    room_service_url: http://a\n    spa_url: also-bad\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.errors == [
        "runner.listen: must be HOST:PORT with a port of 0-65535, got 'x'",
        "targets.a.vault_url: not a URL",
        "targets.a.spa_url: not a URL",
    ]


def test_environment_overrides_region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = local_config(tmp_path, "http://127.0.0.1:1")
    monkeypatch.setenv("MG_REGION", "ap-south")
    assert load_settings(path).runner.region == "ap-south"


def test_contract_names_are_overridable(tmp_path: Path) -> None:
    contract = {"paths": {"bets": "/api/v2/wagers"}, "events": {"balance_update": "wallet"}}
    path = local_config(tmp_path, "http://127.0.0.1:1", top={"contract": contract})
    settings = load_settings(path)
    assert settings.contract.paths.bets == "/api/v2/wagers"
    assert settings.contract.events.balance_update == "wallet"
    assert settings.contract.paths.balance == "/v1/balance"
