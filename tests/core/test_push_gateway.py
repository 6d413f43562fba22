"""--push-gateway pushes a CI run's metrics to a real Pushgateway (Debian's), grouped by job and target."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.core.fake_platform import FakePlatform
from tests.local_server import free_port
from tests.support import REGION, TARGET, local_config, run_cli

PUSHGATEWAY = "/usr/bin/prometheus-pushgateway"


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    if shutil.which(PUSHGATEWAY) is None:
        pytest.fail("prometheus-pushgateway is missing: make test installs Debian's prometheus-pushgateway")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{port}", f"--persistence.file={tmp_path / 'pg.data'}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def test_run_pushes_its_metrics_grouped_by_job_and_target(
    tmp_path: Path, fake_platform: FakePlatform, pushgateway: str
) -> None:
    config = local_config(tmp_path, fake_platform.url)
    done = run_cli("run", "--config", str(config), "--scenario", "uptime", "--push-gateway", pushgateway)
    assert done.returncode == 0, done.stderr
    pushed = httpx.get(f"{pushgateway}/metrics", timeout=5).text
    runs = [
        sample
        for family in text_string_to_metric_families(pushed)
        for sample in family.samples
        if sample.name == "synthetic_scenario_runs_total" and sample.labels.get("result") == "success"
    ]
    assert len(runs) == 1
    assert runs[0].value == 1
    assert runs[0].labels["job"] == "mystery-guest-ci"
    assert runs[0].labels["target"] == TARGET and runs[0].labels["region"] == REGION
    # the README's way of deleting a stale group works
    deleted = httpx.delete(f"{pushgateway}/metrics/job/mystery-guest-ci/target/{TARGET}/region/{REGION}", timeout=5)
    assert deleted.status_code == 202
    assert "synthetic_scenario_runs_total" not in httpx.get(f"{pushgateway}/metrics", timeout=5).text
