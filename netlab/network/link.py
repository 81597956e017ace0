"""A directed link: a FIFO output queue, a transmitter of ``rate_bps`` and a wire of ``delay_s``.

The FIFO needs no process and no Store: a packet handed to the link at ``now`` starts serialising at
``max(now, free_at)``, leaves the queue at ``depart = start + size*8/rate`` and reaches the far node at
``depart + delay``. Only that arrival is scheduled, so a packet-hop costs one SimPy event. The queue is the
deque of departure times of the packets still in the system (in service or waiting); it is trimmed lazily,
and the same trimming integrates the number in system over time, independently of any sojourn sum.

Semantics (tested in tests/test_network.py):

* the queue limit (packets or bytes) counts the packet in service; a packet that does not fit is tail-dropped
  (reason ``queue_full``);
* random loss is drawn when the packet reaches the far end, after its link time is spent (reason ``loss``);
* a link that goes down drops every packet queued or on the wire (``link_down``), and a packet handed to a
  down link is dropped at once.
"""

from __future__ import annotations

import math
from collections import deque
from heapq import heappush
from typing import TYPE_CHECKING

from netlab.network.drops import DropReason
from netlab.simkit import NORMAL, event_heap
from netlab.topology.spec import LinkSpec

if TYPE_CHECKING:
    import random as _random
    from collections.abc import Iterable

    from netlab.network.network import Network
    from netlab.network.node import Node
    from netlab.network.packet import Packet

__all__ = ["Link"]

# Module globals: reading an enum member off its class costs ten times more on Python 3.11.
_QUEUE_FULL, _LOSS, _LINK_DOWN = DropReason.QUEUE_FULL, DropReason.LOSS, DropReason.LINK_DOWN


class Link:
    """Directed link from node ``src`` to node ``dst`` built from a :class:`LinkSpec`.

    Read-only for routing strategies: ``rate_bps``, ``delay_s``, ``up``, :meth:`queue_length`,
    :meth:`backlog_s`. Cumulative statistics: ``packets``, ``bytes``, ``busy_s``, ``drops`` (by reason).
    """

    __slots__ = (
        "_area",
        "_departs",
        "_eid",
        "_heap",
        "_notices",
        "_on_arrival",
        "_qbytes",
        "_routed",
        "_sizes",
        "_t_area",
        "admin_up",
        "busy_s",
        "bytes",
        "delay_s",
        "drops",
        "dst",
        "free_at",
        "loss",
        "name",
        "net",
        "packets",
        "qlimit_bytes",
        "qlimit_packets",
        "random",
        "rate_bps",
        "spec",
        "src",
        "up",
        "wire",
    )

    def __init__(self, net: Network, src: Node, dst: Node, spec: LinkSpec, random: _random.Random) -> None:
        self.net = net
        self.src = src
        self.dst = dst
        self.spec = spec
        self.name = f"{src.name}->{dst.name}"
        self.rate_bps = spec.rate_bps
        self.delay_s = spec.delay_s
        self.loss = spec.loss
        self.random = random.random
        # Packets beyond the limit are dropped; math.inf compares cheaper than a None check on the hot path.
        self.qlimit_packets: float = spec.queue_packets if spec.queue_packets is not None else math.inf
        self.qlimit_bytes: float = spec.queue_bytes if spec.queue_bytes is not None else math.inf
        self.admin_up = True
        self.up = True
        self._routed: bool | None = None  # routing's belief while a fault's notice is on its way; None: up
        self._notices = 0  # fault notices still on their way to the strategy
        self.free_at = 0.0
        self._departs: deque[float] = deque()  # departure times of packets in the system, FIFO
        self._sizes: deque[int] | None = deque() if spec.queue_bytes is not None else None
        self._qbytes = 0
        self.wire: deque[Packet] = deque()  # every packet accepted and not yet arrived, in arrival order
        self._on_arrival = (self._arrive,)
        self._heap, self._eid = event_heap(net.env)
        self.packets = 0
        self.bytes = 0
        self.busy_s = 0.0
        self._area = 0.0  # integral of the number in system over time (packet-seconds)
        self._t_area = 0.0
        self.drops: dict[DropReason, int] = {}

    def __repr__(self) -> str:
        return f"<Link {self.name} {self.rate_bps:g}bit/s {self.delay_s:g}s>"

    # ---------------------------------------------------------------- hot path
    def send(self, pkt: Packet) -> None:
        """Accept *pkt* for transmission now, or drop it (down link, full queue)."""
        net = self.net
        now = net.env._now  # SimPy's clock read directly on the hot path (see netlab.simkit)
        if not self.up:
            net.drop(pkt, _LINK_DOWN, self)
            return
        departs = self._departs
        if departs and departs[0] <= now:
            self._retire(now)
        n = len(departs)
        size = pkt.size
        if n >= self.qlimit_packets or self._qbytes + size > self.qlimit_bytes:
            net.drop(pkt, _QUEUE_FULL, self)
            return
        self._area += n * (now - self._t_area)
        self._t_area = now
        tx = size * 8 / self.rate_bps
        free_at = self.free_at
        depart = (free_at if free_at > now else now) + tx
        self.free_at = depart
        departs.append(depart)
        if self._sizes is not None:
            self._sizes.append(size)
            self._qbytes += size
        self.busy_s += tx
        self.packets += 1
        self.bytes += size
        self.wire.append(pkt)
        pkt.callbacks = self._on_arrival
        # Scheduled at the absolute time depart + delay (not now + a difference), so times are exactly those
        # of a process that waits tx and then delay: the grid6 check values depend on it.
        heappush(self._heap, (depart + self.delay_s, NORMAL, next(self._eid), pkt))

    def _arrive(self, pkt: Packet) -> None:
        wire = self.wire
        if not wire or wire[0] is not pkt:
            return  # the link went down while this packet was on it: already dropped and counted
        wire.popleft()
        if self.loss and self.random() < self.loss:
            self.net.drop(pkt, _LOSS, self)
            return
        self.dst.receive(pkt)

    def _retire(self, now: float) -> None:
        """Remove packets that have left by *now* from the queue, integrating the number in system."""
        departs = self._departs
        sizes = self._sizes
        n = len(departs)
        area = self._area
        t = self._t_area
        while departs and departs[0] <= now:
            d = departs.popleft()
            area += n * (d - t)
            t = d
            n -= 1
            if sizes is not None:
                self._qbytes -= sizes.popleft()
        self._area = area
        self._t_area = t

    # ---------------------------------------------------------------- views and statistics
    def queue_length(self) -> int:
        """Packets in the system now (in service plus waiting)."""
        self._retire(self.net.env._now)  # read per routing decision: the clock itself (simkit)
        return len(self._departs)

    def backlog_s(self) -> float:
        """Seconds of work queued now: how long a packet handed over now waits before it starts."""
        return max(0.0, self.free_at - self.net.env._now)  # read per routing decision: the clock itself (simkit)

    def snapshot(self, t: float) -> tuple[int, int, float, float, int]:
        """Cumulative ``(packets, bytes, busy seconds, packet-seconds in system, drops)`` up to time *t* (now)."""
        self._retire(t)
        area = self._area + len(self._departs) * (t - self._t_area)
        busy = self.busy_s - max(0.0, self.free_at - t)  # work accepted minus the work still left at t
        return self.packets, self.bytes, busy, area, sum(self.drops.values())

    def in_flight(self) -> int:
        """Packets accepted and not yet arrived (queued, in service or on the wire), counted one by one."""
        return len(self.wire)

    def packets_in_flight(self) -> Iterable[Packet]:
        """The packets :meth:`in_flight` counts, in arrival order."""
        return iter(self.wire)

    # ---------------------------------------------------------------- faults
    @property
    def routed_up(self) -> bool:
        """The state routing knows: :attr:`up`, except while a fault's notice is on its way to the strategy (its
        detection delay): then the state the last notice told. The forwarding plane uses :attr:`up`."""
        return self.up if self._routed is None else self._routed

    def fault_pending(self) -> None:
        """A fault is about to change this link: routing keeps believing what it believes until told."""
        if self._notices == 0:
            self._routed = self.routed_up
        self._notices += 1

    def fault_noticed(self, state: bool) -> None:
        """The notice of a fault that left the link in *state* reached the strategy."""
        self._notices -= 1
        self._routed = None if self._notices == 0 else state

    def set_up(self, up: bool) -> None:
        """Bring the link up or down (the node ends' states are taken into account)."""
        self.admin_up = up
        self._refresh()

    def _refresh(self) -> None:
        was_up = self.up
        self.up = self.admin_up and self.src.up and self.dst.up
        if was_up and not self.up:
            now = self.net.env.now
            self._retire(now)
            self._area += len(self._departs) * (now - self._t_area)
            self._t_area = now
            lost = list(self.wire)
            self.wire.clear()
            # Work not yet done is not done: the transmitter stops now.
            self.busy_s -= max(0.0, self.free_at - now)
            self.free_at = now
            self._departs.clear()
            if self._sizes is not None:
                self._sizes.clear()
                self._qbytes = 0
            for pkt in lost:
                self.net.drop(pkt, _LINK_DOWN, self)
