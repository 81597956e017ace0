"""A node: hosts inject and receive packets, every node forwards.

Forwarding is a table lookup: a source route on the packet if it has one, else ``fib[destination]`` (filled by
table strategies), else the strategy's ``next_link``. It takes no simulated time unless the node has a
``forwarding_delay_s``; then the packet waits that long (one more event) before it is sent on.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from heapq import heappush
from typing import TYPE_CHECKING

from netlab.errors import SimulationError
from netlab.network.drops import DropReason
from netlab.simkit import NORMAL, event_heap
from netlab.topology.spec import NodeSpec

if TYPE_CHECKING:
    from collections.abc import Iterable

    from netlab.network.link import Link
    from netlab.network.network import Network
    from netlab.network.packet import Packet

__all__ = ["NextLink", "Node"]

#: The strategy's answer for a packet at a node that its forwarding table does not cover.
NextLink = Callable[["Node", "Packet"], "Link | None"]

_NODE_DOWN, _TTL_EXCEEDED, _NO_ROUTE = DropReason.NODE_DOWN, DropReason.TTL_EXCEEDED, DropReason.NO_ROUTE


class Node:
    """A node of the running network. ``out_links`` are its outgoing :class:`Link` objects, in topology order."""

    __slots__ = (
        "_eid",
        "_heap",
        "_on_forwarded",
        "_processing",
        "fib",
        "forwarding_delay_s",
        "in_links",
        "ip",
        "name",
        "net",
        "out_links",
        "role",
        "source_routes",
        "spec",
        "strategy_next_link",
        "up",
    )

    def __init__(self, net: Network, spec: NodeSpec, ip: str) -> None:
        self.net = net
        self.spec = spec
        self.name = spec.name
        self.role = spec.role
        self.ip = ip
        self.forwarding_delay_s = spec.forwarding_delay_s
        self.up = True
        self.out_links: list[Link] = []
        self.in_links: list[Link] = []
        self.fib: dict[Node, Link] = {}  # destination -> next link, filled by table strategies
        self.source_routes: dict[Hashable, tuple[Link, ...]] = {}  # flow -> route stamped on packets sent here
        self.strategy_next_link: NextLink = _unattached
        self._heap, self._eid = event_heap(net.env)
        self._processing: set[Packet] = set()  # packets in the forwarding delay
        self._on_forwarded = (self._forwarded,)

    def __repr__(self) -> str:
        return f"<Node {self.name} {self.role} {self.ip}>"

    # ---------------------------------------------------------------- hot path
    def inject(self, pkt: Packet) -> None:
        """Send *pkt*, created here, into the network (counted as injected)."""
        net = self.net
        net.injected += 1
        net.in_flight += 1
        if not self.up:
            net.drop(pkt, _NODE_DOWN, self)
            return
        if self.source_routes:
            pkt.route = self.source_routes.get(pkt.flow)
        self.forward(pkt)

    def receive(self, pkt: Packet) -> None:
        """*pkt* has arrived over a link: deliver it here or forward it."""
        pkt.hops += 1
        if pkt.dst is self:
            self.net.deliver(pkt)
        elif self.forwarding_delay_s:
            self._processing.add(pkt)
            pkt.callbacks = self._on_forwarded
            # SimPy's clock read directly on the hot path (see netlab.simkit)
            heappush(self._heap, (self.net.env._now + self.forwarding_delay_s, NORMAL, next(self._eid), pkt))
        else:
            self.forward(pkt)

    def _forwarded(self, pkt: Packet) -> None:
        if pkt not in self._processing:
            return  # the node went down meanwhile: already dropped and counted
        self._processing.discard(pkt)
        if not self.up:
            self.net.drop(pkt, _NODE_DOWN, self)
        else:
            self.forward(pkt)

    def forward(self, pkt: Packet) -> None:
        """Choose the next link for *pkt* and hand it over (or drop it: TTL, no route)."""
        if pkt.hops >= pkt.ttl:
            self.net.drop(pkt, _TTL_EXCEEDED, self)
            return
        route = pkt.route
        link = route[pkt.hops] if route is not None else self.fib.get(pkt.dst)
        if link is None:
            link = self.strategy_next_link(self, pkt)
            if link is None:
                self.net.drop(pkt, _NO_ROUTE, self)
                return
        link.send(pkt)

    # ---------------------------------------------------------------- faults and accounting
    def set_up(self, up: bool) -> None:
        """Bring the node (and so all its links) up or down. Packets in its forwarding delay are dropped."""
        self.up = up
        for link in (*self.out_links, *self.in_links):
            link._refresh()
        if not up:
            for pkt in sorted(self._processing, key=lambda p: (p.created, p.seq)):
                self.net.drop(pkt, _NODE_DOWN, self)
            self._processing.clear()

    def in_flight(self) -> int:
        """Packets waiting in this node's forwarding delay."""
        return len(self._processing)

    def packets_in_flight(self) -> Iterable[Packet]:
        """The packets :meth:`in_flight` counts."""
        return iter(self._processing)


def _unattached(node: Node, packet: Packet) -> Link | None:
    """The next link before a strategy is attached: an error, not a silent drop."""
    raise SimulationError(f"{node.name}: no routing strategy attached (call Network.attach(strategy) first)")
