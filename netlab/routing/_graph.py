"""Graph helpers shared by the load-aware and multipath strategies: distances to a destination over the links that
are up, equal-cost next hops, a small Dijkstra on Link objects, and the periodic link monitor.

Everything here works on the engine's :class:`~netlab.network.link.Link` objects directly (no name look-ups), and
ties always break by the topology's link order, so the same scenario routes the same way every time.
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from collections.abc import Callable, Iterable
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netlab.network.link import Link
    from netlab.network.network import Network
    from netlab.network.node import Node
    from netlab.network.packet import Packet

__all__ = [
    "LinkMonitor",
    "distances_to",
    "next_hop_sets",
    "shortest_path",
    "source_route",
    "stable_hash",
    "up_links",
]

#: Reference packet for idle costs (a 1000-byte packet's serialisation time), as in OSPF-like metrics.
REFERENCE_BITS = 8000.0


def up_links(net: Network) -> list[Link]:
    """The links that are up, in topology order."""
    return [link for link in net.links if link.up]


def tx_time(link: Link, bits: float = REFERENCE_BITS) -> float:
    """Seconds to serialise *bits* on *link* (0 for a pure-delay link)."""
    return bits / link.rate_bps if math.isfinite(link.rate_bps) else 0.0


def distances_to(dst: Node, links: Iterable[Link], weight: Callable[[Link], float] | None = None) -> dict[Node, float]:
    """Distance of every node that can reach *dst* over *links*: hop count (``weight`` None) or summed weights."""
    into: dict[Node, list[Link]] = {}
    for link in links:
        into.setdefault(link.dst, []).append(link)
    dist: dict[Node, float] = {dst: 0.0}
    if weight is None:
        todo = deque([dst])
        while todo:
            v = todo.popleft()
            for link in into.get(v, ()):
                if link.src not in dist:
                    dist[link.src] = dist[v] + 1.0
                    todo.append(link.src)
        return dist
    heap: list[tuple[float, int, Node]] = [(0.0, 0, dst)]
    count = 1
    done: set[Node] = set()
    while heap:
        d, _, v = heappop(heap)
        if v in done:
            continue
        done.add(v)
        for link in into.get(v, ()):
            nd = d + weight(link)
            u = link.src
            if u not in done and nd < dist.get(u, math.inf):
                dist[u] = nd
                heappush(heap, (nd, count, u))
                count += 1
    return dist


def next_hop_sets(
    net: Network, weight: Callable[[Link], float] | None = None, *, rel_tol: float = 1e-9
) -> dict[Node, dict[Node, list[Link]]]:
    """``{node: {destination: [links]}}``: every up link that starts an equal-cost shortest path (ECMP sets).

    The links of one set lead to nodes strictly closer to the destination, so any choice among them is loop-free.
    """
    links = up_links(net)
    out: dict[Node, dict[Node, list[Link]]] = {n: {} for n in net.nodes.values()}
    w = weight or (lambda _link: 1.0)
    for dst in net.nodes.values():
        dist = distances_to(dst, links, weight)
        for link in links:
            du, dv = dist.get(link.src), dist.get(link.dst)
            if du is None or dv is None or link.src is dst:
                continue
            if math.isclose(dv + w(link), du, rel_tol=rel_tol, abs_tol=1e-15) and dv < du:
                out[link.src].setdefault(dst, []).append(link)
    return out


def shortest_path(
    src: Node, dst: Node, adjacency: dict[Node, list[Link]], cost: Callable[[Link], float]
) -> list[Link] | None:
    """The least-cost path (list of links) from *src* to *dst* over *adjacency*, or None (Dijkstra, ties by order)."""
    if src is dst:
        return []
    best: dict[Node, float] = {src: 0.0}
    via: dict[Node, Link] = {}
    heap: list[tuple[float, int, Node]] = [(0.0, 0, src)]
    count = 1
    done: set[Node] = set()
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
