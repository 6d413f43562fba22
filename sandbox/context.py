"""What every sandbox service shares: settings, the fault switchboard, the bus and the accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sandbox.accounts import AccountBook
from sandbox.bus import EventBus
from sandbox.faults import Faults
from sandbox.metrics import PlatformMetrics
from sandbox.traceparents import TraceparentLog

__all__ = ["SandboxSettings", "SandboxContext", "PROFILES"]

SECRETS_DIR = Path(__file__).resolve().parent.parent / "config" / "sandbox-secrets"


def _secret(name: str) -> str:
    return (SECRETS_DIR / name).read_text().strip()


@dataclass
class SandboxSettings:
    host: str = "127.0.0.1"
    cdn_port: int = 8100
    vault_port: int = 8101
    concierge_port: int = 8102
    room_service_port: int = 8103
    admin_port: int = 8109
    db_path: str = ""  # empty: a fresh file in a temporary directory
    deposit_delay_seconds: float = 2.0
    withdrawal_delay_seconds: float = 2.0
    bus_lag_seconds: float = 0.5
    shutdown_timeout_seconds: float = 10.0
    seed: int | None = None
    probe_password: str = field(default_factory=lambda: _secret("probe_password"))
    player_password: str = field(default_factory=lambda: _secret("player_password"))
    reset_secret: str = field(default_factory=lambda: _secret("reset_secret"))
    admin_token: str = field(default_factory=lambda: _secret("admin_token"))


# --profile fast: short delays for tests.
PROFILES: dict[str, dict[str, float]] = {
    "default": {},
    "fast": {"deposit_delay_seconds": 0.2, "withdrawal_delay_seconds": 0.2, "bus_lag_seconds": 0.05},
}


@dataclass
class SandboxContext:
    settings: SandboxSettings
    faults: Faults
    bus: EventBus
    accounts: AccountBook
    shutting_down: bool = False
    metrics: PlatformMetrics = field(default_factory=PlatformMetrics)
    """Each service's own Prometheus registry (per sandbox: two sandboxes never share one)."""
    traceparents: TraceparentLog = field(default_factory=TraceparentLog)
    """The newest ``traceparent`` headers the services received (admin ``GET /traceparents``)."""
