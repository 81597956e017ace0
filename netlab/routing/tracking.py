"""Which path did each packet take? A wrapper strategy that records it, with no hook in the engine.

:class:`PathTracker` wraps any strategy. After the inner strategy fills forwarding tables (``node.fib``) or
per-flow source routes (``node.source_routes``), the tracker moves them into its own keeping, so the engine asks
the tracker at every hop; the tracker answers exactly what the engine would have (source route first, then the
table, then the inner strategy's ``next_link``) and notes the link. The route is the same, so the run is the
same packet for packet; the price is one Python call per hop, so compare runs use it and plain runs do not.

A path is counted when its packet is handed to the last link before its destination (hop by hop) or when the
source stamps a source route on it. ``paths_frame()`` gives ``flow, path, bin_start_s, packets`` (the time bin of
the packet's creation). Strategies that rewrite ``node.fib`` outside ``attach`` and ``topology_changed`` (none of
netlab's do) escape the tracker for the packets those entries route.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from netlab.network.link import Link
    from netlab.network.network import Network
    from netlab.network.node import Node
    from netlab.network.packet import Packet
    from netlab.routing.base import RoutingStrategy

__all__ = ["PathTracker"]


class PathTracker:
    """Wraps *inner* (any routing strategy) and counts the paths packets take, per flow and time bin of *bin_s*."""

    def __init__(self, inner: RoutingStrategy, bin_s: float = 1.0) -> None:
        self.inner = inner
        self.bin_s = bin_s

    def __repr__(self) -> str:
        return f"PathTracker({self.inner!r})"

    @property
    def detection_delay_s(self) -> float:
        return float(getattr(self.inner, "detection_delay_s", 0.0))

    def attach(self, net: Network) -> None:
        self.net = net
        self.fib: dict[Node, dict[Node, Link]] = {}
        self.routes: dict[Node, dict[Hashable, tuple[Link, ...]]] = {}
        self.open: dict[int, list[Link]] = {}  # id(packet) -> links so far (hop-by-hop packets in flight)
        self.counts: dict[tuple[Hashable, tuple[Link, ...], int], int] = {}
        self.inner.attach(net)
        self._harvest()

    def topology_changed(self, net: Network) -> None:
        for node in net.nodes.values():  # give the inner strategy its tables back while it rebuilds them
            node.fib = self.fib.get(node, {})
            node.source_routes = self.routes.get(node, {})
        self.inner.topology_changed(net)
        self._harvest()

    def _harvest(self) -> None:
        for node in self.net.nodes.values():
            self.fib[node] = node.fib
            self.routes[node] = node.source_routes
            node.fib = {}
            node.source_routes = {}

    def next_link(self, node: Node, packet: Packet) -> Link | None:
        hops = packet.hops
        if hops == 0 and packet.route is None:
            routes = self.routes[node]
            route = routes.get(packet.flow) if routes else None
            if route is not None:
                packet.route = route
                self._count(packet, route)
                return route[0]
        table = self.fib[node]
        link = table.get(packet.dst)
        if link is None:
            node.fib = table  # the inner strategy may read (or fill) its own table
            link = self.inner.next_link(node, packet)
            node.fib = {}
            if link is None:
                return None
        stamped = packet.route
        if stamped is not None and hops == 0:
            self._count(packet, stamped)  # the inner strategy source-routed it
            return link
        if hops == 0:
            path = [link]
            self.open[id(packet)] = path
        else:
            known = self.open.get(id(packet))
            if known is None:
                return link
            path = known
            path.append(link)
        if link.dst is packet.dst:
            del self.open[id(packet)]
            self._count(packet, tuple(path))
        return link

    def _count(self, packet: Packet, route: tuple[Link | None, ...]) -> None:
        key = (packet.flow, tuple(link for link in route if link is not None), int(packet.created // self.bin_s))
        self.counts[key] = self.counts.get(key, 0) + 1

    def paths_frame(self) -> pd.DataFrame:
        """The counted paths: ``flow, path`` (node names joined by ``-``), ``bin_start_s``, ``packets``."""
        import pandas as pd

        rows = []
        for (flow, links, b), n in sorted(self.counts.items(), key=lambda kv: (str(kv[0][0]), kv[0][2])):
            path = "-".join([links[0].src.name, *(link.dst.name for link in links)]) if links else ""
            rows.append((flow, path, b * self.bin_s, n))
        return pd.DataFrame(rows, columns=["flow", "path", "bin_start_s", "packets"])
