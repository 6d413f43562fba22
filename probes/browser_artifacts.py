"""Triage artifacts of a browser run (trace, HAR, console log), scrubbed of every secret.

A Playwright trace records what a run typed (the password in ``fill``), every request with its
headers (``Authorization: Bearer ...``) and bodies (the login form, the socket.io handshake's
``{"token": ...}``); a HAR holds the same. Nothing is saved as recorded: each file is rewritten
first, in three passes:

1. structure: header values of ``Authorization``, ``Cookie``, ``Set-Cookie``, ``X-Reset-Secret``
   and the probe's own secret headers become ``***`` wherever a ``{"name", "value"}`` pair holds them;
2. patterns: ``Bearer <anything>`` and the JSON fields ``token``, ``password`` and
   ``reset_secret`` lose their values, also inside JSON-in-JSON (``\\"token\\":\\"...\\"``);
3. values: every secret the runner knows (``harness.secrets.known_secrets()``) plus every token
   found by pass 2 anywhere in the files is replaced in its raw, JSON-escaped and URL-encoded
   forms, in every member of the trace zip (images included, where a hit cannot happen).
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = [
    "MASK",
    "SENSITIVE_HEADERS",
    "find_tokens",
    "secret_forms",
    "scrub_bytes",
    "scrub_text",
    "scrub_json",
    "save_har",
    "save_trace",
    "write_text_scrubbed",
    "prune_runs",
]

MASK = "***"
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-reset-secret", "x-admin-token"}
)
_SECRET_FIELDS = ("token", "password", "reset_secret", "access_token", "refresh_token")
_BEARER = re.compile(rb"(Bearer(?:\s|%20|\+)+)([A-Za-z0-9._~+/=-]{4,})")
# "token": "value", also escaped once or more inside a JSON string: \"token\":\"value\"
_FIELD = re.compile(
    rb'((?:\\*)"(?:' + b"|".join(f.encode() for f in _SECRET_FIELDS) + rb')(?:\\*)"\s*:\s*(?:\\*)")'
    rb'((?:[^"\\]|\\(?!"))+)'
)
_MIN_SECRET = 4


def find_tokens(data: bytes) -> set[bytes]:
    """Values that pass 2 would hide, so pass 3 can hide them wherever else they appear."""
    found = {m.group(2) for m in _BEARER.finditer(data)}
    found |= {m.group(2).replace(b"\\", b"") for m in _FIELD.finditer(data)}
    return {value for value in found if len(value) >= _MIN_SECRET and value != MASK.encode()}


def secret_forms(secret: str) -> set[bytes]:
    """The ways ``secret`` can be written in a recorded file."""
    in_json = {json.dumps(secret, ensure_ascii=ascii)[1:-1] for ascii in (True, False)}
    in_json_twice = {json.dumps(form, ensure_ascii=ascii)[1:-1] for form in in_json for ascii in (True, False)}
    forms = {secret, quote(secret, safe=""), quote_plus(secret, safe=""), *in_json, *in_json_twice}
    return {form.encode() for form in forms if len(form) >= _MIN_SECRET}


def _forms(secrets: Iterable[str | bytes]) -> list[bytes]:
    forms: set[bytes] = set()
    for secret in secrets:
        text = secret.decode(errors="replace") if isinstance(secret, bytes) else secret
        if len(text) >= _MIN_SECRET:
            forms |= secret_forms(text)
    return sorted(forms, key=len, reverse=True)  # longest first: no half-replaced secret


def scrub_bytes(data: bytes, secrets: Iterable[str | bytes]) -> bytes:
    """Passes 2 and 3 on raw bytes (any file: text, JSON lines, even images)."""
    data = _BEARER.sub(rb"\1" + MASK.encode(), data)
    data = _FIELD.sub(rb"\1" + MASK.encode(), data)
    for form in _forms(secrets):
        data = data.replace(form, MASK.encode())
    return data


def scrub_text(text: str, secrets: Iterable[str | bytes]) -> str:
    return scrub_bytes(text.encode(), secrets).decode(errors="replace")


def scrub_json(value: Any) -> Any:
    """Pass 1: mask the value of every sensitive ``{"name": ..., "value": ...}`` header pair."""
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str) and name.lower() in SENSITIVE_HEADERS and "value" in value:
            return {**value, "value": MASK}
        return {key: scrub_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub_json(item) for item in value]
    return value


def _structure(data: bytes) -> bytes:
    """Pass 1 on a JSON document or on JSON lines; anything else is left to passes 2 and 3."""
    try:
        return json.dumps(scrub_json(json.loads(data)), ensure_ascii=False).encode()
    except ValueError:
        pass
    lines = []
    for line in data.split(b"\n"):
        try:
            lines.append(
                json.dumps(scrub_json(json.loads(line)), ensure_ascii=False).encode() if line.strip() else line
            )
        except ValueError:
            lines.append(line)
    return b"\n".join(lines)


def _is_json(name: str) -> bool:
    return name.endswith((".trace", ".network", ".json", ".jsonl", ".har", ".stacks"))


def save_har(recorded: Path, destination: Path, secrets: Iterable[str]) -> None:
    """The HAR that Playwright wrote at context close, scrubbed, at ``destination``."""
    data = _structure(recorded.read_bytes())
    destination.write_bytes(scrub_bytes(data, [*secrets, *find_tokens(data)]))


def save_trace(recorded: Path, destination: Path, secrets: Iterable[str]) -> None:
    """The trace zip with every member rewritten (structure, patterns, values)."""
    with zipfile.ZipFile(recorded) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    members = [(info, _structure(data) if _is_json(info.filename) else data) for info, data in members]
    tokens: set[bytes] = set()
    for _, data in members:
        tokens |= find_tokens(data)
    everything: list[str | bytes] = [*secrets, *tokens]
    partial = destination.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info, data in members:
            target.writestr(info.filename, scrub_bytes(data, everything))
    partial.replace(destination)


def write_text_scrubbed(destination: Path, text: str, secrets: Iterable[str]) -> None:
    data = text.encode()
    destination.write_bytes(scrub_bytes(data, [*secrets, *find_tokens(data)]))


def prune_runs(scenario_dir: Path, keep: int) -> None:
    """Keep the newest ``keep`` run folders of one scenario (serve mode would fill the disk)."""
    try:
        runs = [p for p in scenario_dir.iterdir() if p.is_dir()]
    except OSError:
        return
    runs.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[keep:]:
        shutil.rmtree(old, ignore_errors=True)
