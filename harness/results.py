"""What a run leaves behind: one record per step and one result per run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["START_DELAY_CAUSES", "Attempt", "Outcome", "RunResult", "ScheduledStart", "StepRecord"]


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


START_DELAY_CAUSES = ("scheduler", "browser_slot", "run_slot", "setup")
"""Why a scheduled run started after its planned time (``ScheduledStart.delays``)."""


@dataclass(frozen=True)
class ScheduledStart:
    """Serve mode's moments before a run's clock starts (unix times): the drift, measured at its source."""

    planned_at: float  # the run time APScheduler planned
    fired_at: float  # the job began
    browser_at: float  # a browser journey got one of ``runner.browser.max_concurrent_runs`` (else: fired_at)
    slot_at: float  # it got one of ``runner.max_concurrent_runs``

    def delays(self, started_at: float) -> dict[str, float]:
        """Started minus planned, by cause: APScheduler's wake-up and the loop (``scheduler``), the waits
        for a browser (``browser_slot``) and for a run slot (``run_slot``: the runner saturated), building
        the run (``setup``)."""
        return {
            "scheduler": self.fired_at - self.planned_at,
            "browser_slot": self.browser_at - self.fired_at,
            "run_slot": self.slot_at - self.browser_at,
            "setup": started_at - self.slot_at,
        }


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
    planned_at: float | None = None
    """Serve mode: the unix time the schedule planned this run for (None: run on demand)."""
    start_delay: dict[str, float] = field(default_factory=dict)
    """Serve mode: started minus planned, in seconds, by cause (``START_DELAY_CAUSES``)."""

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
