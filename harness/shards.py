"""Which replica of a region runs which schedule: rendezvous (highest-random-weight) hashing.

Every replica scores every (scenario, target) schedule against every shard index and keeps
the schedules whose best score is its own. Replicas never talk to each other and still
agree, because the score is a fixed hash (BLAKE2b, not Python's per-process ``hash()``).
Growing from N to N+1 replicas moves only the schedules the new shard now wins, about
1/(N+1) of them; every other schedule stays where it ran.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

__all__ = ["Shard", "ShardError", "WHOLE", "owner"]

_FORM = re.compile(r"(\d{1,4})/(\d{1,4})")


class ShardError(ValueError):
    """A shard given as anything but ``I/N`` with 1 <= I <= N."""


@dataclass(frozen=True)
class Shard:
    """Replica ``index`` of ``count`` (1-based: ``2/4`` is the second of four)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = _FORM.fullmatch(text.strip())
        if match is None:
            raise ShardError("not I/N (e.g. 2/4: the second of four replicas)")
        index, count = int(match.group(1)), int(match.group(2))
        if count < 1:
            raise ShardError("N, the number of replicas, must be at least 1")
        if not 1 <= index <= count:
            raise ShardError(f"the index must be between 1 and {count}")
        return cls(index, count)

    @property
    def label(self) -> str:
        """As ``synthetic_runner_info{shard}`` shows it: ``2/4``."""
        return f"{self.index}/{self.count}"

    @property
    def slug(self) -> str:
        """As a file name shows it: ``2-of-4``."""
        return f"{self.index}-of-{self.count}"

    def owns(self, scenario: str, target: str) -> bool:
        return owner(scenario, target, self.count) == self.index


WHOLE = Shard(1, 1)
"""An unsharded runner: one replica with every schedule."""


def _weight(scenario: str, target: str, index: int) -> int:
    digest = hashlib.blake2b(f"{scenario}|{target}|{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(scenario: str, target: str, count: int) -> int:
    """The shard index (1..count) that runs this schedule."""
    return max(range(1, count + 1), key=lambda index: _weight(scenario, target, index))
