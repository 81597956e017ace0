"""ECMP, spraying, weighted split, widest-shortest and shortest-widest on small topologies."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import netlab
from netlab.errors import ConfigError, TopologyError
from netlab.routing.multipath import Ecmp, Flowlet, Spray, WeightedSplit
from netlab.routing.widest import ShortestWidest, WidestShortest
from netlab.scenario.registry import ROUTING
from netlab.testing import diamond, load, make_network, packet, parallel_paths, path_of, tiny_topology, triangle

DEMO = Path(__file__).resolve().parents[1] / "topologies" / "demo.yaml"


def _first_hops(net, strategy, n: int, **kw) -> Counter[str]:  # type: ignore[no-untyped-def]
    return Counter(path_of(net, packet(net, seq=i, **kw))[1] for i in range(n))


def test_ecmp_keeps_a_flow_on_one_path_and_spreads_flows() -> None:
    e = Ecmp()
    net = make_network(parallel_paths(4), e)
    for flow in ("f1", "f2", "f3"):
        assert len(_first_hops(net, e, 20, flow=flow)) == 1  # never reordered
    used = {path_of(net, packet(net, flow=f"flow{i}"))[1] for i in range(40)}
    assert used == {"p1", "p2", "p3", "p4"}


def test_ecmp_hash_is_stable_and_seeded() -> None:
    a = [
        path_of(n, packet(n, flow=f"x{i}"))[1]
        for e in [Ecmp()]
        for n in [make_network(parallel_paths(4), e)]
        for i in range(30)
    ]
    b = [
        path_of(n, packet(n, flow=f"x{i}"))[1]
        for e in [Ecmp()]
        for n in [make_network(parallel_paths(4), e)]
        for i in range(30)
    ]
    c = [
        path_of(n, packet(n, flow=f"x{i}"))[1]
        for e in [Ecmp()]
        for n in [make_network(parallel_paths(4), e, seed=2)]
        for i in range(30)
    ]
    assert a == b and a != c


def test_ecmp_only_uses_equal_cost_next_hops() -> None:
    e = Ecmp()
    net = make_network(triangle(), e)
    assert {path_of(net, packet(net, flow=f"f{i}"))[1] for i in range(20)} == {"d"}


def test_ecmp_without_salt_polarises() -> None:
    """Two tiers of two-way ECMP: with the same hash at every node, a flow's choice at tier 1 fixes tier 2."""
    links = [("s", "a", 1e7), ("s", "b", 1e7)]
    for t in ("a", "b"):
        links += [(t, f"{t}1", 1e7), (t, f"{t}2", 1e7), (f"{t}1", "d", 1e7), (f"{t}2", "d", 1e7)]
    for salt, expect_all in ((False, False), (True, True)):
        e = Ecmp(salt=salt)
        net = make_network(tiny_topology(links), e)
        paths = {tuple(path_of(net, packet(net, flow=f"f{i}"))[1:3]) for i in range(64)}
        assert (len(paths) == 4) is expect_all


@pytest.mark.parametrize("mode", ["random", "round_robin"])
def test_spray_spreads_packets_of_one_flow(mode: str) -> None:
    s = Spray(mode=mode)
    net = make_network(parallel_paths(4), s)
    hops = _first_hops(net, s, 400)
    assert set(hops) == {"p1", "p2", "p3", "p4"}
    if mode == "round_robin":
        assert set(hops.values()) == {100}
    else:
        assert all(60 < v < 140 for v in hops.values())


def test_weighted_split_follows_the_weights() -> None:
    w = WeightedSplit(splits={"s": {"d": 3, "m": 1}})
    net = make_network(triangle(), w)
    hops = _first_hops(net, w, 4000)
    assert 0.70 < hops["d"] / 4000 < 0.80 and hops["d"] + hops["m"] == 4000
    assert path_of(net, packet(net, "m", "s")) == ["m", "s"]  # no split at m: hop count


def test_weighted_split_ignores_next_hops_that_lead_away() -> None:
    w = WeightedSplit(splits={"a": {"s": 1, "d": 1}})
    net = make_network(diamond(), w)
    assert _first_hops(net, w, 50, src="a", dst="d") == Counter({"d": 50})  # s is farther from d than a


def test_weighted_split_never_closes_a_loop() -> None:
    # a and b are both one hop from d; mutual splits a->b and b->a would ping-pong: one is dropped.
    links = [("a", "d", 1e7), ("b", "d", 1e7), ("a", "b", 1e7)]
    w = WeightedSplit(splits={"a": {"b": 1, "d": 1}, "b": {"a": 1, "d": 1}})
    net = make_network(tiny_topology(links), w)
    for src in ("a", "b"):
        for i in range(50):
            assert len(path_of(net, packet(net, src, "d", seq=i))) <= 3


@pytest.mark.parametrize("splits", [{"zz": {"a": 1}}, {"s": {"zz": 1}}])
def test_weighted_split_checks_names(splits) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TopologyError):
        make_network(diamond(), WeightedSplit(splits=splits))


def test_weighted_split_refuses_bad_weights() -> None:
    with pytest.raises(ConfigError):
        WeightedSplit(splits={"s": {"a": 0}})


def test_widest_shortest_prefers_the_wider_of_equal_hop_paths() -> None:
    links = [("s", "a", 10e6), ("a", "d", 2e6), ("s", "b", 10e6), ("b", "d", 5e6), ("s", "d", 1e6)]
    w = WidestShortest(update_interval_s=None)
    net = make_network(tiny_topology(links), w)
    assert path_of(net, packet(net)) == ["s", "d"]  # fewest hops first, however thin
    net.link_between("s", "d").set_up(False)
    w.topology_changed(net)
    assert path_of(net, packet(net)) == ["s", "b", "d"]


def test_shortest_widest_takes_the_widest_then_fewest_hops() -> None:
    links = [("s", "d", 1e6), ("s", "a", 10e6), ("a", "d", 10e6), ("s", "b", 10e6), ("b", "c", 10e6), ("c", "d", 10e6)]
    w = ShortestWidest(update_interval_s=None)
    net = make_network(tiny_topology(links), w)
    p = packet(net)
    assert path_of(net, p) == ["s", "a", "d"] and p.route is not None


def test_widths_follow_measured_load() -> None:
    w = WidestShortest(update_interval_s=0.5, ewma=1.0)
    net = make_network(diamond(), w)
    assert path_of(net, packet(net)) == ["s", "a", "d"]
    load(net, "s", "a", 500)  # 0.4 s of work on s->a
    net.env.run(until=0.51)
    assert path_of(net, packet(net)) == ["s", "b", "d"]


def test_flowlet_keeps_a_flow_on_one_path_while_it_sends_back_to_back() -> None:
    f = Flowlet(gap_s=0.01)
    net = make_network(parallel_paths(4), f)
    assert len(_first_hops(net, f, 50)) == 1  # no time passes between the packets: one flowlet


def test_flowlet_moves_a_flow_only_after_an_idle_gap_longer_than_gap() -> None:
    f = Flowlet(gap_s=0.01)
    net = make_network(parallel_paths(4), f)
    seen: list[str] = []
    for i in range(200):
        net.env.run(until=net.env.now + (0.02 if i % 2 else 0.005))  # alternately above and below the gap
        seen.append(path_of(net, packet(net, seq=i))[1])
    # Packet i+1 (even) comes 5 ms after packet i (odd): never a new path; an odd one comes after 20 ms: it may.
    assert all(seen[i] == seen[i + 1] for i in range(1, 199, 2))
    assert set(seen) == {"p1", "p2", "p3", "p4"}  # new flowlets spread over every equal-cost path
    assert sum(seen[i] != seen[i - 1] for i in range(1, 200, 2)) > 50  # at random: 3/4 of new flowlets move


def test_flowlet_learns_of_a_down_link_when_routing_does() -> None:
    # like every strategy, after the detection delay (it read link.up, the forwarding plane's state, at once)
    f = Flowlet(gap_s=10.0)
    net = make_network(parallel_paths(4), f)
    first = path_of(net, packet(net))[1]
    link = net.link_between("s", first)
    assert link is not None
    link.fault_pending()
    link.set_up(False)  # down; its notice is on its way to routing
    assert path_of(net, packet(net, seq=1))[1] == first
    link.fault_noticed(False)
    f.topology_changed(net)
    assert path_of(net, packet(net, seq=2))[1] != first


def test_flowlet_forgets_idle_flows_so_many_short_flows_keep_its_tables_small() -> None:
    # a day of mail is many short TCP connections, each a flow: one entry each, kept for ever, grew without end
    f = Flowlet(gap_s=0.01)
    net = make_network(parallel_paths(4), f)
    for i in range(20_000):
        net.env.run(until=net.env.now + 0.001)  # ten flows within any gap: the rest are idle
        path_of(net, packet(net, flow=f"conn{i}"))
    assert max(len(t) for t in f.flowlets.values()) <= 2048


@pytest.mark.parametrize("gap", [-0.001, float("nan"), "10ms"])
def test_flowlet_refuses_a_bad_gap(gap: object) -> None:
    with pytest.raises(ConfigError, match="flowlet: gap"):
        Flowlet(gap_s=gap)  # type: ignore[arg-type]


def test_flowlet_is_named_in_yaml() -> None:
    res = netlab.run(netlab.load_scenario(DEMO), routing="flowlet(gap=20ms)", run={"until": "4s"})
    assert len(res.flows) > 0
    assert ROUTING["flowlet"] is Flowlet
