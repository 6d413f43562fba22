"""First runs of one interval are spread evenly, so journeys sharing a few browsers do not come due together."""

from __future__ import annotations

import random

import pytest

from harness.start_spread import first_run_offsets


def _gaps(offsets: list[float], around: float) -> list[float]:
    ordered = sorted(offsets)
    return [b - a for a, b in zip(ordered, ordered[1:], strict=False)] + [ordered[0] + around - ordered[-1]]


@pytest.mark.parametrize("seed", range(20))
def test_jobs_of_one_interval_are_an_equal_step_apart_within_it(seed: int) -> None:
    browser = {f"spa_{n}@{t}": 20.0 for n in range(6) for t in ("a", "b")}
    offsets = first_run_offsets(browser, max_offset_seconds=60, rng=random.Random(seed))
    assert all(0 <= o < 20 for o in offsets.values()), offsets
    assert _gaps(list(offsets.values()), 20) == pytest.approx([20 / 12] * 12)


def test_each_interval_is_spread_on_its_own_and_the_spread_is_capped() -> None:
    intervals = {"quick@a": 1.0, "quick@b": 1.0, "slow@a": 30.0, "slow@b": 30.0, "slow@c": 30.0}
    offsets = first_run_offsets(intervals, max_offset_seconds=6, rng=random.Random(1))
    assert all(0 <= offsets[k] < 1 for k in ("quick@a", "quick@b"))
    assert _gaps([offsets[k] for k in ("quick@a", "quick@b")], 1) == pytest.approx([0.5, 0.5])
    slow = [offsets[k] for k in ("slow@a", "slow@b", "slow@c")]
    assert all(0 <= o < 6 for o in slow)
    assert sorted(slow)[1] - sorted(slow)[0] == pytest.approx(2.0)


def test_no_spread_starts_everything_now() -> None:
    assert set(first_run_offsets({"a": 5.0, "b": 5.0}, max_offset_seconds=0).values()) == {0.0}


def test_a_restart_lands_somewhere_new() -> None:
    intervals = {"a": 10.0, "b": 10.0}
    firsts = {round(first_run_offsets(intervals, 10, random.Random(seed))["a"], 6) for seed in range(10)}
    assert len(firsts) > 5
