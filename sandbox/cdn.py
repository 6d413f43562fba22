"""The CDN: CloudFront in front of the SPA's S3 bucket and of the services' ALB, in-process.

What it copies from CloudFront + S3, because the SPA probes check exactly this:

- ``index.html`` answers ``/`` and every client route without a file extension (the SPA
  fallback), with ``Cache-Control: no-cache``; hashed files under ``/assets/`` are served
  with ``public, max-age=31536000, immutable``; other files of the build get one hour.
- Text types are gzip-compressed when the client accepts it and the file has at least
  1,000 bytes (CloudFront's lower bound); answers carry an S3-style ``ETag`` and honour
  ``If-None-Match``.
- A file that is not in the bucket (anything under ``/assets/``, or any path with an
  extension) is answered 403 with S3's ``AccessDenied`` XML, as S3 does for a missing key
  when the bucket cannot be listed.
- The behaviours to the ALB: ``/api/vault/*``, ``/api/concierge/*`` and ``/socket.io/*`` go to
  the services' ASGI apps, mounted in-process (WebSocket upgrades included). The services
  see the full path, with the prefix in ``root_path``.

The build is read from ``sandbox/spa/dist/`` (made by ``scripts/build-spa.sh``); without it
``/`` answers 503 saying so and ``/health`` reports the ``origin`` check as an error.

Faults (the release itself is buggy: the CDN serves another variant of the build to every
client alike and never reads any probe header):

- ``asset_missing``: the main JS bundle named in ``index.html`` answers 403 ``AccessDenied``,
  as when a deploy uploaded ``index.html`` but not its bundle: the page stays blank. The
  ``origin`` health check stays ok (the bucket is reachable): only a probe that loads the
  page or its assets sees it.
- ``spa_js_error``: the release descriptor the CDN injects into ``index.html``
  (``window.__MG_RELEASE__``, read by the app at start-up) throws when read, so the page
  dies with an uncaught ``TypeError`` before rendering anything: no login form.
- ``spa_wrong_balance``: the descriptor names the ``stale-balance`` build, which shows every
  pushed balance one push late. After login the page shows Vault's balances; after the
  first deposit or bet in a currency it keeps showing the balance from before it, and after
  each later one the balance from before that one. So whenever a probe deposits or bets
  and then compares the shown balance with Vault's ``GET /v1/balance``, they differ.
- ``health_flapping``: ``/health`` alternates between ok and error (see ``sandbox.health``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from sandbox.context import SandboxContext
from sandbox.health import health_response, liveness_response

__all__ = ["create_app", "SpaOrigin", "DEFAULT_DIST", "ASSET_CACHE", "INDEX_CACHE"]

DEFAULT_DIST = Path(__file__).resolve().parent / "spa" / "dist"

INDEX_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=31536000, immutable"
OTHER_FILE_CACHE = "public, max-age=3600"
GZIP_MIN_BYTES = 1000  # CloudFront compresses objects from 1,000 bytes up

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
}
COMPRESSIBLE = ("text/", "application/json", "application/manifest+json", "image/svg+xml")

MISSING_BUILD_MESSAGE = "SPA build missing: {dist}/index.html not found. Run scripts/build-spa.sh to build it.\n"
MAIN_BUNDLE = re.compile(r'<script[^>]*type="module"[^>]*src="(/assets/[^"]+\.js)"')

# The release descriptor the app reads at start-up (sandbox/spa/src/release.js).
STABLE_RELEASE = {"build": "stable"}
STALE_BALANCE_RELEASE = {"build": "stale-balance"}
THROWING_RELEASE_SCRIPT = (
    '<script>Object.defineProperty(window,"__MG_RELEASE__",{get:function(){'
    "throw new TypeError(\"Cannot read properties of undefined (reading 'build')\")}})</script>"
)


def _release_script(release: dict[str, str]) -> str:
    return f"<script>window.__MG_RELEASE__={json.dumps(release, separators=(',', ':'))}</script>"


@dataclass(frozen=True)
class StoredFile:
    """One object of the bucket, as served: body, S3-style ETag, lazily gzipped copy."""

    body: bytes
    content_type: str
    etag: str

    @classmethod
    def of(cls, body: bytes, content_type: str) -> StoredFile:
        return cls(body, content_type, f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"')

    @property
    def compressible(self) -> bool:
        return len(self.body) >= GZIP_MIN_BYTES and self.content_type.startswith(COMPRESSIBLE)


class SpaOrigin:
    """The S3 bucket: the files of the SPA build, read from disk and cached by mtime."""

    def __init__(self, dist: Path) -> None:
        self.dist = dist.resolve()
        self._cache: dict[Path, tuple[int, int, StoredFile]] = {}
        self._gzipped: dict[str, bytes] = {}

    def get(self, key: str) -> StoredFile | None:
        """The object at ``key`` (``assets/index-abc.js``), or None when there is none."""
        parts = PurePosixPath(key).parts
        if not parts or any(part in ("..", ".") or "\\" in part or "\0" in part for part in parts):
            return None
        path = self.dist.joinpath(*parts)
        try:
            stat = path.stat()
        except OSError:
            return None
        if not path.is_file():
            return None
        cached = self._cache.get(path)
        if cached and cached[:2] == (stat.st_mtime_ns, stat.st_size):
            return cached[2]
        content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        stored = StoredFile.of(path.read_bytes(), content_type)
        if len(self._cache) > 256:  # rebuilds leave old hashed names behind
            self._cache.clear()
            self._gzipped.clear()
        self._cache[path] = (stat.st_mtime_ns, stat.st_size, stored)
        return stored

    def gzipped(self, stored: StoredFile) -> bytes:
        body = self._gzipped.get(stored.etag)
        if body is None:
            body = gzip.compress(stored.body, compresslevel=6, mtime=0)
            self._gzipped[stored.etag] = body
        return body

    def main_bundle(self) -> str | None:
        """The path of the JS bundle ``index.html`` loads (``/assets/index-<hash>.js``)."""
        index = self.get("index.html")
        if index is None:
            return None
        match = MAIN_BUNDLE.search(index.body.decode("utf-8", "replace"))
        return match.group(1) if match else None

    def check(self) -> tuple[bool, str]:
        """The ``origin`` health check: is there a build to serve?"""
        if self.get("index.html") is None:
            return False, f"SPA build missing in {self.dist}: run scripts/build-spa.sh"
        bundle = self.main_bundle()
        if bundle is None:
            return False, "index.html names no /assets/ JS bundle"
        return True, f"serving build with {bundle}"


def _accepts_gzip(request: Request) -> bool:
    for item in request.headers.get("accept-encoding", "").split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            quality = params.strip().removeprefix("q=").strip()
            try:
                return not quality or float(quality) > 0
            except ValueError:
                return True
    return False


def access_denied() -> Response:
    """S3's answer for a key that does not exist in a bucket that cannot be listed."""
    request_id = secrets.token_hex(8).upper()
    host_id = secrets.token_urlsafe(48)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>"
    )
    return Response(
        body,
        status_code=403,
        media_type="application/xml",
        headers={"X-Cache": "Error from cloudfront"},
    )


def _serve(request: Request, origin: SpaOrigin, stored: StoredFile, cache_control: str) -> Response:
    headers = {
        "Cache-Control": cache_control,
        "ETag": stored.etag,
        "Vary": "Accept-Encoding",
        "X-Cache": "Hit from cloudfront",
    }
    if request.headers.get("if-none-match") == stored.etag:
        return Response(status_code=304, headers=headers)
    body = stored.body
    if stored.compressible and _accepts_gzip(request):
        body = origin.gzipped(stored)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=stored.content_type, headers=headers)


class Cdn:
    """The CloudFront distribution's default behaviour: the bucket, the SPA fallback, faults."""

    def __init__(self, ctx: SandboxContext, origin: SpaOrigin) -> None:
        self.ctx = ctx
        self.origin = origin

    def release_script(self) -> str:
        if self.ctx.faults.is_on("spa_js_error"):
            return THROWING_RELEASE_SCRIPT
        if self.ctx.faults.is_on("spa_wrong_balance"):
            return _release_script(STALE_BALANCE_RELEASE)
        return _release_script(STABLE_RELEASE)

    def index(self) -> StoredFile | None:
        """``index.html`` of the release currently served, with its release descriptor."""
        stored = self.origin.get("index.html")
        if stored is None:
            return None
        html = stored.body.decode("utf-8")
        script = self.release_script()
        html = html.replace("</head>", f"    {script}\n  </head>", 1)
        return StoredFile.of(html.encode("utf-8"), stored.content_type)

    async def static(self, request: Request) -> Response:
        path = request.url.path
        name = PurePosixPath(path).name
        is_asset = path.startswith("/assets/")
        if path == "/index.html" or (not is_asset and "." not in name):
            index = self.index()
            if index is None:
                message = MISSING_BUILD_MESSAGE.format(dist=self.origin.dist)
                return PlainTextResponse(message, status_code=503)
            return _serve(request, self.origin, index, INDEX_CACHE)
        if self.ctx.faults.is_on("asset_missing") and path == self.origin.main_bundle():
            return access_denied()
        stored = self.origin.get(path.lstrip("/"))
        if stored is None:
            return access_denied()
        return _serve(request, self.origin, stored, ASSET_CACHE if is_asset else OTHER_FILE_CACHE)

    async def health(self, request: Request) -> Response:
        return health_response("cdn", self.ctx, {"origin": self.origin.check()})

    async def liveness(self, request: Request) -> Response:
        return liveness_response()


def create_app(
    ctx: SandboxContext,
    vault_app: ASGIApp,
    concierge_app: ASGIApp,
    room_service_app: ASGIApp,
    *,
    dist_dir: Path | None = None,
) -> Starlette:
    """The CDN's ASGI app; ``dist_dir`` overrides the build directory (tests)."""
    cdn = Cdn(ctx, SpaOrigin(dist_dir or DEFAULT_DIST))
    routes = [
        Route("/health", cdn.health, methods=["GET", "HEAD"]),
        Route("/liveness", cdn.liveness, methods=["GET", "HEAD"]),
        Mount("/api/vault", app=vault_app),
        Mount("/api/concierge", app=concierge_app),
        Mount("/socket.io", app=room_service_app),
        Route("/{path:path}", cdn.static, methods=["GET", "HEAD"]),
    ]
    return Starlette(routes=routes)
