"""Dumbbell bulk transfers for the congestion-control tests: N senders -> r1 -> (bottleneck) -> r2 -> N receivers.

The bottleneck r1 -> r2 is directed (its own rate, one-way delay, queue limit and random loss); the reverse
r2 -> r1 carries the ACKs at the same rate and delay without loss. Access links are 1 Gbit/s with no delay, so
the round trip is ``2 * delay_s`` plus serialisation and queueing.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from netlab.testing import bottleneck, make_network
from netlab.transport import Connection, TcpConfig, TransportStack

dumbbell = bottleneck  # the congestion-control tests' name for it


@dataclass
class Bulk:
    """What a run of :func:`bulk` measured: per flow the bytes delivered in ``[warmup_s, until_s]``."""

    clients: list[Connection]
    servers: list[Connection]
    delivered_bytes: list[int]
    seconds: float
    stack: TransportStack

    @property
    def goodput_bps(self) -> list[float]:
        return [8 * b / self.seconds for b in self.delivered_bytes]


def bulk(n: int, cfg: TcpConfig, *, rate_bps: float = 10e6, delay_s: float = 0.05, queue_packets: int | None = None,
         loss: float = 0.0, until_s: float = 30.0, warmup_s: float = 5.0, seed: int = 1,
         starts_s: tuple[float, ...] | None = None,
         access_delays_s: tuple[float, ...] | None = None) -> Bulk:  # fmt: skip
    """*n* long-lived transfers s_i -> d_i over the dumbbell; senders keep their buffer topped up (never idle)."""
    topo = dumbbell(n, rate_bps=rate_bps, delay_s=delay_s, queue_packets=queue_packets, loss=loss,
                    access_delays_s=access_delays_s)  # fmt: skip
    net = make_network(topo, seed=seed)
    env = net.env
    stack = TransportStack(net, cfg)
    clients: list[Connection] = []
    servers: list[Connection | None] = [None] * n
    at_warmup = [0] * n
    chunk = 256 * 1024

    def server(i: int) -> Generator[Any, Any, None]:
        lst = stack.listen(f"d{i}", 5001)
        conn = yield lst.accept()
        servers[i] = conn
        while (yield conn.recv(1 << 20)):
            pass

    def client(i: int) -> Generator[Any, Any, None]:
        if starts_s:
            yield env.timeout(starts_s[i])
        conn = yield stack.connect(f"s{i}", (f"d{i}", 5001)).connected
        clients.append(conn)
        while True:  # keep about two chunks queued beyond what the receiver has
            srv = servers[i]
            backlog = conn.app_bytes_sent - (srv.bytes_delivered if srv is not None else 0)
            if backlog < 2 * chunk:
                conn.send(bytes(chunk))
            yield env.timeout(0.01)

    def mark() -> Generator[Any, Any, None]:
        yield env.timeout(warmup_s)
        for i, s in enumerate(servers):
            at_warmup[i] = s.bytes_delivered if s is not None else 0

    for i in range(n):
        env.process(server(i))
        env.process(client(i))
    env.process(mark())
    env.run(until=until_s)
    done = [s for s in servers if s is not None]
    delivered = [(s.bytes_delivered if s is not None else 0) - w for s, w in zip(servers, at_warmup, strict=True)]
    clients.sort(key=lambda c: c.node.name)
    return Bulk(clients, done, delivered, until_s - warmup_s, stack)
