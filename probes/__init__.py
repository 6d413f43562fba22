"""One probe per protocol, all with one signature (as blackbox_exporter's probers share one):

    async def probe(target: str, module: <Protocol>Module, ctx: ProbeContext) -> <Protocol>Result

``target`` is a base URL, ``module`` the protocol's config as data, ``ctx`` the run's
correlation and logger. A failing target is a result with ``success=False`` and a ``reason``,
never an exception; each protocol's result (``probes.result``) carries its own typed fields.
Scenarios call the probe of the protocol they need, with its typed module, and read its typed
result: no table of probes by name stands between them.
"""

from __future__ import annotations

from probes.context import ProbeContext
from probes.result import ProbeResult, Reason

__all__ = ["ProbeContext", "ProbeResult", "Reason"]
