"""The lock files pin every dependency pyproject.toml declares, in one version everywhere.

``make test`` (scripts/setup.sh) installs ``requirements/dev.lock``, the runner image
``requirements/runtime.lock``, the compose sandbox ``requirements/sandbox.lock``; all three are
written by ``scripts/lock.sh``. A dependency added to pyproject.toml without rerunning it fails
here, naming the script.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO_ROOT / "requirements"
PROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# Which extras each lock carries (runtime dependencies are in all of them).
LOCKS = {"runtime.lock": (), "sandbox.lock": ("sandbox",), "dev.lock": ("sandbox", "dev")}


def _pins(name: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (REQUIREMENTS / name).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            package, _, version = line.partition("==")
            assert version and re.fullmatch(r"[\w.+!-]+", version), f"requirements/{name}: {line!r} is not pinned"
            pins[canonicalize_name(package)] = version
    return pins


def _declared(extras: tuple[str, ...]) -> list[Requirement]:
    lines = list(PROJECT["dependencies"])
    for extra in extras:
        lines += PROJECT["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


@pytest.mark.parametrize(("lock", "extras"), LOCKS.items())
def test_every_declared_dependency_is_pinned_within_its_range(lock: str, extras: tuple[str, ...]) -> None:
    pins = _pins(lock)
    for requirement in _declared(extras):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in requirements/{lock}: run scripts/lock.sh"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements/{lock} pins {name}=={pins[name]}, outside {requirement}: run scripts/lock.sh"
        )


def test_the_image_ci_and_sandbox_run_the_same_versions() -> None:
    dev = _pins("dev.lock")
    for lock in ("runtime.lock", "sandbox.lock"):
        pins = _pins(lock)
        differing = {name: (pins[name], dev.get(name)) for name in pins if dev.get(name) != pins[name]}
        assert not differing, f"requirements/{lock} and dev.lock disagree: {differing}: run scripts/lock.sh"


def test_the_image_lock_has_no_sandbox_or_dev_package() -> None:
    extras = [Requirement(line) for extra in ("sandbox", "dev") for line in PROJECT["optional-dependencies"][extra]]
    assert not {canonicalize_name(r.name) for r in extras} & set(_pins("runtime.lock"))


def test_playwright_is_the_release_that_drives_debians_chromium() -> None:
    """requirements/constraints.txt holds Playwright to the release measured against Debian's Chromium."""
    held = re.search(r"^playwright==(\S+)$", (REQUIREMENTS / "constraints.txt").read_text(encoding="utf-8"), re.M)
    assert held, "requirements/constraints.txt no longer holds playwright"
    for lock in LOCKS:
        assert _pins(lock)["playwright"] == held.group(1), f"requirements/{lock}: run scripts/lock.sh"
    # The browser tests of this run drove the installed chromium with this release.
    assert version("playwright") == held.group(1), "the .venv is not the lock's: run make setup"
