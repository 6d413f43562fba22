"""Vault's ledger: balances, history, bets and payments in a real SQLite file.

Every method is one SQLite transaction and runs to completion without yielding to the event
loop, so a check and the write that depends on it (balance >= stake, then debit) are atomic
for the whole sandbox. Amounts are stored as decimal TEXT in the currency's places and are
``Decimal`` in Python; nothing here ever sees a float.

While the ``db_down`` fault is on, every method raises ``DatabaseUnavailable`` before it
touches the file, as a lost connection would. The fault meets requests only: opening the ledger
(schema and opening balances) works with it on, so a sandbox can start already faulty.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sandbox.faults import Faults
from sandbox.money import CURRENCIES, format_amount, plain

__all__ = [
    "Bet",
    "DatabaseUnavailable",
    "InsufficientFunds",
    "Ledger",
    "Payment",
    "StoredAnswer",
    "Transaction",
    "new_id",
    "now_iso",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS balances (
    user_id TEXT NOT NULL, currency TEXT NOT NULL, amount TEXT NOT NULL,
    PRIMARY KEY (user_id, currency));
CREATE TABLE IF NOT EXISTS transactions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL,
    type TEXT NOT NULL, currency TEXT NOT NULL, amount TEXT NOT NULL,
    balance_after TEXT NOT NULL, ref_id TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS transactions_by_user ON transactions (user_id, seq);
CREATE TABLE IF NOT EXISTS bets (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, game TEXT NOT NULL, selection TEXT NOT NULL,
    currency TEXT NOT NULL, stake TEXT NOT NULL, outcome TEXT NOT NULL,
    multiplier TEXT NOT NULL, payout TEXT NOT NULL, balance_after TEXT NOT NULL,
    stake_usd TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, user_id TEXT NOT NULL, currency TEXT NOT NULL,
    amount TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
    user_id TEXT NOT NULL, endpoint TEXT NOT NULL, key TEXT NOT NULL,
    fingerprint TEXT NOT NULL, status_code INTEGER NOT NULL, body TEXT NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY (user_id, endpoint, key));
"""


class DatabaseUnavailable(RuntimeError):
    """The ledger's database cannot be reached (the ``db_down`` fault)."""


class InsufficientFunds(Exception):
    """The balance is below what the operation needs; nothing was written."""


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Transaction:
    id: str
    type: str  # deposit | withdrawal | bet_debit | bet_credit
    currency: str
    amount: Decimal  # signed: debits negative
    balance_after: Decimal
    ref_id: str
    created_at: str

    def public(self) -> dict[str, object]:
        currency = CURRENCIES[self.currency]
        return {
            "id": self.id,
            "type": self.type,
            "currency": self.currency,
            "amount": format_amount(self.amount, currency),
            "balance_after": format_amount(self.balance_after, currency),
            "ref_id": self.ref_id,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class Bet:
    id: str
    user_id: str
    game: str
    selection: str
    currency: str
    stake: Decimal
    outcome: str  # win | loss
    multiplier: Decimal
    payout: Decimal
    balance_after: Decimal
    stake_usd: Decimal
    status: str  # settled | rolled_back
    created_at: str

    def public(self) -> dict[str, object]:
        currency = CURRENCIES[self.currency]
        return {
            "bet_id": self.id,
            "status": self.status,
            "game": self.game,
            "selection": self.selection,
            "currency": self.currency,
            "stake": format_amount(self.stake, currency),
            "outcome": self.outcome,
            "multiplier": plain(self.multiplier),
            "payout": format_amount(self.payout, currency),
            "balance_after": format_amount(self.balance_after, currency),
            "stake_usd": plain(self.stake_usd),
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class Payment:
    """A deposit or a withdrawal."""

    id: str
    kind: str  # deposit | withdrawal
    user_id: str
    currency: str
    amount: Decimal
    status: str  # pending | completed | failed
    created_at: str
    updated_at: str

    def public(self) -> dict[str, object]:
        return {
            f"{self.kind}_id": self.id,
            "status": self.status,
            "currency": self.currency,
            "amount": format_amount(self.amount, CURRENCIES[self.currency]),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer to an idempotent request, kept to be replayed."""

    fingerprint: str
    status_code: int
    body: str


class Ledger:
    def __init__(
        self,
        path: str | Path,
        faults: Faults,
        opening_balances: Iterable[tuple[str, dict[str, Decimal]]] = (),
    ) -> None:
        self.path = Path(path)
        self.faults = faults
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        with self._locked_transaction() as db:
            for user_id, balances in opening_balances:
                for code in CURRENCIES:
                    amount = balances.get(code, Decimal(0))
                    db.execute(
                        "INSERT OR IGNORE INTO balances VALUES (?, ?, ?)",
                        (user_id, code, format_amount(amount, CURRENCIES[code])),
                    )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One write transaction for a request: refused while the ``db_down`` fault is on."""
        if self.faults.is_on("db_down"):
            raise DatabaseUnavailable("database unreachable: connection refused")
        return self._locked_transaction()

    @contextmanager
    def _locked_transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``); rolled back if the block raises."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def check(self) -> tuple[bool, str]:
        """The health check: a real ``SELECT 1`` on the file."""
        if self.faults.is_on("db_down"):
            return False, "database unreachable: connection refused"
        try:
            with self._lock:
                self._db.execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            return False, f"database error: {exc}"
        return True, "SELECT 1 ok"

    # -- balances and history ------------------------------------------------------------

    def balances(self, user_id: str) -> dict[str, Decimal]:
        with self._transaction() as db:
            rows = db.execute("SELECT currency, amount FROM balances WHERE user_id = ?", (user_id,)).fetchall()
        found = {code: Decimal(amount) for code, amount in rows}
        return {code: found.get(code, Decimal(0)) for code in CURRENCIES}

    def balance(self, user_id: str, currency: str) -> Decimal:
        with self._transaction() as db:
            return _balance(db, user_id, currency)

    def transactions(self, user_id: str, limit: int) -> list[Transaction]:
        with self._transaction() as db:
            rows = db.execute(
                "SELECT id, type, currency, amount, balance_after, ref_id, created_at"
                " FROM transactions WHERE user_id = ? ORDER BY seq DESC LIMIT ?",
                (user_id, limit),
            ).fetchall()
        return [
            Transaction(tid, kind, cur, Decimal(amount), Decimal(after), ref, created)
            for tid, kind, cur, amount, after, ref, created in rows
        ]

    # -- bets ----------------------------------------------------------------------------

    def settle_bet(self, bet: Bet, *, debit: Decimal, credit: Decimal, write_history: bool) -> Bet:
        """Book a settled bet: debit (and credit on a win), atomically checked against the balance.

        ``debit``/``credit`` are what is really booked (they differ from stake/payout only under
        the ``bet_wrong_payout`` fault); the returned bet carries the real ``balance_after``.
        Raises ``InsufficientFunds`` when the balance is below the stake.
        """
        with self._transaction() as db:
            before = _balance(db, bet.user_id, bet.currency)
            if before < bet.stake:
                raise InsufficientFunds
            after_debit = before - debit
            after = after_debit + credit
            _set_balance(db, bet.user_id, bet.currency, after)
            if write_history:
                _history(db, bet.user_id, "bet_debit", bet.currency, -debit, after_debit, bet.id)
                if credit:
                    _history(db, bet.user_id, "bet_credit", bet.currency, credit, after, bet.id)
            settled = replace(bet, balance_after=after)
            db.execute(
                "INSERT INTO bets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    settled.id,
                    settled.user_id,
                    settled.game,
                    settled.selection,
                    settled.currency,
                    plain(settled.stake),
                    settled.outcome,
                    plain(settled.multiplier),
                    plain(settled.payout),
                    plain(settled.balance_after),
                    plain(settled.stake_usd),
                    settled.status,
                    settled.created_at,
                ),
            )
        return settled

    def bet(self, bet_id: str) -> Bet | None:
        with self._transaction() as db:
            row = db.execute("SELECT * FROM bets WHERE id = ?", (bet_id,)).fetchone()
        return _bet_from_row(row) if row else None

    def reverse_bet(self, bet: Bet) -> tuple[Bet, Decimal]:
        """Undo a bet (only reachable under the ``rollback_allowed`` fault): stake back, payout out.

        Returns the bet marked ``rolled_back`` and the new balance.
        """
        with self._transaction() as db:
            balance = _balance(db, bet.user_id, bet.currency)
            balance += bet.stake
            _history(db, bet.user_id, "bet_credit", bet.currency, bet.stake, balance, bet.id)
            if bet.payout:
                balance -= bet.payout
                _history(db, bet.user_id, "bet_debit", bet.currency, -bet.payout, balance, bet.id)
            _set_balance(db, bet.user_id, bet.currency, balance)
            db.execute("UPDATE bets SET status = 'rolled_back' WHERE id = ?", (bet.id,))
        return replace(bet, status="rolled_back"), balance

    # -- deposits and withdrawals --------------------------------------------------------

    def open_deposit(self, user_id: str, currency: str, amount: Decimal) -> Payment:
        """Record a pending deposit; the balance moves only when it completes."""
        payment = _new_payment("deposit", user_id, currency, amount)
        with self._transaction() as db:
            _insert_payment(db, payment)
        return payment

    def open_withdrawal(
        self,
        user_id: str,
        currency: str,
        amount: Decimal,
        *,
        assumed_balance: Decimal | None = None,
    ) -> tuple[Payment, Decimal]:
        """Hold a withdrawal's amount at once: check the balance and debit it in one transaction.

        ``assumed_balance`` is the ``withdrawal_double_spend`` bug: the caller read the balance
        earlier and the debit is written from that stale value, unchecked (a lost update).
        Returns the pending withdrawal and the balance after the hold.
        """
        payment = _new_payment("withdrawal", user_id, currency, amount)
        with self._transaction() as db:
            if assumed_balance is None:
                before = _balance(db, user_id, currency)
                if before < amount:
                    raise InsufficientFunds
            else:
                before = assumed_balance
            after = before - amount
            _set_balance(db, user_id, currency, after)
            _history(db, user_id, "withdrawal", currency, -amount, after, payment.id)
            _insert_payment(db, payment)
        return payment, after

    def payment(self, payment_id: str) -> Payment | None:
        with self._transaction() as db:
            row = db.execute("SELECT * FROM payments WHERE id = ?", (payment_id,)).fetchone()
        return _payment_from_row(row) if row else None

    def pending_payments(self) -> list[Payment]:
        with self._transaction() as db:
            rows = db.execute("SELECT * FROM payments WHERE status = 'pending'").fetchall()
        return [_payment_from_row(row) for row in rows]

    def finish_payment(self, payment_id: str, status: str) -> tuple[Payment, Decimal | None]:
        """Move a pending payment to ``completed`` or ``failed`` and book what that means.

        A completed deposit credits the balance; a failed withdrawal returns the held amount.
        Returns the payment and the new balance, or None when the balance did not move.
        """
        with self._transaction() as db:
            row = db.execute("SELECT * FROM payments WHERE id = ?", (payment_id,)).fetchone()
            payment = _payment_from_row(row)
            if payment.status != "pending":
                return payment, None
            moved: Decimal | None = None
            if (payment.kind, status) in (("deposit", "completed"), ("withdrawal", "failed")):
                moved = _balance(db, payment.user_id, payment.currency) + payment.amount
                _set_balance(db, payment.user_id, payment.currency, moved)
                _history(
                    db,
                    payment.user_id,
                    payment.kind,
                    payment.currency,
                    payment.amount,
                    moved,
                    payment.id,
                )
            updated = now_iso()
            db.execute(
                "UPDATE payments SET status = ?, updated_at = ? WHERE id = ?",
                (status, updated, payment.id),
            )
        return replace(payment, status=status, updated_at=updated), moved

    # -- idempotency ---------------------------------------------------------------------

    def stored_answer(self, user_id: str, endpoint: str, key: str) -> StoredAnswer | None:
        with self._transaction() as db:
            row = db.execute(
                "SELECT fingerprint, status_code, body FROM idempotency WHERE user_id = ? AND endpoint = ? AND key = ?",
                (user_id, endpoint, key),
            ).fetchone()
        return StoredAnswer(row[0], row[1], row[2]) if row else None

    def store_answer(self, user_id: str, endpoint: str, key: str, answer: StoredAnswer, now: float) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?, ?, ?)",
                (user_id, endpoint, key, answer.fingerprint, answer.status_code, answer.body, now),
            )

    def forget_answers_before(self, cutoff: float) -> int:
        with self._transaction() as db:
            return db.execute("DELETE FROM idempotency WHERE created_at < ?", (cutoff,)).rowcount


def _balance(db: sqlite3.Connection, user_id: str, currency: str) -> Decimal:
    row = db.execute("SELECT amount FROM balances WHERE user_id = ? AND currency = ?", (user_id, currency)).fetchone()
    return Decimal(row[0]) if row else Decimal(0)


def _set_balance(db: sqlite3.Connection, user_id: str, currency: str, amount: Decimal) -> None:
    db.execute(
        "INSERT INTO balances VALUES (?, ?, ?) ON CONFLICT (user_id, currency) DO UPDATE SET amount = excluded.amount",
        (user_id, currency, format_amount(amount, CURRENCIES[currency])),
    )


def _history(
    db: sqlite3.Connection,
    user_id: str,
    kind: str,
    currency: str,
    amount: Decimal,
    balance_after: Decimal,
    ref_id: str,
) -> None:
    code = CURRENCIES[currency]
    db.execute(
        "INSERT INTO transactions (id, user_id, type, currency, amount, balance_after, ref_id,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            new_id("tx"),
            user_id,
            kind,
            currency,
            format_amount(amount, code),
            format_amount(balance_after, code),
            ref_id,
            now_iso(),
        ),
    )


def _new_payment(kind: str, user_id: str, currency: str, amount: Decimal) -> Payment:
    created = now_iso()
    prefix = "dep" if kind == "deposit" else "wd"
    return Payment(new_id(prefix), kind, user_id, currency, amount, "pending", created, created)


def _insert_payment(db: sqlite3.Connection, payment: Payment) -> None:
    db.execute(
        "INSERT INTO payments VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            payment.id,
            payment.kind,
            payment.user_id,
            payment.currency,
            plain(payment.amount),
            payment.status,
            payment.created_at,
            payment.updated_at,
        ),
    )


def _payment_from_row(row: tuple[str, ...]) -> Payment:
    pid, kind, user_id, currency, amount, status, created, updated = row
    return Payment(pid, kind, user_id, currency, Decimal(amount), status, created, updated)


def _bet_from_row(row: tuple[str, ...]) -> Bet:
    (bid, user_id, game, selection, currency, stake, outcome, multiplier, payout, after, usd,
     status, created) = row  # fmt: skip
    return Bet(
        bid,
        user_id,
        game,
        selection,
        currency,
        Decimal(stake),
        outcome,
        Decimal(multiplier),
        Decimal(payout),
        Decimal(after),
        Decimal(usd),
        status,
        created,
    )
