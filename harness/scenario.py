"""The scenario model: a customer journey as one class in one file of ``scenarios/``.

    class BetSettlement(Scenario[BetSettlementOptions]):
        \"\"\"A dice bet settles exactly: payout, balance, history and the live balance push.\"\"\"

        about = About("bet_settlement", tags=("api", "money"), interval="20s", timeout="60s")

        async def journey(self, run: Run[BetSettlementOptions]) -> None:
            async with run.step("log in"):
                ...

What a scenario is, is declared once, in its ``About`` line, and checked when the class is
created: a missing ``about``, a bad name, tag or duration, or a class setting what ``About``
declares (``name = ...``) is a ``TypeError`` naming the class. Per-scenario settings
are a pydantic model named once, as the type argument (``Scenario[BetSettlementOptions]``): it
becomes ``Options``, its values come from the config's ``scenarios.overrides.<name>.options``,
and ``run.options`` has its type.
"""

from __future__ import annotations

import re
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, get_args, get_origin

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypeVar

if TYPE_CHECKING:
    from harness.run import Run

__all__ = ["About", "Scenario", "NoOptions", "OptionsT", "duration_seconds"]

# A name or tag is a metric label value and a directory name: lower-case words joined by "_".
_WORD = re.compile(r"[a-z][a-z0-9_]*")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
# What a scenario's ``About`` line sets; a class setting one of them itself is refused.
_DECLARED_BY_ABOUT = ("name", "tags", "interval_seconds", "timeout_seconds", "moves_money")


@dataclass(frozen=True)
class About:
    """What a scenario is: its stable ``name`` (the ``scenario`` label of its metrics and the key
    of its config overrides: never rename it), the ``tags`` that select it (``money``: it moves
    money), how often it runs and how long one run may take (``"20s"``, ``"5m"``, ``"1h"``; the
    config may override both)."""

    name: str
    _: KW_ONLY
    tags: tuple[str, ...]
    interval: str
    timeout: str


def duration_seconds(duration: str, what: str = "duration") -> float:
    """``"300ms"``, ``"20s"``, ``"5m"``, ``"1h"`` in seconds; anything else is a ``ValueError``."""
    found = _DURATION.fullmatch(duration) if isinstance(duration, str) else None
    if found is None or float(found[1]) <= 0:
        raise ValueError(f"{what} {duration!r} is not a duration such as '20s', '5m' or '1h'")
    return float(found[1]) * _UNIT_SECONDS[found[2]]


class NoOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


OptionsT = TypeVar("OptionsT", bound=BaseModel, default=BaseModel)


class Scenario(Generic[OptionsT]):
    # Set from the class's own ``about`` (what the engine reads), never by hand.
    about: ClassVar[About]
    name: ClassVar[str] = ""
    tags: ClassVar[tuple[str, ...]] = ()
    interval_seconds: ClassVar[float] = 60.0
    timeout_seconds: ClassVar[float] = 30.0
    moves_money: ClassVar[bool] = False
    Options: ClassVar[type[BaseModel]] = NoOptions

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Reads the class's ``about`` and its options type (``class X(Scenario[XOptions])`` sets
        ``X.Options = XOptions``); a journey tagged ``money`` moves money, and only one."""
        super().__init_subclass__(**kwargs)
        cls._declare(cls.__dict__.get("about"))
        cls.moves_money = "money" in cls.tags
        for base in getattr(cls, "__orig_bases__", ()):
            if get_origin(base) is Scenario:
                [options] = get_args(base)
                if isinstance(options, type) and issubclass(options, BaseModel):
                    cls.Options = options

    @classmethod
    def _declare(cls, about: object) -> None:
        """The ClassVars the engine reads, from ``about``; a missing or bad one names the class."""
        try:
            if about is None:
                raise ValueError("declares no about = About(name, tags=..., interval=..., timeout=...)")
            if not isinstance(about, About):
                raise ValueError(f"about is {type(about).__name__}, not About(...)")
            by_hand = [field for field in _DECLARED_BY_ABOUT if field in cls.__dict__]
            if by_hand:
                raise ValueError(f"sets {', '.join(by_hand)} by hand: its about line declares them")
            if not _WORD.fullmatch(about.name):
                raise ValueError(f"name {about.name!r} is not lower-case words joined by '_'")
            words = isinstance(about.tags, tuple) and all(isinstance(t, str) and _WORD.fullmatch(t) for t in about.tags)
            if not words or len(set(about.tags)) != len(about.tags):
                raise ValueError(f"tags {about.tags!r} are not a tuple of distinct lower-case words")
            interval = duration_seconds(about.interval, "interval")
            timeout = duration_seconds(about.timeout, "timeout")
        except ValueError as exc:
            raise TypeError(f"scenario {cls.__module__}.{cls.__qualname__}: {exc}") from None
        cls.name, cls.tags, cls.interval_seconds, cls.timeout_seconds = about.name, about.tags, interval, timeout

    async def journey(self, run: Run[OptionsT]) -> None:
        raise NotImplementedError

    @classmethod
    def needs_account(cls, options: BaseModel) -> bool:
        """Whether the journey logs in as a synthetic account (the config must then name one)."""
        return True

    @classmethod
    def summary(cls) -> str:
        """The first line of the docstring: what the journey checks."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
