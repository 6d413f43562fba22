"""``harness.secrets`` at its edges: what is registered, what is replaced, and in which order."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from harness import secrets
from harness.secrets import (
    SESSION_SECRETS_KEPT,
    RedactingFilter,
    known_secrets,
    redact,
    register_secret,
    register_session_secret,
)
from probes import credentials
from probes.credentials import credential_headers, is_credential_header, register_credential_header


@pytest.fixture(autouse=True)
def registries() -> Iterator[None]:
    """What these tests register is forgotten after each: a secret such as ``q~z4`` must not be
    masked in other tests' output."""
    registry = secrets._registry
    saved_lasting, saved_sessions = set(registry.lasting), list(registry.sessions)
    saved_headers = set(credentials._configured)
    yield
    registry.clear()
    for value in saved_lasting:
        secrets.register_secret(value)
    for value in saved_sessions:
        secrets.register_session_secret(value)
    credentials._configured.clear()
    credentials._configured.update(saved_headers)


@pytest.mark.parametrize(
    ("value", "kept"),
    [(None, False), ("", False), ("q~z", False), ("q~z4", True), ("a-longer-secret", True)],
)
def test_a_secret_is_registered_from_four_characters_on(value: str | None, kept: bool) -> None:
    register_secret(value)
    assert (value in known_secrets()) is kept
    if value:
        assert (redact(f"[{value}]") == "[***]") is kept


def test_the_longest_secret_is_replaced_first() -> None:
    register_secret("zzzz-1")
    register_secret("ab-zzzz-1-cd")  # longer, though it sorts first
    assert redact("x ab-zzzz-1-cd y zzzz-1 z") == "x *** y *** z"


def test_session_tokens_are_kept_for_the_newest_only_and_config_secrets_for_good() -> None:
    """A runner that serves for months logs in again and again: its registry and each redact stay bounded."""
    register_secret("config-password-1")
    register_session_secret("token-in-use")
    for n in range(SESSION_SECRETS_KEPT + 500):
        register_session_secret(f"token-{n:06d}")
        if n % 1000 == 0:
            register_session_secret("token-in-use")  # each use keeps it among the newest
    known = known_secrets()
    assert len(known) <= SESSION_SECRETS_KEPT + len(secrets._registry.lasting)
    assert "token-000000" not in known and f"token-{SESSION_SECRETS_KEPT + 499:06d}" in known
    assert redact("config-password-1 token-in-use token-004500") == "*** *** ***"
    assert redact("Authorization: Bearer token-000000") == "Authorization: ***"  # evicted, masked by kind


def test_text_that_is_not_valid_unicode_passes_through() -> None:
    assert redact("odd \udcff byte, Cookie: sid=abc") == "odd \udcff byte, Cookie: ***"


def test_a_log_record_is_redacted_with_its_arguments() -> None:
    register_secret("arg-secret-1")
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "token %s for %s", ("arg-secret-1", "probe"), None)
    assert RedactingFilter().filter(record) is True
    assert (record.msg, record.args) == ("token *** for probe", None)
    bare = logging.LogRecord("t", logging.INFO, __file__, 1, "token arg-secret-1 inline", None, None)
    assert RedactingFilter().filter(bare) and (bare.msg, bare.args) == ("token *** inline", None)
    plain = logging.LogRecord("t", logging.INFO, __file__, 1, "nothing secret %d", (42,), None)
    assert RedactingFilter().filter(plain) and plain.getMessage() == "nothing secret 42"


def test_configured_credential_headers_are_named_once_in_lower_case() -> None:
    register_credential_header("  X-Partner-Key  ")
    register_credential_header("   ")
    assert "x-partner-key" in credential_headers() and "" not in credential_headers()
    assert is_credential_header("X-PARTNER-KEY") and not is_credential_header("X-Partner-Id")
