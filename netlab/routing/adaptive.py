"""Load-aware strategies: least-loaded routing with global instantaneous knowledge or periodic link-state updates,
and least-loaded among the k shortest paths ("shortest route and least traffic at once").

Link cost (``metric``):

``delay``        seconds a packet would spend crossing the link: propagation + serialisation + queueing.
                 Oracle: the link's current backlog (exact, for this packet's size). Link state: a packet of the
                 interval's mean size behind the interval's time-average number in system.
``queue``        1 + packets in the link's system (a hop count that counts queues).
``utilisation``  link state only: propagation + serialisation / (1 - rho), the M/M/1 delay of the measured
                 utilisation rho (capped at 0.99), the form ARPANET's 1987 revised metric started from.

``mode='oracle'`` decides at the source on the links' state at that instant (global, instantaneous knowledge:
an upper bound no real protocol reaches). ``mode='link_state'`` measures every link each ``update_interval_s``,
smooths the cost with an EWMA (``ewma`` = weight of the new measurement; 1 means none), limits the change per
update to ``clamp`` idle costs and the cost to ``cap`` idle costs (both optional, like the 1987 HN-SPF metric),
publishes the costs to every node at once and recomputes the tables only when a cost changed (a destination's table
when the first packet for it arrives after the update, so an update costs nothing toward destinations nobody sends
to). Stale costs make all traffic chase the path that looked best at the last update: that is the oscillation to
look at.

Loop freedom: oracle decisions are source routes (a simple path chosen at the source); link-state tables are one
shortest-path tree per destination on one consistent set of published costs, so forwarding is loop-free between
updates. A packet in flight when the tables change may see two different trees; the TTL bounds that case.

>>> LeastLoaded(mode="link_state", update_interval_s=0.5, clamp=0.5)  # doctest: +NORMALIZE_WHITESPACE
LeastLoaded(detection_delay_s=0.0, mode='link_state', metric='delay', update_interval_s=0.5, ewma=0.5,
            clamp=0.5, cap=None)
"""

from __future__ import annotations

import itertools
import math
from array import array
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx

from netlab.errors import ConfigError
from netlab.options import Choice, key_aliases
from netlab.routing._graph import REFERENCE_BITS, LinkMonitor, shortest_path, source_route, tx_time
from netlab.routing._trees import ShortestPathTrees
from netlab.routing.base import PathWeight
from netlab.topology.spec import option

if TYPE_CHECKING:
    from netlab.network.link import Link
    from netlab.network.network import Network
    from netlab.network.node import Node
    from netlab.network.packet import Packet

__all__ = ["Decide", "KShortestLeastLoaded", "LeastLoaded", "LoadMetric", "LoadMode", "message_of"]


class LoadMode(Choice):
    """Where a least-loaded strategy's link costs come from (``mode:``)."""

    ORACLE = "oracle"  # the links' state at the instant of the decision: global, instantaneous knowledge
    LINK_STATE = "link_state"  # measured every update_interval and flooded, as a link-state protocol would


class LoadMetric(Choice):
    """What a loaded link costs (``metric:``)."""

    DELAY = "delay"  # propagation plus queueing plus transmission time
    QUEUE = "queue"  # packets waiting, plus one
    UTILISATION = "utilisation"  # busy fraction over the last interval (link_state only)


class Decide(Choice):
    """How often a source-routed choice is made (``per:``)."""

    FLOW = "flow"
    MESSAGE = "message"
    PACKET = "packet"


MODES = tuple(m.value for m in LoadMode)
METRICS = tuple(m.value for m in LoadMetric)
PER = tuple(m.value for m in Decide)
#: Per-message decisions are remembered for this many messages (oldest forgotten first).
MESSAGE_CACHE = 4096

#: What a remembered decision is for: (source node, destination node, flow, message or None).
_DecisionKey = tuple["Node", "Node", Hashable, Hashable]


def message_of(packet: Packet) -> Hashable:
    """The message a packet belongs to, or None: ``packet.payload.message_id`` when the payload has one.

    The mail layer marks the packets of one message by giving their payload a ``message_id`` attribute; the
    packets of background flows have no payload, so for them "per message" means "per packet".
    """
    return getattr(packet.payload, "message_id", None)


@key_aliases
@dataclass
class _LoadAware:
    """Link costs from the links' load, shared by the least-loaded strategies (see the module docstring)."""

    detection_delay_s: float = option(0.0, key="detection_delay", unit="time",
                                      doc="delay before routing reacts to a link or node going down or up")  # fmt: skip
    # a str is read as its member in __post_init__, so LeastLoaded(mode="link_state") stays the way to write it
    mode: LoadMode | str = option(
        LoadMode.ORACLE, doc="oracle (instantaneous global knowledge) or link_state (periodic updates)"
    )
    metric: LoadMetric | str = option(LoadMetric.DELAY, doc="link cost: delay, queue or utilisation (link_state only)")
    update_interval_s: float = option(1.0, key="update_interval", unit="time",
                                      doc="link_state: time between cost updates")  # fmt: skip
    ewma: float = option(0.5, doc="link_state: weight of the new measurement in the smoothed cost (1 = none)")
    clamp: float | None = option(None, doc="link_state: most a cost may change per update, in idle costs")
    cap: float | None = option(None, doc="link_state: highest cost, in idle costs (none = unbounded)")

    def __post_init__(self) -> None:
        name = type(self).__name__
        self.mode = LoadMode.parse(self.mode, f"{name}: mode")
        self.metric = LoadMetric.parse(self.metric, f"{name}: metric")
        if self.mode is LoadMode.ORACLE and self.metric is LoadMetric.UTILISATION:
            raise ConfigError(f"{name}: metric 'utilisation' is measured over an interval: use mode 'link_state'")
        if not (self.update_interval_s > 0 and math.isfinite(self.update_interval_s)):
            raise ConfigError(f"{name}: update_interval must be a positive time, got {self.update_interval_s!r}")
        if not 0 < self.ewma <= 1:
            raise ConfigError(f"{name}: ewma must be in (0, 1], got {self.ewma!r}")
        if self.clamp is not None and not self.clamp > 0:
            raise ConfigError(f"{name}: clamp must be > 0 (idle costs per update), got {self.clamp!r}")
        if self.cap is not None and not self.cap >= 1:
            raise ConfigError(f"{name}: cap must be >= 1 (idle costs), got {self.cap!r}")

    # ------------------------------------------------------------------ costs
    def idle_cost(self, link: Link) -> float:
        """The cost of *link* when it carries nothing."""
        if self.metric == LoadMetric.QUEUE:
            return 1.0
        return max(link.delay_s + tx_time(link), 1e-12)  # never zero: a zero-cost cycle could loop

    def live_cost(self, link: Link, bits: float = REFERENCE_BITS) -> float:
        """The oracle's cost of *link* now, for a packet of *bits*."""
        if self.metric == LoadMetric.QUEUE:
            return 1.0 + link.queue_length()
        return link.delay_s + link.backlog_s() + tx_time(link, bits)

    def live_costs(self, bits: float) -> Callable[[Link], float]:
        """:meth:`live_cost` for a packet of *bits*, as one quick function (the same numbers, operation by
        operation: ``bits / inf`` is the 0 that ``tx_time`` gives a pure-delay link)."""
        if self.metric == LoadMetric.QUEUE:
            return lambda link: 1.0 + link.queue_length()
        env = self.net.env
        return lambda link: link.delay_s + max(0.0, link.free_at - env._now) + bits / link.rate_bps

    def _measured_cost(self, link: Link, mon: LinkMonitor) -> float:
        if self.metric == LoadMetric.QUEUE:
            return 1.0 + mon.number[link]
        tx = tx_time(link, mon.size_bits[link])
        if self.metric == LoadMetric.DELAY:
            return link.delay_s + tx * (1.0 + mon.number[link])
        return link.delay_s + tx / (1.0 - min(mon.rho[link], 0.99))

    def _setup_costs(self, net: Network) -> None:
        self.net = net
        self.cost: dict[Link, float] = {link: self.idle_cost(link) for link in net.links}
        self.cost_updates = 0
        self._adjacency(net)
        if self.mode == LoadMode.LINK_STATE:
            self.monitor = LinkMonitor(net, self.update_interval_s, self._update)

    def _adjacency(self, net: Network) -> None:
        self.adj: dict[Node, list[Link]] = {
            n: [link for link in n.out_links if link.routed_up] for n in net.nodes.values()
        }
        self.known_up = {link for links in self.adj.values() for link in links}  # as of the last topology change

    def _update(self, _now: float) -> None:
        """A link-state update: smooth, clamp and cap each cost; tell the strategy when any changed."""
        changed = False
        a = self.ewma
        for link, old in self.cost.items():
            idle = self.idle_cost(link)
            new = a * self._measured_cost(link, self.monitor) + (1.0 - a) * old
            if self.clamp is not None:
                step = self.clamp * idle
                new = min(old + step, max(old - step, new))
            if self.cap is not None:
                new = min(new, self.cap * idle)
            new = max(new, idle)
            if new != old:
                self.cost[link] = new
                changed = True
        if changed:
            self.cost_updates += 1
            self.costs_changed()

    def costs_changed(self) -> None:
        """Called after a link-state update changed a published cost."""

    def link_cost(self, link: Link, bits: float) -> float:
        """The cost a decision uses now: live for the oracle, the last published one for link state."""
        return self.live_cost(link, bits) if self.mode == LoadMode.ORACLE else self.cost[link]


@key_aliases
@dataclass
class LeastLoaded(_LoadAware):
    """Least-cost path on the links' load: oracle (source routes) or periodic link state (hop-by-hop tables)."""

    def attach(self, net: Network) -> None:
        self._setup_costs(net)
        if self.mode == LoadMode.LINK_STATE:
            # Least-cost trees on the published costs over the links known to be up: one consistent set of
            # costs for every destination, so forwarding is loop-free between updates.
            self.trees = ShortestPathTrees(net, self.cost.__getitem__, is_up=self.known_up.__contains__)
        else:
            self._bounds_for(net)

    def topology_changed(self, net: Network) -> None:
        self._adjacency(net)
        if self.mode == LoadMode.LINK_STATE:
            self._recompute()
        else:
            self._bounds_for(net)

    def costs_changed(self) -> None:
        self._recompute()

    def _recompute(self) -> None:
        """Forget every table: each is rebuilt on the current costs when a packet next needs it."""
        self.trees.is_up = self.known_up.__contains__
        self.trees.clear()

    # ------------------------------------------------------------------ oracle: a bounded search
    def _bounds_for(self, net: Network) -> None:
        """Idle-network bounds for the oracle's search, per destination, over the links known to be up.

        A packet of *b* bits cannot cross a link for less than ``delay + b / rate`` (nor for less than 1 with the
        ``queue`` metric), so the sum of the least delays to the destination plus *b* times the least summed
        ``1 / rate`` bounds its cost from below; the fewest-hops path, priced at the live costs, bounds it from
        above. :func:`~netlab.routing._graph.shortest_path` skips the nodes the two bounds rule out.
        """
        up = self.known_up.__contains__
        self.hops = ShortestPathTrees(net, lambda _link: None, is_up=up)
        self.least_delay = ShortestPathTrees(net, lambda link: link.delay_s, is_up=up)
        self.least_tx = ShortestPathTrees(net, lambda link: tx_time(link, 1.0), is_up=up)
        self.lower: dict[Node, tuple[array[float], array[float]]] = {}  # 8 bytes a node and destination

    def _lower(self, dst: Node, bits: float) -> Callable[[Node], float]:
        found = self.lower.get(dst)
        if found is None:
            if self.metric == LoadMetric.QUEUE:
                found = (array("d", self.hops.distances(dst)), array("d", bytes(8 * len(self.hops.nodes))))
            else:
                found = (array("d", self.least_delay.distances(dst)), array("d", self.least_tx.distances(dst)))
            self.lower[dst] = found
        base, per_bit = found
        index = self.hops.index

        def lower(node: Node) -> float:
            i = index[node]
            return base[i] + bits * per_bit[i]

        return lower

    def _upper(self, src: Node, dst: Node, cost: Callable[[Link], float]) -> float:
        """The live cost of the fewest-hops path from *src* to *dst* (inf if there is none)."""
        total, node, hops = 0.0, src, 0
        while node is not dst:
            link = self.hops.next_link(node, dst)
            if link is None or hops > len(self.hops.nodes):
                return math.inf
            total += cost(link)
            node, hops = link.dst, hops + 1
        return total

    def next_link(self, node: Node, packet: Packet) -> Link | None:
        if self.mode == LoadMode.LINK_STATE:
            return self.trees.first_least(node, packet.dst)
        bits = packet.size * 8.0
        dst = packet.dst
        cost = self.live_costs(bits)
        path = shortest_path(
            node, dst, self.adj, cost, lower=self._lower(dst, bits), bound=self._upper(node, dst, cost)
        )
        return source_route(packet, path) if path else None


@key_aliases
@dataclass
class KShortestLeastLoaded(_LoadAware):
    """The least-loaded of the k shortest paths, decided at the source per flow, per message or per packet.

    Candidates are the ``k`` shortest simple paths by hop count (``path_weight: delay`` for propagation delay)
    over the links that are up, computed once per source and destination and again after a topology change. A
    decision stamps the chosen path on the packet (source routing), so packets never loop. ``per: flow`` keeps
    a flow's first choice until the topology changes; ``per: message`` decides once per message (see
    :func:`message_of`); ``per: packet`` decides for each packet.
    """

    k: int = option(3, doc="number of candidate paths (shortest first)")
    per: Decide | str = option(Decide.PACKET, doc="decide per flow, per message or per packet")
    path_weight: PathWeight | str = option(PathWeight.HOPS, doc="what makes a candidate path short: hops or delay")

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise ConfigError(f"KShortestLeastLoaded: k must be a whole number >= 1, got {self.k!r}")
        self.per = Decide.parse(self.per, "KShortestLeastLoaded: per")
        self.path_weight = PathWeight.parse(self.path_weight, "KShortestLeastLoaded: path_weight")

    def attach(self, net: Network) -> None:
        self._setup_costs(net)
        self.topology_changed(net)

    def topology_changed(self, net: Network) -> None:
        self._adjacency(net)
        self.candidates: dict[tuple[Node, Node], list[tuple[Link, ...]]] = {}
        self.pinned: dict[_DecisionKey, tuple[Link, ...]] = {}
        self.messages: OrderedDict[_DecisionKey, tuple[Link, ...]] = OrderedDict()
        G: nx.DiGraph[Node] = nx.DiGraph()
        G.add_nodes_from(net.nodes.values())
        by_hops = self.path_weight == PathWeight.HOPS
        for links in self.adj.values():
            for link in links:
                G.add_edge(link.src, link.dst, link=link, w=1.0 if by_hops else link.delay_s)
        self.graph = G

    def paths(self, src: Node, dst: Node) -> list[tuple[Link, ...]]:
        """The candidate paths from *src* to *dst* (at most ``k``, shortest first; empty if none)."""
        key = (src, dst)
        found = self.candidates.get(key)
        if found is None:
            G = self.graph
            try:
                nodes = list(itertools.islice(nx.shortest_simple_paths(G, src, dst, weight="w"), self.k))
            except nx.NetworkXNoPath:
                nodes = []
            found = [tuple(G.edges[u, v]["link"] for u, v in itertools.pairwise(p)) for p in nodes]
            self.candidates[key] = found
        return found

    def choose(self, src: Node, dst: Node, bits: float) -> tuple[Link, ...] | None:
        """The candidate with the least summed link cost now (the shortest on ties)."""
        best, best_cost = None, math.inf
        cost = self.link_cost
        for path in self.paths(src, dst):
            c = sum(cost(link, bits) for link in path)
            if c < best_cost:
                best, best_cost = path, c
        return best

    def next_link(self, node: Node, packet: Packet) -> Link | None:
        dst = packet.dst
        per = self.per
        message = message_of(packet) if per == Decide.MESSAGE else None
        if per == Decide.FLOW or message is not None:
            key = (node, dst, packet.flow, message)
            cache = self.pinned if per == Decide.FLOW else self.messages
            path = cache.get(key)
            if path is None:
                path = self.choose(node, dst, packet.size * 8.0)
                if path is None:
                    return None
                cache[key] = path
                if per == Decide.MESSAGE and len(self.messages) > MESSAGE_CACHE:
                    self.messages.popitem(last=False)
        else:
            path = self.choose(node, dst, packet.size * 8.0)
            if path is None:
                return None
        return source_route(packet, path)
