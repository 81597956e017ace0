"""Long-lived TCP flows beside a run's packet flows: always backlogged, or on-off (bursts with idle gaps).

:class:`TcpTraffic` is a run extension (:class:`netlab.experiment.runner.Extension`): give it
:class:`TcpFlow` values and run ``Simulation(scenario, extensions=[TcpTraffic(flows)]).execute()``. Each flow is
one connection from ``src`` to a listener on ``dst``, opened at ``start_s``, with the scenario's ``transport``
settings (congestion control, ``trace`` ...). The results gain ``connections`` (both ends of every connection,
:data:`netlab.transport.stats.CONNECTION_COLUMNS`), ``tcp_flows`` (one row per flow: goodput after the warm-up)
and, with ``transport: {trace: true}``, ``cwnd``.

A backlogged flow (``burst_bytes`` None) always has data waiting: the application keeps the receive window plus
one chunk of 256 KiB written beyond what the receiver has read (as ns-3's BulkSend keeps its socket buffer full),
so the sender is never short of data and the window (congestion control's, or the receiver's) alone sets its
rate. An
on-off flow writes ``burst_bytes``, waits until the receiver has read all of it, then stays silent for
``off_s`` (exponential with that mean, or fixed), then writes the next burst: its sender is idle for at least
``off_s`` plus the one-way delay between bursts, the gap a flowlet switch (:class:`netlab.Flowlet`) needs to move
it. Idle periods longer than the RTO restart the window at min(IW, cwnd) (RFC 5681 §4.1), as for any connection.

The flows never end by themselves, so the run needs ``run.until``; a scenario with mail is refused (its
``connections`` table and this one would clash). Off periods come from the flow's own stream
(``tcp/<name>/off``), so they are the same whatever the routing.

>>> import netlab
>>> from netlab.experiment.runner import Simulation
>>> topo = netlab.Topology((netlab.NodeSpec("a", "host"), netlab.NodeSpec("b", "host")),
...                        (netlab.LinkSpec("a", "b", rate_bps=10e6, delay_s=0.005, queue_packets=50),))
>>> s = netlab.Scenario(topo, run=netlab.RunSpec(until_s=20.0, warmup_s=5.0))
>>> res = Simulation(s, extensions=[TcpTraffic([TcpFlow("bulk", "a", "b")])]).execute()
>>> res.tcp_flows[["flow", "src", "dst", "bursts"]].values.tolist()
[['bulk', 'a', 'b', 0]]
>>> bool(0.9 < res.tcp_flows.goodput_bps[0] / (10e6 * 1460 / 1500) <= 1.0)   # at most the rate less the headers
True
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netlab.errors import ConfigError, TopologyError
from netlab.options import did_you_mean

if TYPE_CHECKING:
    import random

    import pandas as pd
    import simpy

    from netlab.experiment.runner import Simulation
    from netlab.transport.connection import Connection
    from netlab.transport.stack import Listener, TransportStack

__all__ = ["TCP_FLOW_COLUMNS", "TcpFlow", "TcpTraffic"]

#: The application's write size for a backlogged flow.
CHUNK_BYTES = 256 * 1024
#: The largest on-off burst (bytes): a burst is written at once, so its bytes are held in memory together.
MAX_BURST_BYTES = 1 << 30

#: Columns of ``Results.tcp_flows``.
TCP_FLOW_COLUMNS = {
    "flow": "the TcpFlow's name",
    "src": "sending node",
    "dst": "receiving node",
    "connection": "the sender's connection label (as in ``connections.flow`` and ``cwnd.connection``)",
    "bursts": "bursts written (0 for a backlogged flow)",
    "bytes_delivered": "payload bytes read by the receiver after the warm-up",
    "goodput_bps": "payload bytes that arrived for the first time after the warm-up (read, or held out of order), "
    "x 8 over the seconds from the warm-up (or the flow's start) to the end",
}


@dataclass(frozen=True, slots=True)
class TcpFlow:
    """One long TCP flow from host *src* to host *dst*: backlogged, or on-off when ``burst_bytes`` is given.

    ``burst_bytes`` (bytes) is what one on period writes; ``off_s`` (seconds) the mean silence after the
    receiver has read a burst (fixed when ``exponential`` is false); ``start_s`` (seconds) when the connection
    opens.
    """

    name: str
    src: str
    dst: str
    start_s: float = 0.0
    burst_bytes: int | None = None
    off_s: float = 0.0
    exponential: bool = True

    def __post_init__(self) -> None:
        where = f"tcp flow {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"{where}: name must be a non-empty string (it names the flow's random stream and row)")
        for key in ("src", "dst"):
            if not isinstance(getattr(self, key), str):
                raise ConfigError(f"{where}: {key} must be a node name, got {getattr(self, key)!r}")
        if self.src == self.dst:
            raise ConfigError(f"{where}: src and dst are both {self.src!r}")
        if not _time(self.start_s):
            raise ConfigError(f"{where}: start_s must be a time >= 0 s, got {self.start_s!r}")
        if self.burst_bytes is not None and (
            isinstance(self.burst_bytes, bool)
            or not isinstance(self.burst_bytes, int)
            or not 1 <= self.burst_bytes <= MAX_BURST_BYTES
        ):
            raise ConfigError(f"{where}: burst_bytes must be a whole number of bytes from 1 to {MAX_BURST_BYTES:,} "
                              f"(or None: backlogged), got {self.burst_bytes!r}")  # fmt: skip
        if not _time(self.off_s):
            raise ConfigError(f"{where}: off_s must be a time >= 0 s, got {self.off_s!r}")
        if self.burst_bytes is None and self.off_s:
            raise ConfigError(f"{where}: off_s needs burst_bytes (a backlogged flow is never off)")
        if not isinstance(self.exponential, bool):
            raise ConfigError(f"{where}: exponential must be true or false, got {self.exponential!r}")


def _time(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and x >= 0 and math.isfinite(x)


class TcpTraffic:
    """The run extension that opens and feeds the :class:`TcpFlow` connections (see the module docstring)."""

    name = "tcp"

    def __init__(self, flows: Iterable[TcpFlow]) -> None:
        self.flows = tuple(flows)
        seen: set[str] = set()
        for f in self.flows:
            if not isinstance(f, TcpFlow):
                raise ConfigError(f"tcp traffic: expected TcpFlow values, got {f!r}")
            if f.name in seen:
                raise ConfigError(f"tcp traffic: duplicate flow name {f.name!r}")
            seen.add(f.name)

    def start(self, sim: Simulation) -> None:
        from netlab.transport.stack import TransportStack

        if sim.scenario.run.until_s is None:
            raise ConfigError("tcp traffic: the flows never end: set run.until")
        if sim.scenario.mail is not None:  # both would report a `connections` table, and one would hide the other
            raise ConfigError("tcp traffic: the scenario has a mail section, whose connections table would clash "
                              "with this one; run TCP flows on a scenario without mail")  # fmt: skip
        nodes = sim.net.nodes
        for f in self.flows:
            for key in ("src", "dst"):
                name = getattr(f, key)
                if name not in nodes:
                    raise TopologyError(f"tcp flow {f.name!r}: {key}: unknown node {name!r}{did_you_mean(name, nodes)}")
        self.env: simpy.Environment = sim.env
        self.stack: TransportStack = TransportStack(sim.net, sim.scenario.transport)
        self.warmup_s = sim.scenario.run.warmup_s
        n = len(self.flows)
        self.senders: list[Connection | None] = [None] * n
        self.read = [0] * n  # bytes the receiver has read
        self.receivers: list[Connection | None] = [None] * n
        self.read_at_warmup = [0] * n
        self.arrived_at_warmup = [0] * n
        self.bursts = [0] * n
        # more than the window ahead of the reader: what is in flight can never use up what is written
        self.ahead = self.stack.config.window + CHUNK_BYTES
        self.waiting: list[simpy.Event | None] = [None] * n  # an on-off sender waiting for its burst to be read
        sim.hold()  # never released: the flows are endless, the run ends at run.until
        listeners = [self.stack.listen(f.dst, 5001 + i) for i, f in enumerate(self.flows)]
        for i, f in enumerate(self.flows):
            self.env.process(self._receiver(i, listeners[i]))
            self.env.process(self._sender(i, f, sim.net.stream("tcp", f.name, "off")))
        if self.warmup_s > 0:
            self.env.timeout(self.warmup_s).callbacks.append(lambda _e: self._mark_warmup())

    def _mark_warmup(self) -> None:
        self.read_at_warmup = list(self.read)
        self.arrived_at_warmup = [self._arrived(i) for i in range(len(self.flows))]

    def _arrived(self, i: int) -> int:
        # Read plus held out of order: what a loss recovery holds back at the warm-up was carried before it, and
        # counting it again when the hole fills would let a short window's goodput exceed the path's rate.
        r = self.receivers[i]
        return self.read[i] + (r.reassembly_bytes if r is not None else 0)

    def _sender(self, i: int, f: TcpFlow, rng: random.Random) -> Generator[Any, Any, None]:
        if f.start_s:
            yield self.env.timeout(f.start_s)
        conn = self.stack.connect(f.src, (f.dst, 5001 + i))
        self.senders[i] = conn
        yield conn.connected
        if f.burst_bytes is None:
            self._top_up(i, conn)
            return  # the receiver tops the queue up as it reads
        while True:
            self.bursts[i] += 1
            target = self.read[i] + f.burst_bytes
            conn.send(bytes(f.burst_bytes))
            while self.read[i] < target:
                ev = self.waiting[i] = self.env.event()
                yield ev
            yield self.env.timeout(rng.expovariate(1.0 / f.off_s) if f.exponential and f.off_s else f.off_s)

    def _top_up(self, i: int, conn: Connection) -> None:
        while conn.app_bytes_sent - self.read[i] < self.ahead:
            conn.send(bytes(CHUNK_BYTES))

    def _receiver(self, i: int, listener: Listener) -> Generator[Any, Any, None]:
        conn = self.receivers[i] = yield listener.accept()
        f = self.flows[i]
        while data := (yield conn.recv(1 << 20)):
            self.read[i] += len(data)
            sender = self.senders[i]
            if f.burst_bytes is None:
                if sender is not None:
                    self._top_up(i, sender)
            else:
                ev = self.waiting[i]
                if ev is not None and not ev.triggered:
                    ev.succeed()

    def check(self, sim: Simulation) -> None:
        pass  # the network's conservation check counts every segment; the stack has no books of its own

    def tables(self, sim: Simulation) -> dict[str, pd.DataFrame]:
        import pandas as pd

        from netlab.transport.stats import connections_table, cwnd_table

        end = sim.env.now
        rows = []
        for i, f in enumerate(self.flows):
            since = max(self.warmup_s, f.start_s)
            got = self._arrived(i) - self.arrived_at_warmup[i]
            conn = self.senders[i]
            label = conn.flow if conn is not None else ""
            goodput = 8 * got / (end - since) if end > since else math.nan
            rows.append((f.name, f.src, f.dst, label, self.bursts[i], self.read[i] - self.read_at_warmup[i], goodput))
        tables = {
            "tcp_flows": pd.DataFrame(rows, columns=list(TCP_FLOW_COLUMNS)),
            "connections": connections_table(self.stack),
        }
        if self.stack.config.trace:
            tables["cwnd"] = cwnd_table(self.stack)
        return tables

    def summary(self, sim: Simulation) -> dict[str, Any]:
        return {"flows": len(self.flows), "bytes_delivered": sum(self.read)}
