"""docker-compose.yml mounts files that exist, and each service's config passes its own checker.

No container engine runs here, so each service's mounts are laid out under a temporary root
(``./x:/etc/y`` copies ``x`` to ``root/etc/y``) and the service's config is checked there, at the
path the container reads it from: ``runner.py check-config``, ``promtool check config`` (which
also loads the rule files the config names) and ``amtool check-config``.

``deploy/compose/prometheus.yml`` is rendered by ``monitoring.prometheus_config``:
regenerate it with ``python -m tests.deploy.test_compose``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from monitoring.prometheus_config import PrometheusSettings, render_prometheus_config
from tests.deploy.dockerfile import parse_dockerfile

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
RUNNERS = {"eu": "runner-eu", "us": "runner-us"}
PROMETHEUS_CONFIG = REPO_ROOT / "deploy" / "compose" / "prometheus.yml"
PROMETHEUS_SETTINGS = PrometheusSettings(
    runners={region: f"{service}:9150" for region, service in RUNNERS.items()},
    services={"vault": "sandbox:8101", "concierge": "sandbox:8102", "room_service": "sandbox:8103"},
    target="sandbox",
    alertmanager="alertmanager:9093",
)


def _mounts(service: str) -> list[tuple[Path, str]]:
    """(host path, container path) of each bind mount of ``service``."""
    mounts = []
    for volume in SERVICES[service].get("volumes", []):
        source, target = volume.split(":")[:2]
        mounts.append(((REPO_ROOT / source).resolve(), target))
    return mounts


def _lay_out(service: str, root: Path) -> Path:
    """Copy ``service``'s mounts under ``root`` at their container paths; returns ``root``."""
    for source, target in _mounts(service):
        destination = root / target.lstrip("/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination)
        else:
            shutil.copy2(source, destination)
    return root


def _flag(service: str, name: str) -> str:
    command: list[str] = SERVICES[service]["command"]
    return next(word.split("=", 1)[1] for word in command if word.startswith(f"--{name}="))


def _binary(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: apt-get install -y {package}")
    return path


def test_every_mounted_file_exists_and_every_build_target_is_a_dockerfile_stage() -> None:
    stages = {stage.name for stage in parse_dockerfile((REPO_ROOT / "Dockerfile").read_text(encoding="utf-8"))}
    for name, service in SERVICES.items():
        for source, target in _mounts(name):
            assert source.exists(), f"{name} mounts {source}, which does not exist"
            assert source.is_relative_to(REPO_ROOT), f"{name} mounts {source} from outside the repository"
            assert target.startswith("/"), f"{name}: {target} is not an absolute container path"
        if "build" in service:
            assert service["build"]["target"] in stages, f"{name} builds a target the Dockerfile lacks"


@pytest.mark.parametrize(("region", "service"), RUNNERS.items())
def test_each_runner_config_passes_check_config_where_the_container_reads_it(
    region: str, service: str, tmp_path: Path
) -> None:
    assert SERVICES[service]["environment"]["MG_REGION"] == region
    root = _lay_out(service, tmp_path)
    config = root / "etc" / "mystery-guest" / "config.yaml"  # the image's CMD
    environment = {"PATH": "/usr/bin:/bin", "MG_REGION": region}
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "runner.py"), "check-config", str(config)],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"region {region}" in result.stdout
    targets = yaml.safe_load(config.read_text(encoding="utf-8"))["targets"]
    urls = [url for target in targets.values() for key, url in target.items() if key.endswith("_url")]
    hosts = {urlsplit(url).hostname for url in urls}
    assert hosts == {"sandbox"}, "the runners reach the sandbox by its compose service name"


def test_the_runner_config_is_the_sandbox_config_with_container_addresses() -> None:
    compose = yaml.safe_load((REPO_ROOT / "deploy" / "compose" / "runner.yaml").read_text(encoding="utf-8"))
    local = yaml.safe_load((REPO_ROOT / "config" / "sandbox.yaml").read_text(encoding="utf-8"))
    for section in ("scenarios", "contract"):
        assert compose.get(section) == local.get(section)
    compose_target, local_target = compose["targets"]["sandbox"], local["targets"]["sandbox"]
    assert compose_target["accounts"]["by_scenario"] == local_target["accounts"]["by_scenario"]
    assert {key for key in compose_target} == {key for key in local_target}


def test_prometheus_config_passes_promtool_with_the_shipped_rules(tmp_path: Path) -> None:
    root = _lay_out("prometheus", tmp_path)
    config = root / _flag("prometheus", "config.file").lstrip("/")
    result = subprocess.run(
        [_binary("promtool", "prometheus"), "check", "config", str(config)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rules = len(list((REPO_ROOT / "monitoring" / "prometheus" / "rules").glob("*.yml")))
    assert f"SUCCESS: {rules} rule files found" in result.stdout


def test_prometheus_config_is_rendered_for_the_compose_services() -> None:
    assert PROMETHEUS_CONFIG.read_text(encoding="utf-8") == render_prometheus_config(PROMETHEUS_SETTINGS), (
        "deploy/compose/prometheus.yml is stale: python -m tests.deploy.test_compose"
    )
    for address in [*PROMETHEUS_SETTINGS.runners.values(), *PROMETHEUS_SETTINGS.services.values()]:
        assert address.split(":")[0] in SERVICES
    assert str(PROMETHEUS_SETTINGS.alertmanager).split(":")[0] in SERVICES


def test_alertmanager_config_passes_amtool(tmp_path: Path) -> None:
    root = _lay_out("alertmanager", tmp_path)
    config = root / _flag("alertmanager", "config.file").lstrip("/")
    result = subprocess.run(
        [_binary("amtool", "prometheus-alertmanager"), "check-config", str(config)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_grafana_reads_the_shipped_provisioning_and_dashboard(tmp_path: Path) -> None:
    root = _lay_out("grafana", tmp_path)
    provisioning = root / "etc" / "grafana" / "provisioning"
    (datasource,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert urlsplit(datasource["url"]).hostname in SERVICES
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "mystery-guest.yml").read_text())["providers"]
    dashboards = list((root / provider["options"]["path"].lstrip("/")).glob("*.json"))
    assert dashboards, f"no dashboard where the provider reads: {provider['options']['path']}"


if __name__ == "__main__":
    PROMETHEUS_CONFIG.write_text(render_prometheus_config(PROMETHEUS_SETTINGS), encoding="utf-8")
    print(f"wrote {PROMETHEUS_CONFIG.relative_to(REPO_ROOT)}")
