"""The trace context the platform received: the newest requests' ``traceparent`` headers.

A real service would start its own span under the caller's ``traceparent``; the sandbox only
remembers the newest ``MAX_SEEN`` of them (service, method, path, header), in memory, for the
admin API's ``GET /traceparents``: a test checks there that each request named the step that
sent it. HTTP requests and WebSocket handshakes (socket.io) alike; nothing else is kept.
"""

from __future__ import annotations

from collections import deque

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["MAX_SEEN", "TraceparentLog", "RecordTraceparents"]

MAX_SEEN = 500
_MAX_HEADER = 64  # "00-" + 32 + "-" + 16 + "-" + 2 = 55; anything longer is cut


class TraceparentLog:
    """A bounded ring of what was received, newest last."""

    def __init__(self, size: int = MAX_SEEN) -> None:
        self._seen: deque[dict[str, str]] = deque(maxlen=size)

    def add(self, service: str, method: str, path: str, traceparent: str) -> None:
        self._seen.append({"service": service, "method": method, "path": path[:200], "traceparent": traceparent})

    def seen(self) -> list[dict[str, str]]:
        return list(self._seen)


class RecordTraceparents:
    """ASGI middleware: note the ``traceparent`` of each request ``service`` receives."""

    def __init__(self, app: ASGIApp, service: str, log: TraceparentLog) -> None:
        self.app = app
        self.service = service
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            for name, value in scope.get("headers", ()):
                if name == b"traceparent":
                    method = scope.get("method", "WEBSOCKET")
                    self.log.add(self.service, method, scope.get("path", ""), value[:_MAX_HEADER].decode("latin-1"))
                    break
        await self.app(scope, receive, send)
