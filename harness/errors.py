"""How a run ends other than by passing.

    Exception
     +-- StepFailure      the target misbehaved: a step failed with a bounded Reason
     +-- RunSkipped       the run must not go ahead (money not allowed, budget spent)

Anything else raised inside a scenario is a bug in the scenario, recorded as reason ``error``.
"""

from __future__ import annotations

from probes.result import Reason

__all__ = ["StepFailure", "RunSkipped"]


class StepFailure(Exception):
    """A step saw the target fail: ``reason`` is bounded (a metric label), ``message`` is short."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


class RunSkipped(Exception):
    """The run is skipped, with a clear line saying why (counted as ``skipped``)."""
