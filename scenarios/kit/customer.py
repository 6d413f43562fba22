"""The base of the toolkit's per-service objects: the run, and the customer's client of one service."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from harness import Run
from harness.clients import ServiceClient

__all__ = ["CustomerOf"]


class CustomerOf:
    """The synthetic customer at one service (``service``: its name in the target's URLs)."""

    service: ClassVar[str]

    def __init__(self, run: Run[Any], client: ServiceClient) -> None:
        self.run = run
        self.client = client

    @classmethod
    async def log_in(cls, run: Run[Any]) -> Self:
        """Logs the customer in (once per run; the token is shared) and returns its view."""
        return cls(run, await run.as_customer(cls.service))
