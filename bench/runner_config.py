"""A runner config for a benchmark: ``config/sandbox.yaml`` pointed at a sandbox on free ports.

Secrets stay files (``{file: /abs/path}`` into ``config/sandbox-secrets``): no benchmark ever
writes a secret's value anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from bench.processes import REPO_ROOT

__all__ = ["SANDBOX_CONFIG", "write_config"]

SANDBOX_CONFIG = REPO_ROOT / "config" / "sandbox.yaml"


def _absolute_secrets(node: Any) -> Any:
    """Every ``{file: relative}`` secret made absolute (the config moves to a temp dir)."""
    if isinstance(node, dict):
        if set(node) == {"file"} and not Path(str(node["file"])).is_absolute():
            return {"file": str(REPO_ROOT / str(node["file"]))}
        return {key: _absolute_secrets(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_absolute_secrets(item) for item in node]
    return node


def write_config(
    directory: Path,
    urls: Mapping[str, str],
    *,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    only: Sequence[str] = (),
    runner: Mapping[str, Any] | None = None,
    known_scenarios: Sequence[str] | None = None,
    mirrors: Mapping[str, str] | None = None,
    name: str = "config.yaml",
) -> Path:
    """Write the sandbox config with the sandbox's ``urls`` (keys: cdn, vault, concierge, room_service).

    ``overrides`` become ``scenarios.overrides`` (e.g. ``{"chat": {"interval_seconds": 2}}``),
    ``only`` becomes ``scenarios.only``, ``runner`` is merged into ``runner:``. With
    ``known_scenarios``, accounts of scenarios that do not exist (yet) are left out. ``mirrors``
    adds targets that are the same sandbox under another name, each with the accounts of another
    region (``{"mirror": "us"}``: ``probe-us-02``...), so that one runner can run every scenario
    twice at once without two runs sharing an account.
    """
    config: dict[str, Any] = _absolute_secrets(yaml.safe_load(SANDBOX_CONFIG.read_text()))
    target = config["targets"]["sandbox"]
    target["vault_url"] = urls["vault"]
    target["concierge_url"] = urls["concierge"]
    target["room_service_url"] = urls["room_service"]
    target["spa_url"] = urls["cdn"]
    if known_scenarios is not None:
        accounts = target["accounts"]["by_scenario"]
        target["accounts"]["by_scenario"] = {k: v for k, v in accounts.items() if k in known_scenarios}
    for mirror, region in (mirrors or {}).items():
        copy = yaml.safe_load(yaml.safe_dump(target))
        accounts = copy["accounts"]["by_scenario"]
        copy["accounts"]["by_scenario"] = {k: v.replace("{region}", region) for k, v in accounts.items()}
        config["targets"][mirror] = copy
    config["runner"]["artifacts_dir"] = str(directory / "artifacts")
    config["runner"].update(runner or {})
    scenarios = config.setdefault("scenarios", {})
    scenarios["overrides"] = {name: dict(values) for name, values in (overrides or {}).items()}
    if only:
        scenarios["only"] = list(only)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
