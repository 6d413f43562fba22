"""A probe's own body cap, and a /health with a thousand unlisted checks as bounded series."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from harness.metrics import RunnerMetrics, ScenarioMetrics
from probes import health, http
from probes.context import ProbeContext
from probes.result import Reason
from sandbox.hostile import HostileLoop


async def test_a_probe_sets_its_own_body_cap(hostile: HostileLoop) -> None:
    url = hostile.server("healthy").url
    module = http.HttpModule(path="/v1/rates", max_body_bytes=10)
    result = await http.probe(url, module, ProbeContext())
    assert result.reason is Reason.UNEXPECTED_BODY and "over the 10 bytes cap" in result.message, result
    assert (await http.probe(url, http.HttpModule(path="/v1/rates"), ProbeContext())).success


async def test_a_thousand_unlisted_checks_are_one_series(hostile: HostileLoop) -> None:
    result = await health.probe(hostile.server("many_checks").url, health.HealthModule(), ProbeContext())
    assert result.reason is Reason.DEPENDENCY_DOWN and len(result.dependencies) == 1000
    assert len(result.message) < 200, result.message
    registry = CollectorRegistry()
    metrics = ScenarioMetrics(RunnerMetrics("test", ["USD"], ["database"], registry), "uptime", "t")
    metrics.dependencies("vault", {"database": True, **result.dependencies})
    series = {
        sample.labels["dependency"]: sample.value
        for family in registry.collect()
        for sample in family.samples
        if sample.name == "synthetic_dependency_up"
    }
    assert series == {"database": 1.0, "other": 0.0}
