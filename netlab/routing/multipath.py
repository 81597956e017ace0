"""Multipath strategies: ECMP flow hashing, per-packet spraying and a weighted random split.

ECMP and spraying choose among the equal-cost next hops of a node (every link that starts a shortest path by hop
count, or by propagation delay with ``weight: delay``). Each of those links leads strictly closer to the
destination, so hop-by-hop forwarding is loop-free whatever each node picks.

* :class:`Ecmp` hashes the flow (its name, source and destination) with a per-node salt and keeps the flow on
  one next hop (RFC 2992 hash-threshold: the hash's share of 2**64 picks the region), so a flow is never
  reordered. Without the salt every node hashes alike and traffic polarises.
* :class:`Spray` picks a next hop for each packet, at random or round-robin per node and destination.
* :class:`Flowlet` (LetFlow-style) keeps a flow on one next hop while its packets come close together and
  picks a new one at random after an idle gap longer than ``gap_s``: with the gap above the paths' delay
  difference, the packets of a flow cannot overtake each other, yet flows move between paths as they pause.
* :class:`WeightedSplit` splits traffic at the listed nodes over the listed next hops with fixed weights.

The equal-cost sets of a destination are worked out when the first packet heads for it (from its shortest-path
tree, :mod:`netlab.routing._trees`), and each node's set is kept once asked for, so a decision costs a dictionary
look-up and a topology of thousands of nodes pays only for the destinations its traffic reaches.

>>> split = WeightedSplit(splits={"r1": {"r2": 3, "r4": 1}})
>>> Ecmp(), Spray(mode="round_robin"), split  # doctest: +NORMALIZE_WHITESPACE
(Ecmp(detection_delay_s=0.0, weight='hops', salt=True),
 Spray(detection_delay_s=0.0, mode='round_robin', weight='hops'),
 WeightedSplit(detection_delay_s=0.0, splits={'r1': {'r2': 3.0, 'r4': 1.0}}))
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netlab.errors import ConfigError, TopologyError
from netlab.options import Choice, key_aliases
from netlab.routing._graph import stable_hash
from netlab.routing._trees import ShortestPathTrees
from netlab.routing.base import PathWeight
from netlab.topology.spec import option

if TYPE_CHECKING:
    from netlab.network.link import Link
    from netlab.network.network import Network
    from netlab.network.node import Node
    from netlab.network.packet import Packet

__all__ = ["Ecmp", "Flowlet", "Spray", "SprayMode", "WeightedSplit"]

_DETECT: dict[str, Any] = {
    "key": "detection_delay",
    "unit": "time",
    "doc": "delay before routing reacts to a link or node going down or up",
}


class SprayMode(Choice):
    """How :class:`Spray` picks among the equal-cost next hops (``mode:``)."""

    RANDOM = "random"
    ROUND_ROBIN = "round_robin"  # per node and destination


@key_aliases
@dataclass
class _EqualCost:
    detection_delay_s: float = option(0.0, **_DETECT)

    def _sets(self, net: Network, weight: PathWeight | str) -> None:
        """Forget the equal-cost sets: the topology changed (or the run starts)."""
        trees = getattr(self, "trees", None)
        if trees is None:
            self.trees = ShortestPathTrees(net, (lambda _link: None) if weight == PathWeight.HOPS else _delay)
        else:
            trees.refresh()
        self.sets: dict[tuple[Node, Node], list[Link]] = {}

    def links(self, node: Node, dst: Node) -> list[Link]:
        """The equal-cost next links of *node* toward *dst* (empty: none)."""
        key = (node, dst)
        found = self.sets.get(key)
        if found is None:
            found = self.sets[key] = self.trees.equal_cost(node, dst)
        return found


def _delay(link: Link) -> float:
    return link.delay_s


@key_aliases
@dataclass
class Ecmp(_EqualCost):
    """Equal-cost multipath: one next hop per flow, by a salted hash (RFC 2991/2992), so no reordering."""

    weight: PathWeight | str = option(PathWeight.HOPS, doc="equal cost by hops or by delay (propagation)")
    salt: bool = option(True, doc="salt the hash per node (false: every node hashes alike and traffic polarises)")

    def __post_init__(self) -> None:
        self.weight = PathWeight.parse(self.weight, "ecmp: weight")

    def attach(self, net: Network) -> None:
        self.seed = net.seed
        self.topology_changed(net)

    def topology_changed(self, net: Network) -> None:
        self._sets(net, self.weight)
        self.chosen: dict[Node, dict[object, Link]] = {n: {} for n in net.nodes.values()}

    def next_link(self, node: Node, packet: Packet) -> Link | None:
        dst = packet.dst
        key = (packet.flow, packet.src, dst)
        chosen = self.chosen[node]
        link = chosen.get(key)
        if link is None:
            links = self.links(node, dst)
            if not links:
                return None
            if len(links) == 1:
                link = links[0]
            else:
                salt = node.name if self.salt else ""
                h = stable_hash(self.seed, salt, packet.flow, packet.src.name, dst.name)
                link = links[(h * len(links)) >> 64]  # hash-threshold: regions of equal size
            chosen[key] = link
        return link


@key_aliases
@dataclass
class Spray(_EqualCost):
    """Per-packet spraying over the equal-cost next hops: at random or round-robin (per node and destination)."""

    mode: SprayMode | str = option(SprayMode.RANDOM, doc="random or round_robin")
    weight: PathWeight | str = option(PathWeight.HOPS, doc="equal cost by hops or by delay (propagation)")

    def __post_init__(self) -> None:
        self.mode = SprayMode.parse(self.mode, "spray: mode")
        self.weight = PathWeight.parse(self.weight, "spray: weight")

    def attach(self, net: Network) -> None:
        self.random = net.stream("routing", "spray").random
        self.topology_changed(net)

    def topology_changed(self, net: Network) -> None:
        self._sets(net, self.weight)
        self.turn: dict[tuple[Node, Node], int] = {}

    def next_link(self, node: Node, packet: Packet) -> Link | None:
        links = self.links(node, packet.dst)
        if not links:
            return None
        n = len(links)
        if n == 1:
            return links[0]
        if self.mode == SprayMode.RANDOM:
            return links[int(self.random() * n)]
        key = (node, packet.dst)
        i = self.turn.get(key, 0)
        self.turn[key] = i + 1
        return links[i % n]


@key_aliases
@dataclass
class Flowlet(_EqualCost):
    """Flowlet switching (LetFlow, Vanini et al., NSDI 2017): a flow keeps its next hop at a node until it has
    been idle there for more than ``gap_s`` seconds; its next packet then starts a flowlet on a random next hop.

    Reordering needs a later packet to overtake an earlier one. After an idle gap longer than the delay
    difference between the paths, the earlier packets have already arrived, so set ``gap_s`` above that
    difference (queueing included). A flow is (its name, source, destination), as for :class:`Ecmp`.
    """

    gap_s: float = option(0.05, key="gap", unit="time", doc="idle time after which a flow may change next hop")
    weight: PathWeight | str = option(PathWeight.HOPS, doc="equal cost by hops or by delay (propagation)")

    def __post_init__(self) -> None:
        if not (isinstance(self.gap_s, int | float) and self.gap_s >= 0 and math.isfinite(self.gap_s)):
            raise ConfigError(f"flowlet: gap: expected a time >= 0 s (above the paths' delay difference), "
                              f"got {self.gap_s!r}")  # fmt: skip
        self.weight = PathWeight.parse(self.weight, "flowlet: weight")

    def attach(self, net: Network) -> None:
        self.env = net.env
        self.random = net.stream("routing", "flowlet").random
        self.topology_changed(net)

    def topology_changed(self, net: Network) -> None:
        self._sets(net, self.weight)
        # per node: flow -> (its link, when its last packet left the node). Forgotten here, when routing is told
        # of a change (a flowlet never outlives its link), and swept of idle flows as the table grows.
        self.flowlets: dict[Node, dict[object, tuple[Link, float]]] = {n: {} for n in net.nodes.values()}
        self._sweep_at: dict[Node, int] = {}

    def next_link(self, node: Node, packet: Packet) -> Link | None:
        now = self.env.now
        key = (packet.flow, packet.src, packet.dst)
        table = self.flowlets[node]
        seen = table.get(key)
        if seen is not None and now - seen[1] <= self.gap_s:
            link = seen[0]
        else:
            links = self.links(node, packet.dst)
            if not links:
                return None
            link = links[0] if len(links) == 1 else links[int(self.random() * len(links))]
            if len(table) >= self._sweep_at.get(node, _FLOWLET_SWEEP):
                self._sweep(node, table, now)
        table[key] = (link, now)
        return link

    def _sweep(self, node: Node, table: dict[object, tuple[Link, float]], now: float) -> None:
        # an idle flow's entry decides nothing (its next packet picks anew), so a day of short TCP connections
        # must not leave one per connection at every node; sweeping when the table doubles keeps it amortised O(1)
        for k in [k for k, (_, t) in table.items() if now - t > self.gap_s]:
            del table[k]
        self._sweep_at[node] = max(_FLOWLET_SWEEP, 2 * len(table))


_FLOWLET_SWEEP = 1024  # entries of a node's flowlet table before its first sweep of idle flows


@key_aliases
@dataclass
class WeightedSplit:
    """Fixed-probability split: at each listed node, a packet takes a listed next hop with its weight's share.

    ``splits`` maps a node to ``{next node: weight}``. For a destination, a listed next hop counts only if it
    is no farther (in hops) from the destination than the node itself; equal-distance choices that could send a
    packet round in a circle are ignored (the first in topology order wins), so forwarding stays loop-free. A
    node without a split, or with no usable next hop for a destination, forwards by hop count.
    """

    detection_delay_s: float = option(0.0, **_DETECT)
    splits: Mapping[str, Mapping[str, float]] = option(default_factory=dict, doc="node -> {next node: weight}")

    def __post_init__(self) -> None:
        clean: dict[str, dict[str, float]] = {}
        for node, hops in dict(self.splits).items():
            if not isinstance(hops, Mapping) or not hops:
                raise ConfigError(f"weighted_split: splits.{node}: expected {{next node: weight}}, got {hops!r}")
            weights = {str(v): float(w) for v, w in hops.items()}
            if any(w < 0 for w in weights.values()) or not sum(weights.values()) > 0:
                raise ConfigError(f"weighted_split: splits.{node}: weights must be >= 0 and not all zero")
            clean[str(node)] = weights
        self.splits = clean

    def attach(self, net: Network) -> None:
        for node, hops in self.splits.items():
            if node not in net.nodes:
                raise TopologyError(f"weighted_split: splits: unknown node {node!r}")
            for v in hops:
                if net.link_between(node, v) is None:
                    raise TopologyError(f"weighted_split: splits.{node}: {node} -> {v} is not a link")
        self.random = net.stream("routing", "weighted_split").random
        self.topology_changed(net)

    def topology_changed(self, net: Network) -> None:
        trees = getattr(self, "trees", None)
        if trees is None:
            self.trees = ShortestPathTrees(net, lambda _link: None)
        else:
            trees.refresh()
        self.choices: dict[Node, dict[Node, tuple[list[float], list[Link]]]] = {n: {} for n in net.nodes.values()}
        self.split_links = {
            net.nodes[u]: [
                (link, w) for v, w in hops.items() if w > 0 and (link := net.link_between(u, v)) and link.routed_up
            ]
            for u, hops in self.splits.items()
        }
        self.ready: set[Node] = set()  # destinations whose splits are worked out

    def _splits_toward(self, dst: Node) -> None:
        """Each split node's usable next hops toward *dst*, with their cumulative weights."""
        self.ready.add(dst)
        dist = self.trees.distance
        sideways: dict[Node, set[Node]] = {}  # equal-distance split edges kept so far (acyclic)
        for u, options in self.split_links.items():
            du = dist(u, dst)
            if u is dst or math.isinf(du):
                continue
            keep = []
            for link, w in options:
                dv = dist(link.dst, dst)
                if math.isinf(dv) or dv > du:
                    continue
                if dv == du:
                    if _reaches(sideways, link.dst, u):
                        continue
                    sideways.setdefault(u, set()).add(link.dst)
                keep.append((link, w))
            if keep:
                cum = list(itertools.accumulate(w for _, w in keep))
                self.choices[u][dst] = (cum, [link for link, _ in keep])

    def next_link(self, node: Node, packet: Packet) -> Link | None:
        dst = packet.dst
        if dst not in self.ready:
            self._splits_toward(dst)
        choice = self.choices[node].get(dst)
        if choice is None:
            return self.trees.next_link(node, dst)
        cum, links = choice
        return links[bisect.bisect_right(cum, self.random() * cum[-1])] if len(links) > 1 else links[0]


def _reaches(edges: dict[Node, set[Node]], a: Node, b: Node) -> bool:
    """True if *b* is reachable from *a* over *edges*."""
    seen, todo = {a}, [a]
    while todo:
        x = todo.pop()
        if x is b:
            return True
        for y in edges.get(x, ()):
            if y not in seen:
                seen.add(y)
                todo.append(y)
    return False
