"""Static strategies: shortest paths by hop count, propagation delay or OSPF cost, and explicit per-flow paths.

Each node's next hop toward a destination comes from one shortest-path tree per destination (a breadth-first or
Dijkstra search on the reversed graph of links that are up, see :mod:`netlab.routing._trees`), so hop-by-hop
forwarding is loop-free even with equal costs, and ties break deterministically (by the topology's link order).
Trees are built at the start for the hosts and the flows' destinations, and for any other destination when the
first packet heads for it; a node's forwarding table (``node.fib``) fills as packets pass. When the topology
changes (after ``detection_delay_s``) only the trees the change can alter are built again.

>>> ShortestHops(), OspfCost(reference_bps=1e9)
(ShortestHops(detection_delay_s=0.0), OspfCost(detection_delay_s=0.0, reference_bps=1000000000.0))
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netlab.errors import TopologyError
from netlab.options import key_aliases
from netlab.routing._trees import ShortestPathTrees
from netlab.topology.spec import option

if TYPE_CHECKING:
    from netlab.network.link import Link
    from netlab.network.network import Network
    from netlab.network.node import Node
    from netlab.network.packet import Packet

__all__ = ["ExplicitPaths", "OspfCost", "ShortestDelay", "ShortestHops", "TableRouting", "traffic_destinations"]


@key_aliases
@dataclass
class TableRouting:
    """Base of table-driven strategies: subclasses say how much a link costs (or None for hop count).

    :meth:`route` answers "which link does *node* use toward *dst*" from the trees; :meth:`next_link` (the engine
    asks it when ``node.fib`` has no entry) answers the same and files the answer in ``node.fib``.
    """

    detection_delay_s: float = option(0.0, key="detection_delay", unit="time",
                                      doc="delay before routing reacts to a link or node going down or up")  # fmt: skip

    def weight(self, link: Link) -> float | None:
        """The cost of *link*; None means every link costs 1 (breadth-first search)."""
        return None

    def attach(self, net: Network) -> None:
        self.trees = ShortestPathTrees(net, self.weight)
        self.trees.prepare(traffic_destinations(net))
        for node in net.nodes.values():
            node.fib = {}

    def topology_changed(self, net: Network) -> None:
        self.trees.refresh()
        self.trees.prepare(traffic_destinations(net))
        for node in net.nodes.values():
            node.fib = {}  # refilled from the trees as packets pass: an entry may name a link that is down now

    def route(self, node: Node, dst: Node) -> Link | None:
        """The link *node* forwards on toward *dst* (None: it is *dst*, or cannot reach it)."""
        return self.trees.next_link(node, dst)

    def next_link(self, node: Node, packet: Packet) -> Link | None:
        dst = packet.dst
        link = self.trees.next_link(node, dst)
        if link is not None:
            node.fib[dst] = link
        return link


def traffic_destinations(net: Network) -> list[Node]:
    """The nodes traffic is known to end at: every host and every flow's destination, in node order."""
    ends = {f.dst for f in net.flows}
    return [node for node in net.nodes.values() if node.role == "host" or node.name in ends]


def compute_tables(net: Network, weight: Callable[[Link], float | None]) -> dict[Node, dict[Node, Link]]:
    """Forwarding tables ``{node: {destination: link}}`` toward every node, over the links that are up.

    Every tree is built: meant for tests and small topologies (a strategy uses :class:`ShortestPathTrees`, which
    builds only the trees traffic needs).
    """
    trees = ShortestPathTrees(net, weight)
    return {node: trees.table(node) for node in net.nodes.values()}


@key_aliases
@dataclass
class ShortestHops(TableRouting):
    """Fewest links first (RIP-like)."""


@key_aliases
@dataclass
class ShortestDelay(TableRouting):
    """Least total propagation delay."""

    def weight(self, link: Link) -> float | None:
        return link.delay_s


@key_aliases
@dataclass
class OspfCost(TableRouting):
    """OSPF-style cost: ``max(1, int(reference_bps / rate))`` unless a link has its own ``cost``.

    The default reference bandwidth is 100 Mbit/s, as in classic OSPF, so every link of 100 Mbit/s and more
    costs 1; raise it to tell fast links apart. A pure-delay link (infinite rate) costs 1.
    """

    reference_bps: float = option(100e6, key="reference_bandwidth", unit="rate", doc="OSPF reference bandwidth")

    def weight(self, link: Link) -> float | None:
        if link.spec.cost is not None:
            return float(link.spec.cost)
        return float(max(1, int(self.reference_bps / link.rate_bps))) if math.isfinite(link.rate_bps) else 1.0


@key_aliases
@dataclass
class ExplicitPaths(ShortestHops):
    """Pins each listed flow to its node path (source routing); other traffic goes by hop count.

    ``paths`` maps a flow name to its node path ``[src, ..., dst]``; every consecutive pair must be a link.
    A pinned flow keeps its path when a link on it goes down (its packets are dropped ``link_down``).
    """

    paths: Mapping[str, tuple[str, ...]] = option(default_factory=dict, doc="flow name -> [node, node, ...]")

    def __post_init__(self) -> None:
        self.paths = {str(k): tuple(str(n) for n in v) for k, v in dict(self.paths).items()}

    def __repr__(self) -> str:
        return f"ExplicitPaths(detection_delay_s={self.detection_delay_s!r}, paths=<{len(self.paths)} flows>)"

    def attach(self, net: Network) -> None:
        super().attach(net)
        flows = {f.name: f for f in net.flows}
        for flow, path in self.paths.items():
            if len(path) < 2:
                raise TopologyError(f"explicit path for flow {flow!r}: expected at least two nodes, got {list(path)}")
            f = flows.get(flow)
            if f is not None and (path[0], path[-1]) != (f.src, f.dst):
                raise TopologyError(
                    f"explicit path for flow {flow!r} runs {path[0]} -> {path[-1]}, "
                    f"but the flow runs {f.src} -> {f.dst}"
                )
            links = []
            for u, v in itertools.pairwise(path):
                link = net.link_between(u, v)
                if link is None:
                    raise TopologyError(
                        f"explicit path for flow {flow!r}: {u!r} -> {v!r} is not a link of the topology "
                        f"(path {' -> '.join(path)})"
                    )
                links.append(link)
            # Source routing: the source node stamps the route on each packet of the flow as it is sent.
            net.nodes[path[0]].source_routes[flow] = tuple(links)
