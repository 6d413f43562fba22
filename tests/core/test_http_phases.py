"""HTTP phases exported as blackbox_exporter exports them, for real requests to a loopback server.

``synthetic_http_phase_duration_seconds{phase}`` holds what the HTTP probe times of every
request a step sends (connect, tls, processing, transfer): a reused connection adds no
connect phase, plain HTTP no tls phase, and a step's phases never add up to more than
the step took.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from config.loader import load_settings
from harness import About, Run, Scenario
from harness.discovery import ScenarioPlan, options_for
from harness.execute import execute
from harness.metrics import HTTP_PHASES
from harness.runtime import Runtime
from tests.core.fake_platform import FakePlatform
from tests.support import REGION, TARGET, local_config

PHASE = "synthetic_http_phase_duration_seconds"


class ReadsHealth(Scenario):
    about = About("reads_health", tags=(), interval="1m", timeout="30s")

    async def journey(self, run: Run) -> None:
        async with run.step("first read"):
            await run.vault.get("/health")
        async with run.step("two more reads"):
            await run.vault.get("/health")
            await run.vault.get("/health")
        await run.vault.get("/health")  # outside a step: times nothing, exports nothing


def _phases(registry: CollectorRegistry, suffix: str, step: str) -> dict[str, float]:
    labels = {"scenario": "reads_health", "step": step, "target": TARGET, "region": REGION}
    return {
        phase: registry.get_sample_value(f"{PHASE}{suffix}", {**labels, "phase": phase}) or 0.0 for phase in HTTP_PHASES
    }


async def test_each_steps_http_phases_are_exported_and_add_up_to_no_more_than_the_step(
    tmp_path: Path, fake_platform: FakePlatform
) -> None:
    runtime = Runtime(load_settings(local_config(tmp_path, fake_platform.url)))
    plan = ScenarioPlan(ReadsHealth, TARGET, 60.0, 10.0, options_for(runtime.settings, ReadsHealth))
    try:
        result = await execute(runtime, plan)
    finally:
        await runtime.aclose()
    assert result.passed, result.message
    registry = runtime.metrics.registry
    # the first read opens the connection (plain HTTP: no TLS); the next two reuse it
    assert _phases(registry, "_count", "first read") == {"connect": 1, "tls": 0, "processing": 1, "transfer": 1}
    assert _phases(registry, "_count", "two more reads") == {"connect": 0, "tls": 0, "processing": 2, "transfer": 2}
    for step in ("first read", "two more reads"):
        step_labels = {"scenario": "reads_health", "step": step, "target": TARGET, "region": REGION}
        step_seconds = registry.get_sample_value("synthetic_step_duration_seconds_sum", step_labels)
        assert step_seconds is not None
        assert 0 < sum(_phases(registry, "_sum", step).values()) <= step_seconds, step
    exported = [
        sample
        for family in registry.collect()
        if family.name == PHASE
        for sample in family.samples
        if sample.name == f"{PHASE}_count"
    ]
    assert sum(s.value for s in exported if s.labels["phase"] == "processing") == 3, "a request outside a step counted"
