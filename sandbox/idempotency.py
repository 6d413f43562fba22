"""``Idempotency-Key`` on money-moving POSTs: a replay gets the first answer and moves nothing.

Keys are scoped to (user, endpoint, key) and the first answer is kept in the ledger's SQLite
file for 24 hours. Requests with the same key are serialised by an in-process lock, so two
copies arriving at once still move money once: the second waits and gets the stored answer.
Server errors (5xx) are not kept, so a retry after an outage can still succeed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sandbox.api_errors import ApiError
from sandbox.faults import Faults
from sandbox.ledger import Ledger, StoredAnswer

__all__ = ["Answer", "Idempotency", "KeyedLocks", "fingerprint"]

RETENTION_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255
_PURGE_EVERY = 500  # stored answers between two purges of expired ones


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: Any
    replayed: bool = False


def fingerprint(body: object) -> str:
    """The same JSON body (whatever its key order or spacing) gives the same fingerprint."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class KeyedLocks:
    """One ``asyncio.Lock`` per key, dropped as soon as nobody holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class Idempotency:
    def __init__(self, ledger: Ledger, faults: Faults) -> None:
        self.ledger = ledger
        self.faults = faults
        self.locks = KeyedLocks()
        self._stored_since_purge = 0

    async def run(
        self,
        user_id: str,
        endpoint: str,
        key: str | None,
        body: object,
        action: Callable[[], Awaitable[Answer]],
    ) -> Answer:
        """Run ``action`` once per key; replays get its first answer (or 422 for another body)."""
        if key is None or self.faults.is_on("idempotency_ignored"):
            return await _answer_of(action)
        if not key or len(key) > MAX_KEY_LENGTH:
            message = f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters"
            raise ApiError(422, "invalid_request", message)
        request_print = fingerprint(body)
        async with self.locks.hold((user_id, endpoint, key)):
            stored = self.ledger.stored_answer(user_id, endpoint, key)
            if stored is not None:
                if stored.fingerprint != request_print:
                    raise ApiError(
                        422,
                        "idempotency_key_reused",
                        "this Idempotency-Key was used with a different request",
                    )
                return Answer(stored.status_code, json.loads(stored.body), replayed=True)
            answer = await _answer_of(action)
            if answer.status_code < 500:
                kept = StoredAnswer(request_print, answer.status_code, json.dumps(answer.body))
                self.ledger.store_answer(user_id, endpoint, key, kept, time.time())
                self._purge_now_and_then()
            return answer

    def _purge_now_and_then(self) -> None:
        self._stored_since_purge += 1
        if self._stored_since_purge >= _PURGE_EVERY:
            self._stored_since_purge = 0
            self.ledger.forget_answers_before(time.time() - RETENTION_SECONDS)


async def _answer_of(action: Callable[[], Awaitable[Answer]]) -> Answer:
    """The action's answer, with a refusal (4xx) turned into an answer that can be replayed."""
    try:
        return await action()
    except ApiError as refusal:
        if refusal.status_code >= 500:
            raise
        return Answer(refusal.status_code, refusal.body())
