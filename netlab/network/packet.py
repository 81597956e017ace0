"""The packet: the one mutable value on the hot path.

A packet is also its own SimPy event. While it crosses a link (or waits in a node's forwarding delay) exactly
one event is pending for it, so instead of allocating a Timeout per hop the engine pushes the packet itself on
SimPy's event queue with a precomputed callback tuple (``packet.callbacks = link._on_arrival``). SimPy's
``Environment.step`` needs only ``callbacks`` and ``_ok`` of an event; that is the whole contract, and
``tests/test_network.py`` checks it against the installed SimPy. A hop thus costs one heap entry and no
allocation, which is what puts netlab above the bare-SimPy callback floor (two Timeouts per hop).

>>> p = Packet(src=None, dst=None, size=1000, created=0.0)
>>> p.size, p.ttl, p.hops
(1000, 64, 0)
"""

from __future__ import annotations

from typing import Any

__all__ = ["Packet"]


class Packet:
    """A packet of ``size`` bytes (on the wire) from node ``src`` to node ``dst``, created at ``created`` s.

    ``hops`` counts the links it has crossed, ``ttl`` how many it may cross, ``route`` a source route (tuple of
    links, indexed by ``hops``) or None for hop-by-hop forwarding. ``owner`` is told of delivery and drop
    (``owner.on_deliver(packet, now)``, ``owner.on_drop(packet, now, reason)``); ``flow`` and ``seq`` name it.
    """

    __slots__ = (
        "callbacks",
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

    #: SimPy reads ``_ok`` of every processed event; a packet event always succeeds.
    _ok = True

    def __init__(
        self,
        src: Any,
        dst: Any,
        size: int,
        created: float,
        *,
        ttl: int = 64,
        owner: Any = None,
        flow: Any = None,
        seq: int = 0,
        payload: Any = None,
    ) -> None:
        self.src = src
        self.dst = dst
        self.size = size
        self.created = created
        self.ttl = ttl
        self.hops = 0
        self.route: tuple[Any, ...] | None = None
        self.owner = owner
        self.flow = flow
        self.seq = seq
        self.payload = payload
        self.callbacks: Any = None

    def __repr__(self) -> str:
        src = getattr(self.src, "name", self.src)
        dst = getattr(self.dst, "name", self.dst)
        return f"<Packet {self.flow}#{self.seq} {src}->{dst} {self.size}B hops={self.hops}>"
