"""Deposits and withdrawals with the ``sandbox`` method: accepted as ``pending``, settled later.

A deposit moves the balance when it completes. A withdrawal holds (debits) its amount when it
is accepted, in the same transaction as the balance check, so two withdrawals racing for the
same funds cannot both pass; a failed withdrawal returns the held amount. The settlement runs
as a background task after the configured delay and reads the payment faults at that moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from sandbox.accounts import Account
from sandbox.api_errors import ApiError
from sandbox.context import SandboxContext
from sandbox.ledger import DatabaseUnavailable, InsufficientFunds, Ledger, Payment
from sandbox.vault_events import publish_balance_changed
from sandbox.vault_rules import check_amount, insufficient_funds, require_sandbox_method

__all__ = ["DOUBLE_SPEND_WINDOW_SECONDS", "Payments"]

log = logging.getLogger("sandbox.vault")

DOUBLE_SPEND_WINDOW_SECONDS = 0.05  # read-to-write gap under ``withdrawal_double_spend``
RETRY_SECONDS = 0.5  # settlement retry while the database is down


class Payments:
    def __init__(self, ctx: SandboxContext, ledger: Ledger) -> None:
        self.ctx = ctx
        self.ledger = ledger
        self._tasks: set[asyncio.Task[None]] = set()

    def deposit(self, account: Account, body: Mapping[str, Any]) -> Payment:
        require_sandbox_method(body, account.synthetic)
        currency, amount = check_amount(body, "deposit", self.ctx.faults)
        payment = self.ledger.open_deposit(account.user_id, currency.code, amount)
        self.ctx.metrics.vault.payment(account, payment.kind, payment.currency, payment.status)
        self._settle_later(payment)
        return payment

    async def withdraw(self, account: Account, body: Mapping[str, Any]) -> Payment:
        require_sandbox_method(body, account.synthetic)
        currency, amount = check_amount(body, "withdrawal", self.ctx.faults)
        assumed = None
        if self.ctx.faults.is_on("withdrawal_double_spend"):
            # The bug: check, then write later from the value read here (a lost update).
            assumed = self.ledger.balance(account.user_id, currency.code)
            if assumed < amount:
                raise insufficient_funds(currency)
            await asyncio.sleep(DOUBLE_SPEND_WINDOW_SECONDS)
        try:
            payment, balance = self.ledger.open_withdrawal(
                account.user_id, currency.code, amount, assumed_balance=assumed
            )
        except InsufficientFunds:
            raise insufficient_funds(currency) from None
        self.ctx.metrics.vault.payment(account, payment.kind, payment.currency, payment.status)
        publish_balance_changed(self.ctx, account.user_id, currency.code, balance, "withdrawal", payment.id)
        self._settle_later(payment)
        return payment

    def payment(self, account: Account, kind: str, payment_id: str) -> Payment:
        payment = self.ledger.payment(payment_id)
        if payment is None or payment.kind != kind or payment.user_id != account.user_id:
            raise ApiError(404, "not_found", f"no such {kind}")
        return payment

    def resume_pending(self) -> None:
        """Settle payments left pending by an earlier run on the same database file."""
        for payment in self.ledger.pending_payments():
            self._settle_later(payment)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _settle_later(self, payment: Payment) -> None:
        task = asyncio.get_running_loop().create_task(self._settle(payment))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle(self, payment: Payment) -> None:
        settings = self.ctx.settings
        delay = settings.deposit_delay_seconds if payment.kind == "deposit" else settings.withdrawal_delay_seconds
        await asyncio.sleep(delay)
        outcome = self._outcome(payment)
        if outcome is None:
            log.info("%s %s stuck pending (fault)", payment.kind, payment.id)
            return
        while True:
            try:
                settled, balance = self.ledger.finish_payment(payment.id, outcome)
                break
            except DatabaseUnavailable:
                await asyncio.sleep(RETRY_SECONDS)
        owner = self.ctx.accounts.by_id.get(settled.user_id)
        self.ctx.metrics.vault.payment(owner, settled.kind, settled.currency, settled.status)
        if balance is not None:
            publish_balance_changed(self.ctx, settled.user_id, settled.currency, balance, settled.kind, settled.id)

    def _outcome(self, payment: Payment) -> str | None:
        """``completed``, ``failed``, or None to leave it pending, as the faults say right now."""
        faults = self.ctx.faults
        if payment.kind == "deposit":
            if faults.is_on("deposit_fails", payment.currency):
                return "failed"
            if faults.is_on("deposit_stuck_pending", payment.currency):
                return None
            return "completed"
        if faults.is_on("withdrawal_fails", payment.currency):
            return "failed"
        return "completed"
