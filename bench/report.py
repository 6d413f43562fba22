"""What a benchmark hands back, and how ``bench/RESULTS.md`` is put together from them.

Each benchmark returns a ``Section``: its figures as Markdown, its goals (met or not), the
command that reruns it, and when and where it was measured. Sections are kept as JSON under
``bench/results/`` so that ``--only NAME`` reruns one and the file keeps the others, each
still labelled with its own date and machine.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "BenchOptions",
    "Goal",
    "Section",
    "load_sections",
    "ms",
    "render_results",
    "save_section",
    "table",
]

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_FILE = BENCH_DIR / "RESULTS.md"
SECTIONS_DIR = BENCH_DIR / "results"


@dataclass(frozen=True)
class BenchOptions:
    """How a benchmark runs: where it may write, and whether counts are tiny (smoke test)."""

    work_dir: Path
    quick: bool = False


@dataclass
class Goal:
    text: str
    met: bool | None  # None: could not be measured in this run
    detail: str = ""

    def line(self) -> str:
        mark = {True: "met", False: "**missed**", None: "not measured"}[self.met]
        return f"- {self.text}: {mark}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class Section:
    name: str
    title: str
    command: str
    body: str  # Markdown: tables and commentary
    goals: list[Goal] = field(default_factory=list)
    measured_at: str = ""
    machine: str = ""
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)  # raw figures, for whoever wants to redo the maths
    skipped: str = ""  # why nothing was measured, if so

    def markdown(self) -> str:
        lines = [f"## {self.title}", ""]
        lines.append(f"Measured {self.measured_at} on {self.machine} in {self.seconds:.0f} s. Rerun: `{self.command}`")
        lines.append("")
        if self.skipped:
            lines += [f"**Not measured in this run:** {self.skipped}", ""]
        if self.goals:
            lines += ["Goals:", "", *(goal.line() for goal in self.goals), ""]
        lines += [self.body.strip(), ""]
        return "\n".join(lines)


def ms(seconds: float, digits: int = 2) -> str:
    return f"{seconds * 1000:.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(out)


def save_section(section: Section, directory: Path = SECTIONS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{section.name}.json"
    path.write_text(json.dumps(asdict(section), indent=1, default=str) + "\n")
    return path


def load_sections(directory: Path = SECTIONS_DIR) -> dict[str, Section]:
    sections: dict[str, Section] = {}
    for path in sorted(directory.glob("*.json")):
        raw = json.loads(path.read_text())
        raw["goals"] = [Goal(**goal) for goal in raw.get("goals", [])]
        sections[raw["name"]] = Section(**raw)
    return sections


def render_results(header: str, sections: Sequence[Section]) -> str:
    return header.strip() + "\n\n" + "\n".join(section.markdown() for section in sections)
