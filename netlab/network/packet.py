"""The packet: the one mutable value on the hot path.

A packet is also its own SimPy event. While it crosses a link (or waits in a node's forwarding delay) exactly
one event is pending for it, so instead of allocating a Timeout per hop the engine pushes the packet itself on
SimPy's event queue with a precomputed callback tuple (``packet.callbacks = link._on_arrival``). SimPy's
``Environment.step`` needs only ``callbacks`` and ``_ok`` of an event (:class:`netlab.simkit.Entry`); that is the
whole contract, and ``tests/test_simkit.py`` checks it against the installed SimPy. A hop thus costs one heap
entry and no allocation, which is what puts netlab above the bare-SimPy callback floor (two Timeouts per hop).

>>> p = Packet(src=None, dst=None, size=1000, created=0.0)
>>> p.size, p.ttl, p.hops
(1000, 64, 0)
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Protocol, Self, TypeVar

from netlab.simkit import Entry

if TYPE_CHECKING:
    from netlab.network.drops import DropReason
    from netlab.network.link import Link
    from netlab.network.node import Node

__all__ = ["Packet", "PacketOwner"]

_P_contra = TypeVar("_P_contra", bound="Packet", contravariant=True)


class PacketOwner(Protocol[_P_contra]):
    """Who is told what became of a packet: the flow record, transport host or socket that sent it."""

    def on_deliver(self, pkt: _P_contra, now: float) -> None:
        """*pkt* reached its destination at simulated time *now* (s)."""

    def on_drop(self, pkt: _P_contra, now: float, reason: DropReason) -> None:
        """*pkt* was dropped at *now* (s) for *reason*."""


class Packet(Entry):
    """A packet of ``size`` bytes (on the wire) from node ``src`` to node ``dst``, created at ``created`` s.

    ``hops`` counts the links it has crossed, ``ttl`` how many it may cross, ``route`` a source route (tuple of
    links, indexed by ``hops``) or None for hop-by-hop forwarding. ``owner`` is told of delivery and drop
    (``owner.on_deliver(packet, now)``, ``owner.on_drop(packet, now, reason)``); ``flow`` and ``seq`` name it.
    ``callbacks`` (from :class:`~netlab.simkit.Entry`) is set by the link or node that schedules the packet.
    """

    __slots__ = (
        "created",
        "dst",
        "flow",
        "hops",
        "owner",
        "payload",
        "route",
        "seq",
        "size",
        "src",
        "ttl",
    )

    src: Node
    dst: Node
    size: int
    created: float
    ttl: int
    hops: int
    route: tuple[Link | None, ...] | None  # None for the links crossed before a route was stamped mid-way
    owner: PacketOwner[Self] | None
    flow: Hashable
    seq: int
    payload: object

    def __init__(
        self,
        src: Node,
        dst: Node,
        size: int,
        created: float,
        *,
        ttl: int = 64,
        owner: PacketOwner[Self] | None = None,
        flow: Hashable = None,
        seq: int = 0,
        payload: object = None,
    ) -> None:
        self.src = src
        self.dst = dst
        self.size = size
        self.created = created
        self.ttl = ttl
        self.hops = 0
        self.route = None
        self.owner = owner
        self.flow = flow
        self.seq = seq
        self.payload = payload
        self.callbacks = None

    def __repr__(self) -> str:
        src = getattr(self.src, "name", self.src)
        dst = getattr(self.dst, "name", self.dst)
        return f"<Packet {self.flow}#{self.seq} {src}->{dst} {self.size}B hops={self.hops}>"
