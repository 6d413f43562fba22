"""Room-Service pushes the journeys await: a ``balance:update`` for one money move, with its balance."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from harness import Run
from probes.result import Push
from probes.socketio import SocketClient
from scenarios.kit.money import decimal

__all__ = ["Push", "expect_balance_push", "expect_push"]


async def expect_push(
    run: Run[Any], socket: SocketClient, event: str, where: dict[str, Any], timeout: float, since: float | None = None
) -> Push:
    """The push of ``event`` matching ``where``; with ``since``, its latency goes to ``synthetic_push_latency``."""
    push = await run.push(socket, event, where=where, timeout=timeout)
    if since is not None:
        run.metrics.push_latency(event, max(0.0, push.arrived_at - since))
    return push


async def expect_balance_push(
    run: Run[Any],
    socket: SocketClient,
    ref_id: str,
    code: str,
    reason: str,
    balance: Decimal,
    timeout: float,
    since: float | None = None,
) -> Push:
    """The ``balance:update`` of the money move ``ref_id``: its currency, its reason, the new balance."""
    event = run.contract.events.balance_update
    push = await expect_push(run, socket, event, {"ref_id": ref_id}, timeout, since)
    run.expect_equal(f"{event} currency", push.payload.get("currency"), code)
    run.expect_equal(f"{event} reason", push.payload.get("reason"), reason)
    pushed = decimal(push.payload.get("balance"), f"pushed {code} balance")
    run.expect_equal(f"{code} balance pushed", pushed, balance)
    return push
