"""Every ``synthetic_*`` name a document writes is a series the runner exports.

A reader copies a query from the README or a runbook into Grafana; a misspelt name there
returns nothing and looks like "all fine". Histogram names count with and without their
``_bucket``/``_sum``/``_count`` suffixes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitoring.series import RUNNER_SERIES, exported_names

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted(
    {
        *ROOT.glob("*.md"),
        *ROOT.glob("docs/**/*.md"),
        *ROOT.glob("monitoring/**/*.md"),
        *ROOT.glob("bench/*.md"),
        *ROOT.glob("tests/scenarios/*.yaml"),
    }
)
_NAME = re.compile(r"\bsynthetic_[a-z0-9_]*[a-z0-9]\b(?!:)")
"""A series name; ``synthetic_probe:`` (a YAML key of the contract's headers) is not one."""


def _known() -> set[str]:
    return exported_names() | {series.name for series in RUNNER_SERIES}


def test_documents_are_found() -> None:
    assert ROOT / "README.md" in DOCUMENTS
    assert ROOT / "docs" / "detection-matrix.md" in DOCUMENTS


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_document_names_only_exported_series(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    known = _known()
    unknown = sorted(
        f"{match.group()} (line {text.count(chr(10), 0, match.start()) + 1})"
        for match in _NAME.finditer(text)
        if match.group() not in known
    )
    assert not unknown, f"{document.relative_to(ROOT)} names series the runner does not export: {unknown}"


def test_a_misspelt_name_is_caught() -> None:
    assert "synthetic_step_failures" not in _known()
    assert _NAME.findall("rate(synthetic_step_failures{reason='timeout'}[5m])") == ["synthetic_step_failures"]
