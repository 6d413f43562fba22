"""Every kind of credential is masked in every place the runner writes: HAR, trace, console, logs.

Each row's value is one no other pass would catch: not a secret the runner knows (none is
registered here), not a ``Bearer`` token, not a JSON ``token``/``password`` field. Only the pass
that knows the credential's kind (its header, its parameter's name) can hide it, so dropping
``authorization`` from ``SENSITIVE_HEADERS`` (or any other kind) fails its rows.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.logs import setup_logging
from harness.secrets import redact
from probes import credentials
from probes.browser_artifacts import MASK, save_har, save_trace, secret_forms, write_text_scrubbed
from probes.credentials import (
    credential_headers,
    credential_values,
    is_credential_header,
    is_secret_name,
    mask_credentials,
    register_credential_header,
)

CONFIGURED_HEADER = "X-Tenant-Key"  # as a configuration would name an API-key header


@dataclass(frozen=True)
class Kind:
    name: str  # header name, query parameter or form field
    where: str  # "header", "query" or "form"
    value: str
    secret: str  # the part that must not survive (for a cookie: the cookie's value)


KINDS = [
    Kind("Authorization", "header", "Basic dXNlcjpzM2NyM3Q=", "dXNlcjpzM2NyM3Q="),
    Kind("Authorization", "header", "Digest username=probe, response=6629fae49393a053974509", "6629fae49393a053974509"),
    Kind("Proxy-Authorization", "header", "Basic cHJveHk6aHVudGVyMg==", "cHJveHk6aHVudGVyMg=="),
    Kind("Cookie", "header", "sid=c00kie-v4lue-17; lang=en", "c00kie-v4lue-17"),
    Kind("Set-Cookie", "header", "sid=srv-set-c00kie-99; Path=/; HttpOnly", "srv-set-c00kie-99"),
    Kind("X-Api-Key", "header", "k3y-0f-the-api-42", "k3y-0f-the-api-42"),
    Kind(CONFIGURED_HEADER, "header", "tenant-k3y-value-7", "tenant-k3y-value-7"),
    Kind("api_key", "query", "qp-s3cret-val-31", "qp-s3cret-val-31"),
    Kind("access_token", "query", "qp-acc3ss-val-55", "qp-acc3ss-val-55"),
    Kind("password", "form", "f0rm-p4ss-w0rd-8", "f0rm-p4ss-w0rd-8"),
    Kind("client_secret", "form", "f0rm-cl13nt-s3c", "f0rm-cl13nt-s3c"),
]
IDS = [f"{kind.where}-{kind.name}-{kind.value.split()[0] if kind.where == 'header' else ''}" for kind in KINDS]
PLAIN = "X-Synthetic-Probe: run-0042"  # not a credential: stays readable for triage


@pytest.fixture(autouse=True, scope="module")
def configured_header() -> Iterator[None]:
    """The configuration names an API-key header of its own, forgotten after this module."""
    saved = credential_headers()
    register_credential_header(CONFIGURED_HEADER)
    yield
    credentials._configured.intersection_update(saved)


def har_entry(kind: Kind) -> dict[str, object]:
    headers = [{"name": "X-Synthetic-Probe", "value": "run-0042"}]
    url, query, post = "http://x/api/vault/v1/balance", [], None
    if kind.where == "header":
        headers.append({"name": kind.name, "value": kind.value})
    elif kind.where == "query":
        url += f"?lang=en&{kind.name}={kind.value}"
        query = [{"name": "lang", "value": "en"}, {"name": kind.name, "value": kind.value}]
    else:
        text = f"username=probe-eu-11&{kind.name}={kind.value}"
        post = {
            "mimeType": "application/x-www-form-urlencoded",
            "text": text,
            "params": [{"name": kind.name, "value": kind.value}],
        }
    request: dict[str, object] = {"method": "POST", "url": url, "headers": headers, "queryString": query}
    if post:
        request["postData"] = post
    cookies = [{"name": "sid", "value": kind.value}] if kind.name.endswith("Cookie") else []
    return {"request": {**request, "cookies": cookies}, "response": {"status": 200, "headers": [], "cookies": []}}


def as_text(kind: Kind) -> str:
    """How a console log or a log message would carry it."""
    if kind.where == "header":
        return f"request headers: {PLAIN}\n{kind.name}: {kind.value}\n"
    if kind.where == "query":
        return f"GET http://x/api/vault/v1/balance?lang=en&{kind.name}={kind.value} -> 200\n"
    return f"POST body username=probe-eu-11&{kind.name}={kind.value}\n"


def assert_masked(data: bytes, kind: Kind, where: str) -> None:
    for form in secret_forms(kind.secret):
        assert form not in data, f"{kind.name} ({kind.where}) survived in the {where}: {form!r}"
    assert MASK.encode() in data, f"nothing was masked in the {where}"


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_har_masks_the_credential(kind: Kind, tmp_path: Path) -> None:
    recorded, saved = tmp_path / "in.har", tmp_path / "out.har"
    recorded.write_text(json.dumps({"log": {"entries": [har_entry(kind)]}}))
    save_har(recorded, saved, [])
    data = saved.read_bytes()
    assert_masked(data, kind, "HAR")
    request = json.loads(data)["log"]["entries"][0]["request"]
    assert {"name": "X-Synthetic-Probe", "value": "run-0042"} in request["headers"]  # the rest stays for triage


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_trace_masks_the_credential(kind: Kind, tmp_path: Path) -> None:
    recorded, saved = tmp_path / "in.zip", tmp_path / "out.zip"
    with zipfile.ZipFile(recorded, "w") as trace:
        trace.writestr("trace.network", json.dumps({"type": "resource-snapshot", "snapshot": har_entry(kind)}) + "\n")
        trace.writestr("resources/request.txt", as_text(kind))  # not JSON: only passes 2 and 3 see it
    save_trace(recorded, saved, [])
    with zipfile.ZipFile(saved) as trace:
        for name in trace.namelist():
            assert_masked(trace.read(name), kind, f"trace member {name}")


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_console_log_masks_the_credential(kind: Kind, tmp_path: Path) -> None:
    saved = tmp_path / "console.log"
    write_text_scrubbed(saved, as_text(kind), [])
    text = saved.read_text()
    assert_masked(text.encode(), kind, "console log")
    assert kind.name in text  # the name stays: triage sees which credential was sent


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_log_lines_and_reports_mask_the_credential(kind: Kind) -> None:
    stream = io.StringIO()
    setup_logging("INFO", stream)
    try:
        logging.getLogger("scenario.test").warning("sent %s", as_text(kind))
        logging.getLogger("scenario.test").warning("headers", extra={"fields": {"headers": {kind.name: kind.value}}})
    finally:
        logging.getLogger().handlers.clear()
    assert_masked(stream.getvalue().encode(), kind, "log")
    assert_masked(redact(as_text(kind)).encode(), kind, "redacted report text")


def test_what_is_not_a_credential_stays_readable() -> None:
    text = f"{PLAIN}\nGET /socket.io/?EIO=4&sid=abc123&transport=polling\nbalance 10.00 USD, consent=true\n"
    assert redact(text) == text


# (is it a credential header, is it a secret's name) -> the names with that verdict
NAMES_BY_VERDICT = {
    (True, False): ["Authorization", "PROXY-AUTHORIZATION", "Set-Cookie"],
    (True, True): ["x-api-key", "X-Auth-Token", "API_KEY", "client_secret", "Passwd", "session_id"],
    (False, False): ["X-Synthetic-Probe", "Idempotency-Key", "author", "sid"],
}


@pytest.mark.parametrize(
    ("name", "header", "secret"),
    [(name, *verdict) for verdict, names in NAMES_BY_VERDICT.items() for name in names],
)
def test_names_of_credentials(name: str, header: bool, secret: bool) -> None:
    assert (is_credential_header(name), is_secret_name(name)) == (header, secret)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        (b"Authorization: Basic dXNlcjpzM2NyM3Q=", {b"Basic dXNlcjpzM2NyM3Q=", b"dXNlcjpzM2NyM3Q="}),
        (b"Authorization: Basic abc def", {b"Basic abc def"}),  # not "<scheme> <credentials>"
        (b"Authorization: v2-hmac abcdef", {b"v2-hmac abcdef"}),  # not a word: not a scheme
        (b"authorization: Digest a\\/b", {b"Digest a/b", b"a/b"}),  # JSON-escaped slash
        (b"Cookie: sid=abc123==; lang=en", {b"sid=abc123==; lang=en", b"abc123==", b"en"}),
        (b"Set-Cookie: sid=xyz; Path=/; Max-Age=3600; HttpOnly", {b"sid=xyz; Path=/; Max-Age=3600; HttpOnly", b"xyz"}),
        (b"Cookie: sid=", {b"sid="}),
        (b'{"token": "tok-1", "Authorization": "Basic zz"}', {b"tok-1", b"Basic zz", b"zz"}),
        (b'{\\"password\\":\\"pw\\\\/x\\"}', {b"pw/x"}),  # escaped inside a JSON string
        (b"GET /x?api_key=qp123&lang=en", {b"qp123"}),
        (b"Authorization: ***", set()),  # already masked
        (b"nothing to see", set()),
    ],
)
def test_the_values_found_next_to_credential_names(text: bytes, values: set[bytes]) -> None:
    assert credential_values(text) == values


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (b"Authorization: Digest a=1, b=2\nnext", b"Authorization: ***\nnext"),
        (b'{"Cookie": "sid=1; lang=en", "ok": 1}', b'{"Cookie": "***", "ok": 1}'),
        (b'{\\"x-api-key\\":\\"k-1\\"}', b'{\\"x-api-key\\":\\"***\\"}'),
        (b'{"access_token": "t-1", "n": 2}', b'{"access_token": "***", "n": 2}'),
        (b"GET /x?lang=en&api_key=q-1#top", b"GET /x?lang=en&api_key=***#top"),
        (b"password=p-1&username=probe", b"password=***&username=probe"),
        (b"author: Jane; sessions are open", b"author: Jane; sessions are open"),
    ],
)
def test_a_credential_keeps_its_name_and_loses_its_value(text: bytes, masked: bytes) -> None:
    assert mask_credentials(text) == masked
