"""Graph helpers shared by the load-aware and multipath strategies: a small Dijkstra on Link objects (bounded when
the caller knows bounds), source routes, a stable hash and the periodic link monitor. Distances and next hops
toward a destination come from :mod:`netlab.routing._trees`.

Everything here works on the engine's :class:`~netlab.network.link.Link` objects directly (no name look-ups), and
ties always break by the topology's link order, so the same scenario routes the same way every time.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netlab.network.link import Link
    from netlab.network.network import Network
    from netlab.network.node import Node
    from netlab.network.packet import Packet

__all__ = ["LinkMonitor", "shortest_path", "source_route", "stable_hash", "tx_time"]

#: Reference packet for idle costs (a 1000-byte packet's serialisation time), as in OSPF-like metrics.
REFERENCE_BITS = 8000.0


def tx_time(link: Link, bits: float = REFERENCE_BITS) -> float:
    """Seconds to serialise *bits* on *link* (0 for a pure-delay link)."""
    return bits / link.rate_bps if math.isfinite(link.rate_bps) else 0.0


def shortest_path(
    src: Node,
    dst: Node,
    adjacency: dict[Node, list[Link]],
    cost: Callable[[Link], float],
    *,
    lower: Callable[[Node], float] | None = None,
    bound: float = math.inf,
) -> list[Link] | None:
    """The least-cost path (list of links) from *src* to *dst* over *adjacency*, or None (Dijkstra, ties by order).

    With *lower* (a lower bound on the cost from a node to *dst*) and *bound* (the cost of some path from *src*
    to *dst*), nodes that cannot lie on a least-cost path (reached at a cost that with its lower bound exceeds
    *bound*) are never queued. The search then settles the other nodes in the same order as without them, so it
    returns the very same path, ties included: the heap's tie counter only ever counts fewer entries.
    """
    if src is dst:
        return []
    best: dict[Node, float] = {src: 0.0}
    via: dict[Node, Link] = {}
    heap: list[tuple[float, int, Node]] = [(0.0, 0, src)]
    count = 1
    done: set[Node] = set()
    limit = bound + 1e-9 * abs(bound) + 1e-12  # floating-point slack: prune only what is clearly too long
    while heap:
        d, _, u = heappop(heap)
        if u in done:
            continue
        if u is dst:
            break
        done.add(u)
        for link in adjacency.get(u, ()):
            v = link.dst
            nd = d + cost(link)
            if v not in done and nd < best.get(v, math.inf):
                if lower is not None and nd + lower(v) > limit:
                    continue
                best[v] = nd
                via[v] = link
                heappush(heap, (nd, count, v))
                count += 1
    if dst not in via:
        return None
    path = []
    node = dst
    while node is not src:
        link = via[node]
        path.append(link)
        node = link.src
    path.reverse()
    return path


def source_route(pkt: Packet, path: tuple[Link, ...] | list[Link]) -> Link:
    """Stamp *path* on *pkt* as its source route from where it is now; return the first link.

    The engine indexes ``packet.route`` by ``packet.hops``, so the links already crossed are padded with None.
    """
    pkt.route = (None,) * pkt.hops + tuple(path) if pkt.hops else tuple(path)
    return path[0]


def stable_hash(*parts: object) -> int:
    """A 64-bit hash of *parts* that is the same in every process (unlike Python's salted ``hash()``)."""
    text = "\x1f".join(map(str, parts)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


class LinkMonitor:
    """Measures every link each *interval_s* seconds and calls ``on_update(now)`` after each measurement.

    Per link and interval: utilisation ``rho`` (exact busy seconds / interval, from :meth:`Link.snapshot`), the
    time-average number in system ``number`` and the mean packet size in bits ``size_bits`` (1000 bytes until
    the link has carried a packet). The callback is a self-rescheduling timeout on the network's environment:
    one event per interval, nothing on the per-packet path.
    """

    def __init__(self, net: Network, interval_s: float, on_update: Callable[[float], Any]) -> None:
        self.net = net
        self.interval_s = interval_s
        self.on_update = on_update
        now = net.now
        self.t = now
        self.last = {link: link.snapshot(now) for link in net.links}
        self.rho = dict.fromkeys(net.links, 0.0)
        self.number = dict.fromkeys(net.links, 0.0)
        self.size_bits = dict.fromkeys(net.links, REFERENCE_BITS)
        self.updates = 0
        net.env.timeout(interval_s).callbacks.append(self._tick)

    def _tick(self, _ev: Any) -> None:
        now = self.net.now
        dt = now - self.t
        if dt > 0:
            for link in self.net.links:
                snap = link.snapshot(now)
                old = self.last[link]
                self.rho[link] = min(1.0, max(0.0, (snap[2] - old[2]) / dt))
                self.number[link] = max(0.0, (snap[3] - old[3]) / dt)
                if snap[0] > old[0]:
                    self.size_bits[link] = 8.0 * (snap[1] - old[1]) / (snap[0] - old[0])
                self.last[link] = snap
            self.t = now
            self.updates += 1
            self.on_update(now)
        self.net.env.timeout(self.interval_s).callbacks.append(self._tick)
