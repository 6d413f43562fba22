"""deploy/ecs/ is what the ECS API accepts, and its IAM grants exactly what the task uses.

Each file is the ``--cli-input-json`` of one AWS call, so it is validated against the API
model that botocore ships (the same check the AWS CLI makes before it sends a request): a
misspelt key, a wrong type or a missing required field fails here instead of in a deploy.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.model import Shape
from botocore.session import get_session
from botocore.validate import ParamValidator

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
ECS = DEPLOY / "ecs"
REGIONS = sorted(path.name for path in ECS.iterdir() if (path / "task-definition.json").exists())
LISTEN_PORT = 9150  # the image's MG_LISTEN


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _input_shape(service: str, operation: str) -> Shape:
    shape = get_session().get_service_model(service).operation_model(operation).input_shape
    assert shape is not None
    return shape


def _errors(params: Any, shape: Shape) -> str:
    report = ParamValidator().validate(params, shape)
    return report.generate_report() if report.has_errors() else ""


def _runner(task: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = task["containerDefinitions"]
    return next(container for container in containers if container["name"] == "runner")


def _statements(name: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = _json(ECS / "iam" / name)["Statement"]
    return statements


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _resources_allowed(policy: str, action: str) -> list[str]:
    return [arn for s in _statements(policy) if action in _listed(s["Action"]) for arn in _listed(s["Resource"])]


def test_there_is_a_service_per_region() -> None:
    assert len(REGIONS) >= 2
    for region in REGIONS:
        assert (ECS / region / "service.json").exists()


@pytest.mark.parametrize("region", REGIONS)
def test_the_task_definition_is_a_valid_register_task_definition_call(region: str) -> None:
    task = _json(ECS / region / "task-definition.json")
    assert not _errors(task, _input_shape("ecs", "RegisterTaskDefinition"))


@pytest.mark.parametrize("region", REGIONS)
def test_the_service_is_a_valid_create_service_call_for_that_task(region: str) -> None:
    service = _json(ECS / region / "service.json")
    assert not _errors(service, _input_shape("ecs", "CreateService"))
    assert service["taskDefinition"].split(":")[0] == _json(ECS / region / "task-definition.json")["family"]
    # One task at a time: two runners on the same synthetic accounts would break each other's balances.
    assert service["deploymentConfiguration"]["maximumPercent"] <= 100 and service["desiredCount"] == 1


@pytest.mark.parametrize(
    "typo",
    [
        lambda task: _runner(task).update(healthcheck=_runner(task).pop("healthCheck")),
        lambda task: _runner(task)["portMappings"][0].update(containerPort="9150"),
        lambda task: _runner(task)["secrets"][0].pop("valueFrom"),
    ],
    ids=["misspelt key", "string for an integer", "missing required field"],
)
def test_a_typo_in_the_task_definition_fails_validation(typo: Any) -> None:
    task = _json(ECS / REGIONS[0] / "task-definition.json")
    typo(task)
    assert _errors(task, _input_shape("ecs", "RegisterTaskDefinition"))


@pytest.mark.parametrize("region", REGIONS)
def test_the_runner_container_is_checked_logged_and_told_its_region(region: str) -> None:
    runner = _runner(_json(ECS / region / "task-definition.json"))
    assert {"name": "MG_REGION", "value": region} in runner["environment"]
    assert any(f"127.0.0.1:{LISTEN_PORT}/healthz" in word for word in runner["healthCheck"]["command"])
    assert runner["portMappings"][0]["containerPort"] == LISTEN_PORT
    options = runner["logConfiguration"]["options"]
    assert runner["logConfiguration"]["logDriver"] == "awslogs" and options["awslogs-region"] == region
    # Secrets come from Secrets Manager by ARN, never as plain environment values.
    assert {secret["name"] for secret in runner["secrets"]} == {"MG_PROBE_PASSWORD", "MG_RESET_SECRET"}
    assert all(secret["valueFrom"].startswith(f"arn:aws:secretsmanager:{region}:") for secret in runner["secrets"])
    assert not [env for env in runner["environment"] if "SECRET" in env["name"] or "PASSWORD" in env["name"]]
    # The runner drains in-flight runs for up to shutdown_grace_seconds (30) after SIGTERM.
    assert runner["stopTimeout"] > 30


def test_the_regions_differ_only_in_their_region_and_network() -> None:
    first, *others = REGIONS
    for region in others:
        for name in ("task-definition.json", "service.json"):
            mine = _json(ECS / region / name)
            theirs = json.loads((ECS / first / name).read_text(encoding="utf-8").replace(first, region))
            for document in (mine, theirs):
                document.pop("networkConfiguration", None)
                document.pop("serviceRegistries", None)
            assert mine == theirs, f"deploy/ecs/{region}/{name} drifted from deploy/ecs/{first}/{name}"


def test_the_execution_role_reads_exactly_the_secrets_the_tasks_name_and_writes_their_logs() -> None:
    secret_arns = _resources_allowed("execution-role-policy.json", "secretsmanager:GetSecretValue")
    log_arns = _resources_allowed("execution-role-policy.json", "logs:PutLogEvents")
    named = set()
    for region in REGIONS:
        runner = _runner(_json(ECS / region / "task-definition.json"))
        for secret in runner["secrets"]:
            assert any(fnmatch.fnmatchcase(secret["valueFrom"], arn) for arn in secret_arns), secret["valueFrom"]
            named.add(secret["valueFrom"].split(":secret:")[1].rsplit("-", 1)[0])
        group = runner["logConfiguration"]["options"]["awslogs-group"]
        stream = f"arn:aws:logs:{region}:123456789012:log-group:{group}:log-stream:runner/x"
        assert any(fnmatch.fnmatchcase(stream, arn) for arn in log_arns), f"no logs:PutLogEvents on {group}"
    assert {arn.split(":secret:")[1].rsplit("-", 1)[0] for arn in secret_arns} == named, "a secret no task reads"


def test_the_task_role_may_only_write_objects_under_a_key_prefix_of_named_buckets() -> None:
    """``runner.upload`` needs ``s3:PutObject`` only: no read, no list, no delete, no whole bucket."""
    buckets = set()
    for statement in _statements("task-role-policy.json"):
        assert statement["Effect"] == "Allow" and _listed(statement["Action"]) == ["s3:PutObject"]
        for arn in _listed(statement["Resource"]):
            bucket, _, key_pattern = arn.removeprefix("arn:aws:s3:::").partition("/")
            assert arn.startswith("arn:aws:s3:::") and "*" not in bucket, arn
            assert key_pattern.endswith("/*") and len(key_pattern) > 2, f"{arn}: not under a key prefix"
            buckets.add(bucket)
    assert len(buckets) == len(REGIONS), "one evidence bucket per region"


def test_the_roles_trust_only_ecs_tasks() -> None:
    (statement,) = _statements("trust-policy.json")
    assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"} and statement["Action"] == "sts:AssumeRole"
