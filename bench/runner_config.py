"""A runner config for a benchmark: ``config/sandbox.yaml`` pointed at a sandbox on free ports.

The shipped file is pointed by ``config.sandbox_config``, the builder the tests use too; here are
only the benchmarks' own needs (the scenarios that exist yet, mirror targets). Secrets stay files
(``{file: /abs/path}`` into ``config/sandbox-secrets``): no benchmark ever writes a secret's value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from config.sandbox_config import TARGET, sandbox_config, target_urls
from config.sandbox_config import write_config as write_yaml

__all__ = ["bench_config", "write_config"]


def bench_config(
    directory: Path,
    urls: Mapping[str, str],
    *,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    only: Sequence[str] = (),
    runner: Mapping[str, Any] | None = None,
    known_scenarios: Sequence[str] | None = None,
    mirrors: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The sandbox config with the sandbox's ``urls`` (keys: cdn, vault, concierge, room_service).

    ``overrides`` become ``scenarios.overrides`` (e.g. ``{"chat": {"interval_seconds": 2}}``),
    ``only`` becomes ``scenarios.only``, ``runner`` is merged into ``runner:``. With
    ``known_scenarios``, accounts of scenarios that do not exist (yet) are left out. ``mirrors``
    adds targets that are the same sandbox under another name, each with the accounts of another
    region (``{"mirror": "us"}``: ``probe-us-02``...), so that one runner can run every scenario
    twice at once without two runs sharing an account.
    """
    scenarios: dict[str, Any] = {"overrides": {name: dict(values) for name, values in (overrides or {}).items()}}
    if only:
        scenarios["only"] = list(only)
    config = sandbox_config(target_urls(urls), directory / "artifacts", runner=runner, scenarios=scenarios)
    target = config["targets"][TARGET]
    if known_scenarios is not None:
        accounts = target["accounts"]["by_scenario"]
        target["accounts"]["by_scenario"] = {k: v for k, v in accounts.items() if k in known_scenarios}
    for mirror, region in (mirrors or {}).items():
        copy = yaml.safe_load(yaml.safe_dump(target))
        accounts = copy["accounts"]["by_scenario"]
        copy["accounts"]["by_scenario"] = {k: v.replace("{region}", region) for k, v in accounts.items()}
        config["targets"][mirror] = copy
    return config


def write_config(directory: Path, urls: Mapping[str, str], *, name: str = "config.yaml", **fields: Any) -> Path:
    """``bench_config(directory, urls, **fields)`` written as ``directory/name``."""
    return write_yaml(bench_config(directory, urls, **fields), directory / name)
