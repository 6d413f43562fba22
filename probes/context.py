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
    """Correlation for one run: every request carries ``X-Synthetic-Probe`` and a ``traceparent``."""

    run_id: str = field(default_factory=lambda: secrets.token_hex(8))
    trace_id: str = field(default_factory=new_trace_id)
    probe_header: str = "X-Synthetic-Probe"
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("probe"))

    def headers(self) -> dict[str, str]:
        """Fresh correlation headers: one trace per run, a new span id per request."""
        span_id = secrets.token_hex(8)
        return {self.probe_header: self.run_id, "traceparent": f"00-{self.trace_id}-{span_id}-01"}
