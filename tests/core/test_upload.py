"""Failed runs' artifacts uploaded to S3-compatible storage, never at the cost of the result.

S3 itself cannot run here: moto's server mode (a real HTTP server speaking the S3 API, on a
free loopback port) stands in for it. boto3 talks to it over HTTP exactly as to S3.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from config.loader import ConfigError, load_settings
from config.settings import UploadSettings
from harness import About, Reason, Run, Scenario
from harness.discovery import ScenarioPlan
from harness.execute import execute
from harness.oneshot import run_once
from harness.reports import write_json, write_junit
from harness.results import Outcome, RunResult
from harness.runtime import Runtime
from harness.scenario import NoOptions
from tests.support import REGION, TARGET, local_config

BUCKET = "mg-evidence"


class FailsWithEvidence(Scenario):
    """Leaves a console log and a HAR, as a failed browser run does, then fails."""

    about = About("fails_with_evidence", tags=(), interval="1m", timeout="30s")

    async def journey(self, run: Run) -> None:
        async with run.step("look at the page"):
            (run.artifacts_dir / "console.log").write_text("error: the page threw\n")
            (run.artifacts_dir / "har").mkdir()
            (run.artifacts_dir / "har" / "network.har").write_text('{"log": {"entries": []}}')
            run.fail(Reason.PAGE_ERROR, "the page threw on load")


class PassesWithEvidence(Scenario):
    """Leaves a trace, as a passing browser run does with -v, and passes."""

    about = About("passes_with_evidence", tags=(), interval="1m", timeout="30s")

    async def journey(self, run: Run) -> None:
        async with run.step("look at the page"):
            (run.artifacts_dir / "trace.zip").write_bytes(b"PK\x05\x06" + bytes(18))


@pytest.fixture(scope="module")
def s3() -> Iterator[tuple[str, Any]]:
    """moto's S3 server on a free port, standing in for S3; credentials only in the environment."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
            env.setenv(name, value)
        env.delenv("AWS_PROFILE", raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client("s3", region_name="eu-west-1", endpoint_url=endpoint)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        try:
            yield endpoint, client
        finally:
            server.stop()


def _runtime(tmp_path: Path, upload: UploadSettings, *, verbose: bool = False) -> Runtime:
    tmp_path.mkdir(exist_ok=True)
    settings = load_settings(local_config(tmp_path, "http://127.0.0.1:9"))
    runner = settings.runner.model_copy(update={"upload": upload})
    return Runtime(settings.model_copy(update={"runner": runner}), verbose=verbose)


def _plan(scenario: type[Scenario]) -> ScenarioPlan:
    return ScenarioPlan(scenario, TARGET, 60, 10, NoOptions())


def _uploads(runtime: Runtime) -> dict[str, float]:
    return {
        result: runtime.metrics.registry.get_sample_value("synthetic_artifact_uploads_total", {"result": result}) or 0
        for result in ("success", "failure", "dropped")
    }


def _lines(caplog: pytest.LogCaptureFixture, message: str) -> list[dict[str, Any]]:
    """The JSON fields of the runner's log lines with this message."""
    return [r.__dict__["fields"] for r in caplog.records if r.getMessage() == message]


def test_a_failed_runs_artifacts_reach_the_bucket_and_every_report_names_them(
    tmp_path: Path, s3: tuple[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    endpoint, client = s3
    runtime = _runtime(tmp_path, UploadSettings(bucket=BUCKET, prefix="/synthetic/", endpoint_url=endpoint))
    caplog.set_level(logging.INFO, logger="runner")
    (result,) = asyncio.run(run_once(runtime, [_plan(FailsWithEvidence)]))

    assert result.outcome is Outcome.FAILURE and result.reason == "page_error"
    day = time.strftime("%Y-%m-%d", time.gmtime(result.started_at))
    key = f"synthetic/{REGION}/fails_with_evidence/{day}/{result.run_id}/"
    assert result.artifacts_url == f"{endpoint}/{BUCKET}/{key}"
    stored = client.list_objects_v2(Bucket=BUCKET, Prefix=key)["Contents"]
    assert sorted(o["Key"] for o in stored) == [key + "console.log", key + "har/network.har"]
    body = client.get_object(Bucket=BUCKET, Key=key + "console.log")["Body"].read()
    assert body == b"error: the page threw\n"
    assert _uploads(runtime) == {"success": 1, "failure": 0, "dropped": 0}

    (line,) = [f for f in _lines(caplog, "run finished") if f["run_id"] == result.run_id]
    assert line["artifacts_url"] == result.artifacts_url
    write_json([result], tmp_path / "report.json")
    assert json.loads((tmp_path / "report.json").read_text())["results"][0]["artifacts_url"] == result.artifacts_url
    write_junit([result], tmp_path / "junit.xml")
    case = ET.parse(tmp_path / "junit.xml").getroot().find("testcase")
    assert case is not None
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["artifacts_url"] == result.artifacts_url
    failure = case.find("failure")
    assert failure is not None and result.artifacts_url in (failure.get("message") or "")


def test_passing_runs_artifacts_go_only_with_verbose(tmp_path: Path, s3: tuple[str, Any]) -> None:
    endpoint, client = s3
    upload = UploadSettings(bucket=BUCKET, prefix="quiet", endpoint_url=endpoint)
    (quiet,) = asyncio.run(run_once(_runtime(tmp_path / "a", upload), [_plan(PassesWithEvidence)]))
    assert quiet.passed and quiet.artifacts_dir is not None and quiet.artifacts_url is None
    assert "Contents" not in client.list_objects_v2(Bucket=BUCKET, Prefix="quiet/")

    verbose_runtime = _runtime(tmp_path / "b", upload, verbose=True)
    (kept,) = asyncio.run(run_once(verbose_runtime, [_plan(PassesWithEvidence)]))
    assert kept.passed and kept.artifacts_url is not None
    stored = client.list_objects_v2(Bucket=BUCKET, Prefix="quiet/")["Contents"]
    assert [o["Key"] for o in stored] == [kept.artifacts_url.split(f"/{BUCKET}/", 1)[1] + "trace.zip"]
    assert _uploads(verbose_runtime)["success"] == 1


def test_a_bucket_that_refuses_writes_changes_nothing_but_the_count(
    tmp_path: Path, s3: tuple[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    endpoint, _ = s3
    caplog.set_level(logging.INFO, logger="runner")
    (tmp_path / "plain").mkdir()
    plain = Runtime(load_settings(local_config(tmp_path / "plain", "http://127.0.0.1:9")))  # uploads off
    (expected,) = asyncio.run(run_once(plain, [_plan(FailsWithEvidence)]))

    runtime = _runtime(tmp_path, UploadSettings(bucket="no-such-bucket", endpoint_url=endpoint))
    (result,) = asyncio.run(run_once(runtime, [_plan(FailsWithEvidence)]))

    assert (result.outcome, result.reason, result.failed_step, result.message) == (
        expected.outcome,
        expected.reason,
        expected.failed_step,
        expected.message,
    )
    assert runtime.metrics.registry.get_sample_value(
        "synthetic_scenario_runs_total",
        {"scenario": "fails_with_evidence", "target": TARGET, "region": REGION, "result": "failure"},
    )
    assert _uploads(runtime) == {"success": 0, "failure": 1, "dropped": 0}
    assert result.artifacts_url is None, "a report names only artifacts that arrived"
    (warning,) = _lines(caplog, "artifact upload failed")
    assert warning["run_id"] == result.run_id and "NoSuchBucket" in warning["error"]
    assert result.artifacts_dir and (Path(result.artifacts_dir) / "console.log").exists(), "the local copy stays"


def test_a_store_that_never_answers_never_delays_the_result(tmp_path: Path) -> None:
    """The store accepts connections and never answers: the run's result is recorded while its
    upload hangs; at exit the upload is given ``drain_seconds`` and then counted as dropped."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections complete in the kernel; nobody ever reads them
    endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
    runtime = _runtime(tmp_path, UploadSettings(bucket=BUCKET, endpoint_url=endpoint, drain_seconds=0.5))

    async def scenario() -> tuple[RunResult, dict[str, float], dict[str, float]]:
        result = await execute(runtime, _plan(FailsWithEvidence))
        at_result = _uploads(runtime)
        await runtime.aclose()
        return result, at_result, _uploads(runtime)

    try:
        result, at_result, at_exit = asyncio.run(asyncio.wait_for(scenario(), 30))
    finally:
        silent.close()  # the hanging upload thread's connection is reset and ends
    assert result.outcome is Outcome.FAILURE and result.reason == "page_error"
    assert at_result == {"success": 0, "failure": 0, "dropped": 0}, "the result came before the upload ended"
    assert at_exit == {"success": 0, "failure": 0, "dropped": 1}
    assert result.artifacts_url is None


def test_credentials_never_go_in_the_config(tmp_path: Path) -> None:
    upload = {"bucket": "mg-evidence", "aws_secret_access_key": "abc", "endpoint_url": "not-a-url"}
    config = local_config(tmp_path, "http://127.0.0.1:9", runner={"upload": upload})
    with pytest.raises(ConfigError) as refused:
        load_settings(config)
    assert refused.value.errors == [
        "runner.upload.endpoint_url: not a URL",
        "runner.upload.aws_secret_access_key: unknown key",
    ]


def test_the_shipped_lifecycle_rule_is_accepted_by_the_store(s3: tuple[str, Any]) -> None:
    """deploy/s3-lifecycle.json, as the README applies it: valid for the S3 API and kept by the store."""
    _, client = s3
    rules = json.loads((Path(__file__).resolve().parents[2] / "deploy" / "s3-lifecycle.json").read_text())
    client.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration=rules)
    (rule,) = client.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert rule["Status"] == "Enabled" and rule["Expiration"] == {"Days": 30}
