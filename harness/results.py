"""What a run leaves behind: one record per step and one result per run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Outcome", "StepRecord", "RunResult"]


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    TIMEOUT = "timeout"
    ABORTED = "aborted"
    SKIPPED = "skipped"


@dataclass
class StepRecord:
    name: str
    duration_seconds: float
    success: bool
    reason: str | None = None
    message: str = ""


@dataclass
class RunResult:
    scenario: str
    target: str
    region: str
    run_id: str
    trace_id: str
    outcome: Outcome
    started_at: float  # unix time
    duration_seconds: float
    steps: list[StepRecord] = field(default_factory=list)
    failed_step: str | None = None
    reason: str | None = None
    message: str = ""
    attempts: int = 1
    flaky: bool = False
    artifacts_dir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.SUCCESS

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcome"] = str(self.outcome)
        return data
