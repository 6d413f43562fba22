"""What the probes time: no blocking set-up on the event loop per call."""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from probes import ProbeContext, health
from probes.health import HealthModule
from tests.core.fake_platform import FakePlatform


async def test_a_health_probe_loads_no_ca_bundle_per_call(
    fake_platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading the CA bundle is ~20 ms of CPU that blocks the loop; it happens once per process."""
    await health.probe(fake_platform.url, HealthModule(), ProbeContext())  # the one-off load
    loads: list[Any] = []
    original = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(args or kwargs)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    result = await health.probe(fake_platform.url, HealthModule(), ProbeContext())
    assert result.success, result.message
    assert loads == [], f"the health probe loaded a CA bundle {len(loads)} times"
