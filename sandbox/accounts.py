"""Accounts and bearer tokens shared by the sandbox's services.

Synthetic accounts (flagged ``synthetic``) are the probes' test accounts: ``probe-<region>-<nn>``
for regions ``eu`` and ``us`` and nn 01..24, enough for one per scenario in each of two
regions. Ordinary accounts ``player-01``..``player-05`` stand for real customers: test hooks
(sandbox payment method, rewards reset) answer 403 to them.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

__all__ = ["Account", "AccountBook", "SYNTHETIC_REGIONS", "SYNTHETIC_PER_REGION"]

SYNTHETIC_REGIONS = ("eu", "us")
SYNTHETIC_PER_REGION = 24
ORDINARY_COUNT = 5


@dataclass(frozen=True)
class Account:
    user_id: str
    username: str
    display_name: str
    synthetic: bool


class AccountBook:
    """Who exists, their passwords, and which token belongs to whom (tokens expire)."""

    def __init__(self, probe_password: str, player_password: str, token_ttl_seconds: float = 3600) -> None:
        self.token_ttl_seconds = token_ttl_seconds
        self._passwords: dict[str, str] = {}
        self.by_username: dict[str, Account] = {}
        self.by_id: dict[str, Account] = {}
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        for region in SYNTHETIC_REGIONS:
            for n in range(1, SYNTHETIC_PER_REGION + 1):
                self._add(f"probe-{region}-{n:02d}", probe_password, synthetic=True)
        for n in range(1, ORDINARY_COUNT + 1):
            self._add(f"player-{n:02d}", player_password, synthetic=False)

    def _add(self, username: str, password: str, synthetic: bool) -> None:
        user_id = f"u-{len(self.by_id) + 1:04d}"
        display = f"Probe {username[6:]}" if synthetic else f"Player {username[7:]}"
        account = Account(user_id, username, display, synthetic)
        self.by_username[username] = account
        self.by_id[user_id] = account
        self._passwords[username] = password

    def login(self, username: str, password: str) -> tuple[str, Account] | None:
        account = self.by_username.get(username)
        if account is None or not secrets.compare_digest(self._passwords[username], password):
            return None
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (account.user_id, time.monotonic() + self.token_ttl_seconds)
        return token, account

    def account_for_token(self, token: str | None) -> Account | None:
        if not token:
            return None
        with self._lock:
            entry = self._tokens.get(token)
            if entry is None:
                return None
            user_id, expires = entry
            if time.monotonic() > expires:
                del self._tokens[token]
                return None
        return self.by_id[user_id]

    def account_for_authorization(self, header: str | None) -> Account | None:
        """``Authorization: Bearer <token>`` -> the account, or None."""
        if not header or not header.lower().startswith("bearer "):
            return None
        return self.account_for_token(header[7:].strip())
