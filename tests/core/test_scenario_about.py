"""A scenario's ``About`` line: what the engine reads, and a bad one refused when the class is made."""

from __future__ import annotations

import pytest

from harness import About, Scenario
from harness.scenario import duration_seconds


class Settles(Scenario):
    """A declared scenario (never discovered: it lives in the tests)."""

    about = About("settles", tags=("api", "money"), interval="20s", timeout="1.5m")


def test_the_about_line_is_what_the_engine_reads() -> None:
    assert (Settles.name, Settles.tags) == ("settles", ("api", "money"))
    assert (Settles.interval_seconds, Settles.timeout_seconds) == (20.0, 90.0)
    assert Settles.moves_money  # tagged "money"


@pytest.mark.parametrize(
    ("duration", "seconds"), [("300ms", 0.3), ("20s", 20.0), ("5m", 300.0), ("1h", 3600.0), ("2.5s", 2.5)]
)
def test_durations(duration: str, seconds: float) -> None:
    assert duration_seconds(duration) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("about", "said"),
    [
        (About("Bet Settlement", tags=("api",), interval="20s", timeout="1m"), "name 'Bet Settlement' is not"),
        (About("bets", tags=("api", "api"), interval="20s", timeout="1m"), "tags ('api', 'api') are not"),
        (About("bets", tags=("API",), interval="20s", timeout="1m"), "tags ('API',) are not"),
        (About("bets", tags="api", interval="20s", timeout="1m"), "tags 'api' are not a tuple"),  # type: ignore[arg-type]
        (About("bets", tags=("api",), interval="20", timeout="1m"), "interval '20' is not a duration"),
        (About("bets", tags=("api",), interval="20s", timeout="0s"), "timeout '0s' is not a duration"),
        (About("bets", tags=("api",), interval="20s", timeout="1 min"), "timeout '1 min' is not a duration"),
        ("bets", "about is str, not About(...)"),
    ],
)
def test_a_bad_about_names_the_class_and_what_is_wrong(about: object, said: str) -> None:
    with pytest.raises(TypeError) as raised:
        type("BadBets", (Scenario,), {"about": about})
    assert str(raised.value).startswith(f"scenario {__name__}.BadBets: {said}")


def test_a_scenario_in_the_old_style_gets_one_line_naming_it() -> None:
    """Plain class attributes (``name = ...``) are no longer read: a class without ``about`` is refused."""
    with pytest.raises(TypeError) as raised:
        type("OldBets", (Scenario,), {"name": "old_bets", "timeout_seconds": 30.0})
    assert str(raised.value) == (
        f"scenario {__name__}.OldBets: declares no about = About(name, tags=..., interval=..., timeout=...)"
    )


def test_an_about_line_is_not_overridden_by_hand() -> None:
    with pytest.raises(TypeError) as raised:
        type("Bets", (Settles,), {"about": Settles.about, "name": "bets", "moves_money": False})
    said = "sets name, moves_money by hand: its about line declares them"
    assert str(raised.value) == f"scenario {__name__}.Bets: {said}"
