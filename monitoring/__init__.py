"""Monitoring as code: alert and recording rules, Alertmanager routes and the dashboard.

The YAML and JSON files under ``monitoring/`` are rendered from these modules, so that a
duration or a threshold has one source and a test can render a fast variant of the same
rules. Regenerate with ``python -m monitoring``; check with ``python -m monitoring --check``.
"""

from __future__ import annotations
