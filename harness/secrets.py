"""Keeps secrets out of everything the runner writes.

Every secret the runner reads (passwords, tokens, reset secrets) is registered here; logs,
reports, JUnit files and artifacts pass through ``redact()`` before they are written. ``redact``
also masks credentials it was never told about, by kind (``probes.credentials``): the value of
any ``Authorization``/``Cookie``/API-key header, query parameter or field named as a secret.

Two kinds are kept apart so that a runner serving for months stays as fast and as small as on
its first day: secrets from the config are kept for the process's life, while the session tokens
learned from logins (one per login, for as long as the runner runs) are kept for the newest
``SESSION_SECRETS_KEPT`` only. A token still in use is registered again each time it is used;
one evicted long after its session ended is still masked by kind wherever it appears in a
credential header or field.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from probes.credentials import mask_credentials

__all__ = [
    "SESSION_SECRETS_KEPT",
    "RedactingFilter",
    "known_secrets",
    "redact",
    "register_secret",
    "register_session_secret",
]

SESSION_SECRETS_KEPT = 4096  # days of logins at the shipped intervals
MASK = "***"


class _Registry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lasting: set[str] = set()
        self.sessions: OrderedDict[str, None] = OrderedDict()  # oldest first
        self._longest_first: tuple[str, ...] | None = None  # redact's order, rebuilt after a change

    def add(self, value: str, *, session: bool) -> None:
        with self.lock:
            if session:
                if value in self.sessions:
                    self.sessions.move_to_end(value)
                    return
                self.sessions[value] = None
                while len(self.sessions) > SESSION_SECRETS_KEPT:
                    self.sessions.popitem(last=False)
            elif value in self.lasting:
                return
            else:
                self.lasting.add(value)
            self._longest_first = None

    def longest_first(self) -> tuple[str, ...]:
        with self.lock:
            if self._longest_first is None:
                self._longest_first = tuple(sorted(self.lasting | self.sessions.keys(), key=len, reverse=True))
            return self._longest_first

    def clear(self) -> None:
        with self.lock:
            self.lasting.clear()
            self.sessions.clear()
            self._longest_first = None


_registry = _Registry()


def register_secret(value: str | None) -> None:
    """A secret from the config (a password, a key): masked for the process's life."""
    if value and len(value) >= 4:
        _registry.add(value, session=False)


def register_session_secret(value: str | None) -> None:
    """A token a login handed out: masked while it is among the newest ``SESSION_SECRETS_KEPT``."""
    if value and len(value) >= 4:
        _registry.add(value, session=True)


def known_secrets() -> frozenset[str]:
    return frozenset(_registry.longest_first())


def redact(text: str) -> str:
    for secret in _registry.longest_first():
        if secret in text:
            text = text.replace(secret, MASK)
    return mask_credentials(text.encode(errors="surrogatepass")).decode(errors="surrogatepass")


class RedactingFilter(logging.Filter):
    """Redacts the formatted message of every record (arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True
