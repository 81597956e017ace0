"""Fakes and tiny networks for testing routing strategies, links and anything that sends packets.

Topologies: :func:`two_hosts`, :func:`line3`, :func:`diamond`, :func:`triangle`, :func:`parallel_paths`,
:func:`bottleneck` (a TCP dumbbell) and :func:`tiny_topology` (any graph from link tuples). A running network
without a scenario: :func:`make_network`.
Packets by hand: :func:`packet`, :func:`load` (queue traffic on a link) and :func:`path_of` (walk a packet hop by
hop as the engine would, without running the clock). Observers and broken parts: :class:`RecordingSink` (a
packet owner that notes deliveries and drops), :class:`Tap` (records what crosses every link),
:class:`ScriptedLoss` (loses exactly the packets a script names) and :class:`LeakyLink` (loses packets without
counting them, for the conservation check).

A strategy of your own, tested on a diamond without running anything:

>>> from netlab.testing import diamond, make_network, packet, path_of
>>> class Lower:                                       # always the lower path, s -> b -> d
...     detection_delay_s = 0.0
...     def attach(self, net): self.net = net
...     def topology_changed(self, net): pass
...     def next_link(self, node, pkt):
...         return self.net.link_between(node.name, "b" if node.name == "s" else "d")
>>> net = make_network(diamond(), Lower())
>>> path_of(net, packet(net, "s", "d"))
['s', 'b', 'd']

And run: every packet's fate is noted by its owner, every hop by the tap.

>>> from netlab.testing import RecordingSink, Tap
>>> tap, sink = Tap(), RecordingSink()
>>> net = make_network(diamond(), Lower(), link_class=tap.link_class)
>>> net.nodes["s"].inject(packet(net, "s", "d", owner=sink)); net.env.run()
>>> [p.seq for _t, p in sink.delivered], [r.link for r in tap.records if r.event == "send"]
([0], ['s->b', 'b->d'])
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, cast

import simpy

from netlab.network.drops import DropReason
from netlab.network.link import Link
from netlab.network.network import Network
from netlab.network.packet import Packet
from netlab.routing.static import ShortestHops
from netlab.topology.spec import LinkSpec, NodeSpec, Topology

if TYPE_CHECKING:
    import random

    from netlab.network.node import Node
    from netlab.network.packet import PacketOwner
    from netlab.routing.base import RoutingStrategy
    from netlab.workload.spec import FlowSpec

__all__ = [
    "LeakyLink",
    "LinkTuple",
    "RecordingSink",
    "ScriptedLoss",
    "Tap",
    "TapRecord",
    "bottleneck",
    "diamond",
    "line3",
    "load",
    "make_network",
    "packet",
    "parallel_paths",
    "path_of",
    "tiny_topology",
    "triangle",
    "two_hosts",
]

#: A link as :func:`tiny_topology` takes it: ``(a, b)``, ``(a, b, rate_bps)``, ``(a, b, rate_bps, delay_s)`` or
#: ``(a, b, rate_bps, delay_s, loss)``; both directions, no queue limit.
LinkTuple = (
    tuple[str, str] | tuple[str, str, float] | tuple[str, str, float, float] | tuple[str, str, float, float, float]
)


# ---------------------------------------------------------------------------------------------------- topologies
def tiny_topology(
    links: Iterable[LinkTuple], *, hosts: Collection[str] = (), rate_bps: float = 10e6, delay_s: float = 0.001
) -> Topology:
    """The topology of *links*, nodes in the order they first appear; those in *hosts* are hosts, the others
    routers (the engine treats both alike). *rate_bps* and *delay_s* are the defaults of short tuples.

    >>> t = tiny_topology([("s", "m", 5e6), ("m", "d")], hosts={"s", "d"})
    >>> [(n.name, n.role) for n in t.nodes], [(l.a, l.b, l.rate_bps, l.delay_s) for l in t.links]
    ([('s', 'host'), ('m', 'router'), ('d', 'host')], [('s', 'm', 5000000.0, 0.001), ('m', 'd', 10000000.0, 0.001)])
    """
    specs: list[LinkSpec] = []
    names: list[str] = []
    for item in links:
        a, b, *rest = item
        rate = rest[0] if rest else rate_bps
        delay = rest[1] if len(rest) > 1 else delay_s
        loss = rest[2] if len(rest) > 2 else 0.0
        names += [n for n in (a, b) if n not in names]
        specs.append(LinkSpec(a, b, rate_bps=rate, delay_s=delay, loss=loss))
    nodes = tuple(NodeSpec(n, "host" if n in hosts else "router") for n in names)
    return Topology(nodes, tuple(specs))


def two_hosts(rate_bps: float = 8e6, delay_s: float = 0.001) -> Topology:
    """``a -- b``, two hosts. By default a 1000-byte packet takes exactly 1 ms to serialise and 1 ms to cross."""
    return tiny_topology([("a", "b", rate_bps, delay_s)], hosts={"a", "b"})


def line3(rate_bps: float = 10e6, delay_s: float = 0.005, *, loss: float = 0.0) -> Topology:
    """``a -- r -- b``: hosts a and b behind router r; *loss* on r -- b (both directions, so ACKs are lost too)."""
    return tiny_topology([("a", "r", rate_bps, delay_s), ("r", "b", rate_bps, delay_s, loss)], hosts={"a", "b"})


def diamond(rate_bps: float = 10e6, delay_s: float = 0.001, *, lower_delay_s: float | None = None) -> Topology:
    """``s -> a -> d`` (upper) and ``s -> b -> d`` (lower): two equal-hop paths between hosts s and d.

    *lower_delay_s* gives both lower links another delay (asymmetric paths, reordering for per-packet spraying).
    """
    lower = delay_s if lower_delay_s is None else lower_delay_s
    return tiny_topology(
        [("s", "a", rate_bps, delay_s), ("a", "d", rate_bps, delay_s), ("s", "b", rate_bps, lower),
         ("b", "d", rate_bps, lower)],
        hosts={"s", "d"},
    )  # fmt: skip


def triangle(rate_bps: float = 10e6, delay_s: float = 0.001) -> Topology:
    """``s -> d`` direct at half *rate_bps*, or ``s -> m -> d`` at *rate_bps*: fewest hops against more bandwidth."""
    return tiny_topology(
        [("s", "d", rate_bps / 2, delay_s), ("s", "m", rate_bps, delay_s), ("m", "d", rate_bps, delay_s)],
        hosts={"s", "d"},
    )


def bottleneck(n: int, *, rate_bps: float, delay_s: float, queue_packets: int | None, loss: float = 0.0,
               access_delays_s: tuple[float, ...] | None = None) -> Topology:  # fmt: skip
    """A TCP dumbbell: *n* senders ``s0..`` -> ``r1`` -> ``r2`` -> receivers ``d0..``. The data direction
    ``r1 -> r2`` has *rate_bps*, *delay_s* (one way), a DropTail limit of *queue_packets* (the packet on the wire
    included; None: unbounded) and random *loss*; ``r2 -> r1`` (the ACKs) the same rate and delay, no loss and no
    limit. Access links are 1 Gbit/s, sender *i*'s with *access_delays_s[i]* (default 0) for unequal RTTs.

    >>> t = bottleneck(2, rate_bps=10e6, delay_s=0.05, queue_packets=84)
    >>> len(t.nodes), len(t.links), t.links[0].queue_packets
    (6, 6, 84)
    """
    nodes = [NodeSpec("r1", "router"), NodeSpec("r2", "router")]
    links = [
        LinkSpec("r1", "r2", rate_bps=rate_bps, delay_s=delay_s, queue_packets=queue_packets, loss=loss, directed=True),
        LinkSpec("r2", "r1", rate_bps=rate_bps, delay_s=delay_s, directed=True),
    ]
    for i in range(n):
        d = access_delays_s[i] if access_delays_s else 0.0
        nodes += [NodeSpec(f"s{i}", "host"), NodeSpec(f"d{i}", "host")]
        links += [LinkSpec(f"s{i}", "r1", rate_bps=1e9, delay_s=d), LinkSpec("r2", f"d{i}", rate_bps=1e9)]
    return Topology(tuple(nodes), tuple(links))


def parallel_paths(n: int = 4, rate_bps: float = 10e6, delay_s: float = 0.001) -> Topology:
    """*n* equal two-hop paths ``s -> p1 .. pn -> d`` (ECMP and spraying spread over them)."""
    return tiny_topology(
        [(x, y, rate_bps, delay_s) for i in range(1, n + 1) for x, y in (("s", f"p{i}"), (f"p{i}", "d"))],
        hosts={"s", "d"},
    )


# ---------------------------------------------------------------------------------------------------- networks, packets
def make_network(
    topology: Topology,
    strategy: RoutingStrategy | None = None,
    *,
    seed: int = 1,
    link_class: type[Link] = Link,
    flows: Iterable[FlowSpec] = (),
) -> Network:
    """A :class:`~netlab.network.network.Network` of *topology* on a fresh environment (``net.env``), with
    *strategy* attached (default hop count). Nothing runs until ``net.env.run()``."""
    net = Network(simpy.Environment(), topology, seed=seed, flows=flows, link_class=link_class)
    net.attach(strategy if strategy is not None else ShortestHops())
    return net


def packet(
    net: Network,
    src: str = "s",
    dst: str = "d",
    *,
    size: int = 1000,
    flow: Hashable = "f",
    seq: int = 0,
    owner: PacketOwner[Packet] | None = None,
) -> Packet:
    """A packet of *size* bytes from node *src* to node *dst*, created now (hand it to ``node.inject``)."""
    return Packet(net.nodes[src], net.nodes[dst], size, net.now, flow=flow, seq=seq, owner=owner)


def load(net: Network, u: str, v: str, n: int, *, size: int = 1000) -> None:
    """Queue *n* packets of *size* bytes on the link *u* -> *v* now (they end at *v*: a busy link to route around).

    >>> net = make_network(two_hosts()); load(net, "a", "b", 3); net.link_between("a", "b").queue_length()
    3
    """
    link = net.link_between(u, v)
    if link is None:
        raise ValueError(f"load: no link {u} -> {v}")
    for i in range(n):
        link.send(Packet(link.src, link.dst, size, net.now, flow="load", seq=i))


def path_of(net: Network, pkt: Packet, *, limit: int = 64) -> list[str]:
    """The node names *pkt* would visit from its source, decided hop by hop as the engine does (its source route,
    else the node's table, else the strategy), without running the clock: ``"<no route>"`` ends a path the
    strategy drops. The walk moves ``pkt.hops`` on (a strategy may read it); stops after *limit* hops."""
    node = pkt.src
    names = [node.name]
    while node is not pkt.dst and pkt.hops < limit:
        route = pkt.route
        link = route[pkt.hops] if route is not None else node.fib.get(pkt.dst)
        if link is None:
            link = node.strategy_next_link(node, pkt)
        if link is None:
            return [*names, "<no route>"]
        pkt.hops += 1
        node = link.dst
        names.append(node.name)
    return names


# ---------------------------------------------------------------------------------------------------- observers
class RecordingSink:
    """A packet owner that notes what became of each packet: ``delivered`` ``(time_s, packet)`` and ``dropped``
    ``(time_s, packet, reason)``, in order. Give it as ``owner`` of the packets you send."""

    def __init__(self) -> None:
        self.delivered: list[tuple[float, Packet]] = []
        self.dropped: list[tuple[float, Packet, DropReason]] = []

    def __repr__(self) -> str:
        return f"<RecordingSink {len(self.delivered)} delivered, {len(self.dropped)} dropped>"

    def on_deliver(self, pkt: Packet, now: float) -> None:
        self.delivered.append((now, pkt))

    def on_drop(self, pkt: Packet, now: float, reason: DropReason) -> None:
        self.dropped.append((now, pkt, reason))


@dataclass(frozen=True, slots=True)
class TapRecord:
    """One packet seen by a :class:`Tap`: handed to *link* (``"send"``) or handed by it to its far node
    (``"arrive"``, after the loss draw: a lost packet does not arrive) at *time_s*."""

    time_s: float
    event: Literal["send", "arrive"]
    link: str
    packet: Packet


class Tap:
    """Records every packet handed to a link of the network and every packet a link hands on, in event order.

    Give ``tap.link_class`` to the network (``make_network(..., link_class=tap.link_class)``, or
    ``Network``/``Simulation``'s ``link_class``). *base* is the link class tapped (a :class:`ScriptedLoss`'s, say).
    The tapped links behave exactly as *base* does (tests/test_testing.py checks it on a lossy TCP transfer).
    """

    def __init__(self, base: type[Link] = Link) -> None:
        self.records: list[TapRecord] = []
        self.link_class: type[Link] = _tapped(self, base)

    def __repr__(self) -> str:
        return f"<Tap {len(self.records)} records>"

    def sent(self, link: str | None = None) -> list[Packet]:
        """The packets handed to *link* (``"a->b"``; default every link), in order."""
        return [r.packet for r in self.records if r.event == "send" and link in (None, r.link)]

    def arrived(self, link: str | None = None) -> list[Packet]:
        """The packets *link* (default every link) handed to its far node, in order."""
        return [r.packet for r in self.records if r.event == "arrive" and link in (None, r.link)]


def _tapped(tap: Tap, base: type[Link]) -> type[Link]:
    # TapLink re-implements Link._arrive (to record between the loss draw and the hand-over), so a base that changes
    # _arrive itself would be bypassed silently: only ScriptedLoss's links may, through the `_scripted_loss` hook.
    own = next((k for k in base.__mro__ if "_arrive" in vars(k)), Link)
    if own is not Link and not hasattr(base, "_scripted_loss"):
        raise TypeError(f"Tap(base={base.__name__}): {own.__name__} changes Link._arrive, which a Tap replaces; tap "
                        "Link or a ScriptedLoss's link_class")  # fmt: skip
    scripted = getattr(base, "_scripted_loss", None)

    class TapLink(base):  # type: ignore[valid-type,misc]
        __slots__ = ()

        def send(self, pkt: Packet) -> None:
            tap.records.append(TapRecord(self.net.env.now, "send", self.name, pkt))
            super().send(pkt)

        def _arrive(self, pkt: Packet) -> None:
            # Link._arrive with the record between the loss draw and the hand-over (as pcap's capture does):
            # recorded after it, an arrival would come after the packets its receiver sends at the same instant.
            wire = self.wire
            if not wire or wire[0] is not pkt:
                return  # the link went down while this packet was on it: already dropped and counted
            wire.popleft()
            if (scripted is not None and scripted(self, pkt)) or (self.loss and self.random() < self.loss):
                self.net.drop(pkt, DropReason.LOSS, self)
                return
            tap.records.append(TapRecord(self.net.env.now, "arrive", self.name, pkt))
            self.dst.receive(pkt)

    TapLink.__qualname__ = TapLink.__name__ = f"Tap{base.__name__}"
    return cast("type[Link]", TapLink)


# ---------------------------------------------------------------------------------------------------- broken parts
#: What a :class:`ScriptedLoss` loses on one link: the numbers (1, 2, ...) of the packets reaching its far end,
#: or a predicate on the packet.
LossRule = Collection[int] | Callable[[Packet], bool]


class ScriptedLoss:
    """Loses exactly the packets a script names, as random loss would (dropped ``loss`` at the far end, after
    the link time is spent), instead of drawing them.

    *script* maps a link name (``"r->b"``) to the numbers of the packets reaching its far end that it loses
    (``{2, 5}``: the second and the fifth), or to a predicate on the packet. ``lost`` lists ``(link, packet)``.
    Give ``script.link_class`` to the network; *base* is the link class it extends (a :class:`Tap`'s, say).

    >>> script = ScriptedLoss({"a->b": {2}}); sink = RecordingSink()
    >>> net = make_network(two_hosts(), link_class=script.link_class)
    >>> for i in range(3): net.nodes["a"].inject(packet(net, "a", "b", seq=i, owner=sink))
    >>> net.env.run(); [p.seq for _t, p in sink.delivered], [(r, p.seq) for _t, p, r in sink.dropped]
    ([0, 2], [(<DropReason.LOSS: 'loss'>, 1)])
    """

    def __init__(self, script: Mapping[str, LossRule], base: type[Link] = Link) -> None:
        self.script = dict(script)
        self.arrivals: dict[str, int] = {}
        self.lost: list[tuple[str, Packet]] = []
        self.link_class: type[Link] = _scripted(self, base)

    def __repr__(self) -> str:
        return f"<ScriptedLoss {sorted(self.script)}: {len(self.lost)} lost>"

    def loses(self, link: Link, pkt: Packet) -> bool:
        """Count *pkt* reaching the far end of *link*; True if the script loses it."""
        rule = self.script.get(link.name)
        if rule is None:
            return False
        n = self.arrivals[link.name] = self.arrivals.get(link.name, 0) + 1
        lose = rule(pkt) if callable(rule) else n in rule
        if lose:
            self.lost.append((link.name, pkt))
        return lose


def _scripted(script: ScriptedLoss, base: type[Link]) -> type[Link]:
    class ScriptedLink(base):  # type: ignore[valid-type,misc]
        __slots__ = ()

        def _scripted_loss(self, pkt: Packet) -> bool:
            return script.loses(self, pkt)  # a Tap over this class asks here (it replaces _arrive)

        def _arrive(self, pkt: Packet) -> None:
            wire = self.wire
            if wire and wire[0] is pkt and script.loses(self, pkt):
                wire.popleft()
                self.net.drop(pkt, DropReason.LOSS, self)
                return
            super()._arrive(pkt)

    ScriptedLink.__qualname__ = ScriptedLink.__name__ = f"Scripted{base.__name__}"
    return cast("type[Link]", ScriptedLink)


class LeakyLink(Link):
    """A broken link: every ``every``-th packet that reaches the far end vanishes, neither delivered nor dropped.

    For testing that the conservation check (``Network.check_conservation``, run at the end of every run) finds a
    leak: with this link class it must raise :class:`~netlab.errors.ConservationError`.
    """

    __slots__ = ("arrived",)
    every: ClassVar[int] = 3

    def __init__(self, net: Network, src: Node, dst: Node, spec: LinkSpec, random: random.Random) -> None:
        super().__init__(net, src, dst, spec, random)
        self.arrived = 0

    def _arrive(self, pkt: Packet) -> None:
        if self.wire and self.wire[0] is pkt:
            self.arrived += 1
            if self.arrived % self.every == 0:
                self.wire.popleft()
                return
        super()._arrive(pkt)
