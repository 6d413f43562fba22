"""Regenerate every generated monitoring file, or check that the committed ones are current.

python -m monitoring            # write rules, alertmanager.yml, the dashboard, the agents' configs
python -m monitoring --check    # exit 1, naming the stale files, if any differ
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from monitoring.alertmanager import ALERTMANAGER_FILE, render_alertmanager
from monitoring.dashboard import DASHBOARD_FILE, render_dashboard
from monitoring.prometheus_config import agent_files
from monitoring.rules import RULES_DIR, render_rule_files

__all__ = ["generated_files", "main"]


def generated_files() -> dict[Path, str]:
    """Path -> the text the generators produce for it, with the shipped settings."""
    files = {RULES_DIR / name: text for name, text in render_rule_files().items()}
    files[ALERTMANAGER_FILE] = render_alertmanager()
    files[DASHBOARD_FILE] = render_dashboard()
    files.update(agent_files())
    return files


def main(argv: Sequence[str] | None = None) -> int:
    """Write the generated files, or with --check compare them and report stale ones."""
    parser = argparse.ArgumentParser(description="Render monitoring/ from monitoring/*.py")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generated_files().items():
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
