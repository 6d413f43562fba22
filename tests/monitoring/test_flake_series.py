"""The flake simulation promtool runs (monitoring/prometheus/tests/flakes_test.yml) is its script's output."""

from __future__ import annotations

from tests.monitoring.flake_series import OUTPUT, render


def test_the_committed_flake_simulation_is_what_its_script_writes() -> None:
    text, figures = render()
    assert OUTPUT.read_text(encoding="utf-8") == text, "run: python -m tests.monitoring.flake_series"
    assert figures["bet_settlement runs failed at random in the hour"] > 0, "the hour has flakes to survive"
