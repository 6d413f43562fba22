"""The hostile tests' shared fixture: misbehaving servers on one event loop of their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.hostile import HostileLoop, running_hostile


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileLoop]:
    """``sandbox.hostile``'s servers for one test module (``hostile.server(mode)`` starts one)."""
    with running_hostile() as loop:
        yield loop
