"""``run --html DIR``: the run pages of one invocation as a static report for a CI job's artifacts.

``DIR/index.html`` holds a table of the runs and every run's page (the same template serve
mode uses); each run's artifacts are copied to ``DIR/artifacts/<scenario>/<run id>/`` and linked
relatively, so the folder opens from a CI artifact download with no server and no network.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from harness.pages import ARTIFACT_FILES, RunView, render, run_view
from harness.results import RunResult

__all__ = ["write_html_report"]


def _copy_artifacts(result: RunResult, directory: Path) -> dict[str, str]:
    if not result.artifacts_dir:
        return {}
    source = Path(result.artifacts_dir)
    relative = Path("artifacts") / result.scenario / result.run_id
    links = {}
    for name in ARTIFACT_FILES:
        if (source / name).is_file() and not (source / name).is_symlink():
            (directory / relative).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / name, directory / relative / name)
            links[name] = (relative / name).as_posix()
    return links


def write_html_report(
    results: list[RunResult], directory: Path, region: str, trace_url_template: str | None = None
) -> Path:
    """Write the report; returns its ``index.html``."""
    directory.mkdir(parents=True, exist_ok=True)
    views: list[RunView] = [
        run_view(result, _copy_artifacts(result, directory), trace_url_template) for result in results
    ]
    index = directory / "index.html"
    index.write_text(
        render("report.html", base="", region=region, static=True, views=views, generated_at=time.time()),
        encoding="utf-8",
    )
    return index
