"""Synthetic-account sessions: a token is reused until it expires, never one login per run."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator

__all__ = ["LoginAnswer", "Session", "TokenCache", "login_answer_problem"]


class LoginAnswer(BaseModel):
    """The contract's login answer, typed: a token that is a string, a user id that is there."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    token: StrictStr = Field(min_length=1, repr=False)
    user_id: StrictStr | StrictInt
    display_name: str | None = None  # as the login answer gives it, when it does (not in the contract)

    @field_validator("display_name", mode="before")
    @classmethod
    def _shown_only_if_text(cls, value: Any) -> Any:
        return value if isinstance(value, str) else None


def login_answer_problem(body: Any) -> tuple[LoginAnswer | None, str]:
    """The typed answer, or None and what is wrong with it (field names and types, never values)."""
    try:
        return LoginAnswer.model_validate(body), ""
    except ValidationError as exc:
        first = exc.errors()[0]
        place = str(first["loc"][0]) if first["loc"] else "the answer"
        if first["type"] == "missing":
            return None, f"{place}: missing"
        return None, f"{place}: {first['msg']} (got {type(first['input']).__name__})"


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
