"""Synthetic-account sessions: a token is reused until it expires, never one login per run."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

__all__ = ["Session", "TokenCache"]


@dataclass(frozen=True)
class Session:
    username: str
    user_id: str
    token: str
    display_name: str | None = None  # as the login answer gives it, when it does (not in the contract)


class TokenCache:
    """(target, username) -> Session, with one lock per key so concurrent runs log in once."""

    def __init__(self) -> None:
        self._sessions: dict[tuple[str, str], Session] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def get(self, target: str, username: str) -> Session | None:
        return self._sessions.get((target, username))

    def lock(self, target: str, username: str) -> asyncio.Lock:
        return self._locks.setdefault((target, username), asyncio.Lock())

    def put(self, target: str, session: Session) -> None:
        self._sessions[(target, session.username)] = session

    def forget(self, target: str, username: str) -> None:
        self._sessions.pop((target, username), None)
