"""``config/sandbox.yaml`` pointed at a sandbox on other ports: the one builder of the configs
that tests and benchmarks run.

The shipped file stays the base, so a caller states only what differs (the sandbox's URLs,
where artifacts go, a runner field, an account, the scenarios' overrides). Secrets stay files:
a relative ``{file: ...}`` reference is made absolute (the config is written elsewhere), and
no secret's value is ever read here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "FAST_DEADLINES",
    "SANDBOX_YAML",
    "TARGET",
    "URL_FIELDS",
    "fast_sandbox_config",
    "sandbox_config",
    "target_urls",
    "write_config",
]

SANDBOX_YAML = Path(__file__).resolve().parent / "sandbox.yaml"
_CHECKOUT = SANDBOX_YAML.parents[1]  # where the file's relative secret paths start
TARGET = "sandbox"  # the shipped file's one target
URL_FIELDS = {"vault": "vault_url", "concierge": "concierge_url", "room_service": "room_service_url", "cdn": "spa_url"}

# Deadlines for the sandbox's fast profile (``--profile fast``): a push or a payment that does not
# come is known in seconds, not in the real platform's minutes (the scenarios' defaults).
_FAST_PAYMENTS = {"completion_deadline_seconds": 2, "poll_interval_seconds": 0.05, "push_deadline_seconds": 1}
FAST_DEADLINES: dict[str, dict[str, Any]] = {
    "bet_settlement": {"deposit_deadline_seconds": 2, "push_deadline_seconds": 1},
    "deposit_each_currency": _FAST_PAYMENTS,
    "withdraw_each_currency": _FAST_PAYMENTS,
    "guardrails": {**_FAST_PAYMENTS, "rewards_deadline_seconds": 2},
    "rewards": {"deposit_deadline_seconds": 2, "rewards_deadline_seconds": 2, "poll_interval_seconds": 0.05},
    "level_up": {"deposit_deadline_seconds": 2, "level_up_deadline_seconds": 2},
    "chat": {"ack_deadline_seconds": 1, "delivery_deadline_seconds": 1},
    "spa_load": {"ui_timeout_seconds": 10},
    "spa_login_balance": {"ui_timeout_seconds": 10, "connect_deadline_seconds": 5},
    "spa_deposit_push": {"ui_timeout_seconds": 10, "balance_deadline_seconds": 4},
    "spa_bet": {"ui_timeout_seconds": 10, "balance_deadline_seconds": 4, "deposit_deadline_seconds": 5},
    "spa_chat": {"ui_timeout_seconds": 10, "delivery_deadline_seconds": 4},
    "spa_level_up": {"ui_timeout_seconds": 10, "level_up_deadline_seconds": 5, "deposit_deadline_seconds": 5},
}


def target_urls(services: Mapping[str, str]) -> dict[str, str]:
    """A target's URL fields from a sandbox's service URLs (``{"vault": ..., "cdn": ...}``)."""
    return {field: services[service] for service, field in URL_FIELDS.items()}


def sandbox_config(
    urls: Mapping[str, str],
    artifacts_dir: Path,
    *,
    runner: Mapping[str, Any] | None = None,
    target: Mapping[str, Any] | None = None,
    accounts: Mapping[str, Any] | None = None,
    scenarios: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The shipped sandbox config with its target at ``urls`` (``vault_url``, ... ``spa_url``) and
    artifacts in ``artifacts_dir``; ``runner``, ``target``, ``accounts`` and ``scenarios`` are
    merged over the runner's, the target's, its accounts' and the scenarios' fields."""
    config: dict[str, Any] = _absolute_files(yaml.safe_load(SANDBOX_YAML.read_text()))
    shipped = config["targets"][TARGET]
    config["runner"] = {**config["runner"], "artifacts_dir": str(artifacts_dir), **(runner or {})}
    config["targets"][TARGET] = {
        **shipped,
        **urls,
        "accounts": {**shipped["accounts"], **(accounts or {})},
        **(target or {}),
    }
    config["scenarios"] = {**config["scenarios"], **(scenarios or {})}
    return config


def fast_sandbox_config(
    urls: Mapping[str, str],
    artifacts_dir: Path,
    names: Iterable[str] | None = None,
    *,
    timeout_seconds: float | Mapping[str, float] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    scenarios: Mapping[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """``sandbox_config`` for the fast profile: ``FAST_DEADLINES`` for ``names`` (default: all of them),
    ``options`` merged over them per scenario, their ``timeout_seconds`` (one for all, or by name), and
    no maintenance window (the shipped example is for reading). ``scenarios`` and ``fields``
    (``runner``, ``target``, ``accounts``) go to ``sandbox_config``."""
    overrides: dict[str, dict[str, Any]] = {}
    for name in FAST_DEADLINES if names is None else names:
        override: dict[str, Any] = {"options": {**FAST_DEADLINES.get(name, {}), **(options or {}).get(name, {})}}
        timeout = timeout_seconds.get(name) if isinstance(timeout_seconds, Mapping) else timeout_seconds
        if timeout is not None:
            override["timeout_seconds"] = timeout
        overrides[name] = override
    config = sandbox_config(urls, artifacts_dir, scenarios={"overrides": overrides, **(scenarios or {})}, **fields)
    del config["maintenance"]
    return config


def write_config(config: Mapping[str, Any], path: Path) -> Path:
    """``config`` as YAML at ``path`` (its folder made), keys in the order given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.dump(dict(config), Dumper=_PlainDumper, sort_keys=False))
    return path


class _PlainDumper(yaml.SafeDumper):
    """Writes a mapping shared by two targets twice, never as a YAML anchor and alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _absolute_files(node: Any) -> Any:
    """Every ``{file: relative}`` secret reference made absolute."""
    if isinstance(node, dict):
        if set(node) == {"file"} and not Path(str(node["file"])).is_absolute():
            return {"file": str(_CHECKOUT / str(node["file"]))}
        return {key: _absolute_files(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_absolute_files(item) for item in node]
    return node
