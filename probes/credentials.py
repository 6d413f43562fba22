"""What counts as a credential, by kind rather than by shape, and how its value is masked in text.

A value is a credential because of where it sits, not because it looks like one: the value of
an ``Authorization`` header is secret whatever its scheme (``Basic``, ``Digest``, a vendor's
own), so is every cookie, the configured API-key headers, and any query parameter, form field
or JSON field named as a secret (``token``, ``password``, ``api_key``, ...). Two masks:

- ``is_credential_header(name)`` / ``is_secret_name(name)`` for structured data (a HAR's
  ``{"name", "value"}`` pairs, a trace's header objects);
- ``mask_credentials(data)`` for anything written as text (log lines, console logs, JSON inside
  JSON, URLs): ``Authorization: <anything>``, ``"Cookie": "..."``, ``?api_key=...``,
  ``password=...``, ``"token": "..."`` keep their name and lose their value.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

__all__ = [
    "MASK",
    "SENSITIVE_HEADERS",
    "register_credential_header",
    "credential_headers",
    "is_credential_header",
    "is_secret_name",
    "mask_credentials",
    "credential_values",
]

MASK = "***"
# Headers whose value is a credential whatever it looks like (any scheme, any cookie).
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-reset-secret",
        "x-admin-token",
    }
)
# Query parameters, form fields and JSON fields named as secrets (searched in the lowered name).
_SECRET_NAME = re.compile(r"token|secret|passw(?:or)?d|api[-_]?key|apikey|credential|session")

_configured: set[str] = set()
_lock = threading.Lock()


def register_credential_header(name: str) -> None:
    """A header the configuration names as carrying a secret (an API key, the reset secret)."""
    if name.strip():
        with _lock:
            _configured.add(name.strip().lower())


def credential_headers() -> frozenset[str]:
    with _lock:
        return SENSITIVE_HEADERS | _configured


def is_secret_name(name: str) -> bool:
    """A query parameter, form field or JSON field whose value is a secret."""
    return bool(_SECRET_NAME.search(name.lower()))


def is_credential_header(name: str) -> bool:
    return name.lower() in credential_headers() or is_secret_name(name)


# A value inside a (possibly escaped) JSON string runs to the closing quote: \" is part of it.
_IN_STRING = rb'(?:[^"\\\r\n]|\\(?!"))+'


@lru_cache(maxsize=8)
def _header_line(names: frozenset[str]) -> re.Pattern[bytes]:
    """``Name: value`` or ``"Name": "value"`` (also escaped inside JSON), value to line end or quote."""
    alternatives = b"|".join(re.escape(name.encode()) for name in sorted(names, key=len, reverse=True))
    return re.compile(
        rb'(?i)((?<![\w-])\\*"?(?:' + alternatives + rb')\\*"?[ \t]*:[ \t]*(?:\\*")?)(' + _IN_STRING + rb")"
    )


# "name": "value" for JSON fields named as secrets, also escaped once or more (\"token\":\"value\").
_FIELD = re.compile(
    rb'(?i)((?:\\*)"[\w.-]*(?:token|secret|passw(?:or)?d|api[-_]?key|apikey|credential)[\w.-]*(?:\\*)"\s*:\s*(?:\\*)")'
    rb"(" + _IN_STRING + rb")"
)
# name=value in a URL's query or a form body, for names that are secrets.
_PARAMETER = re.compile(
    rb'(?i)((?:^|(?<=[?&;\s"\'\\]))[\w.-]*(?:token|secret|passw(?:or)?d|api[-_]?key|apikey|credential|session)'
    rb"[\w.-]*=)([^&#\s\"'\\]+)"
)


_COOKIE_ATTRIBUTES = frozenset({b"path", b"domain", b"expires", b"max-age", b"samesite", b"priority"})


def mask_credentials(data: bytes) -> bytes:
    """Every credential written as text keeps its name and loses its value."""
    data = _header_line(credential_headers()).sub(rb"\1" + MASK.encode(), data)
    data = _FIELD.sub(rb"\1" + MASK.encode(), data)
    return _PARAMETER.sub(rb"\1" + MASK.encode(), data)


def credential_values(data: bytes) -> set[bytes]:
    """The values ``mask_credentials`` would hide (each cookie's value on its own too), so that a
    copy of one elsewhere, bare, can be hidden as well."""
    found: set[bytes] = set()
    for match in _header_line(credential_headers()).finditer(data):
        value = match.group(2).replace(b"\\", b"").strip()
        found.add(value)
        scheme, _, credentials = value.partition(b" ")
        if scheme.isalpha() and credentials and b" " not in credentials:
            found.add(credentials)  # "Basic <this>"
        for pair in value.split(b";"):
            name, _, cookie = pair.strip().partition(b"=")
            if name.lower() not in _COOKIE_ATTRIBUTES:
                found.add(cookie.strip())
    found |= {m.group(2).replace(b"\\", b"") for m in _FIELD.finditer(data)}
    found |= {m.group(2) for m in _PARAMETER.finditer(data)}
    return {value for value in found if value and value != MASK.encode()}
