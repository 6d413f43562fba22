"""What a probe gets from the runner besides its target and module: correlation and a logger."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field

__all__ = ["ProbeContext", "new_trace_id"]


def new_trace_id() -> str:
    return secrets.token_hex(16)


@dataclass
class ProbeContext:
    """Correlation for one run: every request carries ``X-Synthetic-Probe`` and a ``traceparent``.

    The runner sets ``parent_id`` to the span of the step under way (``harness.tracing``), so
    the platform's spans nest under that step; without it each request gets a fresh span id.
    """

    run_id: str = field(default_factory=lambda: secrets.token_hex(8))
    trace_id: str = field(default_factory=new_trace_id)
    probe_header: str = "X-Synthetic-Probe"
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("probe"))
    parent_id: str | None = None
    sampled: bool = True

    def headers(self) -> dict[str, str]:
        """Correlation headers for the next request: the run's trace, the step's span as parent."""
        parent_id = self.parent_id or secrets.token_hex(8)
        flags = "01" if self.sampled else "00"
        return {self.probe_header: self.run_id, "traceparent": f"00-{self.trace_id}-{parent_id}-{flags}"}
