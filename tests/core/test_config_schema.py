"""The config's JSON Schema: printed by ``runner.py schema``, committed, named by every shipped
config, and checked against each of them by the real ``check-jsonschema``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from config.schema import SCHEMA_FILE, render_schema

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "config").glob("*.yaml"))
SCHEMA_LINE = "# yaml-language-server: $schema=schema.json"


def _check_jsonschema() -> str:
    path = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    if path is None:
        pytest.fail("check-jsonschema is missing: pip install -e '.[dev]'")
    return path


def test_runner_prints_the_schema_and_the_committed_copy_is_current() -> None:
    printed = subprocess.run(
        [sys.executable, str(ROOT / "runner.py"), "schema"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert printed == render_schema()
    assert SCHEMA_FILE.read_text(encoding="utf-8") == printed, "run: python runner.py schema > config/schema.json"


def test_the_schema_has_no_internal_fields_and_forbids_unknown_keys() -> None:
    schema = json.loads(render_schema())
    assert "base_dir" not in schema["properties"]
    assert set(schema["properties"]) == {"runner", "targets", "scenarios", "contract", "maintenance"}
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["TargetConfig"]["additionalProperties"] is False


@pytest.mark.parametrize("config", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_config_names_the_schema_and_passes_it(config: Path) -> None:
    assert config.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_LINE
    result = subprocess.run(
        [_check_jsonschema(), "--schemafile", str(SCHEMA_FILE), str(config)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_jsonschema_catches_a_typo(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    text = (ROOT / "config" / "sandbox.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("allow_money:", "allow_mony:", 1), encoding="utf-8")
    result = subprocess.run(
        [_check_jsonschema(), "--schemafile", str(SCHEMA_FILE), str(broken)], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "allow_mony" in result.stdout + result.stderr
