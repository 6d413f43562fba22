"""The scenario model: a customer journey as one class in one file of ``scenarios/``.

    class BetSettlement(Scenario):
        \"\"\"A customer places a dice bet and sees the right balance.\"\"\"
        name = "bet_settlement"
        tags = ("api", "money")
        moves_money = True

        async def journey(self, run: Run) -> None:
            async with run.step("log in"):
                ...

Metadata is class attributes; per-scenario settings are a pydantic ``Options`` model whose
values come from the config's ``scenarios.overrides.<name>.options``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from harness.run import Run

__all__ = ["Scenario", "NoOptions"]


class NoOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Scenario:
    name: ClassVar[str] = ""
    tags: ClassVar[tuple[str, ...]] = ()
    interval_seconds: ClassVar[float] = 60.0
    timeout_seconds: ClassVar[float] = 30.0
    moves_money: ClassVar[bool] = False
    Options: ClassVar[type[BaseModel]] = NoOptions

    async def journey(self, run: Run) -> None:
        raise NotImplementedError

    @classmethod
    def needs_account(cls, options: BaseModel) -> bool:
        """Whether the journey logs in as a synthetic account (the config must then name one)."""
        return True

    @classmethod
    def summary(cls) -> str:
        """The first line of the docstring: what the journey checks."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
