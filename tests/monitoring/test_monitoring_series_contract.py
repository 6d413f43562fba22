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
    exported = {**_exported(), **_maintenance_exported()}
    for series in RUNNER_SERIES:
        assert series.name in exported, f"the runner no longer exports {series.name}"
        assert exported[series.name] == (series.kind, series.labels), series.name


def _maintenance_exported() -> dict[str, tuple[str, tuple[str, ...]]]:
    """The maintenance series, collected from the live settings (one window open now)."""
    from datetime import UTC, datetime, timedelta

    from config.settings import Settings
    from harness.maintenance import MaintenanceCollector

    now = datetime.now(UTC)
    url = "http://127.0.0.1:1"
    window = {"name": "w", "start": now - timedelta(minutes=1), "end": now + timedelta(minutes=1)}
    target = {"vault_url": url, "concierge_url": url, "room_service_url": url, "spa_url": url}
    settings = Settings.model_validate({"targets": {"prod": target}, "maintenance": [window]})
    exported = {}
    for family in MaintenanceCollector(lambda: settings).collect():
        (labels,) = {tuple(sample.labels) for sample in family.samples}
        assert {sample.value for sample in family.samples} == {1.0}
        exported[family.name] = (family.type, labels)
    return exported


def test_the_maintenance_series_matches_the_catalog() -> None:
    catalog = {series.name: (series.kind, series.labels) for series in RUNNER_SERIES}
    for name, shape in _maintenance_exported().items():
        assert catalog[name] == shape


def test_the_catalog_knows_every_series_the_runner_exports() -> None:
    assert set(_exported()) | set(_maintenance_exported()) == {series.name for series in RUNNER_SERIES}


def test_the_rules_leave_out_the_job_the_runner_pushes_as() -> None:
    """A CI run pushed to the Pushgateway must never count as a probe region (see promql.SCHEDULED)."""
    from harness.oneshot import PUSH_JOB
    from monitoring.promql import CI_PUSH_JOB, SCHEDULED

    assert PUSH_JOB == CI_PUSH_JOB
    assert f'job!="{PUSH_JOB}"' == SCHEDULED
