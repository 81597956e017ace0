"""Bandwidth-aware path choice (Wang & Crowcroft 1996): widest-shortest and shortest-widest.

A path's width is its bottleneck: the least residual bandwidth ``rate * (1 - rho)`` of its links, where ``rho``
is each link's utilisation measured every ``update_interval_s`` and smoothed by an EWMA (``ewma`` = weight of the
new measurement). With ``update_interval: null`` the width is the plain link rate (static capacity routing).

* :class:`WidestShortest` takes the fewest hops and breaks ties by width. It is consistent hop by hop (each
  node's choice is the best continuation of its own widest-shortest path), so it fills per-node tables; the
  next hop is always one hop closer to the destination, so forwarding is loop-free.
* :class:`ShortestWidest` takes the widest path and breaks ties by hop count. That choice is not consistent hop
  by hop, so the source computes the path and stamps it on the packet (source routing: no loops). Paths are
  cached per source and destination and recomputed after each update.

Both work out a destination's tables or paths when a packet first needs them after an update, so an update costs
nothing toward destinations no traffic goes to.

>>> WidestShortest(), ShortestWidest(update_interval_s=None)  # doctest: +NORMALIZE_WHITESPACE
(WidestShortest(detection_delay_s=0.0, update_interval_s=1.0, ewma=0.5),
 ShortestWidest(detection_delay_s=0.0, update_interval_s=None, ewma=0.5))
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from heapq import heappop, heappush
from typing import TYPE_CHECKING

from netlab.errors import ConfigError
from netlab.options import key_aliases
from netlab.routing._graph import LinkMonitor, source_route
from netlab.routing._trees import ShortestPathTrees
from netlab.topology.spec import option

if TYPE_CHECKING:
    from netlab.network.link import Link
    from netlab.network.network import Network
    from netlab.network.node import Node
    from netlab.network.packet import Packet

__all__ = ["ShortestWidest", "WidestShortest"]


@key_aliases
@dataclass
class _Widths:
    detection_delay_s: float = option(0.0, key="detection_delay", unit="time",
                                      doc="delay before routing reacts to a link or node going down or up")  # fmt: skip
    update_interval_s: float | None = option(
        1.0, key="update_interval", unit="time", doc="time between residual-bandwidth updates (none: use link rates)"
    )
    ewma: float = option(0.5, doc="weight of the new utilisation measurement (1 = no smoothing)")

    def __post_init__(self) -> None:
        name = type(self).__name__
        if self.update_interval_s is not None and not (
            self.update_interval_s > 0 and math.isfinite(self.update_interval_s)
        ):
            raise ConfigError(
                f"{name}: update_interval must be a positive time or null, got {self.update_interval_s!r}"
            )
        if not 0 < self.ewma <= 1:
            raise ConfigError(f"{name}: ewma must be in (0, 1], got {self.ewma!r}")

    def attach(self, net: Network) -> None:
        self.net = net
        self.rho: dict[Link, float] = dict.fromkeys(net.links, 0.0)
        self.width: dict[Link, float] = {link: link.rate_bps for link in net.links}
        if self.update_interval_s is not None:
            self.monitor = LinkMonitor(net, self.update_interval_s, self._update)
        self.topology_changed(net)

    def topology_changed(self, net: Network) -> None:
        self.adj: dict[Node, list[Link]] = {
            n: [link for link in n.out_links if link.routed_up] for n in net.nodes.values()
        }
        self.recompute()

    def _update(self, _now: float) -> None:
        a = self.ewma
        changed = False
        for link in self.net.links:
            rho = a * self.monitor.rho[link] + (1.0 - a) * self.rho[link]
            self.rho[link] = rho
            width = link.rate_bps * (1.0 - rho)
            if width != self.width[link]:
                self.width[link] = width
                changed = True
        if changed:
            self.recompute()

    def recompute(self) -> None:
        """Rebuild what decisions read, after the widths or the topology changed."""


@key_aliases
@dataclass
class WidestShortest(_Widths):
    """Fewest hops; among those, the widest (largest bottleneck residual bandwidth). Hop-by-hop tables."""

    def recompute(self) -> None:
        """Forget the tables: each destination's is rebuilt on the current widths when a packet next needs it."""
        if getattr(self, "hops_for", None) is not self.adj:  # hop counts change with the topology only
            up = {link for links in self.adj.values() for link in links}
            self.hops = ShortestPathTrees(self.net, lambda _link: None, is_up=up.__contains__)
            self.hops_for = self.adj
        self.tables: dict[Node, dict[Node, Link]] = {}

    def table(self, dst: Node) -> dict[Node, Link]:
        """Each node's next link toward *dst*: one hop closer, with the widest bottleneck (first on ties)."""
        table = self.tables.get(dst)
        if table is not None:
            return table
        table = self.tables[dst] = {}
        dist = self.hops.distances(dst)
        index = self.hops.index
        level = [float(dist[index[n]]) for n in self.hops.nodes]
        width = self.width
        best: dict[Node, float] = {dst: math.inf}
        order = sorted((i for i, d in enumerate(level) if not math.isinf(d)), key=level.__getitem__)
        for i in order:  # nearest first: successors are settled before u
            u = self.hops.nodes[i]
            if u is dst:
                continue
            choice, w = None, -1.0
            for link in self.adj[u]:
                if level[index[link.dst]] == level[i] - 1:
                    bw = min(width[link], best[link.dst])
                    if bw > w:
                        choice, w = link, bw
            if choice is not None:
                table[u] = choice
                best[u] = w
        return table

    def next_link(self, node: Node, packet: Packet) -> Link | None:
        return self.table(packet.dst).get(node)


@key_aliases
@dataclass
class ShortestWidest(_Widths):
    """Widest path (largest bottleneck residual bandwidth); among those, the fewest hops. Source routes."""

    def recompute(self) -> None:
        self.paths: dict[tuple[Node, Node], tuple[Link, ...] | None] = {}

    def path(self, src: Node, dst: Node) -> tuple[Link, ...] | None:
        """The shortest-widest path from *src* to *dst* over the links that are up, or None."""
        key = (src, dst)
        if key in self.paths:
            return self.paths[key]
        width = self.width
        # Widest bottleneck from src to every node until dst is settled (a max-min Dijkstra).
        best: dict[Node, float] = {src: math.inf}
        heap: list[tuple[float, int, Node]] = [(-math.inf, 0, src)]
        count, done = 1, set()
        while heap:
            negw, _, u = heappop(heap)
            if u in done:
                continue
            done.add(u)
            if u is dst:
                break  # its bottleneck is final once it leaves the heap, and it is all the next step needs
            for link in self.adj[u]:
                w = min(-negw, width[link])
                if w > best.get(link.dst, -1.0):
                    best[link.dst] = w
                    heappush(heap, (-w, count, link.dst))
                    count += 1
        found: tuple[Link, ...] | None = None
        if dst in best and dst is not src:
            target = best[dst]
            # Fewest hops over the links at least that wide (breadth-first, ties by topology order).
            via: dict[Node, Link] = {}
            seen, todo = {src}, deque([src])
            while todo and dst not in seen:
                u = todo.popleft()
                for link in self.adj[u]:
                    if link.dst not in seen and width[link] >= target * (1 - 1e-12):
                        seen.add(link.dst)
                        via[link.dst] = link
                        todo.append(link.dst)
            hops, node = [], dst
            while node is not src:
                hops.append(via[node])
                node = via[node].src
            found = tuple(reversed(hops))
        self.paths[key] = found
        return found

    def next_link(self, node: Node, packet: Packet) -> Link | None:
        path = self.path(node, packet.dst)
        return source_route(packet, path) if path else None
