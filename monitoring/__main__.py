"""Regenerate every generated monitoring file, or check that the committed ones are current.

python -m monitoring            # write rules, alertmanager.yml, the dashboard, the agents' and the central configs
                                #   and harness/journeys.json (what the runner's status page groups by)
python -m monitoring --check    # exit 1, naming the stale files, if any differ
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from monitoring.alertmanager import ALERTMANAGER_FILE, render_alertmanager
from monitoring.dashboard import DASHBOARD_FILE, render_dashboard
from monitoring.journeys import JOURNEYS_FILE, render_journeys
from monitoring.maintenance import load_windows
from monitoring.prometheus_config import agent_files, central_file
from monitoring.rules import (
    DEFAULT_RUNBOOK_BASE_URL,
    RULES_DIR,
    RuleSettings,
    links_from_runner_config,
    render_rule_files,
)

__all__ = ["SHIPPED_CONFIG", "generated_files", "main"]

SHIPPED_CONFIG = Path(__file__).resolve().parents[1] / "config" / "sandbox.yaml"
"""The runner config whose maintenance windows the committed alertmanager.yml shows (for a
deployment: ``render_alertmanager(windows=load_windows(Path("config/prod.yaml")))``)."""


def generated_files(config: Path = SHIPPED_CONFIG, runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL) -> dict[Path, str]:
    """Path -> the text the generators produce for it: the shipped settings, or a deployment's
    runner config (its maintenance windows, where its runners serve their pages) and runbook base
    URL (every runbook_url and panel link)."""
    runner_url_template, evidence_url = links_from_runner_config(config)
    rules = RuleSettings(
        runbook_base_url=runbook_base_url, runner_url_template=runner_url_template, evidence_url=evidence_url
    )
    files = {RULES_DIR / name: text for name, text in render_rule_files(rules).items()}
    files[ALERTMANAGER_FILE] = render_alertmanager(windows=load_windows(config))
    files[DASHBOARD_FILE] = render_dashboard(rules)
    files.update(agent_files())
    files.update(central_file())
    files[JOURNEYS_FILE] = render_journeys()
    return files


def main(argv: Sequence[str] | None = None) -> int:
    """Write the generated files, or with --check compare them and report stale ones."""
    parser = argparse.ArgumentParser(description="Render monitoring/ from monitoring/*.py")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument(
        "--config",
        type=Path,
        default=SHIPPED_CONFIG,
        help="runner config: maintenance windows, runner.pages.url_template, runner.upload",
    )
    parser.add_argument("--runbook-base-url", default=DEFAULT_RUNBOOK_BASE_URL, help="where the runbooks are served")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generated_files(args.config, args.runbook_base_url).items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    for path in stale:
        print(f"stale: {path} (run `python -m monitoring`)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
