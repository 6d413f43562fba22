"""Load and check a YAML config, naming every error by its place in the file.

Errors read ``targets.prod.vault_url: not a URL``: one line each, all of them at once. An
error that comes from an ``MG_*`` environment variable names the variable instead.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_settings import SettingsError

from config.settings import MissingSecret, RunnerSettings, SecretRef, Settings

__all__ = ["ConfigError", "load_settings", "validation_lines", "DEFAULT_CONFIG", "CONFIG_MAX_BYTES"]

DEFAULT_CONFIG = Path(__file__).resolve().parent / "sandbox.yaml"
CONFIG_MAX_BYTES = 1024 * 1024  # a real config is a few KiB; refuse a huge one before parsing it
MAX_VALUES = 50_000  # values after YAML aliases are expanded (a "billion laughs" file is small)
MAX_DEPTH = 32  # a config nests five or six levels; a parser or validator recursing 10,000 deep fails
ENV_PREFIX = "MG_"

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
    "list_type": "must be a list",
}


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int, first_line: int) -> None:
        super().__init__(f"line {line}: duplicate key {key!r} (first at line {first_line})")


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys without a word; a config must not."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                line = key_node.start_mark.line + 1
                if key_node.value in seen:
                    raise _DuplicateKey(key_node.value, line, seen[key_node.value])
                seen[key_node.value] = line
        return super().construct_mapping(node, deep=deep)


class ConfigError(Exception):
    """A config that cannot be used; ``errors`` holds one ``place: problem`` line each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def _place(prefix: Iterable[str | int], loc: Iterable[str | int]) -> str:
    parts = [str(p) for p in (*prefix, *loc)]
    return ".".join(parts) or "(top level)"


def _describe(error: dict[str, Any]) -> str:
    return _FRIENDLY.get(error["type"]) or str(error["msg"]).removeprefix("Value error, ")


def validation_lines(exc: ValidationError, prefix: tuple[str, ...] = ()) -> list[str]:
    """One ``place: problem`` line per pydantic error, in the words of every other section."""
    lines = []
    for error in exc.errors():
        loc = [p for p in error["loc"] if p not in ("function-after[_exactly_one(), SecretRef]",)]
        lines.append(f"{_place(prefix, loc)}: {_describe(dict(error))}")
    return lines


def _env_name(field: str) -> str | None:
    """The ``MG_*`` variable that set ``field``, if one did (pydantic-settings ignores case)."""
    name = ENV_PREFIX + field.upper()
    return next((key for key in os.environ if key.upper() == name), None)


def _runner_settings(raw: dict[str, Any]) -> tuple[RunnerSettings | None, list[str]]:
    """The ``runner:`` section under ``MG_*`` overrides; an error names the variable it came from."""
    odd = [key for key in raw if not isinstance(key, str)]
    if odd:
        return None, [f"runner.{odd[0]}: unknown key"]
    try:
        return RunnerSettings(**raw), []
    except SettingsError as exc:  # a list or mapping variable that is not JSON
        named = re.search(r'field "(\w+)"', str(exc))
        env = _env_name(named.group(1)) if named else None
        return None, [f'{env or "MG_*"}: not valid JSON (write a list as ["a", "b"])']
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field, *rest = [str(p) for p in error["loc"]] or [""]
            env = _env_name(field)
            place = ".".join([env, *rest]) if env else _place(("runner",), error["loc"])
            lines.append(f"{place}: {_describe(dict(error))}")
        return None, lines


def _read_config(path: Path) -> str:
    """The file's text: a regular file (a FIFO would block) of at most ``CONFIG_MAX_BYTES``."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError([f"{path}: not a regular file"])
        if info.st_size > CONFIG_MAX_BYTES:
            raise ConfigError([f"{path}: {info.st_size} bytes, more than a config may have ({CONFIG_MAX_BYTES})"])
        with path.open("rb") as file:
            data = file.read(CONFIG_MAX_BYTES + 1)
    except FileNotFoundError:
        # The image's default config is a path to mount: say so in the one line a container log shows.
        raise ConfigError([f"{path}: cannot read: no such file (mount your config here, or name another)"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    if len(data) > CONFIG_MAX_BYTES:
        raise ConfigError([f"{path}: more than a config may have ({CONFIG_MAX_BYTES} bytes)"])
    try:
        return data.decode()
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text (byte {exc.start})"]) from None


def _parse_yaml(path: Path, text: str) -> Any:
    loader = _UniqueKeyLoader(text)
    try:
        return loader.get_single_data()
    except _DuplicateKey as exc:
        raise ConfigError([f"{path}: {exc}"]) from None
    except RecursionError:  # PyYAML composes nested nodes recursively
        raise ConfigError([f"{path}: nested too deeply: not a config"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError([f"{where}: YAML syntax error: {problem}"]) from None
    finally:
        loader.dispose()


def _shape_problem(node: Any) -> str | None:
    """Counts values as validation would meet them (aliases expanded), stopping at the caps."""
    pending, count = [(node, 0)], 0
    while pending:
        count += 1
        if count > MAX_VALUES:
            return f"more than {MAX_VALUES} values (after YAML aliases): not a config"
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            return f"nested more than {MAX_DEPTH} levels deep: not a config"
        if isinstance(value, dict):
            pending.extend((child, depth + 1) for child in (*value.keys(), *value.values()))
        elif isinstance(value, list):
            pending.extend((child, depth + 1) for child in value)
    return None


def _secret_refs(node: Any, place: tuple[str, ...]) -> Iterable[tuple[str, SecretRef]]:
    if isinstance(node, SecretRef):
        yield ".".join(place), node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _secret_refs(getattr(node, name), (*place, name))
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _secret_refs(value, (*place, str(key)))


def load_settings(
    path: Path,
    *,
    check_secrets: bool = True,
    scenario_names: Iterable[str] | None = None,
    scenario_tags: Iterable[str] | None = None,
) -> Settings:
    """Read ``path`` into ``Settings`` or raise ``ConfigError`` listing every problem.

    ``scenario_names`` and ``scenario_tags`` (what discovery found) let names and tags be checked.
    """
    raw = _parse_yaml(path, _read_config(path))
    if not isinstance(raw, dict):
        raise ConfigError([f"{path}: the top level must be a mapping"])
    problem = _shape_problem(raw)
    if problem:
        raise ConfigError([f"{path}: {problem}"])

    errors: list[str] = []
    runner_raw = raw.pop("runner", None) or {}
    runner: RunnerSettings | None = None
    if not isinstance(runner_raw, dict):
        errors.append("runner: must be a mapping")
    else:
        runner, runner_errors = _runner_settings(runner_raw)
        errors.extend(runner_errors)
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(
            {**raw, "runner": runner or RunnerSettings.model_construct(), "base_dir": _repo_root_for(path)}
        )
    except ValidationError as exc:
        errors.extend(validation_lines(exc))
    if settings is not None:
        errors.extend(_semantic_errors(settings, scenario_names, check_secrets))
        if scenario_tags is not None:
            errors.extend(_tag_errors(settings, set(scenario_tags)))
    if errors:
        raise ConfigError(errors)
    assert settings is not None
    return settings


def _repo_root_for(path: Path) -> Path:
    """Secret files are named relative to the directory above ``config/`` (the repo root)."""
    parent = path.resolve().parent
    return parent.parent if parent.name == "config" else parent


def _tag_errors(settings: Settings, known: set[str]) -> list[str]:
    """A tag no scenario has selects nothing, silently: name it instead."""
    errors = []
    for key in ("include_tags", "exclude_tags"):
        for tag in getattr(settings.scenarios, key):
            if tag not in known:
                errors.append(f"scenarios.{key}: unknown tag {tag[:60]!r}; known: {', '.join(sorted(known))}")
    return errors


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
