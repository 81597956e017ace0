"""Least-loaded routing (oracle and link state) and least-loaded among the k shortest paths: which path, when it
changes, what happens when a link goes down."""

from __future__ import annotations

import itertools

import pytest

from netlab.errors import ConfigError
from netlab.routing.adaptive import KShortestLeastLoaded, LeastLoaded, message_of
from netlab.testing import diamond, load, make_network, packet, path_of, triangle


def test_oracle_takes_the_idle_path_and_source_routes() -> None:
    ll = LeastLoaded()
    net = make_network(diamond(), ll)
    p = packet(net)
    assert path_of(net, p) == ["s", "a", "d"]  # tie at idle: topology order
    assert p.route is not None and len(p.route) == 2
    load(net, "s", "a", 3)
    assert path_of(net, packet(net)) == ["s", "b", "d"]


def test_oracle_weighs_queue_against_a_longer_path() -> None:
    ll = LeastLoaded()
    net = make_network(triangle(), ll)
    # Direct: 1 ms + 1.6 ms; detour: 2 * (1 ms + 0.8 ms) = 3.6 ms. One queued packet (1.6 ms) tips the balance.
    assert path_of(net, packet(net)) == ["s", "d"]
    load(net, "s", "d", 1)
    assert path_of(net, packet(net)) == ["s", "m", "d"]


def test_oracle_queue_metric_counts_packets() -> None:
    ll = LeastLoaded(metric="queue")
    net = make_network(triangle(), ll)
    load(net, "s", "d", 1)  # 1 + 1 = 2 = two idle hops: the tie goes to the first-found (direct) path
    assert path_of(net, packet(net)) == ["s", "d"]
    load(net, "s", "d", 1)
    assert path_of(net, packet(net)) == ["s", "m", "d"]


def _keep_busy(net, u: str, v: str, until: float) -> None:  # type: ignore[no-untyped-def]
    """A process that keeps link u -> v about 90 % busy (one 1000-byte packet per 0.89 ms at 10 Mbit/s)."""
    from netlab.network.packet import Packet

    link = net.link_between(u, v)

    def proc():  # type: ignore[no-untyped-def]
        i = 0
        while net.now < until:
            link.send(Packet(link.src, link.dst, 1000, net.now, flow="load", seq=i))
            i += 1
            yield net.env.timeout(0.00089)

    net.env.process(proc())


def test_link_state_changes_only_at_updates() -> None:
    ll = LeastLoaded(mode="link_state", update_interval_s=1.0, ewma=1.0)
    net = make_network(diamond(), ll)
    _keep_busy(net, "s", "a", until=10.0)
    net.env.run(until=0.9)
    assert net.link_between("s", "a").queue_length() >= 1
    assert path_of(net, packet(net)) == ["s", "a", "d"]  # stale: the busy link still looks idle
    net.env.run(until=1.01)
    assert ll.cost_updates == 1
    assert path_of(net, packet(net)) == ["s", "b", "d"]  # the update published the load


def test_link_state_oscillates_when_traffic_follows_the_table() -> None:
    """All traffic chases the path that looked idle at the last update: the choice flips every interval."""
    ll = LeastLoaded(mode="link_state", update_interval_s=1.0, ewma=1.0)
    net = make_network(diamond(), ll)
    from netlab.network.packet import Packet

    choices = []

    def traffic():  # type: ignore[no-untyped-def]
        i = 0
        while net.now < 6:
            p = Packet(net.nodes["s"], net.nodes["d"], 1000, net.now, flow="f", seq=i)
            ll.next_link(net.nodes["s"], p).send(p)
            i += 1
            yield net.env.timeout(0.00089)

    def watch():  # type: ignore[no-untyped-def]
        yield net.env.timeout(0.5)
        while net.now < 5.6:
            choices.append(ll.next_link(net.nodes["s"], packet(net)).dst.name)  # mid-interval: t = 0.5, 1.5, ...
            yield net.env.timeout(1.0)

    net.env.process(traffic())
    net.env.process(watch())
    net.env.run(until=6)
    assert choices[:2] == ["a", "b"] and len(choices) == 6
    assert all(x != y for x, y in itertools.pairwise(choices))  # a, b, a, b...


def test_link_state_clamp_limits_the_change_per_update() -> None:
    ll = LeastLoaded(mode="link_state", update_interval_s=1.0, ewma=1.0, clamp=0.5, cap=3.0)
    net = make_network(diamond(), ll)
    _keep_busy(net, "s", "a", until=10.0)
    link = net.link_between("s", "a")
    idle = ll.idle_cost(link)
    seen = [ll.cost[link]]
    for t in range(1, 8):
        net.env.run(until=t + 0.01)
        seen.append(ll.cost[link])
    steps = [b - a for a, b in itertools.pairwise(seen)]
    assert max(steps) <= 0.5 * idle + 1e-12
    assert max(seen) <= 3.0 * idle + 1e-12 and seen[-1] > idle


@pytest.mark.parametrize("strategy", [LeastLoaded(), LeastLoaded(mode="link_state"), KShortestLeastLoaded()],
                         ids=repr)  # fmt: skip
def test_link_down_is_avoided_after_topology_change(strategy) -> None:  # type: ignore[no-untyped-def]
    net = make_network(diamond(), strategy)
    assert path_of(net, packet(net)) == ["s", "a", "d"]
    net.link_between("a", "d").set_up(False)
    strategy.topology_changed(net)
    assert path_of(net, packet(net)) == ["s", "b", "d"]
    net.link_between("b", "d").set_up(False)
    strategy.topology_changed(net)
    assert strategy.next_link(net.nodes["s"], packet(net)) is None


def test_k_shortest_picks_least_loaded_candidate() -> None:
    k = KShortestLeastLoaded(k=2)
    net = make_network(triangle(), k)
    assert [len(p) for p in k.paths(net.nodes["s"], net.nodes["d"])] == [1, 2]
    assert path_of(net, packet(net)) == ["s", "d"]
    load(net, "s", "d", 2)
    assert path_of(net, packet(net)) == ["s", "m", "d"]


def test_k_equal_one_is_shortest_path_whatever_the_load() -> None:
    k = KShortestLeastLoaded(k=1)
    net = make_network(triangle(), k)
    load(net, "s", "d", 20)
    assert path_of(net, packet(net)) == ["s", "d"]


def test_k_shortest_per_flow_keeps_the_first_choice() -> None:
    k = KShortestLeastLoaded(per="flow")
    net = make_network(triangle(), k)
    assert path_of(net, packet(net, flow="f1")) == ["s", "d"]
    load(net, "s", "d", 5)
    assert path_of(net, packet(net, flow="f1", seq=1)) == ["s", "d"]  # pinned
    assert path_of(net, packet(net, flow="f2")) == ["s", "m", "d"]  # a new flow decides afresh


class _Mail:
    def __init__(self, message_id: str) -> None:
        self.message_id = message_id


def test_k_shortest_per_message_uses_the_payload_message_id() -> None:
    k = KShortestLeastLoaded(per="message")
    net = make_network(triangle(), k)
    first = packet(net)
    first.payload = _Mail("m1")
    assert message_of(first) == "m1" and message_of(packet(net)) is None
    assert path_of(net, first) == ["s", "d"]
    load(net, "s", "d", 5)
    again = packet(net, seq=1)
    again.payload = _Mail("m1")
    assert path_of(net, again) == ["s", "d"]  # same message, same path
    other = packet(net, seq=2)
    other.payload = _Mail("m2")
    assert path_of(net, other) == ["s", "m", "d"]
    assert path_of(net, packet(net, seq=3)) == ["s", "m", "d"]  # no message: per packet


@pytest.mark.parametrize("kwargs", [{"mode": "x"}, {"metric": "x"}, {"metric": "utilisation"}, {"ewma": 0},
                                    {"update_interval_s": 0}, {"clamp": 0}, {"cap": 0.5}])  # fmt: skip
def test_bad_options_are_refused(kwargs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError):
        LeastLoaded(**kwargs)


@pytest.mark.parametrize("kwargs", [{"k": 0}, {"per": "hop"}, {"path_weight": "cost"}])
def test_bad_k_shortest_options_are_refused(kwargs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError):
        KShortestLeastLoaded(**kwargs)
