"""Load and check a YAML config, naming every error by its place in the file.

Errors read ``targets.prod.vault_url: not a URL``: one line each, all of them at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from config.settings import MissingSecret, RunnerSettings, SecretRef, Settings

__all__ = ["ConfigError", "load_settings", "DEFAULT_CONFIG"]

DEFAULT_CONFIG = Path(__file__).resolve().parent / "sandbox.yaml"

_FRIENDLY = {
    "url_parsing": "not a URL",
    "url_scheme": "not an http(s) URL",
    "missing": "required",
    "extra_forbidden": "unknown key",
    "bool_parsing": "not true/false",
    "bool_type": "not true/false",
    "float_parsing": "not a number",
    "int_parsing": "not a whole number",
    "decimal_parsing": "not a decimal number",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "tuple_type": "must be a list",
    "string_type": "must be a string",
}


class ConfigError(Exception):
    """A config that cannot be used; ``errors`` holds one ``place: problem`` line each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def _place(prefix: Iterable[str | int], loc: Iterable[str | int]) -> str:
    parts = [str(p) for p in (*prefix, *loc)]
    return ".".join(parts) or "(top level)"


def _describe(error: dict[str, Any]) -> str:
    friendly = _FRIENDLY.get(error["type"])
    if friendly:
        if error["type"] in ("greater_than", "less_than"):
            return friendly
        return friendly
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _validation_lines(exc: ValidationError, prefix: tuple[str, ...] = ()) -> list[str]:
    lines = []
    for error in exc.errors():
        loc = [p for p in error["loc"] if p not in ("function-after[_exactly_one(), SecretRef]",)]
        lines.append(f"{_place(prefix, loc)}: {_describe(dict(error))}")
    return lines


def _secret_refs(node: Any, place: tuple[str, ...]) -> Iterable[tuple[str, SecretRef]]:
    if isinstance(node, SecretRef):
        yield ".".join(place), node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _secret_refs(getattr(node, name), (*place, name))
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _secret_refs(value, (*place, str(key)))


def load_settings(path: Path, *, check_secrets: bool = True, scenario_names: Iterable[str] | None = None) -> Settings:
    """Read ``path`` into ``Settings`` or raise ``ConfigError`` listing every problem."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError([f"{where}: YAML syntax error: {problem}"]) from None
    if not isinstance(raw, dict):
        raise ConfigError([f"{path}: the top level must be a mapping"])

    errors: list[str] = []
    runner_raw = raw.pop("runner", None) or {}
    runner: RunnerSettings | None = None
    if not isinstance(runner_raw, dict):
        errors.append("runner: must be a mapping")
    else:
        try:
            runner = RunnerSettings(**runner_raw)
        except ValidationError as exc:
            errors.extend(_validation_lines(exc, ("runner",)))
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(
            {**raw, "runner": runner or RunnerSettings(), "base_dir": _repo_root_for(path)}
        )
    except ValidationError as exc:
        errors.extend(_validation_lines(exc))
    if settings is not None:
        errors.extend(_semantic_errors(settings, scenario_names, check_secrets))
    if errors:
        raise ConfigError(errors)
    assert settings is not None
    return settings


def _repo_root_for(path: Path) -> Path:
    """Secret files are named relative to the directory above ``config/`` (the repo root)."""
    parent = path.resolve().parent
    return parent.parent if parent.name == "config" else parent


def _semantic_errors(settings: Settings, scenario_names: Iterable[str] | None, check_secrets: bool) -> list[str]:
    errors: list[str] = []
    known = set(scenario_names) if scenario_names is not None else None
    if known is not None:
        for name in settings.scenarios.only:
            if name not in known:
                errors.append(f"scenarios.only: unknown scenario {name!r}")
        for name in settings.scenarios.overrides:
            if name not in known:
                errors.append(f"scenarios.overrides.{name}: unknown scenario")
        for target_name, target in settings.targets.items():
            for name in target.accounts.by_scenario if target.accounts else {}:
                if name not in known:
                    errors.append(f"targets.{target_name}.accounts.by_scenario.{name}: unknown scenario")
    for target_name, target in settings.targets.items():
        if target.allow_money and target.accounts is None:
            errors.append(f"targets.{target_name}.accounts: required when allow_money is true")
    if check_secrets:
        for place, ref in _secret_refs(settings, ()):
            try:
                settings.secret(ref)
            except MissingSecret as exc:
                errors.append(f"{place}: {exc}")
    return errors
