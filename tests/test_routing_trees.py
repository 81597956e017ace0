"""Shortest-path trees (netlab.routing._trees): the same tables as the algorithms they replaced, on random graphs
full of equal-cost ties, with either engine; trees only where traffic goes; a fault rebuilds only what it touches.

The references below are the previous implementations, kept verbatim: networkx's searches on the reversed graph
(static tables), the hand-written distances and equal-cost sets, LeastLoaded's link-state tables and the oracle's
unbounded search.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Iterable
from heapq import heappop, heappush
from typing import Any

import networkx as nx
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

import netlab
from netlab.errors import ConfigError
from netlab.experiment.runner import Simulation
from netlab.network.link import Link
from netlab.network.network import Network
from netlab.network.node import Node
from netlab.network.packet import Packet
from netlab.routing._graph import shortest_path
from netlab.routing._trees import ShortestPathTrees
from netlab.routing.adaptive import LeastLoaded
from netlab.routing.static import OspfCost, ShortestHops
from netlab.topology.generators import barabasi_albert

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True)
WEIGHTS: dict[str, Callable[[Link], float | None]] = {
    "hops": lambda link: None,
    "delay": lambda link: link.delay_s,
    "cost": lambda link: float(link.spec.cost) if link.spec.cost is not None else 1.0,
    "zero": lambda link: 0.0 if link.spec.cost == 1 else link.delay_s,  # zero-cost ties: the plain search decides
}


# ---------------------------------------------------------------------- the previous implementations
def reference_tables(net: Network, weight: Callable[[Link], float | None]) -> dict[Node, dict[Node, Link]]:
    R = nx.DiGraph()
    R.add_nodes_from(net.nodes.values())
    hop_count = True
    for link in net.links:
        if link.up:
            w = weight(link)
            hop_count = hop_count and w is None
            R.add_edge(link.dst, link.src, link=link, w=1.0 if w is None else w)
    tables: dict[Node, dict[Node, Link]] = {n: {} for n in net.nodes.values()}
    for dst in net.nodes.values():
        if hop_count:
            paths = nx.single_source_shortest_path(R, dst)
        else:
            paths = nx.single_source_dijkstra_path(R, dst, weight="w")
        for node, path in paths.items():
            if len(path) > 1:
                tables[node][dst] = R.edges[path[-2], node]["link"]
    return tables


def reference_distances(dst: Node, links: Iterable[Link], weight: Callable[[Link], float] | None) -> dict[Node, float]:
    into: dict[Node, list[Link]] = {}
    for link in links:
        into.setdefault(link.dst, []).append(link)
    dist: dict[Node, float] = {dst: 0.0}
    if weight is None:
        todo = deque([dst])
        while todo:
            v = todo.popleft()
            for link in into.get(v, ()):
                if link.src not in dist:
                    dist[link.src] = dist[v] + 1.0
                    todo.append(link.src)
        return dist
    heap: list[tuple[float, int, Node]] = [(0.0, 0, dst)]
    count = 1
    done: set[Node] = set()
    while heap:
        d, _, v = heappop(heap)
        if v in done:
            continue
        done.add(v)
        for link in into.get(v, ()):
            nd = d + weight(link)
            u = link.src
            if u not in done and nd < dist.get(u, math.inf):
                dist[u] = nd
                heappush(heap, (nd, count, u))
                count += 1
    return dist


def reference_sets(net: Network, weight: Callable[[Link], float] | None) -> dict[Node, dict[Node, list[Link]]]:
    links = [link for link in net.links if link.up]
    out: dict[Node, dict[Node, list[Link]]] = {n: {} for n in net.nodes.values()}
    w = weight or (lambda _link: 1.0)
    for dst in net.nodes.values():
        dist = reference_distances(dst, links, weight)
        for link in links:
            du, dv = dist.get(link.src), dist.get(link.dst)
            if du is None or dv is None or link.src is dst:
                continue
            if math.isclose(dv + w(link), du, rel_tol=1e-9, abs_tol=1e-15) and dv < du:
                out[link.src].setdefault(dst, []).append(link)
    return out


def reference_least_loaded(net: Network, cost: Callable[[Link], float]) -> dict[Node, dict[Node, Link]]:
    adj = {n: [link for link in n.out_links if link.up] for n in net.nodes.values()}
    links = [link for ls in adj.values() for link in ls]
    tables: dict[Node, dict[Node, Link]] = {n: {} for n in net.nodes.values()}
    for dst in net.nodes.values():
        dist = reference_distances(dst, links, cost)
        for node in dist:
            if node is dst:
                continue
            best, best_d = None, math.inf
            for link in adj[node]:
                dv = dist.get(link.dst)
                if dv is not None and dv + cost(link) < best_d - 1e-15:
                    best, best_d = link, dv + cost(link)
            if best is not None:
                tables[node][dst] = best
    return tables


# ---------------------------------------------------------------------- random graphs full of ties
def random_net(seed: int, n: int, density: float, *, fault: bool = True) -> Network:
    """*n* nodes, links with few distinct delays and costs (equal-cost ties everywhere), some one-way, some down."""
    rng = random.Random(seed)
    names = [f"n{i}" for i in range(n)]
    links = []
    for i in range(n):
        for j in range(i + 1, n):
            if rng.random() < density:
                a, b = (names[i], names[j]) if rng.random() < 0.5 else (names[j], names[i])
                links.append(netlab.LinkSpec(a, b, rate_bps=rng.choice([1e6, 1e7, math.inf]),
                                             delay_s=rng.choice([0.001, 0.002, 0.003, 0.0015]),
                                             cost=rng.choice([1, 2, 3]), directed=rng.random() < 0.2))  # fmt: skip
    if not links:  # a topology needs a link (TopologyError otherwise): keep one so every draw is a network
        links.append(netlab.LinkSpec(names[0], names[1], rate_bps=1e6, delay_s=0.001))
    rng.shuffle(links)
    nodes = tuple(netlab.NodeSpec(x, "host" if rng.random() < 0.3 else "router") for x in names)
    net = Network(simpy.Environment(), netlab.Topology(nodes, tuple(links)))
    if fault:
        for link in net.links:
            if rng.random() < 0.08:
                link.set_up(False)
        if rng.random() < 0.3:
            rng.choice(list(net.nodes.values())).set_up(False)
    return net


graphs = st.tuples(st.integers(0, 2**31), st.integers(2, 28), st.sampled_from([0.08, 0.15, 0.3, 0.6]))


@PROPERTY
@given(graphs, st.sampled_from(sorted(WEIGHTS)))
def test_tables_equal_networkx_searches(graph: tuple[int, int, float], weight: str) -> None:
    net = random_net(*graph)
    ref = reference_tables(net, WEIGHTS[weight])
    for fast in (False, True):
        trees = ShortestPathTrees(net, WEIGHTS[weight], fast=fast)
        for node in net.nodes.values():
            assert trees.table(node) == ref[node], (fast, node)


@PROPERTY
@given(graphs, st.sampled_from(sorted(WEIGHTS)))
def test_distances_equal_reference(graph: tuple[int, int, float], weight: str) -> None:
    net = random_net(*graph)
    w = WEIGHTS[weight]
    plain = None if weight == "hops" else (lambda link: float(w(link)))  # type: ignore[arg-type]
    up = [link for link in net.links if link.up]
    for fast in (False, True):
        trees = ShortestPathTrees(net, w, fast=fast)
        for dst in net.nodes.values():
            ref = reference_distances(dst, up, plain)
            for node in net.nodes.values():
                assert trees.distance(node, dst) == ref.get(node, math.inf)


@PROPERTY
@given(graphs, st.sampled_from(["hops", "delay"]))
def test_equal_cost_sets_equal_reference(graph: tuple[int, int, float], weight: str) -> None:
    net = random_net(*graph)
    w = None if weight == "hops" else (lambda link: link.delay_s)
    ref = reference_sets(net, w)
    for fast in (False, True):
        trees = ShortestPathTrees(net, w or (lambda _link: None), fast=fast)
        for node in net.nodes.values():
            for dst in net.nodes.values():
                assert trees.equal_cost(node, dst) == ref[node].get(dst, []), (fast, node, dst)


@PROPERTY
@given(graphs, st.integers(0, 2**31))
def test_least_loaded_tables_equal_reference(graph: tuple[int, int, float], seed: int) -> None:
    """Link-state costs with exact ties and near-ties (a few ulps apart, where the 1e-15 rule decides)."""
    net = random_net(*graph)
    rng = random.Random(seed)
    base = [1e-3, 2e-3, 3e-3, 1.5e-3]
    cost = {link: rng.choice(base) + rng.choice([0.0, 0.0, 2e-19, 5e-19, 1e-15, 3e-16]) for link in net.links}
    ref = reference_least_loaded(net, cost.__getitem__)
    for fast in (False, True):
        trees = ShortestPathTrees(net, cost.__getitem__, fast=fast)
        for node in net.nodes.values():
            for dst in net.nodes.values():
                assert trees.first_least(node, dst) is ref[node].get(dst), (fast, node, dst)


@PROPERTY
@given(graphs, st.sampled_from(sorted(WEIGHTS)), st.integers(0, 2**31))
def test_refresh_after_faults_equals_a_fresh_build(graph: tuple[int, int, float], weight: str, seed: int) -> None:
    net = random_net(*graph)
    rng = random.Random(seed)
    for fast in (False, True):
        trees = ShortestPathTrees(net, WEIGHTS[weight], fast=fast)
        trees.prepare(net.nodes.values())
        for _ in range(3):
            for link in rng.sample(net.links, min(len(net.links), 3)):
                link.set_up(not link.admin_up)
            dropped = trees.refresh()
            assert set(dropped) <= set(net.nodes.values())
            ref = reference_tables(net, WEIGHTS[weight])
            for node in net.nodes.values():
                assert trees.table(node) == ref[node]


def diamond() -> Network:
    """a - b - d and a - c - d, plus a spur d - e: the two paths a -> d tie, e hangs off d."""
    topo = netlab.Topology(tuple(netlab.NodeSpec(x) for x in "abcde"),
                           tuple(netlab.LinkSpec(u, v) for u, v in ("ab", "bd", "ac", "cd", "de")))  # fmt: skip
    return Network(simpy.Environment(), topo)


@pytest.mark.parametrize("fast", [False, True])
def test_refresh_rebuilds_only_the_trees_a_fault_touches(fast: bool) -> None:
    net = diamond()
    trees = ShortestPathTrees(net, lambda _link: None, fast=fast)
    a, c, d, e = (net.nodes[x] for x in "acde")
    trees.prepare([a, d, e])
    assert trees.next_link(a, d).name == "a->b"  # the first link in topology order wins the tie
    net.link_between("c", "a").set_up(False)  # carries c's path to a only
    assert trees.refresh() == [a]
    net.link_between("a", "b").set_up(False)
    assert set(trees.refresh()) == {d, e}  # a's way to d and to e was over a -> b
    assert trees.next_link(a, d).name == "a->c" and trees.built == 3 + 1  # d rebuilt when asked for, e not yet
    trees.prepare([a, d, e])
    assert trees.built == 3 + 3
    net.link_between("a", "b").set_up(True)  # as short as a -> c again, and first: the trees toward d and e change
    assert set(trees.refresh()) == {d, e}
    assert trees.next_link(a, d).name == "a->b"
    trees.prepare([a, d, e])
    net.link_between("d", "e").set_up(False)
    assert trees.refresh() == [e] and trees.next_link(c, e) is None


@pytest.mark.parametrize("fast", [False, True])
def test_a_negative_cost_is_refused(fast: bool) -> None:
    with pytest.raises(ConfigError, match=r"link a->b costs -1.0: expected a number >= 0"):
        ShortestPathTrees(diamond(), lambda link: -1.0 if link.name == "a->b" else 1.0, fast=fast)


# ---------------------------------------------------------------------- strategies build only what traffic needs
def hosts_and_routers() -> netlab.Scenario:
    """h1 - r1 - r2 - h2 with a router r3 behind r2, and a flow that ends at r3."""
    nodes = tuple(netlab.NodeSpec(x, "host" if x[0] == "h" else "router") for x in ("h1", "r1", "r2", "r3", "h2"))
    links = tuple(netlab.LinkSpec(u, v, rate_bps=1e7, delay_s=1e-3) for u, v in
                  (("h1", "r1"), ("r1", "r2"), ("r2", "h2"), ("r2", "r3")))  # fmt: skip
    flows = (netlab.FlowSpec("f", "h1", "h2", count=5), netlab.FlowSpec("g", "h2", "r3", count=5))
    return netlab.Scenario(netlab.Topology(nodes, links), flows=flows)


def test_trees_are_built_for_hosts_and_flow_ends_then_on_first_use() -> None:
    sim = Simulation(hosts_and_routers())
    trees = sim.strategy.trees
    assert [n.name for n in trees.destinations] == ["h1", "r3", "h2"]
    assert all(not node.fib for node in sim.net.nodes.values())  # tables fill as packets pass
    r1 = sim.net.nodes["r1"]
    assert sim.strategy.route(sim.net.nodes["h1"], r1).name == "h1->r1"  # a router's tree, when asked for
    assert trees.built == 4
    res = sim.execute()
    assert res.summary["delivered"] == 10
    assert set(sim.net.nodes["r2"].fib) == {sim.net.nodes["h2"], sim.net.nodes["r3"]}
    assert sim.net.nodes["h2"].fib == {sim.net.nodes["r3"]: sim.net.link_between("h2", "r2")}


def test_a_table_strategy_routes_to_a_router_nobody_named() -> None:
    """A packet toward a router no flow ends at (a user's own traffic, say) gets its tree on the spot."""
    sim = Simulation(hosts_and_routers())
    h1, r2 = sim.net.nodes["h1"], sim.net.nodes["r2"]
    assert r2 not in sim.strategy.trees.destinations
    pkt = Packet(h1, r2, 100, 0.0)
    assert sim.strategy.next_link(h1, pkt).name == "h1->r1"
    assert h1.fib == {r2: sim.net.link_between("h1", "r1")} and r2 in sim.strategy.trees.destinations


@pytest.mark.parametrize("strategy", [ShortestHops(), OspfCost(reference_bps=1e9)])
def test_large_graph_uses_the_fast_engine_and_agrees(strategy: Any) -> None:
    G = barabasi_albert(600, 2, seed=3, hosts=[f"r{i}" for i in range(0, 600, 25)])
    for u, v in G.edges:
        G.edges[u, v]["rate_bps"] = random.Random(f"{u}-{v}").choice([1e8, 1e9, 1e10])
    net = Network(simpy.Environment(), netlab.Scenario.from_graph(G).topology)
    strategy.attach(net)
    assert strategy.trees.fast and len(strategy.trees.destinations) == 24
    plain = ShortestPathTrees(net, strategy.weight, fast=False)
    rng = random.Random(5)
    nodes = list(net.nodes.values())
    for dst in rng.sample(nodes, 12):
        for node in nodes:
            assert strategy.route(node, dst) is plain.next_link(node, dst)


# ---------------------------------------------------------------------- the oracle's bounded search
def load_links(net: Network, rng: random.Random) -> None:
    """Queue real packets on a random third of the links (never run: they stay queued)."""
    for link in net.links:
        if link.up and rng.random() < 0.33:
            for i in range(rng.randint(1, 6)):
                link.send(Packet(link.src, link.dst, rng.choice([100, 1000, 1500]), 0.0, flow="load", seq=i))


@PROPERTY
@given(graphs, st.integers(0, 2**31), st.sampled_from(["delay", "queue"]))
def test_oracle_bounded_search_takes_the_unbounded_path(graph: tuple[int, int, float], seed: int, metric: str) -> None:
    net = random_net(*graph)
    rng = random.Random(seed)
    load_links(net, rng)
    ll = LeastLoaded(metric=metric)
    net.attach(ll)
    nodes = list(net.nodes.values())
    for _ in range(20):
        src, dst = rng.choice(nodes), rng.choice(nodes)
        if src is dst:
            continue
        pkt = Packet(src, dst, rng.choice([40, 1000, 1500]), 0.0)
        bits = pkt.size * 8.0
        want = shortest_path(src, dst, ll.adj, lambda link, b=bits: ll.live_cost(link, b))
        got = ll.next_link(src, pkt)
        assert (got is None) == (want is None)
        if want is not None:
            assert list(pkt.route) == want and got is want[0]
