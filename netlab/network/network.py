"""The running network: nodes and directed links on a SimPy environment, drops, deliveries, faults, and the
conservation check.

``Network`` is also the read-only view routing strategies get: ``nodes`` (name -> Node), ``links``,
``link_between(u, v)``, ``now``, ``flows`` and :meth:`stream` for seeded randomness.
"""

from __future__ import annotations

import ipaddress
import random
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, cast

import simpy

from netlab.errors import ConfigError, ConservationError
from netlab.network.drops import DROP_REASONS, DropReason
from netlab.network.faults import FaultSpec
from netlab.network.link import Link
from netlab.network.node import Node
from netlab.rng import stream
from netlab.topology.spec import Topology

if TYPE_CHECKING:
    from netlab.network.packet import Packet
    from netlab.routing.base import RoutingStrategy
    from netlab.workload.spec import FlowSpec

__all__ = ["DROP_REASONS", "DropReason", "DropRecord", "Network", "assign_ips"]

#: One drop record: ``(time_s, reason, where, flow, seq, size_bytes)``, ``where`` the link or node name.
DropRecord = tuple[float, DropReason, str, Hashable, int, int]


def assign_ips(topology: Topology) -> dict[str, str]:
    """IPv4 address per node: the scenario's, else the next free one of 10.0.0.1, 10.0.0.2, ... in node order."""
    given: dict[str, str] = {}
    for i, n in enumerate(topology.nodes):
        if n.ip is not None:
            try:
                addr = str(ipaddress.IPv4Address(n.ip))
            except ValueError:
                raise ConfigError(f"nodes[{i}] ({n.name}).ip: expected an IPv4 address, got {n.ip!r}") from None
            if addr in given.values():
                raise ConfigError(f"nodes[{i}] ({n.name}).ip: {addr} is already the address of another node")
            given[n.name] = addr
    taken = set(given.values())
    nxt = int(ipaddress.IPv4Address("10.0.0.1"))
    out = {}
    for n in topology.nodes:
        if n.name in given:
            out[n.name] = given[n.name]
            continue
        while str(ipaddress.IPv4Address(nxt)) in taken or nxt & 0xFF in (0, 255):
            nxt += 1
        out[n.name] = str(ipaddress.IPv4Address(nxt))
        nxt += 1
    return out


class _LazyStream:
    """The loss stream of a link, made when first drawn from (the same stream :meth:`Network.stream` gives)."""

    __slots__ = ("_rng", "name", "seed")

    def __init__(self, seed: int, name: str) -> None:
        self.seed, self.name = seed, name
        self._rng: random.Random | None = None

    def random(self) -> float:
        if self._rng is None:
            self._rng = stream(self.seed, "link", self.name, "loss")
        return self._rng.random()


class Network:
    """Nodes and links of *topology* on *env*; counts every packet injected, delivered and dropped.

    Parameters
    ----------
    env : simpy.Environment
    topology : Topology
    seed : int
        Root seed; each link's loss draws come from the stream ``link/<a>-><b>/loss``.
    flows : iterable of FlowSpec, optional
        Known to routing strategies that pin flows (read-only).
    link_class : type, optional
        The link implementation (tests swap in fakes).
    """

    def __init__(
        self,
        env: simpy.Environment,
        topology: Topology,
        *,
        seed: int = 1,
        flows: Iterable[FlowSpec] = (),
        link_class: type[Link] = Link,
        record_drops: bool = True,
    ) -> None:
        self.env = env
        self.topology = topology
        self.seed = seed
        self.flows = tuple(flows)
        ips = assign_ips(topology)
        self.nodes: dict[str, Node] = {n.name: Node(self, n, ips[n.name]) for n in topology.nodes}
        self.links: list[Link] = []
        self._by_pair: dict[tuple[str, str], Link] = {}
        for u, v, spec in topology.directed_links():
            # A loss-free link never draws: its stream is made on first use (3 KB and ~30 us a link saved).
            # (_LazyStream draws as a Random does: the cast tells the type checker so)
            rng = (self.stream("link", f"{u}->{v}", "loss") if spec.loss
                   else cast(random.Random, _LazyStream(seed, f"{u}->{v}")))  # fmt: skip
            link = link_class(self, self.nodes[u], self.nodes[v], spec, rng)
            self.links.append(link)
            self._by_pair[(u, v)] = link
            self.nodes[u].out_links.append(link)
            self.nodes[v].in_links.append(link)
        self.injected = 0
        self.delivered = 0
        self.in_flight = 0  # running count, used only to notice an idle network; conservation counts afresh
        # Packets owed but not yet sent (a receiver's delayed ACK): the network is not idle while one is owed,
        # though nothing is on a link, since its sending will wake the other end.
        self.deferred = 0
        # Keyed by the plain names (the summary shows them); a DropReason finds its entry, being equal to it.
        self.dropped: dict[str, int] = {str(r): 0 for r in DROP_REASONS}
        self.drop_records: list[DropRecord] | None = [] if record_drops else None
        self.on_idle: Callable[[], None] | None = None
        self.strategy: RoutingStrategy | None = None

    # ---------------------------------------------------------------- view for strategies
    @property
    def now(self) -> float:
        """The current simulated time in seconds."""
        return self.env._now  # read per routing decision: the clock itself (see netlab.simkit)

    def link_between(self, u: str, v: str) -> Link | None:
        """The directed link from node *u* to node *v*, or None."""
        return self._by_pair.get((u, v))

    def stream(self, *names: object) -> random.Random:
        """A seeded random stream named *names* under this run's root seed."""
        return stream(self.seed, *names)

    # ---------------------------------------------------------------- routing
    def attach(self, strategy: RoutingStrategy) -> None:
        """Install the routing *strategy* and let it build its tables."""
        self.strategy = strategy
        for node in self.nodes.values():
            node.strategy_next_link = strategy.next_link
        strategy.attach(self)

    # ---------------------------------------------------------------- outcomes
    def deliver(self, pkt: Packet) -> None:
        """*pkt* reached its destination."""
        self.delivered += 1
        self.in_flight -= 1
        owner = pkt.owner
        if owner is not None:
            owner.on_deliver(pkt, self.env._now)  # per packet: the clock itself (see netlab.simkit)
        if self.in_flight == 0 and self.on_idle is not None and not self.deferred:
            self.on_idle()

    def drop(self, pkt: Packet, reason: DropReason, where: Link | Node) -> None:
        """Drop *pkt* at *where* (a link or a node) for *reason*."""
        now = self.env.now
        self.dropped[reason] += 1
        self.in_flight -= 1
        drops = where.drops if isinstance(where, Link) else None
        if drops is not None:
            drops[reason] = drops.get(reason, 0) + 1
        if self.drop_records is not None:
            self.drop_records.append((now, reason, where.name, pkt.flow, pkt.seq, pkt.size))
        if pkt.owner is not None:
            pkt.owner.on_drop(pkt, now, reason)
        if self.in_flight == 0 and self.on_idle is not None and not self.deferred:
            self.on_idle()

    def owe(self) -> None:
        """A packet is owed (sent later by a timer, as a delayed ACK): the network does not count as idle."""
        self.deferred += 1

    def paid(self) -> None:
        """An owed packet was sent (or will not be): the network may be idle again."""
        self.deferred -= 1
        if self.deferred == 0 and self.in_flight == 0 and self.on_idle is not None:
            self.on_idle()

    # ---------------------------------------------------------------- faults
    def schedule_faults(self, faults: Iterable[FaultSpec]) -> None:
        """Apply each fault at its time; tell the strategy after its detection delay."""
        for fault in faults:
            ev = self.env.timeout(fault.at_s - self.env.now if fault.at_s > self.env.now else 0.0, fault)
            ev.callbacks.append(self._apply_fault)

    def _apply_fault(self, ev: simpy.Event) -> None:
        fault = cast("FaultSpec", ev.value)
        up = fault.action == "up"
        strategy = self.strategy
        if fault.node is not None:
            node = self.nodes[fault.node]
            touched = [*node.out_links, *node.in_links]
        else:
            assert fault.link is not None
            u, v = fault.link
            touched = [self._by_pair[(u, v)]]
            back = self._by_pair.get((v, u))
            if back is not None and not back.spec.directed and back.spec is touched[0].spec:
                touched.append(back)
        if strategy is not None:  # routing learns of it after its detection delay, not now
            for link in touched:
                link.fault_pending()
        if fault.node is not None:
            self.nodes[fault.node].set_up(up)
        else:
            for link in touched:
                link.set_up(up)
        if strategy is None:
            return  # nothing routes yet: attach() builds its tables from the state as it then is
        # what this fault did, as routing will learn it (a later fault's notice must not show a still later one)
        learned = [(link, link.up) for link in touched]
        delay = getattr(strategy, "detection_delay_s", 0.0)  # required by RoutingStrategy; older user classes lack it

        def notice(_ev: simpy.Event) -> None:
            for link, state in learned:
                link.fault_noticed(state)
            strategy.topology_changed(self)

        self.env.timeout(delay).callbacks.append(notice)

    # ---------------------------------------------------------------- conservation
    def count_in_flight(self) -> int:
        """Packets inside the network now, counted where they are (link queues and wires, node delays)."""
        return sum(link.in_flight() for link in self.links) + sum(n.in_flight() for n in self.nodes.values())

    def check_conservation(self) -> dict[str, int]:
        """Raise :class:`ConservationError` unless injected = delivered + dropped + in flight (counted)."""
        counted = self.count_in_flight()
        dropped = sum(self.dropped.values())
        books = {"injected": self.injected, "delivered": self.delivered, "dropped": dropped, "in_flight": counted}
        if self.injected != self.delivered + dropped + counted:
            exc = ConservationError(
                f"packet conservation violated at t={self.env.now:.9g} s: injected {self.injected} != delivered "
                f"{self.delivered} + dropped {dropped} + in flight {counted} "
                f"(difference {self.injected - self.delivered - dropped - counted}); {self.where_in_flight()}"
            )
            exc.books = books  # type: ignore[attr-defined]
            raise exc
        return books

    def where_in_flight(self) -> str:
        """Where the counted in-flight packets are, per link or node and per flow (a conservation diagnosis)."""
        places: Counter[str] = Counter()
        flows: Counter[str] = Counter()
        for link in self.links:
            for pkt in link.packets_in_flight():
                places[link.name] += 1
                flows[str(pkt.flow)] += 1
        for node in self.nodes.values():
            for pkt in node.packets_in_flight():
                places[f"node {node.name}"] += 1
                flows[str(pkt.flow)] += 1
        if not places:
            return "no packet is counted in flight"
        top = ", ".join(f"{name} {n}" for name, n in places.most_common(5))
        by_flow = ", ".join(f"{name} {n}" for name, n in flows.most_common(5))
        return f"counted in flight at {top}{' ...' if len(places) > 5 else ''}; by flow: {by_flow}"
