"""An in-process event bus standing in for Kafka (Amazon MSK).

No Kafka broker can be installed on the build machines, so the sandbox's services talk
through this bus instead: each topic is an ``asyncio.Queue`` with one consumer task per
subscriber and a configurable delivery lag. It is a stand-in, not a Kafka client: it keeps
order per topic and delivers at least once to each subscriber while it is up; while the
``kafka_down`` fault is on, publishing fails and nothing is delivered, as for a lost broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sandbox.faults import Faults

__all__ = ["EventBus", "BusDown", "Handler"]

Handler = Callable[[dict[str, Any]], Awaitable[None]]

log = logging.getLogger("sandbox.bus")

# Topics the sandbox uses (names as a real deployment would name its MSK topics).
BETS_SETTLED = "bets.settled"  # Vault -> Concierge: {"user_id", "bet_id", "stake_usd", "synthetic"}
BALANCE_CHANGED = "balance.changed"  # Vault -> Room-Service: {"user_id", "currency", "balance", "reason", "ref_id"}
LEVEL_UP = "rewards.level_up"  # Concierge -> Room-Service: {"user_id", "level", "name"}


class BusDown(RuntimeError):
    """Publishing while the broker is unreachable (the ``kafka_down`` fault)."""


class EventBus:
    def __init__(self, faults: Faults, lag_seconds: float = 0.0) -> None:
        self.faults = faults
        self.lag_seconds = lag_seconds
        self._subscribers: dict[str, list[asyncio.Queue[tuple[float, dict[str, Any]]]]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def subscribe(self, topic: str, handler: Handler) -> None:
        """Register a consumer; it starts delivering once ``start()`` has run (or at once if running)."""
        queue: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
        self._subscribers.setdefault(topic, []).append(queue)
        self._tasks.append(asyncio.get_running_loop().create_task(self._consume(topic, queue, handler)))

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        if self.faults.is_on("kafka_down"):
            raise BusDown("Kafka connection failed: broker unreachable")
        now = time.monotonic()
        for queue in self._subscribers.get(topic, []):
            queue.put_nowait((now, dict(event)))

    def check(self) -> tuple[bool, str]:
        """The health check: is the broker reachable?"""
        if self.faults.is_on("kafka_down"):
            return False, "Kafka connection failed: broker unreachable"
        backlog = sum(q.qsize() for qs in self._subscribers.values() for q in qs)
        return True, f"connected, {backlog} events in flight"

    async def _consume(self, topic: str, queue: asyncio.Queue[tuple[float, dict[str, Any]]], handler: Handler) -> None:
        while True:
            published_at, event = await queue.get()
            # While the broker is down, consumers receive nothing; they resume when it is back.
            while self.faults.is_on("kafka_down"):
                await asyncio.sleep(0.05)
            extra = self.faults.number("rewards_lag") if topic == BETS_SETTLED else 0.0
            due = published_at + self.lag_seconds + extra
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                await handler(event)
            except Exception:  # a consumer's bug must not kill the topic
                log.exception("consumer of %s failed", topic)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
