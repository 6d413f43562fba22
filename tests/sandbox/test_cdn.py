"""The CDN (``sandbox/cdn.py``) behaves like CloudFront in front of S3 and the ALB.

The CDN runs in a real uvicorn on a free loopback port and is called with httpx. It serves
a small build made in ``tmp_path`` (so these tests need no npm build), and the three
services are stub ASGI apps mounted in this test's own server: the CDN is tested alone,
with a real socket.io server behind ``/socket.io/`` to prove that the WebSocket upgrade
passes through. The whole sandbox, with the real SPA, is tested in ``test_spa_browser.py``.
"""

from __future__ import annotations

import asyncio
import gzip
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import socketio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.accounts import AccountBook
from sandbox.bus import EventBus
from sandbox.cdn import ASSET_CACHE, INDEX_CACHE, create_app
from sandbox.context import SandboxContext, SandboxSettings
from sandbox.faults import Faults
from tests.local_server import serving_asgi

BUNDLE = "/assets/index-Ab12Cd34.js"
STYLES = "/assets/index-Ef56Gh78.css"
BUNDLE_TEXT = "console.log('mystery guest');\n" * 100  # over the 1,000-byte gzip floor
INDEX_HTML = f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <title>test build</title>
    <script type="module" crossorigin src="{BUNDLE}"></script>
    <link rel="stylesheet" crossorigin href="{STYLES}">
  </head>
  <body><div id="root"></div></body>
</html>
"""


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    build = tmp_path / "dist"
    (build / "assets").mkdir(parents=True)
    (build / "index.html").write_text(INDEX_HTML)
    (build / BUNDLE.lstrip("/")).write_text(BUNDLE_TEXT)
    (build / STYLES.lstrip("/")).write_text("body { color: gold; }\n")
    (build / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return build


@pytest.fixture
def ctx() -> SandboxContext:
    faults = Faults()
    return SandboxContext(
        settings=SandboxSettings(),
        faults=faults,
        bus=EventBus(faults),
        accounts=AccountBook("probe-password", "player-password"),
    )


def echo_service(name: str) -> Starlette:
    """A stand-in service: tells which app got the request and the path it routed on."""

    async def echo(request: Request) -> Response:
        return JSONResponse(
            {
                "service": name,
                "path": request.url.path,
                "root_path": request.scope.get("root_path", ""),
                "item": request.path_params.get("item"),
            }
        )

    return Starlette(routes=[Route("/v1/{item}", echo, methods=["GET", "POST"])])


def chat_service() -> ASGIApp:
    """A real socket.io server standing in for Room-Service: acks ``echo`` with its payload."""
    sio = socketio.AsyncServer(async_mode="asgi")

    async def echo(sid: str, data: Any) -> dict[str, Any]:
        return {"echo": data}

    sio.on("echo", echo)
    return cast(ASGIApp, socketio.ASGIApp(sio))


@pytest.fixture
async def cdn_url(ctx: SandboxContext, dist: Path) -> AsyncIterator[str]:
    app = create_app(ctx, echo_service("vault"), echo_service("concierge"), chat_service(), dist_dir=dist)
    async with serving_asgi(app) as url:
        yield url


@pytest.fixture
async def client(cdn_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=cdn_url, timeout=10) as http:
        yield http


# --- the bucket -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/account", "/account/", "/games/dice/42", "/index.html"])
async def test_index_html_answers_root_and_client_routes_uncached(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == INDEX_CACHE
    assert f'src="{BUNDLE}"' in response.text
    assert 'window.__MG_RELEASE__={"build":"stable"}' in response.text


async def test_assets_are_immutable_and_gzipped_when_accepted(client: httpx.AsyncClient) -> None:
    zipped = await client.get(BUNDLE, headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200
    assert zipped.headers["cache-control"] == ASSET_CACHE
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["content-type"].startswith("text/javascript")
    assert int(zipped.headers["content-length"]) < len(BUNDLE_TEXT)
    assert zipped.text == BUNDLE_TEXT  # httpx decoded it

    plain = await client.get(BUNDLE, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == BUNDLE_TEXT.encode()

    refused = await client.get(BUNDLE, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers


async def test_small_files_are_not_compressed(client: httpx.AsyncClient) -> None:
    response = await client.get(STYLES, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == ASSET_CACHE
    assert "content-encoding" not in response.headers


async def test_gzip_body_is_real_gzip(cdn_url: str) -> None:
    # httpx decodes transparently; read the raw bytes to see what went over the wire.
    async with httpx.AsyncClient(base_url=cdn_url) as http:
        async with http.stream("GET", BUNDLE, headers={"Accept-Encoding": "gzip"}) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert gzip.decompress(raw) == BUNDLE_TEXT.encode()


async def test_root_files_are_served_with_short_caching(client: httpx.AsyncClient) -> None:
    response = await client.get("/favicon.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert "immutable" not in response.headers["cache-control"]


async def test_etag_revalidation_answers_304(client: httpx.AsyncClient) -> None:
    first = await client.get(BUNDLE)
    etag = first.headers["etag"]
    again = await client.get(BUNDLE, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    changed = await client.get(BUNDLE, headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/assets/index-missing.js",
        "/assets/",
        "/assets/nothing",
        "/logo.png",
        "/assets/..%2F..%2Fx.js",
    ],
)
async def test_missing_files_answer_s3_access_denied(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/xml")
    error = ET.fromstring(response.text)
    assert error.tag == "Error"
    assert error.findtext("Code") == "AccessDenied"
    assert error.findtext("Message") == "Access Denied"


async def test_paths_cannot_escape_the_build(client: httpx.AsyncClient, dist: Path) -> None:
    (dist.parent / "secret.txt").write_text("not in the bucket")
    response = await client.get("/assets/..%2F..%2Fsecret.txt")
    assert response.status_code == 403
    assert "not in the bucket" not in response.text


async def test_missing_build_says_how_to_build_it(ctx: SandboxContext, tmp_path: Path) -> None:
    app = create_app(
        ctx,
        echo_service("vault"),
        echo_service("concierge"),
        chat_service(),
        dist_dir=tmp_path / "never-built",
    )
    async with serving_asgi(app) as url, httpx.AsyncClient(base_url=url) as http:
        page = await http.get("/")
        assert page.status_code == 503
        assert "scripts/build-spa.sh" in page.text
        health = await http.get("/health")
        assert health.status_code == 500
        assert health.json()["checks"]["origin"]["status"] == "error"
        assert "scripts/build-spa.sh" in health.json()["checks"]["origin"]["message"]
        assert (await http.get(BUNDLE)).status_code == 403


# --- the behaviours to the ALB ------------------------------------------------------------


@pytest.mark.parametrize(("prefix", "service"), [("/api/vault", "vault"), ("/api/concierge", "concierge")])
async def test_api_prefixes_reach_their_service(client: httpx.AsyncClient, prefix: str, service: str) -> None:
    response = await client.get(f"{prefix}/v1/balance")
    assert response.status_code == 200
    assert response.json() == {
        "service": service,
        "path": f"{prefix}/v1/balance",
        "root_path": prefix,
        "item": "balance",
    }
    posted = await client.post(f"{prefix}/v1/bets", json={"stake": "1.00"})
    assert posted.json()["item"] == "bets"


async def test_socketio_connects_through_the_cdn_and_upgrades(cdn_url: str) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(cdn_url, socketio_path="/socket.io", transports=["polling", "websocket"])
    try:
        for _ in range(200):
            if sio.transport() == "websocket":
                break
            await asyncio.sleep(0.02)
        assert sio.transport() == "websocket"
        assert await sio.call("echo", {"n": 1}, timeout=5) == {"echo": {"n": 1}}
    finally:
        await sio.disconnect()


async def test_socketio_websocket_only_through_the_cdn(cdn_url: str) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(cdn_url, socketio_path="/socket.io", transports=["websocket"])
    try:
        assert sio.transport() == "websocket"
        assert await sio.call("echo", "hi", timeout=5) == {"echo": "hi"}
    finally:
        await sio.disconnect()


# --- health ---------------------------------------------------------------------------------


async def test_health_and_liveness(client: httpx.AsyncClient) -> None:
    health = await client.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["service"] == "ok"
    assert body["checks"]["origin"]["status"] == "ok"
    assert BUNDLE in body["checks"]["origin"]["message"]
    liveness = await client.get("/liveness")
    assert (liveness.status_code, liveness.text) == (200, "OK")


async def test_health_while_shutting_down(client: httpx.AsyncClient, ctx: SandboxContext) -> None:
    ctx.shutting_down = True
    response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["service"] == "shutting_down"


# --- faults: each changes the answer and goes away -------------------------------------------


async def test_asset_missing_hides_only_the_main_bundle(client: httpx.AsyncClient, ctx: SandboxContext) -> None:
    ctx.faults.switch_on("asset_missing")
    missing = await client.get(BUNDLE)
    assert missing.status_code == 403
    assert ET.fromstring(missing.text).findtext("Code") == "AccessDenied"
    assert (await client.get(STYLES)).status_code == 200
    assert (await client.get("/")).status_code == 200
    ctx.faults.switch_off("asset_missing")
    assert (await client.get(BUNDLE)).status_code == 200


async def test_spa_js_error_serves_a_release_that_throws(client: httpx.AsyncClient, ctx: SandboxContext) -> None:
    stable = await client.get("/")
    ctx.faults.switch_on("spa_js_error")
    broken = await client.get("/")
    assert broken.status_code == 200
    assert "throw new TypeError" in broken.text
    assert '"build":"stable"' not in broken.text
    assert broken.headers["etag"] != stable.headers["etag"]
    ctx.faults.switch_off("spa_js_error")
    assert (await client.get("/")).text == stable.text


async def test_spa_wrong_balance_serves_the_stale_balance_release(
    client: httpx.AsyncClient, ctx: SandboxContext
) -> None:
    ctx.faults.switch_on("spa_wrong_balance")
    page = await client.get("/account")
    assert 'window.__MG_RELEASE__={"build":"stale-balance"}' in page.text
    ctx.faults.switch_off("spa_wrong_balance")
    page = await client.get("/account")
    assert 'window.__MG_RELEASE__={"build":"stable"}' in page.text


async def test_health_flapping_alternates_and_stops(client: httpx.AsyncClient, ctx: SandboxContext) -> None:
    ctx.faults.switch_on("health_flapping")
    codes = [(await client.get("/health")).status_code for _ in range(4)]
    assert sorted(codes) == [200, 200, 500, 500]
    assert codes[0] != codes[1]
    ctx.faults.switch_off("health_flapping")
    codes = [(await client.get("/health")).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
