"""The HTTP and health probes against real local servers (tests/core/fake_platform.py)."""

from __future__ import annotations

from probes import ProbeContext, Reason, health, http
from probes.health import HealthModule
from probes.http import HttpModule
from tests.core.fake_platform import FakePlatform


async def test_http_probe_passes_with_phases(fake_platform: FakePlatform) -> None:
    module = HttpModule(path="/health", conditions=("[STATUS] == 200", "[BODY].service == ok"))
    result = await http.probe(fake_platform.url, module, ProbeContext())
    assert result.success, result.message
    assert {"connect", "processing", "total"} <= set(result.phases)
    assert result.phases["total"] >= result.phases["processing"] > 0


async def test_http_probe_names_the_failing_condition(fake_platform: FakePlatform) -> None:
    fake_platform.mode = "dependency_down"
    module = HttpModule(path="/health", conditions=("[STATUS] == 200",))
    result = await http.probe(fake_platform.url, module, ProbeContext())
    assert (result.success, result.reason) == (False, Reason.HTTP_STATUS)
    assert "[STATUS] (500) == 200" in result.message


async def test_http_probe_times_out_on_a_hang(fake_platform: FakePlatform) -> None:
    fake_platform.mode = "hang"
    module = HttpModule(path="/health", timeout_seconds=0.5)
    result = await http.probe(fake_platform.url, module, ProbeContext())
    assert result.reason is Reason.TIMEOUT


async def test_http_probe_reports_a_reset_connection(fake_platform: FakePlatform) -> None:
    fake_platform.mode = "reset"
    result = await http.probe(fake_platform.url, HttpModule(path="/health"), ProbeContext())
    assert result.reason is Reason.CONNECT_ERROR


async def test_health_probe_reports_each_dependency(fake_platform: FakePlatform) -> None:
    fake_platform.mode = "dependency_down"
    result = await health.probe(fake_platform.url, HealthModule(), ProbeContext())
    assert result.reason is Reason.DEPENDENCY_DOWN and "chat down" in result.message
    assert result.dependencies == {"database": True, "chat": False}


async def test_health_probe_refuses_an_html_page(fake_platform: FakePlatform) -> None:
    fake_platform.mode = "html"  # an ALB's 503 error page
    result = await health.probe(fake_platform.url, HealthModule(), ProbeContext())
    assert result.reason is Reason.HTTP_STATUS
    assert result.message.startswith("GET /health: 503 text/html, not the contract's health JSON")
