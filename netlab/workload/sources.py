"""Running flows: each flow is a callback that injects a packet and schedules its own next firing.

Like a packet, a source is its own SimPy event (one pending at a time), so a packet arrival costs one heap
entry. Arrival times come from the flow's arrival law, absolute: ``t = t + draw`` for Poisson (as a process
yielding timeouts would compute them), ``start + k/rate`` for constant rate (no drift).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from heapq import heappush
from typing import TYPE_CHECKING, Any, Protocol

from netlab.network.packet import Packet
from netlab.simkit import NORMAL, Entry, event_heap
from netlab.workload.spec import FlowSpec, SizeLaw

if TYPE_CHECKING:
    import random

    from netlab.network.network import Network

__all__ = ["FlowRecord", "FlowRun", "FlowSource", "arrival_times", "size_sampler"]


def arrival_times(spec: FlowSpec, rng: random.Random) -> Iterator[tuple[float, int | None]]:
    """Absolute send times (seconds) of *spec*'s packets, with the trace's size where it gives one: the times of
    its arrival law (:class:`~netlab.workload.spec.ArrivalLaw`) from the flow's start."""
    return spec.arrivals.times(spec.start_s, rng)


def size_sampler(size: SizeLaw, rng: random.Random) -> Callable[[], int]:
    """A function drawing packet sizes in bytes from the law *size*."""
    return size.sampler(rng)


class FlowRun(Protocol):
    """What a flow's record and source need of the run they are part of (the runner's ``Simulation`` is one)."""

    #: Packet records (``run.record_packets``), or None when they are not kept.
    packet_records: list[tuple[Any, ...]] | None

    def counted_delivery(self) -> None:
        """A packet of a counted flow arrived (``run.stop_after_delivered``)."""

    def source_finished(self) -> None:
        """A flow sent its last packet: it no longer holds the run."""


class FlowRecord:
    """FlowMonitor-like counters of one flow; the owner of its counted packets."""

    __slots__ = (
        "delay_sum", "drops", "first_rx", "first_tx", "hops_sum", "jitter_sum", "last_delay", "last_rx",
        "last_tx", "packets", "run", "rx_bytes", "rx_packets", "spec", "tx_bytes", "tx_packets",
    )  # fmt: skip

    def __init__(self, spec: FlowSpec, run: FlowRun) -> None:
        self.spec = spec
        self.run = run  # the runner: counts deliveries for stop_after_delivered, keeps packet records
        self.tx_packets = self.tx_bytes = self.rx_packets = self.rx_bytes = self.hops_sum = 0
        self.delay_sum = self.jitter_sum = 0.0
        self.last_delay: float | None = None
        self.first_tx: float | None = None
        self.last_tx: float | None = None
        self.first_rx: float | None = None
        self.last_rx: float | None = None
        self.drops: dict[str, int] = {}
        self.packets = run.packet_records

    def on_deliver(self, pkt: Packet, now: float) -> None:
        delay = now - pkt.created
        self.rx_packets += 1
        self.rx_bytes += pkt.size
        self.hops_sum += pkt.hops
        self.delay_sum += delay
        if self.last_delay is not None:
            self.jitter_sum += abs(delay - self.last_delay)
        else:
            self.first_rx = now
        self.last_delay = delay
        self.last_rx = now
        if self.packets is not None:
            self.packets.append((pkt.flow, pkt.seq, pkt.size, pkt.created, now, "delivered", pkt.hops))
        self.run.counted_delivery()

    def on_drop(self, pkt: Packet, now: float, reason: str) -> None:
        self.drops[reason] = self.drops.get(reason, 0) + 1
        if self.packets is not None:
            self.packets.append((pkt.flow, pkt.seq, pkt.size, pkt.created, now, reason, pkt.hops))


class FlowSource(Entry):
    """Injects the packets of one flow at its source node (its own SimPy event: see netlab.simkit)."""

    __slots__ = ("_eid", "_heap", "_on_fire", "_pending_size", "count", "done", "dst", "env", "node", "record", "run",
                 "size", "spec", "times", "warmup")  # fmt: skip

    def __init__(self, spec: FlowSpec, net: Network, record: FlowRecord, run: FlowRun, warmup_s: float) -> None:
        self.spec = spec
        self.env = net.env
        self._heap, self._eid = event_heap(net.env)
        self.node = net.nodes[spec.src]
        self.dst = net.nodes[spec.dst]
        self.record = record
        self.run = run
        self.warmup = warmup_s
        self.times = arrival_times(spec, net.stream("flow", spec.name, "arrivals"))
        self.size = size_sampler(spec.size, net.stream("flow", spec.name, "sizes"))
        self.count = 0
        self.done = False
        self.callbacks = None
        self._on_fire = (self._fire,)
        self._pending_size: int | None = None

    def start(self) -> None:
        self._schedule_next()

    def _schedule_next(self) -> None:
        spec = self.spec
        nxt = None if spec.count is not None and self.count >= spec.count else next(self.times, None)
        if nxt is None or nxt[0] >= spec.stop_s:
            self.done = True
            self.run.source_finished()
            return
        t, size = nxt
        self._pending_size = size
        self.callbacks = self._on_fire
        heappush(self._heap, (t, NORMAL, next(self._eid), self))

    def _fire(self, _ev: Any) -> None:
        now = self.env._now  # SimPy's clock read directly: once per packet (see netlab.simkit)
        size = self._pending_size
        if size is None:
            size = self.size()
        spec = self.spec
        counted = now >= self.warmup
        pkt = Packet(self.node, self.dst, size, now, ttl=spec.ttl, owner=self.record if counted else None,
                     flow=spec.name, seq=self.count)  # fmt: skip
        self.count += 1
        if counted:
            rec = self.record
            rec.tx_packets += 1
            rec.tx_bytes += size
            if rec.first_tx is None:
                rec.first_tx = now
            rec.last_tx = now
        self.node.inject(pkt)
        self._schedule_next()
