"""Runs and steps as OpenTelemetry spans, exported over OTLP/HTTP, in the trace the platform received.

The OpenTelemetry Collector cannot be installed here: a small OTLP/HTTP receiver on loopback,
decoding with ``opentelemetry-proto``, stands in for it. Serve mode runs ``chat`` (an HTTP
login and two socket.io connects, then a failure: the sandbox's ``chat_down`` fault) and
``spa_load`` (a browser page load) against the session sandbox, which records every
``traceparent`` it receives; ``/metrics`` is read as OpenMetrics for the exemplars.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import Iterable
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from config.loader import load_settings
from harness.discovery import ScenarioPlan, discover, options_for
from harness.runtime import Runtime
from harness.scheduler import Service
from harness.secrets import known_secrets
from sandbox.testing import SandboxHandle, secret
from tests.local_server import serving
from tests.support import write_config

pytestmark = pytest.mark.browser

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
CHAT_STEPS = ["log in", "connect sockets", "join room"]
SPA_LOAD_STEPS = ["start the browser", "open the app", "assets", "no errors", "login form"]


class OtlpReceiver:
    """Stands in for the Collector: ``POST /v1/traces``, decoded with opentelemetry-proto."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.resources: list[dict[str, str]] = []
        self.spans: list[Span] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/traces", self._traces)
        return app

    async def _traces(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.bodies.append(body)
        export = ExportTraceServiceRequest()
        export.ParseFromString(body)
        for resource_spans in export.resource_spans:
            self.resources.append(attributes(resource_spans.resource.attributes))
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(scope_spans.spans)
        answer = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=answer, content_type="application/x-protobuf")


def attributes(values: Iterable[KeyValue]) -> dict[str, str]:
    return {kv.key: kv.value.string_value for kv in values}


def run_of(spans: list[Span], scenario: str) -> tuple[Span, list[Span]]:
    """The run span of ``scenario`` (the only one: one run each) and its steps, in order."""
    (root,) = [s for s in spans if s.name == f"run {scenario}"]
    steps = sorted(
        (s for s in spans if s.trace_id == root.trace_id and s is not root), key=lambda s: s.start_time_unix_nano
    )
    return root, steps


def plan(runtime: Runtime, name: str) -> ScenarioPlan:
    scenario = discover()[name]
    return ScenarioPlan(scenario, "sandbox", 3600.0, scenario.timeout_seconds, options_for(runtime.settings, scenario))


async def serve_once(runtime: Runtime, scenarios: list[str]) -> str:
    """Serve mode until each scenario has run once; the OpenMetrics exposition read then."""
    service = Service(
        runtime, [plan(runtime, n) for n in scenarios], "127.0.0.1:0", 10.0, max_start_offset_seconds=0.05
    )
    task = asyncio.create_task(service.serve())
    deadline = time.monotonic() + 90
    registry = runtime.metrics.registry
    while any(
        registry.get_sample_value(
            "synthetic_scenario_last_run_timestamp_seconds",
            {"scenario": n, "target": "sandbox", "region": runtime.settings.runner.region},
        )
        is None
        for n in scenarios
    ):
        assert time.monotonic() < deadline and not task.done(), "the runs did not finish"
        await asyncio.sleep(0.1)
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{service.bound_port}/metrics", headers={"Accept": OPENMETRICS})
    assert answer.headers["content-type"].startswith("application/openmetrics-text"), answer.headers
    service.stopping.set()  # the runtime closes, and the spans left are exported before serve returns
    assert await asyncio.wait_for(task, 60) == 0
    return answer.text


def exemplar_trace_ids(exposition: str, family: str, **labels: str) -> set[str]:
    found = set()
    for metric in text_string_to_metric_families(exposition):  # type: ignore[no-untyped-call]
        if metric.name != family:
            continue
        for sample in metric.samples:
            if sample.exemplar is not None and labels.items() <= sample.labels.items():
                found.add(sample.exemplar.labels["trace_id"])
    return found


def parent_ids(seen: list[dict[str, str]], trace_id: str, **where: str) -> set[str]:
    """The parent ids of the requests of ``trace_id`` the sandbox received (``where``: service, method...)."""
    found = set()
    for request in seen:
        version, trace, parent, flags = request["traceparent"].split("-")
        if trace == trace_id and where.items() <= request.items():
            assert (version, flags) == ("00", "01"), request
            found.add(parent)
    return found


async def test_runs_and_steps_are_spans_of_the_trace_each_request_carried(
    clean_sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = OtlpReceiver()
    async with serving(receiver.app()) as collector:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "mystery-guest-test")
        monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")
        clean_sandbox.fault_on("chat_down")
        runtime = Runtime(load_settings(write_config(tmp_path, clean_sandbox, ["chat", "spa_load"])))
        assert runtime.tracing.exporting
        exposition = await serve_once(runtime, ["chat", "spa_load"])
    seen = clean_sandbox.traceparents()
    region = runtime.settings.runner.region

    assert receiver.resources and all(
        r["service.name"] == "mystery-guest-test" and r["deployment.environment"] == "test" for r in receiver.resources
    )
    chat, chat_steps = run_of(receiver.spans, "chat")
    spa, spa_steps = run_of(receiver.spans, "spa_load")
    for root, steps, names in ((chat, chat_steps, CHAT_STEPS), (spa, spa_steps, SPA_LOAD_STEPS)):
        assert root.parent_span_id == b""
        assert [s.name for s in steps] == names
        for step in steps:
            assert step.parent_span_id == root.span_id and step.trace_id == root.trace_id
            assert root.start_time_unix_nano <= step.start_time_unix_nano <= step.end_time_unix_nano
            assert step.end_time_unix_nano <= root.end_time_unix_nano
            assert attributes(step.attributes)["synthetic.step"] == step.name

    # Attributes, and the failure as an event of the failing step and of the run.
    run = attributes(chat.attributes)
    assert {k: run[k] for k in ("synthetic.scenario", "synthetic.target", "synthetic.region")} == {
        "synthetic.scenario": "chat",
        "synthetic.target": "sandbox",
        "synthetic.region": region,
    }
    assert (run["synthetic.outcome"], run["synthetic.reason"]) == ("failure", "unexpected_body")
    assert chat.status.code == Status.STATUS_CODE_ERROR
    (event,) = chat.events
    assert event.name == "failure"
    assert attributes(event.attributes)["synthetic.step"] == "join room"
    assert "chat_unavailable" in attributes(event.attributes)["synthetic.message"]
    join = chat_steps[-1]
    assert (
        attributes(join.attributes)["synthetic.outcome"] == "failure" and join.status.code == Status.STATUS_CODE_ERROR
    )
    assert [(e.name, attributes(e.attributes)["synthetic.reason"]) for e in join.events] == [
        ("failure", "unexpected_body")
    ]
    assert attributes(chat_steps[0].attributes)["synthetic.outcome"] == "success" and not chat_steps[0].events
    spa_run = attributes(spa.attributes)
    assert spa_run["synthetic.outcome"] == "success" and "synthetic.reason" not in spa_run and not spa.events

    # What the sandbox received: the run's trace id, and the span of the step that sent it as parent.
    chat_trace, spa_trace = chat.trace_id.hex(), spa.trace_id.hex()
    step_id = {
        (root.name, s.name): s.span_id.hex() for root, steps in ((chat, chat_steps), (spa, spa_steps)) for s in steps
    }
    login = runtime.settings.contract.paths.login
    assert parent_ids(seen, chat_trace, service="vault", method="POST", path=login) == {step_id[("run chat", "log in")]}
    sockets = parent_ids(seen, chat_trace, service="room_service")
    assert sockets == {step_id[("run chat", "connect sockets")]}, seen
    assert parent_ids(seen, spa_trace, service="cdn", method="GET", path="/") == {
        step_id[("run spa_load", "open the app")]
    }
    assert parent_ids(seen, chat_trace) | parent_ids(seen, spa_trace) <= set(step_id.values())

    # Exemplars: each duration point links to its run's trace.
    family = "synthetic_scenario_duration_seconds"
    assert exemplar_trace_ids(exposition, family, scenario="chat") == {chat_trace}
    assert exemplar_trace_ids(exposition, family, scenario="spa_load") == {spa_trace}
    step_family = "synthetic_step_duration_seconds"
    assert exemplar_trace_ids(exposition, step_family, scenario="chat", step="join room") == {chat_trace}
    assert exemplar_trace_ids(exposition, step_family, scenario="spa_load", step="open the app") == {spa_trace}

    # No known secret in any span: passwords, reset and admin secrets, the login tokens of this run.
    secrets = known_secrets() | {secret(name) for name in ("probe_password", "reset_secret", "admin_token")}
    exported = b"".join(receiver.bodies)
    assert len(secrets) > 3 and not [s for s in secrets if s.encode() in exported]
