"""The routing interface: one small Protocol that every strategy implements.

A strategy decides, for a packet at a node, the next link (hop by hop) or, at the source, the whole path
(source routing: it sets ``packet.route`` to a tuple of links and returns the first). It sees the network
read-only (nodes, links with their rate, occupancy and up/down state, ``now``) and is told when the topology
changes, after its own ``detection_delay_s``.

Static strategies fill each node's forwarding table ``node.fib`` (destination node -> Link) in :meth:`attach`
and :meth:`topology_changed`; the engine reads ``node.fib`` directly and calls :meth:`next_link` only on a
miss. So a table lookup costs one dict access per hop, and a dynamic strategy just leaves the tables empty.

A user-defined strategy is any object with these three methods and a ``detection_delay_s`` attribute::

    class Random:                          # picks any up link, uniformly (don't use it for real)
        detection_delay_s = 0.0
        def attach(self, net): self.rng = net.stream("routing", "random")
        def topology_changed(self, net): pass
        def next_link(self, node, packet):
            up = [link for link in node.out_links if link.routed_up]
            return self.rng.choice(up) if up else None

Each run works on its own deep copy of the strategy, so state set in ``attach`` never leaks between runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from netlab.options import Choice

if TYPE_CHECKING:
    from netlab.network.link import Link
    from netlab.network.network import Network
    from netlab.network.node import Node
    from netlab.network.packet import Packet

__all__ = ["PathWeight", "RoutingStrategy"]


@runtime_checkable
class RoutingStrategy(Protocol):
    """What the engine asks of a routing strategy."""

    #: Seconds between a link or node changing state and :meth:`topology_changed` being called.
    detection_delay_s: float

    def attach(self, net: Network) -> None:
        """Called once before the run starts: build tables, seed streams."""

    def next_link(self, node: Node, packet: Packet) -> Link | None:
        """The link *node* sends *packet* on, or None to drop it with reason ``no_route``."""

    def topology_changed(self, net: Network) -> None:
        """Called ``detection_delay_s`` after a link or node went down or came up."""


class PathWeight(Choice):
    """What makes a path short (``weight:``, ``path_weight:``): its hop count or its propagation delay."""

    HOPS = "hops"
    DELAY = "delay"
