"""Benchmarks of Mystery Guest against the tools it replaces, and of its own costs.

``python -m bench`` (``make bench``) runs them all and rewrites ``bench/RESULTS.md``; each
benchmark is a module with one ``run(options) -> Section`` entry point, listed in
``bench.registry``. Figures are ratios or side-by-side comparisons measured in one run on one
machine, never absolute promises: the machine and versions are written next to them.
"""

from __future__ import annotations
