"""The pages and JSON API of serve mode over real HTTP: what they show, what they never show
(secrets, files outside a run folder), their access control, and history across a restart."""

from __future__ import annotations

import asyncio
import base64
import re
from pathlib import Path

import httpx

from config.loader import load_settings
from harness.discovery import ScenarioPlan, options_for
from harness.runtime import Runtime
from harness.scenario import Scenario
from harness.scheduler import Service
from tests.core import scenarios_for_tests as s
from tests.core.fake_platform import KNOWN_TOKEN, FakePlatform, RunUptime
from tests.core.test_serve_mode import start
from tests.support import PASSWORD, RESET_SECRET, TARGET, local_config

PAGE_TOKEN = "pages-token-Hq7Lm2Zx9"


def service(config: Path, scenarios: list[type[Scenario]]) -> Service:
    runtime = Runtime(load_settings(config))
    plans = [ScenarioPlan(sc, TARGET, 0.3, 5, options_for(runtime.settings, sc)) for sc in scenarios]
    return Service(runtime, plans, "127.0.0.1:0", 5, max_start_offset_seconds=0.05)


async def until_runs(client: httpx.AsyncClient, base: str, scenarios: set[str], at_least: int = 2) -> None:
    for _ in range(200):
        runs = (await client.get(f"{base}/api/runs", params={"limit": 1000})).json()["runs"]
        counts = {name: sum(r["scenario"] == name for r in runs) for name in scenarios}
        if all(n >= at_least for n in counts.values()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"runs never recorded: {counts}")


async def raw_get(port: int, target: str) -> int:
    """The status of ``GET target`` sent byte for byte (clients normalise ``..`` away)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    writer.close()
    await writer.wait_closed()
    return status


async def test_pages_and_api_show_runs_never_secrets_and_keep_them_across_a_restart(
    tmp_path: Path, fake_platform: FakePlatform
) -> None:
    config = local_config(tmp_path, fake_platform.url)
    first = service(config, [s.LeakyLogin, s.Quick])
    task = await start(first)
    base = f"http://127.0.0.1:{first.bound_port}"
    async with httpx.AsyncClient(timeout=10) as client:
        await until_runs(client, base, {"leaky_login", "quick"})
        status = (await client.get(f"{base}/api/status")).json()
        cells = {c["scenario"]: c for g in status["teams"] for row in g["rows"] for c in row["cells"]}
        assert cells["leaky_login"]["state"] == "failure" and cells["quick"]["state"] == "success"
        assert len(cells["quick"]["strip"]) >= 2 and cells["quick"]["p95_seconds"] >= cells["quick"]["p50_seconds"]
        failed = (await client.get(f"{base}/api/runs", params={"outcome": "failure"})).json()["runs"]
        assert failed and {r["scenario"] for r in failed} == {"leaky_login"}
        run_id = failed[0]["run_id"]
        one = (await client.get(f"{base}/api/runs/{run_id}")).json()
        assert one["failed_step"] == "read balance" and one["reason"] == "http_status"
        answers = {
            path: await client.get(base + path)
            for path in ("/", "/runs?scenario=leaky_login", "/runs?outcome=failure", f"/runs/{run_id}", "/api/runs")
        }
        assert all(a.status_code == 200 for a in answers.values())
        assert "read balance" in answers[f"/runs/{run_id}"].text and "http_status" in answers[f"/runs/{run_id}"].text
        assert answers["/"].headers["Content-Security-Policy"].startswith("default-src 'none'")
        for path, answer in [*answers.items(), ("/api/status", None), (f"/api/runs/{run_id}", None)]:
            text = answer.text if answer is not None else (await client.get(base + path)).text
            for secret in (PASSWORD, KNOWN_TOKEN, RESET_SECRET):
                assert secret not in text, f"secret in {path}"
        assert (await client.get(f"{base}/runs/no-such-run")).status_code == 404
        bad = await client.get(f"{base}/api/runs", params={"since": "yesterday"})
        assert bad.status_code == 400 and "since" in bad.json()["error"]
        # an alert's runs_url filters by journey: none of these runs is in the bets journey
        assert (await client.get(f"{base}/api/runs", params={"journey": "bets"})).json()["runs"] == []
        assert (await client.get(f"{base}/runs", params={"journey": "nope"})).status_code == 400
    first.stopping.set()
    assert await asyncio.wait_for(task, 15) == 0

    second = service(config, [s.Quick])
    task = await start(second)
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            kept = await client.get(f"http://127.0.0.1:{second.bound_port}/api/runs/{run_id}")
        assert kept.status_code == 200 and kept.json()["reason"] == "http_status"
    finally:
        second.stopping.set()
        await asyncio.wait_for(task, 15)


async def test_artifacts_are_served_only_from_run_folders(tmp_path: Path, fake_platform: FakePlatform) -> None:
    config = local_config(tmp_path, fake_platform.url)
    run_folder = tmp_path / "artifacts" / "quick" / "run-1"
    run_folder.mkdir(parents=True)
    (run_folder / "screenshot.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (tmp_path / "outside.log").write_text("outside the artifacts directory")
    (run_folder / "console.log").symlink_to(tmp_path / "outside.log")
    (tmp_path / "artifacts" / "quick" / "run-2").symlink_to(tmp_path)
    svc = service(config, [s.Quick])
    task = await start(svc)
    port = svc.bound_port
    assert port is not None
    try:
        assert await raw_get(port, "/artifacts/quick/run-1/screenshot.png") == 200
        for attempt in (
            "/artifacts/../config.yaml",
            "/artifacts/quick/../../config.yaml",
            "/artifacts/%2e%2e/config.yaml",
            "/artifacts/quick/run-1/%2e%2e%2f%2e%2e%2f..%2fconfig.yaml",
            "/artifacts/%2e%2e%2f%2e%2e%2foutside.log",
            "/artifacts//" + str(tmp_path / "outside.log").lstrip("/"),
            "/artifacts/%2F" + str(tmp_path / "outside.log").lstrip("/").replace("/", "%2F"),
            "/artifacts/quick/run-1/console.log",  # a symlink to a file outside
            "/artifacts/quick/run-2/outside.log",  # a symlinked folder
            "/artifacts/history.sqlite",
            "/artifacts/quick/run-1/..%5C..%5Cconfig.yaml",
        ):
            assert await raw_get(port, attempt) == 404, attempt
    finally:
        svc.stopping.set()
        await asyncio.wait_for(task, 15)


async def test_a_page_token_closes_pages_and_api_but_not_metrics(tmp_path: Path, fake_platform: FakePlatform) -> None:
    (tmp_path / "page-token").write_text(PAGE_TOKEN + "\n")
    (tmp_path / "page-password").write_text("pw-" + PAGE_TOKEN + "\n")
    pages = {
        "bearer_token": {"file": str(tmp_path / "page-token")},
        "basic_auth": {"username": "oncall", "password": {"file": str(tmp_path / "page-password")}},
    }
    config = local_config(tmp_path, fake_platform.url, runner={"pages": pages})
    svc = service(config, [s.Quick])
    task = await start(svc)
    base = f"http://127.0.0.1:{svc.bound_port}"
    basic = "Basic " + base64.b64encode(f"oncall:pw-{PAGE_TOKEN}".encode()).decode()
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            for path in ("/", "/runs", "/api/status", "/api/runs", "/artifacts/quick/x/screenshot.png"):
                denied = await client.get(base + path)
                assert denied.status_code == 401, path
                assert denied.headers["WWW-Authenticate"].startswith("Basic")
                wrong = await client.get(base + path, headers={"Authorization": "Bearer nope"})
                assert wrong.status_code == 401, path
            for header in (f"Bearer {PAGE_TOKEN}", basic):
                assert (await client.get(f"{base}/api/status", headers={"Authorization": header})).status_code == 200
            assert (await client.get(f"{base}/metrics")).status_code == 200
            assert (await client.get(f"{base}/healthz")).status_code == 200
    finally:
        svc.stopping.set()
        await asyncio.wait_for(task, 15)


def test_run_html_writes_a_self_contained_report_of_the_runs(tmp_path: Path, run_uptime: RunUptime) -> None:
    report = tmp_path / "html"
    done = run_uptime("dependency_down", "--html", str(report))
    assert done.returncode == 1, done.stdout + done.stderr
    html = (report / "index.html").read_text()
    assert 'data-field="failed_step">vault health<' in html and 'data-field="reason">dependency_down<' in html
    assert "chat down" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "the report loads nothing from elsewhere"
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    unwritable = run_uptime("dependency_down", "--html", str(a_file))
    assert unwritable.returncode == 2 and unwritable.stderr.startswith(f"--html {a_file}:")


async def test_pages_on_their_own_listener_leave_the_metrics_listener_alone(
    tmp_path: Path, fake_platform: FakePlatform
) -> None:
    config = local_config(tmp_path, fake_platform.url, runner={"pages": {"listen": "127.0.0.1:0"}})
    svc = service(config, [s.Quick])
    task = await start(svc)
    try:
        assert svc.pages_port is not None and svc.pages_port != svc.bound_port
        async with httpx.AsyncClient(timeout=10) as client:
            assert (await client.get(f"http://127.0.0.1:{svc.pages_port}/api/status")).status_code == 200
            assert (await client.get(f"http://127.0.0.1:{svc.pages_port}/metrics")).status_code == 404
            assert (await client.get(f"http://127.0.0.1:{svc.bound_port}/api/status")).status_code == 404
            assert (await client.get(f"http://127.0.0.1:{svc.bound_port}/metrics")).status_code == 200
    finally:
        svc.stopping.set()
        await asyncio.wait_for(task, 15)
