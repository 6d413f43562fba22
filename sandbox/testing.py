"""Start a real sandbox in a subprocess for tests, benchmarks and end-to-end runs.

``start_sandbox(log_dir)`` runs ``python -m sandbox --profile fast --seed 7`` with every port
set to 0 (the sandbox binds free loopback ports itself and prints their URLs, so parallel test
runs never race for a port), waits for ``sandbox ready`` and every service's ``/liveness``,
and returns a ``SandboxHandle``. ``handle.stop()`` sends SIGTERM and returns the exit code.
The subprocess's stdout and stderr go to ``<log_dir>/sandbox.log``.

``VaultSession`` is a small async Vault client for one account (balance, bets, deposits,
withdrawals, history, waiting for a payment to settle).

The handle's methods are synchronous (they block for one loopback round trip), so they are
usable from sync and async tests alike.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "SandboxHandle",
    "SandboxStartError",
    "VaultSession",
    "running_sandbox",
    "secret",
    "start_sandbox",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
SECRETS_DIR = REPO_ROOT / "config" / "sandbox-secrets"
SERVICES = ("cdn", "vault", "concierge", "room_service", "admin")
_URL_LINE = re.compile(r"^(cdn|vault|concierge|room_service|admin)\s+(http://\S+)\s*$")
_READY_LINE = "sandbox ready"


class SandboxStartError(RuntimeError):
    """The sandbox did not come up; the message ends with the tail of its log."""


def secret(name: str) -> str:
    """A secret of ``config/sandbox-secrets`` (``probe_password``, ``admin_token``...)."""
    return (SECRETS_DIR / name).read_text().strip()


@dataclass
class SandboxHandle:
    process: subprocess.Popen[bytes]
    log_path: Path
    urls: dict[str, str]
    admin_token: str = field(default_factory=lambda: secret("admin_token"), repr=False)
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10, trust_env=False), repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, service: str) -> str:
        try:
            return self.urls[service]
        except KeyError:
            raise RuntimeError(f"{service} is not running in this sandbox (is its module written yet?)") from None

    @property
    def vault_url(self) -> str:
        return self.url("vault")

    @property
    def concierge_url(self) -> str:
        return self.url("concierge")

    @property
    def room_service_url(self) -> str:
        return self.url("room_service")

    @property
    def cdn_url(self) -> str:
        return self.url("cdn")

    @property
    def admin_url(self) -> str:
        return self.url("admin")

    def target_urls(self) -> dict[str, str]:
        """The four URLs of a config's ``targets.<name>`` that point at this sandbox."""
        return {
            "vault_url": self.vault_url,
            "concierge_url": self.concierge_url,
            "room_service_url": self.room_service_url,
            "spa_url": self.cdn_url,
        }

    # -- faults ----------------------------------------------------------------------------

    def _admin(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        response = self._http.request(method, self.admin_url + path, headers=headers, **kwargs)
        if response.status_code != 200:
            raise RuntimeError(f"admin {method} {path}: {response.status_code} {response.text}")
        result: dict[str, Any] = response.json()
        return result

    def fault_on(self, spec: str) -> None:
        """Switch a fault on, e.g. ``fault_on("deposit_fails:EUR")``."""
        self._admin("POST", "/faults", json={"fault": spec})

    def fault_off(self, name: str) -> None:
        self._admin("DELETE", f"/faults/{name}")

    def faults_clear(self) -> None:
        self._admin("DELETE", "/faults")

    def active_faults(self) -> dict[str, str | None]:
        active: dict[str, str | None] = self._admin("GET", "/faults")["active"]
        return active

    def traceparents(self) -> list[dict[str, str]]:
        """The newest ``traceparent`` headers the services received: service, method, path, traceparent."""
        seen: list[dict[str, str]] = self._admin("GET", "/traceparents")["seen"]
        return seen

    # -- accounts --------------------------------------------------------------------------

    def login(self, username: str) -> str:
        """A fresh bearer token for ``probe-eu-01``... or ``player-01``... ."""
        password = secret("probe_password" if username.startswith("probe-") else "player_password")
        response = self._http.post(self.vault_url + "/v1/auth/login", json={"username": username, "password": password})
        if response.status_code != 200:
            raise RuntimeError(f"login of {username} failed: {response.status_code}")
        token: str = response.json()["token"]
        return token

    # -- lifetime --------------------------------------------------------------------------

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait; returns the exit code (SIGKILL and -9 after ``timeout``)."""
        self._http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                return -9
        return self.process.returncode

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def start_sandbox(
    log_dir: Path,
    extra_args: Sequence[str] = (),
    *,
    profile: str = "fast",
    seed: int | None = 7,
    timeout: float = 30.0,
) -> SandboxHandle:
    """Start a sandbox subprocess on free loopback ports and wait until every service is live."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "sandbox.log"
    command = [sys.executable, "-m", "sandbox", "--profile", profile, "--host", "127.0.0.1"]
    if seed is not None:
        command += ["--seed", str(seed)]
    for service in SERVICES:
        command += [f"--{service.replace('_', '-')}-port", "0"]
    command += list(extra_args)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    handle = SandboxHandle(process, log_path, {})
    try:
        handle.urls = _wait_ready(handle, time.monotonic() + timeout)
        _wait_live(handle, time.monotonic() + timeout)
    except BaseException:
        handle.stop(timeout=5)
        raise
    return handle


@contextmanager
def running_sandbox(log_dir: Path, extra_args: Sequence[str] = (), **options: Any) -> Iterator[SandboxHandle]:
    """``with running_sandbox(tmp_path) as sandbox: ...``; stops it (SIGTERM) on the way out."""
    handle = start_sandbox(log_dir, extra_args, **options)
    try:
        yield handle
    finally:
        handle.stop()


def _wait_ready(handle: SandboxHandle, deadline: float) -> dict[str, str]:
    while time.monotonic() < deadline:
        text = handle.log_path.read_text(errors="replace")
        if _READY_LINE in text.splitlines():
            urls = {}
            for line in text.splitlines():
                match = _URL_LINE.match(line)
                if match:
                    urls[match.group(1)] = match.group(2)
            return urls
        if handle.process.poll() is not None:
            raise SandboxStartError(f"sandbox exited with {handle.process.returncode}:\n{handle.log_tail()}")
        time.sleep(0.05)
    raise SandboxStartError(f"sandbox not ready in time:\n{handle.log_tail()}")


def _wait_live(handle: SandboxHandle, deadline: float) -> None:
    waiting = dict(handle.urls)
    while waiting:
        for service, url in list(waiting.items()):
            try:
                if handle._http.get(url + "/liveness", timeout=2).status_code == 200:
                    del waiting[service]
            except httpx.TransportError:
                pass
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise SandboxStartError(f"not live in time: {sorted(waiting)}\n{handle.log_tail()}")
        time.sleep(0.05)


@dataclass
class VaultSession:
    """One account's conversation with Vault over a shared ``httpx.AsyncClient``."""

    client: httpx.AsyncClient
    vault_url: str
    token: str

    def headers(self, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(self.vault_url + path, headers=self.headers())

    async def post(self, path: str, body: object, *, key: str | None = None) -> httpx.Response:
        return await self.client.post(self.vault_url + path, json=body, headers=self.headers(key))

    async def balance(self, currency: str) -> Decimal:
        response = await self.get("/v1/balance")
        response.raise_for_status()
        return Decimal(response.json()["balances"][currency])

    async def history(self, limit: int = 50) -> list[dict[str, Any]]:
        response = await self.get(f"/v1/transactions?limit={limit}")
        response.raise_for_status()
        entries: list[dict[str, Any]] = response.json()
        return entries

    async def bet(
        self, currency: str, stake: str, *, selection: str = "high", key: str | None = None
    ) -> httpx.Response:
        body = {"game": "dice", "currency": currency, "stake": stake, "selection": selection}
        return await self.post("/v1/bets", body, key=key)

    async def deposit(self, currency: str, amount: str, *, key: str | None = None) -> httpx.Response:
        body = {"currency": currency, "amount": amount, "method": "sandbox"}
        return await self.post("/v1/deposits", body, key=key)

    async def withdraw(self, currency: str, amount: str, *, key: str | None = None) -> httpx.Response:
        body = {"currency": currency, "amount": amount, "method": "sandbox"}
        return await self.post("/v1/withdrawals", body, key=key)

    async def settled(self, kind: str, payment_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The deposit or withdrawal once it is no longer pending (or as it is at ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            response = await self.get(f"/v1/{kind}s/{payment_id}")
            response.raise_for_status()
            payment: dict[str, Any] = response.json()
            if payment["status"] != "pending" or time.monotonic() > deadline:
                return payment
            await asyncio.sleep(0.05)

    async def top_up(self, currency: str, amount: str) -> dict[str, Any]:
        """Deposit and wait for the deposit to settle; returns it."""
        response = await self.deposit(currency, amount)
        response.raise_for_status()
        return await self.settled("deposit", response.json()["deposit_id"])
