"""The runner image builds and runs, proven without a container engine.

``tests/deploy/dockerfile.py`` replays the Dockerfile's default target on this machine (its
``COPY`` set as ``.dockerignore`` filters it, its ``RUN pip install`` lines into a fresh venv
from ``requirements/runtime.lock``, without the ``sandbox`` extra), then the image's
``ENTRYPOINT`` and ``CMD`` run from its working directory against a real sandbox, with the
config mounted where ``CMD`` expects it and the secrets passed as environment variables, as
``docker run -e ... -v prod.yaml:/etc/mystery-guest/config.yaml`` would. pip's wheel cache
keeps the install to a minute or so.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from sandbox.testing import SECRETS_DIR, SandboxHandle
from tests.deploy.dockerfile import DockerIgnore, Image, context_files, parse_dockerfile, replay
from tests.support import stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "Dockerfile"
SECRET_VALUES = {path.name: path.read_text().strip() for path in SECRETS_DIR.iterdir() if path.is_file()}
# What the scheduled run must show: an HTTP journey and a browser one (Playwright driving chromium).
SCENARIOS = ("uptime", "spa_load")
_METRICS_LINE = re.compile(r"metrics at http://(\S+)/metrics")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    return replay(DOCKERFILE, REPO_ROOT, tmp_path_factory.mktemp("image") / "root")


def _mounted_config(sandbox: SandboxHandle) -> str:
    """A production-shaped config for this sandbox: every secret an environment variable."""
    accounts = {"uptime": "probe-{region}-01", "spa_load": "probe-{region}-10"}
    config = {
        "runner": {"shutdown_grace_seconds": 5},
        "targets": {
            "sandbox": {
                **sandbox.target_urls(),
                "region": "local",
                "allow_money": False,
                "currencies": ["USD", "EUR", "GBP", "BTC"],
                "reset_secret": {"env": "MG_RESET_SECRET"},
                "accounts": {"password": {"env": "MG_PROBE_PASSWORD"}, "by_scenario": accounts},
            }
        },
        "scenarios": {"only": list(SCENARIOS), "overrides": {name: {"interval_seconds": 5} for name in SCENARIOS}},
    }
    return yaml.safe_dump(config, sort_keys=False)


def _command(image: Image) -> list[str]:
    """``docker run IMAGE``: ENTRYPOINT then CMD, the image's own paths moved under its root."""
    return [str(image.host(word)) if word.startswith("/") else word for word in image.entrypoint + image.command]


def _config_path(image: Image) -> Path:
    assert "--config" in image.command, f"CMD {image.command} names no config to mount"
    return image.host(image.command[image.command.index("--config") + 1])


@pytest.fixture
def running(image: Image, clean_sandbox: SandboxHandle) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    config = _config_path(image)
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(_mounted_config(clean_sandbox), encoding="utf-8")
    environment = {
        **image.environment,
        "MG_LISTEN": "127.0.0.1:0",  # -p: a free loopback port instead of 0.0.0.0:9150
        "MG_REGION": "eu",
        "MG_PROBE_PASSWORD": SECRET_VALUES["probe_password"],
        "MG_RESET_SECRET": SECRET_VALUES["reset_secret"],
    }
    log_path = image.root.parent / "runner.log"
    # Extra arguments after CMD's own: `docker run IMAGE --config ... --max-start-offset 1`.
    command = _command(image) + ["--max-start-offset", "1"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=image.workdir, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process, log_path
    finally:
        if process.poll() is None:
            stop_process(process, 30)
        config.unlink()


def _passing(metrics: str) -> set[str]:
    return set(re.findall(r'^synthetic_scenario_success\{[^}]*scenario="(\w+)"[^}]*\} 1\.0$', metrics, re.M))


@pytest.mark.slow
@pytest.mark.browser
def test_the_image_runs_its_entrypoint_against_the_sandbox_until_scenarios_pass(
    image: Image, running: tuple[subprocess.Popen[bytes], Path]
) -> None:
    process, log_path = running
    deadline = time.monotonic() + 120
    passing: set[str] = set()
    address = None
    while passing != set(SCENARIOS):
        assert process.poll() is None, f"the image's command exited {process.returncode}:\n{log_path.read_text()}"
        assert time.monotonic() < deadline, f"passing: {sorted(passing)}; log:\n{log_path.read_text()[-4000:]}"
        if address is None and (found := _METRICS_LINE.search(log_path.read_text())):
            address = found.group(1)
        if address is not None:
            passing = _passing(httpx.get(f"http://{address}/metrics", timeout=5, trust_env=False).text)
        time.sleep(0.5)
    assert httpx.get(f"http://{address}/healthz", timeout=5, trust_env=False).status_code == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    log = log_path.read_text()
    for name, value in SECRET_VALUES.items():
        assert value not in log, f"the secret {name} reached the runner's log"


@pytest.mark.slow
def test_the_image_has_no_sandbox_no_dev_tools_and_no_secret(image: Image) -> None:
    venv = Path(image.environment["VIRTUAL_ENV"])  # already under the image root
    site_packages = next(venv.glob("lib/python3.*/site-packages"))
    installed = {path.name.split("-")[0].lower() for path in site_packages.glob("*.dist-info")}
    assert {"playwright", "boto3", "mystery_guest"} <= installed
    assert not installed & {"fastapi", "uvicorn", "pytest", "mypy", "moto"}, "the sandbox extra or dev tools"
    assert not (site_packages / "sandbox").exists() and not (site_packages / "monitoring").exists()
    assert image.copied and not [name for name in image.copied if name.startswith("config/sandbox-secrets")]
    ours = [site_packages / package for package in ("config", "harness", "probes", "scenarios")]
    for path in [*image.root.rglob("*"), *(file for package in ours for file in package.rglob("*"))]:
        if path.is_file() and venv not in path.parents:
            text = path.read_bytes().decode(errors="replace")
            for name, value in SECRET_VALUES.items():
                assert value not in text, f"{path} holds the sandbox secret {name}"


@pytest.mark.slow
def test_without_a_mounted_config_the_image_exits_2_naming_the_path(image: Image) -> None:
    result = subprocess.run(
        _command(image), cwd=image.workdir, env=image.environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(_config_path(image)) in lines[0] and "mount" in lines[0], result.stderr


@pytest.mark.slow
def test_the_system_packages_the_image_installs_are_the_ones_these_tests_ran_with(image: Image) -> None:
    """The replay stands this machine in for ``apt-get install``: each package must be here."""
    assert "chromium" in image.apt_packages
    for package in image.apt_packages:
        status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
        assert "install ok installed" in status.stdout, f"apt-get install -y {package}"


def test_no_stage_copies_a_secret_or_a_local_build_from_the_context() -> None:
    """Every stage's ``COPY`` set, filtered by ``.dockerignore`` (no secret may be copied, even to be removed)."""
    ignore = DockerIgnore((REPO_ROOT / ".dockerignore").read_text(encoding="utf-8"))
    for stage in parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8")):
        for instruction in stage.instructions:
            if instruction.keyword != "COPY" or "--from" in instruction.arguments:
                continue
            for source in instruction.arguments.split()[:-1]:
                for name in context_files(REPO_ROOT, source, ignore):
                    assert not name.startswith(("config/sandbox-secrets", ".venv", "tests/")), name
                    assert "/node_modules/" not in name and "/__pycache__/" not in name, name
                    text = (REPO_ROOT / name).read_bytes().decode(errors="replace")
                    leaked = [key for key, value in SECRET_VALUES.items() if value in text]
                    assert not leaked, f"stage {stage.name} copies {name}, which holds {leaked}"
        runs = " ".join(i.arguments for i in stage.instructions if i.keyword == "RUN")
        assert "sandbox-secrets" not in runs, f"stage {stage.name}: a secret removed in a RUN stays in a layer"


# (.dockerignore, a path in the context) as Docker reads them: the paths it leaves out, the paths it keeps.
LEFT_OUT = [
    ("config/sandbox-secrets", "config/sandbox-secrets/admin_token"),
    ("**/__pycache__", "harness/__pycache__/run.cpython-311.pyc"),
    ("**/*.pyc", "a.pyc"),
    ("*.egg-info", "mystery_guest.egg-info/PKG-INFO"),
    ("config/*.yaml", "config/sandbox.yaml"),
]
KEPT = [
    ("*.egg-info", "sub/x.egg-info/PKG-INFO"),
    ("tests\n!tests/keep.py", "tests/keep.py"),
    ("config/*.yaml", "config/sub/x.yaml"),
]


@pytest.mark.parametrize(
    ("pattern", "path", "excluded"), [(*row, True) for row in LEFT_OUT] + [(*row, False) for row in KEPT]
)
def test_dockerignore_rules_follow_docker(pattern: str, path: str, excluded: bool) -> None:
    assert DockerIgnore(pattern).excluded(path) is excluded
