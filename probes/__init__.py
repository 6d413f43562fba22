"""One probe per protocol, all with one signature (as blackbox_exporter's probers share one):

    async def probe(target: str, module: <Protocol>Module, ctx: ProbeContext) -> ProbeResult

``target`` is a base URL, ``module`` the protocol's config as data, ``ctx`` the run's
correlation and logger. A failing target is a ``ProbeResult(success=False, reason=...)``,
never an exception. ``PROBERS`` maps protocol names to probe functions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from probes import browser, health, http, socketio, tls
from probes.context import ProbeContext
from probes.result import ProbeResult, Reason

__all__ = ["PROBERS", "ProbeContext", "ProbeFn", "ProbeResult", "Reason"]

ProbeFn = Callable[[str, Any, ProbeContext], Awaitable[ProbeResult]]

PROBERS: dict[str, ProbeFn] = {
    "http": http.probe,
    "health": health.probe,
    "socketio": socketio.probe,
    "tls": tls.probe,
    "browser": browser.probe,
}
