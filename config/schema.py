"""The config's JSON Schema, from the pydantic models, for editors and for check-jsonschema.

``python runner.py schema`` prints it; ``config/schema.json`` is the committed copy that
``config/*.yaml`` name on their first line (``# yaml-language-server: $schema=schema.json``),
so an editor with the YAML language server completes and checks them as they are typed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from config.settings import Settings

__all__ = ["SCHEMA_FILE", "config_schema", "render_schema"]

SCHEMA_FILE = Path(__file__).resolve().parent / "schema.json"
_INTERNAL = ("base_dir",)
"""Set by the loader, never written in a file."""


def config_schema() -> dict[str, Any]:
    """The schema of one YAML config file, without the loader's internal fields."""
    schema = Settings.model_json_schema(mode="validation")
    for name in _INTERNAL:
        schema["properties"].pop(name, None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Mystery Guest runner config"
    return schema


def render_schema() -> str:
    """The schema as committed: stable key order, one trailing newline."""
    return json.dumps(config_schema(), indent=2, sort_keys=True) + "\n"
