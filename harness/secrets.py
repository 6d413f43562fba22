"""Keeps secrets out of everything the runner writes.

Every secret the runner reads (passwords, tokens, reset secrets) is registered here; logs,
reports, JUnit files and artifacts pass through ``redact()`` before they are written. ``redact``
also masks credentials it was never told about, by kind (``probes.credentials``): the value of
any ``Authorization``/``Cookie``/API-key header, query parameter or field named as a secret.
"""

from __future__ import annotations

import logging
import threading

from probes.credentials import mask_credentials

__all__ = ["register_secret", "redact", "RedactingFilter", "known_secrets"]

_secrets: set[str] = set()
_lock = threading.Lock()
MASK = "***"


def register_secret(value: str | None) -> None:
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def known_secrets() -> frozenset[str]:
    with _lock:
        return frozenset(_secrets)


def redact(text: str) -> str:
    for secret in sorted(known_secrets(), key=len, reverse=True):
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
