"""The scenario model: a customer journey as one class in one file of ``scenarios/``.

    class BetSettlement(Scenario):
        \"\"\"A customer places a dice bet and sees the right balance.\"\"\"
        name = "bet_settlement"
        tags = ("api", "money")  # "money": moves_money is true

        async def journey(self, run: Run[BetOptions]) -> None:
            async with run.step("log in"):
                ...

Metadata is class attributes; per-scenario settings are a pydantic model named once, as the
type argument (``Scenario[BetOptions]``): it becomes ``Options``, its values come from the
config's ``scenarios.overrides.<name>.options``, and ``run.options`` has its type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, get_args, get_origin

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypeVar

if TYPE_CHECKING:
    from harness.run import Run

__all__ = ["Scenario", "NoOptions", "OptionsT"]


class NoOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


OptionsT = TypeVar("OptionsT", bound=BaseModel, default=BaseModel)


class Scenario(Generic[OptionsT]):
    name: ClassVar[str] = ""
    tags: ClassVar[tuple[str, ...]] = ()
    interval_seconds: ClassVar[float] = 60.0
    timeout_seconds: ClassVar[float] = 30.0
    moves_money: ClassVar[bool] = False
    Options: ClassVar[type[BaseModel]] = NoOptions

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """``class X(Scenario[XOptions])`` sets ``X.Options = XOptions``: the options are named once;
        ``moves_money`` follows the ``money`` tag unless the class says otherwise."""
        super().__init_subclass__(**kwargs)
        if "moves_money" not in cls.__dict__:  # a journey tagged "money" moves money, and only one
            cls.moves_money = "money" in cls.tags
        for base in getattr(cls, "__orig_bases__", ()):
            if get_origin(base) is Scenario:
                [options] = get_args(base)
                if isinstance(options, type) and issubclass(options, BaseModel):
                    cls.Options = options

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
