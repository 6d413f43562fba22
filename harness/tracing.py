"""OpenTelemetry spans: every run is a span and every step a child span, in the probe's trace.

The probe's ``traceparent`` follows the spans: a request sent inside a step carries the run's
trace id and, as its parent id, the step's span id, so the platform's own spans nest under
the step that caused them. Spans are always made (their ids are needed either way) and are
exported only when an OTLP endpoint is set, through the standard variables:
``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (OTLP over HTTP,
protobuf), ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_SERVICE_NAME`` (default ``mystery-guest``),
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_*``, ``OTEL_TRACES_EXPORTER``
(``none``) and ``OTEL_SDK_DISABLED``.

Attributes are bounded and never hold a request's headers or body: ``synthetic.scenario``,
``synthetic.target``, ``synthetic.region``, ``synthetic.run_id``, ``synthetic.step``,
``synthetic.outcome`` and ``synthetic.reason``. A failure is a span event ``failure`` with its
reason and its (already redacted) message, on the failing step and on the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanContext, Status, StatusCode, Tracer, format_span_id, format_trace_id
from opentelemetry.trace import set_span_in_context as _within
from opentelemetry.util.re import parse_env_headers

from config.loader import ConfigError
from harness.results import Outcome, RunResult, StepRecord
from harness.secrets import register_secret
from probes.context import ProbeContext

__all__ = ["RunTrace", "Tracing", "environment_problems"]

DEFAULT_SERVICE_NAME = "mystery-guest"
ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
PROTOCOLS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
HEADERS = ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS")
SHUTDOWN_SECONDS = 15.0  # the exporter's own timeout is 10 s (OTEL_EXPORTER_OTLP_TIMEOUT)


def environment_problems(environ: Mapping[str, str]) -> list[str]:
    """One ``VARIABLE: problem`` line for each OTel variable this runner cannot honour."""
    problems = []
    for name in ENDPOINTS:
        value = environ.get(name, "")
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not parts.hostname):
            problems.append(f"{name}: not an http(s) URL")
    for name in PROTOCOLS:
        if environ.get(name, "http/protobuf") != "http/protobuf":
            problems.append(f"{name}: {environ[name][:40]!r} is not supported: spans go as OTLP http/protobuf")
    exporter = environ.get("OTEL_TRACES_EXPORTER", "otlp")
    if exporter not in ("otlp", "none"):
        problems.append(f"OTEL_TRACES_EXPORTER: {exporter[:40]!r} is not supported: otlp or none")
    return problems


def _exporting(environ: Mapping[str, str]) -> bool:
    disabled = environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
    wanted = environ.get("OTEL_TRACES_EXPORTER", "otlp") == "otlp"
    return wanted and not disabled and any(environ.get(name) for name in ENDPOINTS)


def _resource(version: str) -> Resource:
    """The runner as a service: ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` win."""
    resource = Resource({SERVICE_VERSION: version}).merge(Resource.create())
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return resource


class Tracing:
    """The runner's tracer; exports only when an OTLP endpoint is configured."""

    def __init__(self, provider: TracerProvider, exporting: bool) -> None:
        self._provider = provider
        self.exporting = exporting
        self._tracer: Tracer = provider.get_tracer("mystery-guest")

    @classmethod
    def from_environment(cls, version: str, environ: Mapping[str, str] | None = None) -> Tracing:
        """Read the ``OTEL_*`` variables; a value this runner cannot honour is a ``ConfigError``."""
        environ = os.environ if environ is None else environ
        problems = environment_problems(environ)
        if problems:
            raise ConfigError(problems)
        provider = TracerProvider(resource=_resource(version), shutdown_on_exit=False)
        exporting = _exporting(environ)
        if exporting:
            for name in HEADERS:  # e.g. an Authorization header for a hosted tracing backend
                for value in parse_env_headers(environ.get(name, ""), liberal=True).values():
                    register_secret(value)
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        return cls(provider, exporting)

    def start_run(self, probe: ProbeContext, scenario: str, target: str, region: str) -> RunTrace:
        return RunTrace(self._tracer, probe, {"scenario": scenario, "target": target, "region": region})

    async def close(self) -> None:
        """Export what is left (off the event loop: the collector may be on this very loop in tests)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.to_thread(self._provider.shutdown), SHUTDOWN_SECONDS)


def _attributes(values: Mapping[str, str | None]) -> dict[str, str]:
    return {f"synthetic.{key}": value for key, value in values.items() if value is not None}


def _fail(span: Span, reason: str | None, message: str, **more: str | None) -> None:
    span.set_status(Status(StatusCode.ERROR, reason))
    span.add_event("failure", _attributes({"reason": reason, "message": message, **more}))


class RunTrace:
    """One run's span and its steps' spans; the probe's ``traceparent`` follows the open step."""

    def __init__(self, tracer: Tracer, probe: ProbeContext, attributes: dict[str, str]) -> None:
        self._tracer = tracer
        self._probe = probe
        self._attributes = {**attributes, "run_id": probe.run_id}
        self._span = tracer.start_span(f"run {attributes['scenario']}", attributes=_attributes(self._attributes))
        self._open: list[Span] = []  # steps under way, innermost last
        self._follow(self._span.get_span_context())

    def _follow(self, span: SpanContext) -> None:
        if not span.is_valid:  # OTEL_SDK_DISABLED makes no spans: the probe keeps its own ids
            return
        self._probe.trace_id = format_trace_id(span.trace_id)
        self._probe.parent_id = format_span_id(span.span_id)
        self._probe.sampled = span.trace_flags.sampled

    def start_step(self, record: StepRecord) -> Span:
        """A child span for ``record``'s step; requests sent from now on name it as their parent."""
        attributes = _attributes({**self._attributes, "step": record.name})
        enclosing = self._open[-1] if self._open else self._span
        span = self._tracer.start_span(record.name, context=_within(enclosing), attributes=attributes)
        self._open.append(span)
        self._follow(span.get_span_context())
        return span

    def end_step(self, span: Span, record: StepRecord) -> None:
        """End the step's span with the record's outcome; the enclosing span is the parent again."""
        span.set_attribute("synthetic.outcome", str(Outcome.SUCCESS if record.success else Outcome.FAILURE))
        if not record.success:
            span.set_attribute("synthetic.reason", record.reason or "")
            _fail(span, record.reason, record.message)
        span.end()
        self._open.remove(span)
        self._follow((self._open[-1] if self._open else self._span).get_span_context())

    def end(self, result: RunResult) -> None:
        self._span.set_attributes(_attributes({"outcome": str(result.outcome), "reason": result.reason}))
        if result.outcome in (Outcome.FAILURE, Outcome.TIMEOUT, Outcome.ABORTED):
            _fail(self._span, result.reason, result.message, step=result.failed_step)
        self._span.end()
