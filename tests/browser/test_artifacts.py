"""Artifacts of failed browser runs: what they hold, and that no secret survives in them."""

from __future__ import annotations

import base64
import json
import os
import time
import zipfile
from pathlib import Path

import pytest
from playwright.async_api import FloatRect

from harness import About, Reason, Run, Scenario
from harness.browser import browser_page
from harness.discovery import ScenarioPlan, options_for
from harness.execute import execute
from harness.results import Outcome
from harness.runtime import Runtime
from probes.browser_artifacts import (
    MASK,
    find_tokens,
    prune_runs,
    save_har,
    save_trace,
    scrub_bytes,
    secret_forms,
)
from tests.support import PASSWORD, TARGET

SECRET = 'p"a ss/wörd&x=1'
TOKEN = "T0KEN-abcdefghijklmnop"


# -- scrubbing, on files we write ----------------------------------------------------------
def test_tokens_are_found_in_headers_and_in_json_inside_json() -> None:
    data = (
        b'{"name":"Authorization","value":"Bearer abc.DEF-123"} '
        b'{"text":"40{\\"token\\":\\"tok-in-a-string\\"}"} {"password": "pw-field-value"}'
    )
    assert find_tokens(data) == {b"abc.DEF-123", b"tok-in-a-string", b"pw-field-value"}


def test_every_written_form_of_a_secret_is_replaced() -> None:
    forms = secret_forms(SECRET)
    assert {SECRET.encode(), json.dumps(SECRET)[1:-1].encode(), b"p%22a%20ss%2Fw%C3%B6rd%26x%3D1"} <= forms
    for form in forms:
        cleaned = scrub_bytes(b"before " + form + b" after", [SECRET])
        assert cleaned == b"before " + MASK.encode() + b" after"


def test_har_loses_secret_headers_bodies_and_every_copy_of_the_token(tmp_path: Path) -> None:
    har = {
        "log": {
            "entries": [
                {
                    "request": {
                        "url": "http://x/api/vault/v1/auth/login",
                        "method": "POST",
                        "headers": [
                            {"name": "Cookie", "value": "session=s3cr3t-cookie"},
                            {"name": "X-Reset-Secret", "value": "reset-value-1"},
                        ],
                        "postData": {"text": json.dumps({"username": "probe-eu-11", "password": SECRET})},
                    },
                    "response": {"status": 200, "content": {"text": json.dumps({"token": TOKEN, "user_id": "u-1"})}},
                },
                {
                    "request": {"url": f"http://x/socket.io/?EIO=4&sid=1&echo={TOKEN}", "method": "GET", "headers": []},
                    "response": {"status": 200, "content": {"text": "ok"}},
                },
            ]
        }
    }
    recorded, saved = tmp_path / "in.har", tmp_path / "out.har"
    recorded.write_text(json.dumps(har))
    save_har(recorded, saved, [SECRET])
    data = saved.read_bytes()
    for secret in (SECRET, TOKEN, "s3cr3t-cookie", "reset-value-1"):
        for form in secret_forms(secret):
            assert form not in data, form
    text = data.decode()
    entries = json.loads(text)["log"]["entries"]
    assert entries[0]["request"]["headers"][0]["value"] == MASK
    assert "probe-eu-11" in entries[0]["request"]["postData"]["text"]  # what is not secret stays for triage


def test_trace_members_are_rewritten_and_stay_readable(tmp_path: Path) -> None:
    recorded, saved = tmp_path / "in.zip", tmp_path / "out.zip"
    with zipfile.ZipFile(recorded, "w") as trace:
        trace.writestr(
            "trace.trace",
            json.dumps({"type": "before", "method": "fill", "params": {"value": SECRET}})
            + "\n"
            + json.dumps({"type": "after", "callId": "call@1"})
            + "\n",
        )
        trace.writestr(
            "trace.network",
            json.dumps({"snapshot": {"request": {"headers": [{"name": "Authorization", "value": f"Bearer {TOKEN}"}]}}})
            + "\n",
        )
        trace.writestr("resources/aa.txt", f'40{{"token":"{TOKEN}"}}')
        trace.writestr("resources/bb.txt", f"the token again, bare: {TOKEN}")
        trace.writestr("resources/cc.jpeg", b"\xff\xd8binary" + base64.b64encode(b"x"))
    save_trace(recorded, saved, [SECRET])
    with zipfile.ZipFile(saved) as trace:
        names = trace.namelist()
        members = {name: trace.read(name) for name in names}
    assert names == ["trace.trace", "trace.network", "resources/aa.txt", "resources/bb.txt", "resources/cc.jpeg"]
    for name, data in members.items():
        for form in secret_forms(SECRET) | secret_forms(TOKEN):
            assert form not in data, name
    lines = [json.loads(line) for line in members["trace.trace"].splitlines() if line.strip()]
    assert lines[0]["params"]["value"] == MASK and lines[1]["callId"] == "call@1"


def test_only_the_newest_runs_of_a_scenario_are_kept(tmp_path: Path) -> None:
    for index in range(5):
        run = tmp_path / f"run{index}"
        run.mkdir()
        os.utime(run, (time.time() - 100 + index, time.time() - 100 + index))
    prune_runs(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run3", "run4"]


# -- a real failed run ---------------------------------------------------------------------
boxes: list[FloatRect] = []


class PasswordTyper(Scenario):
    """Types the password into the page's form, then fails on purpose (to leave artifacts)."""

    about = About("browser_password_typer", tags=("browser",), interval="1m", timeout="30s")

    async def journey(self, run: Run) -> None:
        selector = run.contract.selectors.login_password
        async with browser_page(run) as page:
            async with run.step("type the password"):
                await page.goto("/")
                await page.fill_secret(selector, run.password(), "the password field")
                box = await page.locator(selector).bounding_box()
                assert box is not None
                boxes.append(box)
                run.fail(Reason.ASSERTION, "failing on purpose, with the password typed")


async def _pixels(runtime: Runtime, png: bytes, box: FloatRect) -> list[list[int]]:
    """RGB of points inside ``box`` of a PNG, decoded by the browser itself (no imaging library here)."""
    from harness.browser import pool_for

    browser = await pool_for(runtime).browser()
    page = await browser.new_page()
    try:
        url = "data:image/png;base64," + base64.b64encode(png).decode()
        points = [
            (box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
            for fx in (0.1, 0.5, 0.9)
            for fy in (0.25, 0.5, 0.75)
        ]
        pixels: list[list[int]] = await page.evaluate(
            """async ([url, points]) => {
                const image = new Image(); image.src = url; await image.decode();
                const canvas = document.createElement('canvas');
                canvas.width = image.width; canvas.height = image.height;
                const context = canvas.getContext('2d'); context.drawImage(image, 0, 0);
                return points.map(([x, y]) => Array.from(context.getImageData(Math.floor(x), Math.floor(y), 1, 1)
                    .data.slice(0, 3)));
            }""",
            [url, points],
        )
        return pixels
    finally:
        await page.close()


@pytest.mark.browser
async def test_failed_runs_leave_screenshot_and_log_then_the_next_a_trace_and_har_without_the_password(
    page_runtime: Runtime,
) -> None:
    """The default ``trace: on_retry``: a first failure costs no recording; the run after it records."""
    boxes.clear()
    plan = ScenarioPlan(PasswordTyper, TARGET, 60.0, 30.0, options_for(page_runtime.settings, PasswordTyper))
    first = await execute(page_runtime, plan)
    assert (first.outcome, first.failed_step, first.reason) == (Outcome.FAILURE, "type the password", "assertion")
    assert first.artifacts_dir is not None
    first_folder = Path(first.artifacts_dir)
    assert sorted(p.name for p in first_folder.iterdir()) == ["console.log", "screenshot.png"]
    assert "no trace: not recorded on this run" in (first_folder / "console.log").read_text()

    result = await execute(page_runtime, plan)  # a retry, or serve mode's next run: it records
    assert (result.outcome, result.failed_step, result.reason) == (Outcome.FAILURE, "type the password", "assertion")
    assert result.artifacts_dir is not None
    folder = Path(result.artifacts_dir)
    assert folder.parent.name == "browser_password_typer" and folder.name == result.run_id
    assert sorted(p.name for p in folder.iterdir()) == ["console.log", "network.har", "screenshot.png", "trace.zip"]

    log = (folder / "console.log").read_text()
    assert "step type the password" in log and "FAILED assertion: failing on purpose" in log
    har = json.loads((folder / "network.har").read_text())
    assert any(e["request"]["url"].endswith("/") and e["response"]["status"] == 200 for e in har["log"]["entries"])
    with zipfile.ZipFile(folder / "trace.zip") as trace:
        members = {name: trace.read(name) for name in trace.namelist()}
    assert "trace.trace" in members and any(b'"fill"' in data for data in members.values())

    for path in [*folder.iterdir(), *first_folder.iterdir()]:
        assert PASSWORD.encode() not in path.read_bytes(), path.name
    for name, data in members.items():
        assert PASSWORD.encode() not in data, name

    # The password field is masked in both screenshots (Playwright's mask colour, #FF00FF).
    for shot, box in zip((first_folder, folder), boxes, strict=True):
        pixels = await _pixels(page_runtime, (shot / "screenshot.png").read_bytes(), box)
        assert all(pixel == [255, 0, 255] for pixel in pixels), pixels
