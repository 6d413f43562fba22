"""The layers: import-linter's contracts (``[tool.importlinter]``, run on the tree by ``make lint``)
break, naming the import, when a forbidden one is made in a scratch copy of the tree.

Also two rules of ``scenarios/`` a contract cannot say without listing every scenario: no
scenario imports another (only the toolkit, ``scenarios.kit``), and none silences the types.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("harness", "probes", "scenarios", "config", "sandbox", "monitoring")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_probe_importing_the_engine_breaks_them_naming_the_import(tmp_path: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "spa"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    http = tmp_path / "probes" / "http.py"
    http.write_text(http.read_text() + "\nfrom harness.errors import StepFailure  # noqa: E402\n")
    done = lint_imports(tmp_path)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    assert "probes.http -> harness.errors" in done.stdout


def scenario_imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def test_no_scenario_imports_another_scenario() -> None:
    crossing = {
        path.name: name
        for path in sorted((ROOT / "scenarios").glob("*.py"))
        for name in scenario_imports(path)
        if name.startswith("scenarios") and not name.startswith("scenarios.kit")
    }
    assert crossing == {}


def test_no_scenario_silences_the_type_checker() -> None:
    ignored = [
        str(path.relative_to(ROOT)) for path in (ROOT / "scenarios").rglob("*.py") if "type: ignore" in path.read_text()
    ]
    assert ignored == []
