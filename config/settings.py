"""The runner's configuration: one YAML file validated into frozen pydantic models.

Runner-level values can be overridden by environment variables (``MG_REGION``,
``MG_LISTEN``, ...), so one image serves every region. Secrets are never inline: a secret is
``{env: NAME}`` or ``{file: PATH}`` and is read when used.
"""

from __future__ import annotations

import os
import re
import stat
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from config.contract import Contract, template_fields
from config.maintenance import MaintenanceWindow

__all__ = [
    "Settings",
    "RunnerSettings",
    "TargetConfig",
    "ScenarioSelection",
    "SecretRef",
    "BrowserSettings",
    "HistorySettings",
    "PagesSettings",
    "MissingSecret",
    "check_region",
    "parse_listen",
    "UploadSettings",
]

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")
SECRET_FILE_MAX_BYTES = 64 * 1024
ACCOUNT_FIELDS = frozenset({"region", "scenario"})  # what an account template may name


def check_region(value: str) -> str:
    """A region is a metric label value: short, lowercase, no spaces."""
    if not _NAME.match(value):
        raise ValueError(f"region {value[:60]!r} must be lowercase letters, digits, '-' or '_' (at most 41)")
    return value


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (port 0: any free port) into its parts; ``ValueError`` says what is wrong."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"must be HOST:PORT with a port of 0-65535, got {value[:60]!r}")
    return host.strip("[]"), int(port)


def _read_secret_file(path: Path) -> str:
    """A regular file only (a FIFO or device would block or never end), read with a size cap."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise MissingSecret(f"secret file {path} is not a regular file")
        if info.st_size > SECRET_FILE_MAX_BYTES:
            raise MissingSecret(f"secret file {path} is larger than {SECRET_FILE_MAX_BYTES} bytes")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as file:
            data = file.read(SECRET_FILE_MAX_BYTES + 1)
    except OSError as exc:
        raise MissingSecret(f"cannot read secret file {path}: {exc.strerror}") from None
    if len(data) > SECRET_FILE_MAX_BYTES:
        raise MissingSecret(f"secret file {path} is larger than {SECRET_FILE_MAX_BYTES} bytes")
    try:
        return data.decode().strip()
    except UnicodeDecodeError:
        raise MissingSecret(f"secret file {path} is not UTF-8 text") from None


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
        return _read_secret_file(self.file if self.file.is_absolute() or base_dir is None else base_dir / self.file)


class BrowserSettings(_Model):
    executable_path: Path | None = None  # None: found automatically (Debian/Ubuntu chromium)
    max_concurrent_runs: int = Field(2, ge=1, le=16)
    keep_artifacts_per_scenario: int = Field(10, ge=1)
    # Which runs record a Playwright trace and a HAR (every failed run keeps a screenshot and its
    # console log whatever this says). on_retry: only the run after a failure of the same journey
    # on the same target (run mode's retry, serve mode's next run), kept pass or fail; on_failure:
    # every run, kept when it fails; always: every run, always kept (as ``run -v``).
    trace: Literal["on_retry", "on_failure", "always"] = "on_retry"

    @field_validator("executable_path")
    @classmethod
    def _executable(cls, value: Path | None) -> Path | None:
        if value is not None and not (value.is_file() and os.access(value, os.X_OK)):
            raise ValueError(f"{value} is not an executable file")
        return value


class UploadSettings(_Model):
    """Where failed runs' artifacts are copied: S3, or any S3-compatible store at ``endpoint_url``.

    Credentials are never here: boto3 finds them in the environment (``AWS_ACCESS_KEY_ID``...)
    or the ECS task role. Objects are keyed ``<prefix><region>/<scenario>/<date>/<run id>/``.
    """

    bucket: str
    prefix: str = ""
    region: str | None = None  # the bucket's region; None: boto3's default (AWS_REGION)
    endpoint_url: AnyHttpUrl | None = None  # None: AWS S3 itself
    max_concurrent: int = Field(4, ge=1, le=32)  # uploads at once, each in a thread of its own
    queue_size: int = Field(100, ge=1)  # runs waiting beyond this are dropped (and counted)
    drain_seconds: float = Field(20.0, ge=0)  # at exit, how long uploads in flight may still take

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
            raise ValueError("not an S3 bucket name (3-63 lowercase letters, digits, '.' or '-')")
        return value

    @field_validator("prefix")
    @classmethod
    def _key_prefix(cls, value: str) -> str:
        value = value.strip("/")
        return f"{value}/" if value else ""


class HistorySettings(_Model):
    """How much run history serve mode keeps (``<artifacts_dir>/history.sqlite``)."""

    keep_per_scenario: int = Field(20_160, ge=1)
    """Runs kept per scenario and target: a week of the shortest shipped interval (uptime, 30 s)."""
    keep_days: float = Field(7.0, gt=0)


class BasicAuth(_Model):
    username: str = Field(min_length=1)
    password: SecretRef


class PagesSettings(_Model):
    """The status and run pages and their JSON API (read-only), served by serve mode."""

    enabled: bool = True
    listen: str | None = None
    """HOST:PORT of their own listener; None: the same listener as /metrics."""
    url_template: str | None = None
    """Where each region's runner serves these pages, ``{region}`` the probe region, e.g.
    ``https://mystery-guest-{region}.probes.internal/``: ``python -m monitoring --config`` builds
    the alerts' ``runs_url`` and the dashboard's data links from it (the runner itself ignores it)."""
    trace_url_template: str | None = None
    """Makes trace ids links, e.g. ``https://grafana.example/explore?left={"queries":[{"query":"{trace_id}"}]}``."""
    refresh_seconds: int = Field(30, ge=5)
    bearer_token: SecretRef | None = None
    """When set (or ``basic_auth``), every page, API answer and artifact needs it."""
    basic_auth: BasicAuth | None = None

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None:
            parse_listen(value)
        return value

    @field_validator("trace_url_template")
    @classmethod
    def _trace_template(cls, value: str | None) -> str | None:
        if value is not None and "{trace_id}" not in value:
            raise ValueError("must contain {trace_id}")
        return value


class AccountsConfig(_Model):
    """Which synthetic account each scenario uses; ``{region}`` is the runner's region."""

    password: SecretRef
    by_scenario: dict[str, str] = Field(default_factory=dict)
    default: str | None = None  # template for scenarios not listed, e.g. "probe-{region}-{scenario}"

    @field_validator("default")
    @classmethod
    def _default_template(cls, value: str | None) -> str | None:
        return None if value is None else _account_template(value)

    @field_validator("by_scenario")
    @classmethod
    def _scenario_templates(cls, value: dict[str, str]) -> dict[str, str]:
        for scenario, template in value.items():
            try:
                _account_template(template)
            except ValueError as exc:
                raise ValueError(f"{scenario}: {exc}") from None
        return value

    def username_for(self, scenario: str, region: str) -> str | None:
        template = self.by_scenario.get(scenario, self.default)
        return None if template is None else template.format(region=region, scenario=scenario)


def _account_template(template: str) -> str:
    unknown = sorted(template_fields(template) - ACCOUNT_FIELDS)
    if unknown:
        raise ValueError(f"unknown placeholder {{{unknown[0]}}} (known: {{region}}, {{scenario}})")
    if not template.strip():
        raise ValueError("an account name cannot be empty")
    return template


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

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        return check_region(value)

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
    # Every answer (HTTP body, /health, socket.io payload) is read up to this many bytes, then the
    # step fails as unexpected_body: a hostile or broken target cannot take the runner's memory.
    max_body_bytes: int = Field(1 << 20, ge=1)
    browser: BrowserSettings = BrowserSettings()
    upload: UploadSettings | None = None  # None: artifacts stay in artifacts_dir only
    history: HistorySettings = HistorySettings()
    pages: PagesSettings = PagesSettings()

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
        return check_region(value)

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        parse_listen(value)
        return value


class Settings(_Model):
    runner: RunnerSettings = Field(default_factory=RunnerSettings)
    targets: dict[str, TargetConfig]
    scenarios: ScenarioSelection = ScenarioSelection()
    contract: Contract = Contract()
    maintenance: tuple[MaintenanceWindow, ...] = ()
    """Planned maintenance windows (config/maintenance.py); ``SIGHUP`` reloads them in serve mode."""
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

    @model_validator(mode="after")
    def _windows_name_known_targets(self) -> Settings:
        names = [window.name for window in self.maintenance]
        if len(set(names)) != len(names):
            raise ValueError("maintenance: two windows share a name")
        for window in self.maintenance:
            unknown = sorted(set(window.targets) - set(self.targets))
            if unknown:
                raise ValueError(f"maintenance window {window.name}: unknown target(s) {', '.join(unknown)}")
        return self

    def secret(self, ref: SecretRef) -> str:
        return ref.read(self.base_dir)
