"""The artifact scrubber at its edges: what pass 1 masks is hidden everywhere else too, every
recorded member type is rewritten, short values do not mask common words, longest first."""

from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path

import pytest

from probes.browser_artifacts import (
    MASK,
    prune_runs,
    save_har,
    save_trace,
    scrub_bytes,
    scrub_json,
    scrub_text,
    secret_forms,
)

# A credential only pass 1 sees (a pair's value: no header line, no field name, no Bearer).
PAIRED = "Digest response=6629fae49393"
# Where a copy of a masked value turns up bare: in a response body.
BARE = "the server echoed {} back"


def har(entries: list[dict[str, object]]) -> bytes:
    return json.dumps({"log": {"entries": entries}}).encode()


def entry(headers: list[dict[str, str]], body: str = "", **request: object) -> dict[str, object]:
    return {
        "request": {"method": "GET", "url": "http://x/", "headers": headers, **request},
        "response": {"status": 200, "content": {"text": body}},
    }


def scrubbed_har(tmp_path: Path, data: bytes) -> bytes:
    recorded, saved = tmp_path / "in.har", tmp_path / "out.har"
    recorded.write_bytes(data)
    save_har(recorded, saved, [])
    return saved.read_bytes()


@pytest.mark.parametrize(
    ("pair", "copy"),
    [
        ({"name": "Authorization", "value": PAIRED}, PAIRED),  # the whole value
        ({"name": "Authorization", "value": "Basic dXNlcjpzM2NyM3Q="}, "dXNlcjpzM2NyM3Q="),  # what follows the scheme
        ({"name": "Cookie", "value": "lang=en; sid=c00kie-v4lue-17"}, "c00kie-v4lue-17"),  # one cookie's value
        ({"name": "client_secret", "value": "f0rm-cl13nt-s3c"}, "f0rm-cl13nt-s3c"),  # a form field
    ],
)
def test_a_value_masked_in_its_pair_is_hidden_in_its_bare_copies_too(
    tmp_path: Path, pair: dict[str, str], copy: str
) -> None:
    data = har([entry([]), entry([pair]), entry([], BARE.format(copy))])
    saved = scrubbed_har(tmp_path, data)
    assert copy.encode() not in saved
    assert json.loads(saved)["log"]["entries"][2]["response"]["content"]["text"] == BARE.format(MASK)


def test_every_cookie_is_masked_whatever_its_name_and_entries_without_a_value_stay(tmp_path: Path) -> None:
    cookies = [{"name": "lang", "value": "en-GB-x"}, {"name": "seen"}, "odd"]
    saved = scrubbed_har(tmp_path, har([entry([], cookies=cookies)]))
    assert json.loads(saved)["log"]["entries"][0]["request"]["cookies"] == [
        {"name": "lang", "value": MASK},
        {"name": "seen"},
        "odd",
    ]


@pytest.mark.parametrize(("value", "hidden"), [("12345678", True), ("1234567", False), ("true", False)])
def test_a_short_cookie_does_not_mask_the_same_word_elsewhere(tmp_path: Path, value: str, hidden: bool) -> None:
    data = har([entry([], body=f"order {value}", cookies=[{"name": "c", "value": value}], cached=True)])
    saved = json.loads(scrubbed_har(tmp_path, data))["log"]["entries"][0]  # still JSON: no bare true masked
    assert saved["response"]["content"]["text"] == (f"order {MASK}" if hidden else f"order {value}")
    assert saved["request"]["cached"] is True


def test_text_that_is_not_secret_stays_as_written(tmp_path: Path) -> None:
    saved = scrubbed_har(tmp_path, har([entry([], "Grüße, wörd")]))
    assert "Grüße, wörd".encode() in saved  # UTF-8, not \u-escaped


# Every member type Playwright writes as JSON gets pass 1; the pair is its only copy.
@pytest.mark.parametrize("name", ["0-trace.trace", "0-trace.network", "a.json", "b.jsonl", "c.har", "0-trace.stacks"])
def test_every_json_member_of_a_trace_gets_the_structure_pass(tmp_path: Path, name: str) -> None:
    recorded, saved = tmp_path / "in.zip", tmp_path / "out.zip"
    pair = {"headers": [{"name": "Authorization", "value": PAIRED}], "title": "Grüße"}
    text = "\n".join([json.dumps({"type": "before"}), json.dumps(pair), "not json {"]) + "\n"
    resource = b'{ "kept":  "as written" }'  # JSON, but a resource: left byte for byte
    with zipfile.ZipFile(recorded, "w") as trace:
        trace.writestr(name, text)
        trace.writestr("resources/body.txt", BARE.format(PAIRED))
        trace.writestr("resources/3f2a", resource)
    save_trace(recorded, saved, [])
    with zipfile.ZipFile(saved) as trace:
        member = trace.read(name)
        assert trace.getinfo(name).compress_type == zipfile.ZIP_DEFLATED
        body = trace.read("resources/body.txt")
        assert trace.read("resources/3f2a") == resource
    assert PAIRED.encode() not in member and body == BARE.format(MASK).encode()
    assert "Grüße".encode() in member  # UTF-8, not \\u-escaped
    assert member.splitlines()[0] == b'{"type": "before"}' and member.splitlines()[2] == b"not json {"


def test_secret_forms_are_raw_url_encoded_and_json_escaped_once_and_twice() -> None:
    assert secret_forms('p"ö/') == {
        b'p"\xc3\xb6/',  # raw
        b"p%22%C3%B6%2F",  # URL-encoded (quote and quote_plus agree here)
        b'p\\"\\u00f6/',  # in JSON, ASCII-escaped
        b'p\\"\xc3\xb6/',  # in JSON, as UTF-8
        b'p\\\\\\"\\\\u00f6/',  # in JSON inside JSON: ASCII-escaped twice
        b'p\\\\\\"\\u00f6/',  # UTF-8, then ASCII-escaped
        b'p\\\\\\"\xc3\xb6/',  # UTF-8 twice
    }
    assert secret_forms("a b+") == {b"a b+", b"a%20b%2B", b"a+b%2B"}
    assert secret_forms("q~z4") == {b"q~z4"}  # four characters: long enough
    assert secret_forms("q~z") == set()


def test_the_longest_secret_is_replaced_first() -> None:
    # by length, not by sort order: "zzzz" sorts after "abzzzzcd" but is shorter
    assert scrub_bytes(b"[abzzzzcd]", ["zzzz", "abzzzzcd"]) == b"[***]"
    assert scrub_bytes(b"[q~z4] [q~z]", ["q~z4", "q~z"]) == b"[***] [q~z]"


def test_a_found_value_that_is_not_utf8_is_still_replaced() -> None:
    assert scrub_bytes(b"x \xff\xfebad-token y", [b"\xff\xfebad-token"]) == b"x *** y"


def test_a_bearer_token_loses_its_value_and_keeps_its_scheme() -> None:
    assert scrub_bytes(b"sent Bearer abc.DEF-123 and Bearer%20xyz-98765", []) == b"sent Bearer *** and Bearer%20***"


def test_pruning_keeps_the_newest_by_time_not_by_name(tmp_path: Path) -> None:
    now = time.time()
    for age, name in enumerate(["a-newest", "m-middle", "z-oldest"]):
        run = tmp_path / name
        run.mkdir()
        os.utime(run, (now - 100 * age, now - 100 * age))
    prune_runs(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-newest", "m-middle"]
    prune_runs(tmp_path / "missing", keep=1)  # nothing to prune: no error


def test_scrub_json_and_scrub_text_work_on_their_own() -> None:
    pairs = [{"name": "Cookie", "value": "sid=1"}, {"name": "Accept", "value": "*/*"}]
    assert scrub_json({"headers": pairs}) == {"headers": [{"name": "Cookie", "value": MASK}, pairs[1]]}
    assert scrub_text("Grüße q~z4, Bearer abcdef", ["q~z4"]) == "Grüße ***, Bearer ***"
