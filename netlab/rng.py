"""Named random streams: the only source of randomness in netlab.

Every consumer (a flow's arrivals, its sizes, a link's loss) draws from its own stream, seeded from the run's
root seed and the stream's name with SHA-256, never Python's salted ``hash()``. So the same seed gives the same
draws on any machine and in any process, and a flow's arrivals do not change when the routing strategy does
(common random numbers).

>>> stream(1, "flow", "f1", "arrivals").random() == stream(1, "flow", "f1", "arrivals").random()
True
"""

from __future__ import annotations

import hashlib
import random

__all__ = ["stream", "stream_seed"]


def stream_seed(seed: int, *names: object) -> int:
    """A 64-bit integer derived from the root *seed* and the stream's *names* (stable across processes)."""
    key = "\x1f".join([str(int(seed)), *map(str, names)]).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big")


def stream(seed: int, *names: object) -> random.Random:
    """A fresh :class:`random.Random` for the stream called *names* under the root *seed*."""
    return random.Random(stream_seed(seed, *names))
