"""What a page went through, as its customer would suffer it, collected from Playwright's events.

``PageWatch(page, origin)`` keeps, from the moment it is attached: console messages (errors
apart), uncaught page errors, failed requests, HTTP errors of the page's own requests (its
origin), every response of its own (for cache checks), and the socket.io events the page
received (decoded from WebSocket frames and long-polling answers), so a scenario can tell a
push that never came from one the page did not show. The automatic ``/favicon.ico`` request
Chromium makes by itself is not the page's: its 404 is logged, not counted as an error.
Bearer tokens the page sends are handed to ``on_secret`` at once, so that logs and artifacts
can hide them.

``page_timings(page)`` reads navigation timing and the paint metrics the browser exposes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import ConsoleMessage, Page, Request, Response, WebSocket

__all__ = ["PageWatch", "Seen", "Push", "page_timings", "decode_socketio", "origin_of"]

POLLING_MARK = "transport=polling"
AUTOMATIC_FAVICON = "/favicon.ico"  # Chromium asks for it by itself; no customer sees it missing
_RECORD_SEPARATOR = "\x1e"  # engine.io v4 joins polling packets with it
_BEARER = "bearer "


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def decode_socketio(payload: str) -> list[tuple[str, Any]]:
    """The socket.io EVENTs in one engine.io payload: ``42["name",{...}]`` -> ``[("name", {...})]``."""
    events = []
    for packet in payload.split(_RECORD_SEPARATOR):
        if not packet.startswith("42"):  # engine.io message (4) carrying a socket.io event (2)
            continue
        body = packet[2:]
        if body.startswith("/"):  # a namespace other than "/": "/chat,[...]"
            body = body.partition(",")[2]
        body = body.lstrip("0123456789")  # an ack id
        try:
            decoded = json.loads(body)
        except ValueError:
            continue
        if isinstance(decoded, list) and decoded and isinstance(decoded[0], str):
            events.append((decoded[0], decoded[1] if len(decoded) > 1 else None))
    return events


@dataclass(frozen=True)
class Seen:
    """One answer to one of the page's own requests; ``at`` is ``time.perf_counter()`` on arrival."""

    at: float
    method: str
    url: str
    path: str
    status: int
    headers: dict[str, str]


@dataclass(frozen=True)
class Push:
    """A socket.io event the page received; ``at`` is ``time.perf_counter()`` on arrival."""

    at: float
    event: str
    data: Any


class PageWatch:
    """Listens to one page from the moment it is attached until the page closes."""

    def __init__(self, page: Page, origin: str, on_secret: Callable[[str], None] | None = None) -> None:
        self.origin = origin.rstrip("/")
        self.started = time.perf_counter()
        self.console: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.failed_requests: list[str] = []
        self.http_errors: list[str] = []
        self.responses: list[Seen] = []
        self.pushes: list[Push] = []
        self.crashed = False
        self._on_secret = on_secret or (lambda _: None)
        self._tasks: set[asyncio.Task[None]] = set()
        page.on("console", self._console)
        page.on("pageerror", self._page_error)
        page.on("request", self._request)
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)
        page.on("websocket", self._websocket)
        page.on("crash", self._crash)

    # -- what the scenario asks ------------------------------------------------------------
    def own(self, url: str) -> bool:
        return origin_of(url) == self.origin

    def pushes_of(self, event: str, since: float = 0.0) -> list[Push]:
        return [p for p in self.pushes if p.event == event and p.at >= since]

    def log_lines(self) -> list[str]:
        """Everything seen, for the console log artifact."""
        lines = list(self.console)
        lines += [f"page error: {e}" for e in self.page_errors]
        lines += [f"failed request: {f}" for f in self.failed_requests]
        lines += [f"http error: {h}" for h in self.http_errors]
        lines += [f"[{p.at - self.started:8.3f}s] socket.io {p.event}: {json.dumps(p.data)[:300]}" for p in self.pushes]
        if self.crashed:
            lines.append("the page crashed")
        return lines

    async def settle(self, timeout: float = 2.0) -> None:
        """Let the body reads still running finish (they may find a token to hide)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in list(self._tasks):
            task.cancel()

    # -- listeners -------------------------------------------------------------------------
    def _stamp(self) -> str:
        return f"[{time.perf_counter() - self.started:8.3f}s]"

    def _console(self, message: ConsoleMessage) -> None:
        location = message.location.get("url", "") if isinstance(message.location, dict) else ""
        where = f" ({location})" if location else ""
        self.console.append(f"{self._stamp()} console.{message.type}: {message.text}{where}")
        if message.type == "error" and urlsplit(location).path != AUTOMATIC_FAVICON:
            self.console_errors.append(message.text)

    def _page_error(self, error: Exception) -> None:
        name = getattr(error, "name", "") or "Error"
        message = (getattr(error, "message", "") or str(error)).strip()
        text = f"{name}: {message.splitlines()[0] if message else '(no message)'}"
        self.page_errors.append(text)
        self.console.append(f"{self._stamp()} uncaught {text}")

    def _request(self, request: Request) -> None:
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith(_BEARER):
            self._on_secret(authorization[len(_BEARER) :].strip())

    def _request_failed(self, request: Request) -> None:
        line = f"{request.method} {request.url}: {request.failure or 'failed'}"
        self.failed_requests.append(line)
        self.console.append(f"{self._stamp()} request failed: {line}")

    def _response(self, response: Response) -> None:
        request = response.request
        if not self.own(response.url):
            return
        path = urlsplit(response.url).path
        self.responses.append(
            Seen(time.perf_counter(), request.method, response.url, path, response.status, dict(response.headers))
        )
        if response.status >= 400:
            line = f"{request.method} {path} answered {response.status}"
            self.http_errors.append(line)
            self.console.append(f"{self._stamp()} http error: {line}")
        if POLLING_MARK in response.url and request.method == "GET" and response.status == 200:
            self._spawn(self._polling_body(response))

    def _websocket(self, socket: WebSocket) -> None:
        if not self.own(socket.url.replace("ws://", "http://", 1).replace("wss://", "https://", 1)):
            return
        socket.on("framereceived", self._frame_received)
        socket.on("framesent", self._frame_sent)

    def _frame_received(self, payload: str | bytes) -> None:
        if isinstance(payload, str):
            self._record_events(payload)

    def _frame_sent(self, payload: str | bytes) -> None:
        if isinstance(payload, str) and payload.startswith("40"):  # CONNECT with the auth payload
            self._secret_in_json(payload[2:].partition(",")[2] if payload[2:3] == "/" else payload[2:])

    def _crash(self, _: Page) -> None:
        self.crashed = True
        self.console.append(f"{self._stamp()} the page crashed")

    # -- helpers ---------------------------------------------------------------------------
    def _record_events(self, payload: str) -> None:
        now = time.perf_counter()
        for event, data in decode_socketio(payload):
            self.pushes.append(Push(now, event, data))

    def _secret_in_json(self, text: str) -> None:
        with contextlib.suppress(ValueError):
            decoded = json.loads(text)
            if isinstance(decoded, dict) and isinstance(decoded.get("token"), str):
                self._on_secret(decoded["token"])

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _polling_body(self, response: Response) -> None:
        with contextlib.suppress(Exception):  # the page may be gone; the body may be unavailable
            self._record_events(await response.text())


# FCP can come a frame after ``load`` on a small page: wait for it (a blank page never paints).
_TIMINGS_JS = """async (waitMs) => {
  const observe = (type, accept, settleMs) => new Promise((resolve) => {
    let last = null;
    let timer = setTimeout(() => resolve(last), waitMs);
    try {
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) if (accept(entry)) last = entry.startTime;
        if (last !== null) { clearTimeout(timer); timer = setTimeout(() => resolve(last), settleMs); }
      }).observe({ type, buffered: true });
    } catch (error) { resolve(null); }  // not exposed by this browser
  });
  const nav = performance.getEntriesByType('navigation')[0];
  const [fcp, lcp] = await Promise.all([
    observe('paint', (entry) => entry.name === 'first-contentful-paint', 0),
    observe('largest-contentful-paint', () => true, 50),
  ]);
  return {
    ttfb: nav ? nav.responseStart : null,
    dom_content_loaded: nav ? nav.domContentLoadedEventEnd : null,
    load: nav ? nav.loadEventEnd : null,
    fcp: fcp,
    lcp: lcp,
  };
}"""
PAINT_WAIT_MS = 1000


async def page_timings(page: Page) -> dict[str, float]:
    """Navigation timing (``ttfb``, ``dom_content_loaded``, ``load``) and ``fcp``/``lcp``, in seconds.

    Only what the browser measured (a paint that did not happen is left out).
    """
    raw = await page.evaluate(_TIMINGS_JS, PAINT_WAIT_MS)
    timings = {}
    for name, value in (raw or {}).items():
        if isinstance(value, int | float) and value > 0:
            timings[name] = float(value) / 1000.0
    return timings
