"""Network semantics of DESIGN.md ("Network semantics"), one test each, on small scripted scenarios.

Times are computed by hand from size*8/rate and the delays, and compared to 1e-12 s. Every run goes through
``Simulation.execute``, which checks packet conservation at the end, so each test also checks that nothing
leaked.
"""

from __future__ import annotations

import math
import signal

import pandas as pd
import pytest
import simpy

import netlab
from netlab.experiment.runner import Simulation
from netlab.network.link import Link
from netlab.network.network import Network
from netlab.testing import LeakyLink

TOL = 1e-12
RATE = 10e6  # 10 Mbit/s: 1250 bytes take 1 ms
TX = 1250 * 8 / RATE


# ---------------------------------------------------------------------------------------------------- helpers
def topo(nodes: str | tuple[str, ...], *links: netlab.LinkSpec, **node_kw: dict) -> netlab.Topology:
    """Nodes named in *nodes* (single letters/strings; names starting with 'r' are routers, others hosts)."""
    names = nodes.split() if isinstance(nodes, str) else nodes
    specs = tuple(netlab.NodeSpec(n, "router" if n.startswith("r") else "host", **node_kw.get(n, {})) for n in names)
    return netlab.Topology(specs, links)


def link(a: str, b: str, rate: float = RATE, delay: float = 0.0, **kw: object) -> netlab.LinkSpec:
    return netlab.LinkSpec(a, b, rate_bps=rate, delay_s=delay, **kw)


def trace(
    name: str, src: str, dst: str, times: list[float], sizes: list[int] | int = 1250, **kw: object
) -> netlab.FlowSpec:
    if isinstance(sizes, int):
        sizes = [sizes] * len(times)
    return netlab.FlowSpec(name, src, dst, arrivals=netlab.Trace(times, sizes), **kw)


def simulate(t: netlab.Topology, *flows: netlab.FlowSpec, routing=None, faults=(), seed: int = 1,
             link_class: type[Link] = Link, **run: object) -> tuple[netlab.Results, Simulation]:  # fmt: skip
    run.setdefault("record_packets", True)
    scenario = netlab.Scenario(
        t, flows=flows, routing=routing or netlab.ShortestHops(), faults=faults, run=netlab.RunSpec(**run), seed=seed
    )
    sim = Simulation(scenario, link_class=link_class)
    return sim.execute(), sim


def packets(res: netlab.Results, flow: str | None = None) -> pd.DataFrame:
    df = res.packets
    assert df is not None
    if flow is not None:
        df = df[df["flow"] == flow]
    return df.sort_values(["flow", "seq"], kind="stable").reset_index(drop=True)


def link_row(res: netlab.Results, name: str) -> pd.Series:
    return res.links.set_index("link").loc[name]


def path_of(sim: Simulation, src: str, dst: str) -> list[str]:
    """The node path hop-by-hop forwarding tables give from *src* to *dst*."""
    nodes = sim.net.nodes
    here, goal, path = nodes[src], nodes[dst], [src]
    while here is not goal:
        here = sim.strategy.route(here, goal).dst
        path.append(here.name)
        assert len(path) <= len(nodes)
    return path


def books_balance(res: netlab.Results) -> None:
    s = res.summary
    assert s["injected"] == s["delivered"] + s["dropped"] + s["in_flight"]
    assert s["dropped"] == sum(s["dropped_by_reason"].values())


# ---------------------------------------------------------------------------------------------------- links
@pytest.mark.parametrize(
    ("size", "rate", "delay"),
    [(1250, 10e6, 0.0), (1000, 8e6, 0.001), (1500, 1e9, 0.0123), (40, 56e3, 0.25), (9000, 100e6, 1e-6)],
)
def test_idle_link_serialises_then_propagates(size, rate, delay):
    res, _ = simulate(topo("a b", link("a", "b", rate, delay)), trace("f", "a", "b", [0.25], size))
    pk = packets(res)
    assert pk.loc[0, "status"] == "delivered"
    assert pk.loc[0, "end_s"] - pk.loc[0, "created_s"] == pytest.approx(size * 8 / rate + delay, abs=TOL)
    row = link_row(res, "a->b")
    assert (row["packets"], row["bytes"]) == (1, size)
    assert row["utilisation"] == pytest.approx(size * 8 / rate / res.summary["sim_time_s"], rel=1e-9)


def test_busy_link_queues_fifo():
    times = [0.0, 0.0, 0.0005, 0.0031, 0.0032, 0.02]
    sizes = [1250, 500, 1250, 2500, 100, 1250]
    delay = 0.002
    res, _ = simulate(topo("a b", link("a", "b", RATE, delay)), trace("f", "a", "b", times, sizes))
    free, expected = 0.0, []
    for t, s in zip(times, sizes, strict=True):
        free = max(t, free) + s * 8 / RATE
        expected.append(free + delay)
    assert res.packets["seq"].tolist() == list(range(len(times)))  # delivered in the order sent
    assert packets(res)["end_s"].tolist() == pytest.approx(expected, abs=TOL)


def test_infinite_rate_is_a_pure_delay():
    res, _ = simulate(topo("a b", link("a", "b", math.inf, 0.004)), trace("f", "a", "b", [0.1, 0.1, 0.1, 0.2], 9000))
    pk = packets(res)
    assert (pk["end_s"] - pk["created_s"]).tolist() == pytest.approx([0.004] * 4, abs=TOL)
    row = link_row(res, "a->b")
    assert row["utilisation"] == 0.0 and row["queue_mean_packets"] == 0.0 and row["packets"] == 4


def test_duplex_directions_are_independent():
    """a->b and b->a are two links: traffic one way does not queue behind traffic the other way."""
    times, sizes = [0.0, 0.0001, 0.0002, 0.0015], [1250, 1250, 2500, 500]
    t = topo("a b", link("a", "b", RATE, 0.001))
    both, _ = simulate(t, trace("ab", "a", "b", times, sizes), trace("ba", "b", "a", times, sizes))
    alone, _ = simulate(t, trace("ab", "a", "b", times, sizes))
    ab, ba = packets(both, "ab"), packets(both, "ba")
    pd.testing.assert_frame_equal(ab, packets(alone, "ab"))
    assert (ab["end_s"] - ab["created_s"]).tolist() == (ba["end_s"] - ba["created_s"]).tolist()
    assert link_row(both, "a->b")["packets"] == link_row(both, "b->a")["packets"] == 4


@pytest.mark.parametrize(("fwd1", "fwd2"), [(0.0, 0.0), (0.003, 0.0), (0.003, 0.001)])
def test_forwarding_delay_only_when_configured(fwd1, fwd2):
    t = topo("h1 r1 r2 h2", link("h1", "r1", RATE, 0.001), link("r1", "r2", RATE, 0.002), link("r2", "h2", RATE, 0.003),
             r1={"forwarding_delay_s": fwd1}, r2={"forwarding_delay_s": fwd2})  # fmt: skip
    # Two packets at once: the second queues behind the first on h1->r1, and the forwarding delay is per packet
    # (not a queue): both keep their 1 ms spacing.
    res, _ = simulate(t, trace("f", "h1", "h2", [0.0, 0.0]))
    delay = (packets(res)["end_s"] - packets(res)["created_s"]).tolist()
    base = 3 * TX + 0.006 + fwd1 + fwd2
    assert delay == pytest.approx([base, base + TX], abs=TOL)


@pytest.mark.parametrize("k", [1, 3, 10])
def test_queue_limit_in_packets_counts_the_packet_in_service(k):
    """Exactly K packets fit (the one being serialised included); the K+1-th is tail-dropped. A place frees up
    the instant the packet in service leaves."""
    times = [0.0] * (k + 2) + [TX * 0.999, TX]
    res, _ = simulate(topo("a b", link("a", "b", RATE, 0.0, queue_packets=k)), trace("f", "a", "b", times))
    pk = packets(res)
    status = pk["status"].tolist()
    assert status == ["delivered"] * k + ["queue_full"] * 3 + ["delivered"]
    assert res.drops["reason"].tolist() == ["queue_full"] * 3
    assert res.drops["where"].tolist() == ["a->b"] * 3
    assert res.drops["seq"].tolist() == [k, k + 1, k + 2]  # tail drop: the newcomers, not the queued
    row = link_row(res, "a->b")
    assert (row["packets"], row["drops_queue_full"]) == (k + 1, 3)
    assert res.flows.loc[0, "drops_queue_full"] == 3


def test_queue_limit_in_bytes_counts_the_packet_in_service():
    # 1000 (in service) + 1500 = 2500; 600 would make 3100 > 3000: dropped; 500 makes exactly 3000; 1 is too many;
    # a lone packet larger than the limit never fits; once the first has left (0.8 ms) 1000 bytes fit again.
    times = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0008]
    sizes = [1000, 1500, 600, 500, 1, 3001, 1000]
    res, _ = simulate(topo("a b", link("a", "b", RATE, 0.0, queue_bytes=3000)), trace("f", "a", "b", times, sizes))
    assert packets(res)["status"].tolist() == ["delivered", "delivered", "queue_full", "delivered", "queue_full",
                                               "queue_full", "delivered"]  # fmt: skip
    assert link_row(res, "a->b")["bytes"] == 1000 + 1500 + 500 + 1000


def test_loss_after_serialisation_spends_the_link_time():
    """loss = 1: every packet is lost, but only at the far end, after its transmission and propagation; the link
    was busy for all of them (utilisation counts lost packets) and later packets queued behind them."""
    delay = 0.005
    res, _ = simulate(topo("a b", link("a", "b", RATE, delay, loss=1.0)), trace("f", "a", "b", [0.0, 0.0, 0.01, 0.02]))
    assert res.drops["reason"].tolist() == ["loss"] * 4
    assert res.drops["time_s"].tolist() == pytest.approx(
        [TX + delay, 2 * TX + delay, 0.01 + TX + delay, 0.02 + TX + delay], abs=TOL
    )
    row = link_row(res, "a->b")
    assert (row["packets"], row["drops_loss"]) == (4, 4)
    assert row["utilisation"] == pytest.approx(4 * TX / res.summary["sim_time_s"], rel=1e-9)
    assert res.summary["delivered"] == 0 and res.summary["dropped_by_reason"]["loss"] == 4


def _lossy_pair(other_loss: float, other_rate_pps: float = 300.0, seed: int = 1) -> list[int]:
    t = topo("a b c d", link("a", "b", 100e6, 0.001, loss=0.3), link("c", "d", 100e6, 0.001, loss=other_loss))
    flows = (
        netlab.FlowSpec("ab", "a", "b", arrivals=netlab.Poisson(500.0), count=2000),
        netlab.FlowSpec("cd", "c", "d", arrivals=netlab.Poisson(other_rate_pps), count=2000),
    )
    res, _ = simulate(t, *flows, seed=seed, record_packets=False)
    d = res.drops
    return d[(d["where"] == "a->b") & (d["reason"] == "loss")]["seq"].tolist()


def test_loss_comes_from_the_links_own_stream():
    lost = _lossy_pair(0.1)
    assert abs(len(lost) / 2000 - 0.3) < 0.04  # about the configured probability
    assert _lossy_pair(0.1) == lost  # same seed, same losses
    assert _lossy_pair(0.7) == lost  # another link's loss probability does not move this link's draws
    assert _lossy_pair(0.7, other_rate_pps=900.0) == lost  # nor does another link's traffic
    assert _lossy_pair(0.1, seed=2) != lost  # another seed, other losses


# ---------------------------------------------------------------------------------------------------- TTL
class Bounce:
    """A deliberately broken strategy: h1 sends to r1, and r1 and r2 send every packet to each other."""

    detection_delay_s = 0.0

    def attach(self, net):
        self.net = net

    def topology_changed(self, net):
        pass

    def next_link(self, node, packet):
        return self.net.link_between(node.name, {"h1": "r1", "r1": "r2", "r2": "r1"}[node.name])


@pytest.mark.parametrize("ttl", [1, 2, 5, 64])
def test_ttl_ends_a_routing_loop(ttl):
    t = topo("h1 r1 r2 h2", link("h1", "r1", RATE, 0.001), link("r1", "r2", RATE, 0.001), link("r2", "h2", RATE, 0.001))
    res, _ = simulate(t, trace("f", "h1", "h2", [0.0, 0.5, 1.0], ttl=ttl), routing=Bounce())  # no until: must end
    assert res.summary["stop_reason"] == "idle"
    assert res.summary["dropped_by_reason"]["ttl_exceeded"] == res.summary["injected"] == 3
    books_balance(res)
    pk = packets(res)
    assert (pk["status"] == "ttl_exceeded").all() and (pk["hops"] == ttl).all()
    assert (pk["end_s"] - pk["created_s"]).tolist() == pytest.approx([ttl * (TX + 0.001)] * 3, abs=1e-9)
    assert set(res.drops["where"]) == {"r1" if ttl % 2 else "r2"}


# ---------------------------------------------------------------------------------------------------- faults
def test_link_down_drops_queued_and_on_wire_packets_and_comes_back():
    """7 packets at t=0 on a 1 ms/packet link with 2 ms propagation; the link fails at 4.5 ms: packets 0 and 1
    have arrived, 2 and 3 are on the wire, 4 is in service, 5 and 6 are queued: all five dropped link_down at
    4.5 ms. A packet sent while it is down is dropped at once; after it comes back up, a packet gets through."""
    delay, t_down, t_up = 0.002, 0.0045, 0.010
    res, _ = simulate(
        topo("a b", link("a", "b", RATE, delay)),
        trace("f", "a", "b", [0.0] * 7 + [0.006, 0.020]),
        routing=netlab.ShortestHops(detection_delay_s=1.0),  # routing never notices: the drops are the link's
        faults=(netlab.FaultSpec(t_down, "down", link=("a", "b")), netlab.FaultSpec(t_up, "up", link=("a", "b"))),
    )
    pk = packets(res)
    assert pk["status"].tolist() == ["delivered"] * 2 + ["link_down"] * 6 + ["delivered"]
    assert pk["end_s"].tolist() == pytest.approx(
        [TX + delay, 2 * TX + delay] + [t_down] * 5 + [0.006, 0.020 + TX + delay], abs=TOL
    )
    assert set(res.drops["where"]) == {"a->b"}
    row = link_row(res, "a->b")
    span = res.summary["sim_time_s"]
    assert span == pytest.approx(0.020 + TX + delay, abs=TOL)
    # Busy from 0 to the failure (the unfinished work is not counted), then 1 ms for the last packet.
    assert row["utilisation"] == pytest.approx((t_down + TX) / span, rel=1e-9)
    # In system: 7, 6, 5, 4 packets for 1 ms each, 3 for 0.5 ms, then one packet for 1 ms.
    assert row["queue_mean_packets"] == pytest.approx(((7 + 6 + 5 + 4) * TX + 3 * 0.0005 + TX) / span, rel=1e-9)
    assert (row["packets"], row["drops_link_down"]) == (8, 6)


def _ring():
    """h1 - r1 - r2 - h2 with a detour r1 - r3 - r2 (fast links, 0.1 ms each)."""
    pairs = [("h1", "r1"), ("r1", "r2"), ("r2", "h2"), ("r1", "r3"), ("r3", "r2")]
    return topo("h1 r1 r2 r3 h2", *(link(a, b, 1e9, 1e-4) for a, b in pairs))


def test_routing_reconverges_after_detection_delay():
    flow = netlab.FlowSpec("f", "h1", "h2", arrivals=netlab.Constant(100.0), stop_s=3.0)
    faults = (netlab.FaultSpec(1.005, "down", link=("r1", "r2")), netlab.FaultSpec(2.005, "up", link=("r1", "r2")))
    res, sim = simulate(_ring(), flow, routing=netlab.ShortestHops(detection_delay_s=0.5), faults=faults)
    pk = packets(res)
    c = pk["created_s"]
    before, blind, detour, back = c < 1.005, (c > 1.005) & (c < 1.505), (c > 1.505) & (c < 2.505), c > 2.505
    assert (pk[before]["hops"] == 3).all() and (pk[before]["status"] == "delivered").all()
    assert (pk[blind]["status"] == "link_down").all() and blind.sum() == 50  # sent into the dead link
    assert (pk[detour]["status"] == "delivered").all() and (pk[detour]["hops"] == 4).all()  # via r3
    assert (pk[back]["status"] == "delivered").all() and (pk[back]["hops"] == 3).all()
    assert set(res.drops["where"]) == {"r1->r2"}
    assert path_of(sim, "h1", "h2") == ["h1", "r1", "r2", "h2"]


def test_pinned_path_keeps_its_path_when_a_link_fails():
    flow = netlab.FlowSpec("f", "h1", "h2", arrivals=netlab.Constant(100.0), stop_s=2.0)
    res, _ = simulate(_ring(), flow, routing=netlab.ExplicitPaths(paths={"f": ("h1", "r1", "r2", "h2")}),
                      faults=(netlab.FaultSpec(1.005, "down", link=("r1", "r2")),))  # fmt: skip
    pk = packets(res)
    assert (pk[pk["created_s"] > 1.005]["status"] == "link_down").all()
    assert (pk[pk["created_s"] < 1.005]["hops"] == 3).all()


@pytest.mark.parametrize(("detection", "blocked"), [(10.0, "link_down"), (0.0, "no_route")])
def test_router_down_and_up(detection, blocked):
    """h1 -(10 Mbit/s)- r -(1 Mbit/s)- h2, r forwards in 10 ms. Packet A (t=0) reaches r at 2 ms, is forwarded at
    12 ms and is being serialised on r->h2 (12-22 ms) when r fails at 15 ms: dropped link_down. Packet B (t=8 ms)
    is inside r's forwarding delay: dropped node_down. C (16 ms) finds h1->r down (or, once routing knows, no
    route). r is back at 30 ms; D (40 ms) is delivered: 2 + 10 + 10 + 1 ms."""
    t = topo("h1 r h2", link("h1", "r", RATE, 0.001), link("r", "h2", 1e6, 0.001), r={"forwarding_delay_s": 0.01})
    faults = (netlab.FaultSpec(0.015, "down", node="r"), netlab.FaultSpec(0.030, "up", node="r"))
    res, _ = simulate(t, trace("f", "h1", "h2", [0.0, 0.008, 0.016, 0.040]),
                      routing=netlab.ShortestHops(detection_delay_s=detection), faults=faults)  # fmt: skip
    pk = packets(res)
    assert pk["status"].tolist() == ["link_down", "node_down", blocked, "delivered"]
    assert pk["end_s"].tolist() == pytest.approx([0.015, 0.015, 0.016, 0.040 + 0.002 + 0.010 + 0.011], abs=TOL)
    assert res.drops["where"].tolist() == ["r->h2", "r", "h1->r" if blocked == "link_down" else "h1"]


def test_source_node_down_and_up():
    t = topo("a b", link("a", "b", RATE, 0.001))
    faults = (netlab.FaultSpec(0.1, "down", node="a"), netlab.FaultSpec(0.2, "up", node="a"))
    res, _ = simulate(t, trace("f", "a", "b", [0.05, 0.15, 0.25]), faults=faults)
    assert packets(res)["status"].tolist() == ["delivered", "node_down", "delivered"]
    assert res.drops["where"].tolist() == ["a"] and res.drops["time_s"].tolist() == [0.15]


def test_a_fault_before_any_strategy_is_applied_and_needs_no_routing():
    """Faults scheduled on a network no strategy routes yet take effect; there is no one to tell (this used to
    fail inside the fault's callback, looking up the missing strategy's detection delay)."""
    net = Network(simpy.Environment(), topo("a b", link("a", "b")))
    net.schedule_faults((netlab.FaultSpec(1.0, "down", link=("a", "b")),))
    net.env.run()
    assert [lk.up for lk in net.links] == [False, False]


@pytest.mark.parametrize(
    "t",
    [
        topo("a b c", link("a", "b")),  # c is isolated
        topo("a b c", link("a", "b"), link("c", "a", directed=True)),  # only c -> a exists
    ],
    ids=["disconnected", "one-way"],
)
def test_unroutable_flow_is_dropped_no_route(t):
    res, _ = simulate(t, trace("f", "a", "c", [0.1, 0.2, 0.3]), trace("ok", "a", "b", [0.1]))
    assert res.flows.set_index("flow").loc["f", "drops_no_route"] == 3
    assert res.flows.set_index("flow").loc["ok", "rx_packets"] == 1
    assert res.drops["where"].tolist() == ["a"] * 3 and res.summary["dropped_by_reason"]["no_route"] == 3


# ---------------------------------------------------------------------------------------------------- stop conditions
def test_stop_until_counts_in_flight():
    t = topo("a b", link("a", "b", 8e6, 0.1))
    res, sim = simulate(t, netlab.FlowSpec("f", "a", "b", arrivals=netlab.Constant(100.0)), until_s=1.2345)
    s = res.summary
    assert (s["stop_reason"], s["sim_time_s"]) == ("until", 1.2345)
    assert s["in_flight"] == sim.net.count_in_flight() > 0  # 100 ms of packets on the wire
    assert s["injected"] == 124 and s["delivered"] == 124 - s["in_flight"]
    books_balance(res)


def test_stop_after_delivered():
    flow = netlab.FlowSpec("f", "a", "b", arrivals=netlab.Poisson(1000.0), size=netlab.ExponentialSize(1000.0))
    res, _ = simulate(topo("a b", link("a", "b", 10e6, 0.001)), flow, stop_after_delivered=250, warmup_s=0.05)
    s = res.summary
    assert s["stop_reason"] == "stop_after_delivered" and s["counted_delivered"] == 250
    assert res.flows.loc[0, "rx_packets"] == 250
    assert s["sim_time_s"] == res.flows.loc[0, "last_rx_s"]
    assert s["delivered"] > 250  # packets created in the warm-up are delivered but not counted


def test_stop_after_delivered_stops_at_exactly_n():
    """Three packets delivered at the same instant and stop_after_delivered=1: the run stops at the first (the
    stop is urgent; the others, already scheduled at that time, stay in flight)."""
    res, _ = simulate(topo("a b", link("a", "b", math.inf, 0.01)), trace("f", "a", "b", [0.1, 0.1, 0.1, 0.2]),
                      stop_after_delivered=1)  # fmt: skip
    assert res.summary["stop_reason"] == "stop_after_delivered"
    assert res.flows.loc[0, "rx_packets"] == 1
    assert res.summary["in_flight"] == 2


def test_stop_until_is_half_open():
    """The run covers [0, until), like a flow's stop time ("no packet is sent at or
    after") and SimPy's own run(until=t): 100 packets/s for 1 s is 100 packets, not 101."""
    flow = netlab.FlowSpec("f", "a", "b", arrivals=netlab.Constant(100.0))
    res, _ = simulate(topo("a b", link("a", "b", 1e9, 0.0)), flow, until_s=1.0)
    assert res.flows.loc[0, "tx_packets"] == 100
    assert res.flows.loc[0, "last_tx_s"] < 1.0


def test_stop_when_idle():
    flow = netlab.FlowSpec("f", "a", "b", arrivals=netlab.Poisson(200.0), count=57)
    res, sim = simulate(topo("a b", link("a", "b", 10e6, 0.003)), flow)
    s = res.summary
    assert s["stop_reason"] == "idle" and s["injected"] == s["delivered"] == 57 and s["in_flight"] == 0
    assert s["sim_time_s"] == res.flows.loc[0, "last_rx_s"] == sim.env.now


def test_endless_run_is_refused():
    flow = netlab.FlowSpec("f", "a", "b", arrivals=netlab.Poisson(200.0))
    with pytest.raises(netlab.ConfigError, match="never end"):
        netlab.run(netlab.Scenario(topo("a b", link("a", "b")), flows=(flow,)))


# ---------------------------------------------------------------------------------------------------- statistics
def test_warmup_excludes_early_packets_from_flows_and_links():
    """Warm-up at 1 s. The packet sent at 0.9995 s is in service across the boundary: half its transmission
    counts for the link's busy time and occupancy, but it is neither a flow packet nor a link packet of the
    window. The packet sent at 1.0 s queues 0.5 ms behind it and counts."""
    times = [0.1, 0.5, 0.9995, 1.0, 1.1, 1.5]
    delay = 0.01
    res, _ = simulate(topo("a b", link("a", "b", RATE, delay)), trace("f", "a", "b", times), warmup_s=1.0)
    f = res.flows.loc[0]
    assert (f["tx_packets"], f["rx_packets"], f["tx_bytes"], f["first_tx_s"]) == (3, 3, 3750, 1.0)
    assert f["delay_sum_s"] == pytest.approx((0.0005 + TX + delay) + 2 * (TX + delay), abs=TOL)
    assert res.summary["injected"] == 6 and res.summary["counted_delivered"] == 3
    assert packets(res)["created_s"].tolist() == [1.0, 1.1, 1.5]
    row = link_row(res, "a->b")
    span = res.summary["sim_time_s"] - 1.0
    assert (row["packets"], row["bytes"]) == (3, 3750)
    assert row["utilisation"] == pytest.approx((0.0005 + 3 * TX) / span, rel=1e-9)
    assert row["queue_mean_packets"] == pytest.approx((0.0005 + (0.0005 + TX) + 2 * TX) / span, rel=1e-9)


def test_link_bins_sum_to_totals_and_are_exact():
    """1 s bins. Bin 0: packets at 0.1 (x3, the third tail-dropped: queue of 2), 0.5 and 0.9995 (half of its
    1 ms in bin 0); bin 1: the other half and the packet at 1.2; bin 2 ([2, 2.701]): the packet at 2.7."""
    times = [0.1, 0.1, 0.1, 0.5, 0.9995, 1.2, 2.7]
    res, _ = simulate(topo("a b", link("a", "b", RATE, 0.0, queue_packets=2)), trace("f", "a", "b", times), bin_s=1.0)
    bins = res.link_bins[res.link_bins["link"] == "a->b"].reset_index(drop=True)
    assert bins["bin_start_s"].tolist() == [0.0, 1.0, 2.0]
    assert bins["bin_end_s"].tolist() == pytest.approx([1.0, 2.0, 2.7 + TX], abs=TOL)
    width = bins["bin_end_s"] - bins["bin_start_s"]
    assert bins["packets"].tolist() == [4, 1, 1]
    assert bins["drops_queue_full"].tolist() == [1, 0, 0]
    assert (bins["utilisation"] * width).tolist() == pytest.approx([3.5 * TX, 1.5 * TX, TX], abs=TOL)
    # In system: 1 + 2 ms for the two at 0.1, 1 ms, 0.5 ms; then 0.5 + 1 ms; then 1 ms.
    assert (bins["queue_mean_packets"] * width).tolist() == pytest.approx([4.5 * TX, 1.5 * TX, TX], abs=TOL)
    total = link_row(res, "a->b")
    for col in ("packets", "bytes", "drops", "drops_queue_full"):
        assert bins[col].sum() == total[col], col
    span = res.summary["sim_time_s"]
    assert (bins["utilisation"] * width).sum() == pytest.approx(total["utilisation"] * span, abs=TOL)
    assert (bins["queue_mean_packets"] * width).sum() == pytest.approx(total["queue_mean_packets"] * span, abs=TOL)
    # The reverse link carried nothing, in every bin.
    back = res.link_bins[res.link_bins["link"] == "b->a"]
    assert (back["packets"] == 0).all() and (back["utilisation"] == 0).all()


# ---------------------------------------------------------------------------------------------------- conservation
def _leak_scenario() -> netlab.Scenario:
    flow = netlab.FlowSpec("f", "a", "b", arrivals=netlab.Poisson(100.0), count=20)
    # An until is needed: a leaked packet is never "done", so the run would not notice it went idle.
    return netlab.Scenario(topo("a b", link("a", "b", RATE, 0.001)), flows=(flow,), run=netlab.RunSpec(until_s=5.0))


def test_conservation_check_catches_a_leaking_link():
    with pytest.raises(netlab.ConservationError, match=r"injected 20 != delivered 14 \+ dropped 0 \+ in flight 0"):
        Simulation(_leak_scenario(), link_class=LeakyLink).execute()
    assert issubclass(netlab.ConservationError, netlab.SimulationError)
    res = Simulation(_leak_scenario()).execute()  # the honest link balances
    assert res.summary["delivered"] == 20
    books_balance(res)


def test_leak_without_until_still_ends_and_raises():
    """With finite flows and no until, a leaked packet keeps the running in-flight count above zero, so the run
    never goes idle by that count; once nothing but the statistics sampler is left it must end and fail the
    conservation check, not hang (a regression guard: it did hang)."""

    def alarm(_signum, _frame):
        raise TimeoutError("the run hung (no event left but the statistics sampler)")

    flow = netlab.FlowSpec("f", "a", "b", arrivals=netlab.Poisson(100.0), count=20)
    scenario = netlab.Scenario(topo("a b", link("a", "b", RATE, 0.001)), flows=(flow,))
    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    try:
        with pytest.raises(netlab.ConservationError):
            Simulation(scenario, link_class=LeakyLink).execute()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_in_flight_is_counted_not_inferred():
    flow = netlab.FlowSpec("f", "a", "b", arrivals=netlab.Constant(1000.0), count=500)
    sim = Simulation(
        netlab.Scenario(topo("a b", link("a", "b", RATE, 0.05)), flows=(flow,), run=netlab.RunSpec(until_s=0.3))
    )
    res = sim.execute()
    assert res.summary["in_flight"] == sum(len(link.wire) for link in sim.net.links) > 0
    books_balance(res)


# ---------------------------------------------------------------------------------------------------- static routing
def _three_paths(direct_cost: float | None = None) -> netlab.Topology:
    """S to D three ways: direct (1 hop, 1 Mbit/s, 50 ms), via A (2 hops, 1 Gbit/s, 2 x 20 ms), via B and C
    (3 hops, 10 Mbit/s, 3 x 1 ms). Fewest hops: direct; least delay: via B, C; OSPF: via A."""
    return topo(
        "S A B C D",
        link("S", "D", 1e6, 0.05, cost=direct_cost),
        link("S", "A", 1e9, 0.02), link("A", "D", 1e9, 0.02),
        link("S", "B", 1e7, 0.001), link("B", "C", 1e7, 0.001), link("C", "D", 1e7, 0.001),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("routing", "direct_cost", "path"),
    [
        (netlab.ShortestHops(), None, "SD"),
        (netlab.ShortestDelay(), None, "SBCD"),
        (netlab.OspfCost(reference_bps=1e9), None, "SAD"),  # costs 1000 / 2 / 300
        (netlab.OspfCost(), None, "SAD"),  # reference 100 Mbit/s: 100 / 1+1 / 30
        (netlab.OspfCost(), 1.0, "SD"),  # a link's own cost wins
        (netlab.ExplicitPaths(paths={"f": ("S", "B", "C", "D")}), None, "SBCD"),
    ],
    ids=["hops", "delay", "ospf-1G", "ospf-default", "ospf-cost", "explicit"],
)
def test_static_strategies_pick_expected_paths(routing, direct_cost, path):
    res, sim = simulate(_three_paths(direct_cost), trace("f", "S", "D", [0.0], 125), routing=routing)
    if isinstance(routing, netlab.ExplicitPaths):  # source-routed: the route rides on the packet
        assert [lk.dst.name for lk in sim.net.nodes["S"].source_routes["f"]] == list(path[1:])
    else:  # hop by hop: follow the forwarding tables
        assert "".join(path_of(sim, "S", "D")) == path
    delay = {"SD": 0.001 + 0.05, "SAD": 2 * (1e-6 + 0.02), "SBCD": 3 * (1e-4 + 0.001)}[path]
    pk = packets(res)
    assert pk.loc[0, "hops"] == len(path) - 1
    assert pk.loc[0, "end_s"] == pytest.approx(delay, abs=TOL)


@pytest.mark.parametrize("first", ["A", "B"])
def test_equal_cost_tie_break_follows_topology_link_order(first):
    second = {"A": "B", "B": "A"}[first]
    t = topo("S B A D", link("S", first), link(first, "D"), link("S", second), link(second, "D"))
    for routing in (netlab.ShortestHops(), netlab.ShortestDelay(), netlab.OspfCost()):
        paths = {
            tuple(path_of(simulate(t, trace("f", "S", "D", [0.0]), routing=routing)[1], "S", "D")) for _ in range(3)
        }
        assert paths == {("S", first, "D")}, routing


def test_explicit_path_that_is_not_a_path_is_refused():
    t = _three_paths()
    flow = trace("f", "S", "D", [0.0])
    with pytest.raises(netlab.TopologyError, match="not a link"):
        netlab.run(netlab.Scenario(t, flows=(flow,), routing=netlab.ExplicitPaths(paths={"f": ("S", "C", "D")})))
    with pytest.raises(netlab.TopologyError, match="runs"):
        netlab.run(netlab.Scenario(t, flows=(flow,), routing=netlab.ExplicitPaths(paths={"f": ("S", "A")})))
