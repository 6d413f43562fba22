"""The runner's configuration: one YAML file validated into frozen pydantic models.

Runner-level values can be overridden by environment variables (``MG_REGION``,
``MG_LISTEN``, ...), so one image serves every region. Secrets are never inline: a secret is
``{env: NAME}`` or ``{file: PATH}`` and is read when used.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from config.contract import Contract

__all__ = [
    "Settings",
    "RunnerSettings",
    "TargetConfig",
    "ScenarioSelection",
    "SecretRef",
    "BrowserSettings",
    "MissingSecret",
]

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MissingSecret(RuntimeError):
    """A secret's environment variable is unset or its file unreadable."""


class SecretRef(_Model):
    """Where a secret lives: an environment variable or a file. Never the value itself."""

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _not_inline(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError("inline secrets are not allowed; use {env: NAME} or {file: PATH}")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env or file")
        return self

    def where(self) -> str:
        return f"environment variable {self.env}" if self.env else f"file {self.file}"

    def read(self, base_dir: Path | None = None) -> str:
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise MissingSecret(f"environment variable {self.env} is not set")
            return value
        assert self.file is not None
        path = self.file if self.file.is_absolute() or base_dir is None else base_dir / self.file
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise MissingSecret(f"cannot read secret file {path}: {exc.strerror}") from None


class BrowserSettings(_Model):
    executable_path: Path | None = None  # None: found automatically (Debian/Ubuntu chromium)
    max_concurrent_runs: int = Field(2, ge=1, le=16)
    keep_artifacts_per_scenario: int = Field(10, ge=1)


class AccountsConfig(_Model):
    """Which synthetic account each scenario uses; ``{region}`` is the runner's region."""

    password: SecretRef
    by_scenario: dict[str, str] = Field(default_factory=dict)
    default: str | None = None  # template for scenarios not listed, e.g. "probe-{region}-{scenario}"

    def username_for(self, scenario: str, region: str) -> str | None:
        template = self.by_scenario.get(scenario, self.default)
        return None if template is None else template.format(region=region, scenario=scenario)


class TargetConfig(_Model):
    vault_url: AnyHttpUrl
    concierge_url: AnyHttpUrl
    room_service_url: AnyHttpUrl
    spa_url: AnyHttpUrl
    region: str = "unknown"  # where the platform is deployed (the runner's own region labels metrics)
    allow_money: bool = False
    stake_budget_usd_per_day: Decimal = Field(Decimal("0"), ge=0)
    currencies: tuple[str, ...] = ("USD",)
    accounts: AccountsConfig | None = None
    reset_secret: SecretRef | None = None

    @field_validator("currencies")
    @classmethod
    def _currency_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            if not re.fullmatch(r"[A-Z]{3,5}", code):
                raise ValueError(f"not a currency code: {code!r}")
        if len(set(value)) != len(value):
            raise ValueError("currencies listed twice")
        return value

    def service_urls(self) -> dict[str, str]:
        """Service name -> base URL without a trailing slash."""
        return {
            "vault": str(self.vault_url).rstrip("/"),
            "concierge": str(self.concierge_url).rstrip("/"),
            "room_service": str(self.room_service_url).rstrip("/"),
            "cdn": str(self.spa_url).rstrip("/"),
        }


class ScenarioOverride(_Model):
    interval_seconds: float | None = Field(None, gt=0)
    timeout_seconds: float | None = Field(None, gt=0)
    enabled: bool = True
    options: dict[str, Any] = Field(default_factory=dict)


class ScenarioSelection(_Model):
    include_tags: tuple[str, ...] = ()  # empty: all
    exclude_tags: tuple[str, ...] = ()
    only: tuple[str, ...] = ()  # empty: all
    overrides: dict[str, ScenarioOverride] = Field(default_factory=dict)


class RunnerSettings(BaseSettings):
    """Runner-level settings: YAML ``runner:`` section, overridden by ``MG_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="MG_", extra="forbid", frozen=True)

    region: str = "local"
    listen: str = "127.0.0.1:9150"
    shutdown_grace_seconds: float = Field(30.0, ge=0)
    artifacts_dir: Path = Path("artifacts")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    dependency_allowlist: tuple[str, ...] = ("database", "kafka", "redis", "chat", "origin")
    max_concurrent_runs: int = Field(8, ge=1)
    browser: BrowserSettings = BrowserSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)  # the environment wins over the YAML file

    @field_validator("region")
    @classmethod
    def _region_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("region must be lowercase letters, digits, '-' or '_'")
        return value

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError("must be HOST:PORT")
        return value


class Settings(_Model):
    runner: RunnerSettings = Field(default_factory=RunnerSettings)
    targets: dict[str, TargetConfig]
    scenarios: ScenarioSelection = ScenarioSelection()
    contract: Contract = Contract()
    base_dir: Path = Path(".")  # where relative secret files are found (the config file's repo)

    @field_validator("targets")
    @classmethod
    def _some_target(cls, value: dict[str, TargetConfig]) -> dict[str, TargetConfig]:
        if not value:
            raise ValueError("at least one target is needed")
        for name in value:
            if not _NAME.match(name):
                raise ValueError(f"target name {name!r} must be lowercase letters, digits, '-' or '_'")
        return value

    def secret(self, ref: SecretRef) -> str:
        return ref.read(self.base_dir)
