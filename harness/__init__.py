"""The machinery every scenario shares: the run model, execution, scheduling, metrics, reports."""

from __future__ import annotations

from harness.errors import RunSkipped, StepFailure
from harness.run import Run
from harness.scenario import About, Scenario
from probes.result import Reason

__all__ = ["About", "Run", "Reason", "RunSkipped", "Scenario", "StepFailure"]
