"""The runner exports exactly the series the rules were written against (monitoring/series.py)."""

from __future__ import annotations

from prometheus_client.metrics import MetricWrapperBase

from harness.metrics import RunnerMetrics
from monitoring.series import RUNNER_SERIES


def _exported() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Name as written in the exposition -> (kind, label names), read from the runner's metrics."""
    metrics = RunnerMetrics("eu-west-1", currencies=["USD"], dependency_allowlist=["kafka"])
    exported: dict[str, tuple[str, tuple[str, ...]]] = {}
    for metric in vars(metrics).values():
        if isinstance(metric, MetricWrapperBase):
            # prometheus-client keeps these on every metric; a counter is exposed with _total
            kind, name = str(metric._type), str(metric._name)
            exposed = f"{name}_total" if kind == "counter" else name
            exported[exposed] = (kind, tuple(metric._labelnames))
    return exported


def test_runner_exports_every_series_the_rules_read_with_its_labels() -> None:
    exported = _exported()
    for series in RUNNER_SERIES:
        assert series.name in exported, f"the runner no longer exports {series.name}"
        assert exported[series.name] == (series.kind, series.labels), series.name


def test_the_catalog_knows_every_series_the_runner_exports() -> None:
    assert set(_exported()) == {series.name for series in RUNNER_SERIES}


def test_the_rules_leave_out_the_job_the_runner_pushes_as() -> None:
    """A CI run pushed to the Pushgateway must never count as a probe region (see promql.SCHEDULED)."""
    from harness.oneshot import PUSH_JOB
    from monitoring.promql import CI_PUSH_JOB, SCHEDULED

    assert PUSH_JOB == CI_PUSH_JOB
    assert f'job!="{PUSH_JOB}"' == SCHEDULED
