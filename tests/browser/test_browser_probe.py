"""The browser probe against pages of our own, in a real Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from probes.browser import BrowserModule, probe
from probes.browser_pool import SETTING, BrowserMissing, find_chromium
from probes.context import ProbeContext
from probes.result import Reason

pytestmark = pytest.mark.browser


async def test_clean_page_passes_with_the_browsers_timings(page_server: str) -> None:
    result = await probe(page_server, BrowserModule(ready_selector="#ready"), ProbeContext())
    assert result.success, result.message
    assert {"ttfb", "dom_content_loaded", "load", "fcp"} <= set(result.phases)
    assert all(value > 0 for value in result.phases.values())


@pytest.mark.parametrize(
    ("path", "reason", "words"),
    [
        ("/console-error", Reason.PAGE_ERROR, "boom from the page"),
        ("/throws", Reason.PAGE_ERROR, "uncaught error"),
        ("/missing-asset", Reason.HTTP_STATUS, "GET /assets/gone.js answered 404"),
        ("/no-such-page", Reason.HTTP_STATUS, "answered 404"),
    ],
)
async def test_a_page_a_customer_would_suffer_from_fails(
    page_server: str, path: str, reason: Reason, words: str
) -> None:
    result = await probe(page_server, BrowserModule(path=path), ProbeContext())
    assert (result.success, result.reason) == (False, reason)
    assert words in result.message


async def test_missing_ready_element_is_a_timeout(page_server: str) -> None:
    module = BrowserModule(path="/slow", ready_selector="#never", timeout_seconds=1.5)
    result = await probe(page_server, module, ProbeContext())
    assert (result.success, result.reason) == (False, Reason.TIMEOUT)
    assert "#never" in result.message


async def test_refused_connection_is_a_connect_error(unused_tcp_port: int) -> None:
    result = await probe(f"http://127.0.0.1:{unused_tcp_port}", BrowserModule(timeout_seconds=5), ProbeContext())
    assert (result.success, result.reason) == (False, Reason.CONNECT_ERROR)
    assert "ERR_CONNECTION_REFUSED" in result.message


async def test_missing_browser_names_the_setting(tmp_path: Path) -> None:
    absent = tmp_path / "no-chromium"
    with pytest.raises(BrowserMissing, match=SETTING.replace(".", r"\.")):
        find_chromium(absent)
    result = await probe("http://127.0.0.1:9", BrowserModule(executable_path=absent), ProbeContext())
    assert (result.success, result.reason) == (False, Reason.ERROR)
    assert SETTING in result.message


def test_debian_chromium_is_found_without_configuration() -> None:
    found = find_chromium(None)
    assert found.name in ("chromium", "chromium-browser") and found.is_file()
