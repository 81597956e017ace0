"""Small networks for routing tests, built directly (no run): the strategy is asked, the answer checked."""

from __future__ import annotations

from typing import Any

import simpy

import netlab
from netlab.network.network import Network
from netlab.network.packet import Packet


def topology(links: list[tuple[str, str, float]], hosts: tuple[str, ...] = ()) -> netlab.Topology:
    """Routers (and *hosts*) joined by *links* ``(a, b, rate_bps)``, 1 ms each, no queue limit."""
    names: list[str] = []
    for a, b, _ in links:
        names += [n for n in (a, b) if n not in names]
    nodes = tuple(netlab.NodeSpec(n, "host" if n in hosts else "router") for n in names)
    return netlab.Topology(nodes, tuple(netlab.LinkSpec(a, b, rate_bps=r, delay_s=0.001) for a, b, r in links))


#: s -> d over a (top) or b (bottom), equal hops and rates.
DIAMOND = [("s", "a", 10e6), ("a", "d", 10e6), ("s", "b", 10e6), ("b", "d", 10e6)]
#: s -> d direct at 5 Mbit/s, or over m at 10 Mbit/s (two hops).
TRIANGLE = [("s", "d", 5e6), ("s", "m", 10e6), ("m", "d", 10e6)]
#: four parallel two-hop paths s -> p1..p4 -> d.
FOUR = [(x, y, 10e6) for i in range(1, 5) for x, y in (("s", f"p{i}"), (f"p{i}", "d"))]


def network(links: list[tuple[str, str, float]], strategy: Any, seed: int = 1) -> Network:
    net = Network(simpy.Environment(), topology(links), seed=seed)
    net.attach(strategy)
    return net


def packet(net: Network, src: str = "s", dst: str = "d", flow: Any = "f", seq: int = 0, size: int = 1000) -> Packet:
    return Packet(net.nodes[src], net.nodes[dst], size, net.now, flow=flow, seq=seq)


def load(net: Network, u: str, v: str, n: int) -> None:
    """Queue *n* 1000-byte packets on link u -> v now (they are never routed further)."""
    link = net.link_between(u, v)
    assert link is not None
    for i in range(n):
        link.send(Packet(link.src, link.dst, 1000, net.now, flow="load", seq=i))


def path_of(net: Network, strategy: Any, pkt: Packet, limit: int = 64) -> list[str]:
    """Walk *pkt* hop by hop as the engine would (route first, then the table, then next_link); node names."""
    node = pkt.src
    names = [node.name]
    while node is not pkt.dst and pkt.hops < limit:
        if pkt.route is not None:
            link = pkt.route[pkt.hops]
        else:
            link = node.fib.get(pkt.dst) or strategy.next_link(node, pkt)
        if link is None:
            return [*names, "<no route>"]
        pkt.hops += 1
        node = link.dst
        names.append(node.name)
    return names
