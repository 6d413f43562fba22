"""The tracing module on its own: when it exports, how the probe's traceparent follows the steps,
and the ``OTEL_*`` values it refuses (one line, exit 2). The OTLP export end to end, with the
sandbox and a browser: ``tests/browser/test_spans.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import runner
from harness.results import Outcome, RunResult, StepRecord
from harness.tracing import Tracing
from probes.context import ProbeContext
from tests.support import local_config


def traceparent(probe: ProbeContext) -> tuple[str, str, str, str]:
    version, trace_id, parent_id, flags = probe.headers()["traceparent"].split("-")
    return version, trace_id, parent_id, flags


@pytest.mark.parametrize(
    ("environ", "exporting"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://otel.example:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
async def test_spans_are_exported_only_when_an_endpoint_is_set(environ: dict[str, str], exporting: bool) -> None:
    tracing = Tracing.from_environment("0", environ)
    assert tracing.exporting is exporting
    await tracing.close()


def test_the_traceparent_names_the_step_under_way() -> None:
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    probe = ProbeContext()
    trace = Tracing(provider, exporting=True).start_run(probe, "chat", "prod", "eu")
    _, trace_id, run_parent, flags = traceparent(probe)
    assert flags == "01" and traceparent(probe)[2] == run_parent  # outside a step: the run span, every time

    outer, inner = StepRecord("log in", 0.0, True), StepRecord("read balance", 0.0, False, "http_status", "503")
    outer_span = trace.start_step(outer)
    in_outer = traceparent(probe)[2]
    inner_span = trace.start_step(inner)
    in_inner = traceparent(probe)[2]
    trace.end_step(inner_span, inner)
    assert traceparent(probe)[2] == in_outer  # back to the enclosing step
    trace.end_step(outer_span, outer)
    assert traceparent(probe)[2] == run_parent
    trace.end(RunResult("chat", "prod", "eu", probe.run_id, probe.trace_id, Outcome.FAILURE, 0.0, 1.0, reason="x"))

    spans = {s.name: s for s in exported.get_finished_spans()}
    assert {s.context.trace_id for s in spans.values()} == {int(trace_id, 16)} and probe.trace_id == trace_id
    assert f"{spans['run chat'].context.span_id:016x}" == run_parent and spans["run chat"].parent is None
    assert f"{spans['log in'].context.span_id:016x}" == in_outer
    assert f"{spans['read balance'].context.span_id:016x}" == in_inner
    assert spans["log in"].parent is not None and spans["log in"].parent.span_id == spans["run chat"].context.span_id
    assert spans["read balance"].parent is not None
    assert spans["read balance"].parent.span_id == spans["log in"].context.span_id
    assert [e.name for e in spans["read balance"].events] == ["failure"] and not spans["log in"].events


def test_with_the_sdk_disabled_requests_still_carry_a_valid_traceparent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    probe = ProbeContext()
    trace = Tracing.from_environment("0").start_run(probe, "chat", "prod", "eu")
    trace.start_step(StepRecord("log in", 0.0, True))
    version, trace_id, parent_id, flags = traceparent(probe)
    assert (version, flags) == ("00", "01") and trace_id == probe.trace_id
    assert int(trace_id, 16) != 0 and int(parent_id, 16) != 0 and len(parent_id) == 16


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://collector/v1/traces"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_TRACES_EXPORTER", "zipkin"),
    ],
)
def test_an_otel_value_the_runner_cannot_honour_is_one_line_and_exit_2(
    name: str, value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = local_config(tmp_path, "http://127.0.0.1:9")
    monkeypatch.setenv(name, value)
    assert runner.main(["run", "--config", str(config), "--scenario", "uptime"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{name}: "), lines
