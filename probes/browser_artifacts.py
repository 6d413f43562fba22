"""Triage artifacts of a browser run (trace, HAR, console log), scrubbed of every secret.

A Playwright trace records what a run typed (the password in ``fill``), every request with its
headers (``Authorization``, cookies) and bodies (the login form, the socket.io handshake's
``{"token": ...}``); a HAR holds the same. Nothing is saved as recorded: each file is rewritten
first, in three passes:

1. structure: the value of every credential header (``probes.credentials``: ``Authorization``
   of any scheme, ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie``, API-key and configured
   headers), of every cookie and of every query parameter or form field named as a secret
   becomes ``***`` wherever a ``{"name", "value"}`` pair holds it;
2. patterns: the same credentials written as text (``Authorization: Digest ...``,
   ``?api_key=...``, ``"password": "..."``, also inside JSON-in-JSON) and ``Bearer <anything>``
   lose their values;
3. values: every secret the runner knows (``harness.secrets.known_secrets()``) plus every value
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

from probes.credentials import MASK, SENSITIVE_HEADERS, credential_values, is_credential_header, mask_credentials

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

_BEARER = re.compile(rb"(Bearer(?:\s|%20|\+)+)([A-Za-z0-9._~+/=-]{4,})")
_MIN_SECRET = 4
# A value found next to a credential's name is hidden elsewhere too only from this length on, so
# a short cookie such as ``consent=true`` does not turn every ``true`` of a file into ``***``.
_MIN_FOUND = 8


def find_tokens(data: bytes) -> set[bytes]:
    """Values that pass 2 would hide, so pass 3 can hide them wherever else they appear."""
    return _long_enough({m.group(2) for m in _BEARER.finditer(data)} | credential_values(data))


def _long_enough(found: Iterable[bytes]) -> set[bytes]:
    return {value for value in found if len(value) >= _MIN_FOUND and value != MASK.encode()}


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
            if isinstance(secret, bytes):
                forms.add(secret)  # as found in the file, even when it is not UTF-8
    return sorted(forms, key=len, reverse=True)  # longest first: no half-replaced secret


def scrub_bytes(data: bytes, secrets: Iterable[str | bytes]) -> bytes:
    """Passes 2 and 3 on raw bytes (any file: text, JSON lines, even images)."""
    data = mask_credentials(_BEARER.sub(rb"\1" + MASK.encode(), data))
    for form in _forms(secrets):
        data = data.replace(form, MASK.encode())
    return data


def scrub_text(text: str, secrets: Iterable[str | bytes]) -> str:
    return scrub_bytes(text.encode(), secrets).decode(errors="replace")


def scrub_json(value: Any, masked: set[bytes] | None = None) -> Any:
    """Pass 1: mask the value of every credential ``{"name": ..., "value": ...}`` pair (header,
    query parameter, form field) and of every cookie (a HAR's ``cookies`` lists); the values
    masked are added to ``masked``, for pass 3 to hide their copies elsewhere."""
    found = masked if masked is not None else set()
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str) and is_credential_header(name) and "value" in value:
            return _mask_value(value, found)
        return {
            key: [_mask_value(c, found) for c in item]
            if key == "cookies" and isinstance(item, list)
            else scrub_json(item, found)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [scrub_json(item, found) for item in value]
    return value


def _mask_value(pair: Any, found: set[bytes]) -> Any:
    if not isinstance(pair, dict) or "value" not in pair:
        return scrub_json(pair, found)
    found |= credential_values(f"{pair.get('name')}: {pair['value']}".encode())
    found.add(str(pair["value"]).encode())
    return {**pair, "value": MASK}


def _structure(data: bytes, masked: set[bytes]) -> bytes:
    """Pass 1 on a JSON document or on JSON lines; anything else is left to passes 2 and 3."""
    try:
        return json.dumps(scrub_json(json.loads(data), masked), ensure_ascii=False).encode()
    except ValueError:
        pass
    lines = []
    for line in data.split(b"\n"):
        try:
            lines.append(
                json.dumps(scrub_json(json.loads(line), masked), ensure_ascii=False).encode() if line.strip() else line
            )
        except ValueError:
            lines.append(line)
    return b"\n".join(lines)


def _is_json(name: str) -> bool:
    return name.endswith((".trace", ".network", ".json", ".jsonl", ".har", ".stacks"))


def save_har(recorded: Path, destination: Path, secrets: Iterable[str]) -> None:
    """The HAR that Playwright wrote at context close, scrubbed, at ``destination``."""
    masked: set[bytes] = set()
    data = _structure(recorded.read_bytes(), masked)
    destination.write_bytes(scrub_bytes(data, [*secrets, *_long_enough(masked), *find_tokens(data)]))


def save_trace(recorded: Path, destination: Path, secrets: Iterable[str]) -> None:
    """The trace zip with every member rewritten (structure, patterns, values)."""
    with zipfile.ZipFile(recorded) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    tokens: set[bytes] = set()
    members = [(info, _structure(data, tokens) if _is_json(info.filename) else data) for info, data in members]
    for _, data in members:
        tokens |= find_tokens(data)
    everything: list[str | bytes] = [*secrets, *_long_enough(tokens)]
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
