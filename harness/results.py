"""What a run leaves behind: one record per step and one result per run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Attempt", "Outcome", "StepRecord", "RunResult"]


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
class Attempt:
    """An earlier, failed attempt of a retried run: kept, so a flaky pass still shows what failed."""

    run_id: str
    trace_id: str
    outcome: Outcome
    duration_seconds: float
    failed_step: str | None
    reason: str | None
    message: str
    artifacts_dir: str | None = None

    def describe(self, with_artifacts: bool = True) -> str:
        """One line for JUnit text and summaries: outcome, step, reason, message, ids."""
        if self.outcome is Outcome.SUCCESS:
            return f"success (run {self.run_id}, trace {self.trace_id})"
        where = f" at step '{self.failed_step}'" if self.failed_step else ""
        line = f"{self.outcome}{where}: {self.reason}: {self.message} (run {self.run_id}, trace {self.trace_id})"
        return line + (f" artifacts: {self.artifacts_dir}" if self.artifacts_dir and with_artifacts else "")


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
    artifacts_url: str | None = None  # where the artifacts were uploaded (runner.upload)
    extra: dict[str, Any] = field(default_factory=dict)
    earlier_attempts: list[Attempt] = field(default_factory=list)
    """Every failed attempt before this one, oldest first (``--retries``)."""

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.SUCCESS

    def as_attempt(self) -> Attempt:
        return Attempt(
            self.run_id,
            self.trace_id,
            self.outcome,
            self.duration_seconds,
            self.failed_step,
            self.reason,
            self.message,
            self.artifacts_dir,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcome"] = str(self.outcome)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """The inverse of ``to_dict`` (run history reads its records back with it)."""
        fields = dict(data)
        fields["outcome"] = Outcome(fields["outcome"])
        fields["steps"] = [StepRecord(**step) for step in fields.get("steps", [])]
        fields["earlier_attempts"] = [
            Attempt(**{**attempt, "outcome": Outcome(attempt["outcome"])})
            for attempt in fields.get("earlier_attempts", [])
        ]
        return cls(**fields)
