"""Topology generators: sizes, names, roles, connectivity, determinism and generate()'s errors."""

from __future__ import annotations

import subprocess
import sys

import networkx as nx
import pytest

from netlab.errors import ConfigError, TopologyError
from netlab.topology.convert import topology_from_graph
from netlab.topology.generators import (
    GENERATORS,
    barabasi_albert,
    dumbbell,
    fat_tree,
    generate,
    grid,
    line,
    ring,
    waxman,
)


@pytest.mark.parametrize(
    ("kind", "params", "nodes", "edges", "hosts"),
    [
        ("line", {"n": 1}, 1, 0, 0),
        ("line", {"n": 5}, 5, 4, 0),
        ("line", {"n": 5, "hosts": "ends"}, 7, 6, 2),
        ("line", {"n": 1, "hosts": "ends"}, 2, 1, 1),
        ("ring", {"n": 6}, 6, 6, 0),
        ("ring", {"n": 6, "hosts": "all"}, 12, 12, 6),
        ("grid", {"rows": 6, "cols": 6}, 36, 60, 0),
        ("grid", {"rows": 2, "cols": 3, "hosts": ["r0_0", "r1_2"]}, 8, 9, 2),
        ("dumbbell", {"left": 2, "right": 3}, 7, 6, 5),
        ("fat_tree", {"k": 2}, 7, 6, 2),
        ("fat_tree", {"k": 4}, 36, 48, 16),
        ("fat_tree", {"k": 6}, 99, 162, 54),
        ("waxman", {"n": 50}, 50, None, 0),
        ("waxman", {"n": 10, "hosts": "all"}, 20, None, 10),
        ("barabasi_albert", {"n": 30, "m": 2}, 30, 56, 0),
    ],
)
def test_sizes_roles_and_connectivity(kind: str, params: dict, nodes: int, edges: int | None, hosts: int) -> None:
    G = generate(kind, **params)
    assert G.number_of_nodes() == nodes
    if edges is not None:
        assert G.number_of_edges() == edges
    assert sum(role == "host" for _, role in G.nodes(data="role")) == hosts
    assert {role for _, role in G.nodes(data="role")} <= {"host", "router"}
    assert all(isinstance(v, str) for v in G)
    assert nx.is_connected(G)
    # Hosts are leaves hanging off a router, never on a path between two others.
    assert all(G.degree(v) == 1 and G.nodes[next(iter(G[v]))]["role"] == "router"
               for v, role in G.nodes(data="role") if role == "host")  # fmt: skip
    if G.number_of_edges():
        topology_from_graph(G)  # every generated graph with a link is a valid topology
    else:  # a lone router carries nothing
        with pytest.raises(TopologyError, match="needs at least one link"):
            topology_from_graph(G)


def test_fat_tree_tiers() -> None:
    G = fat_tree(4)
    tiers = {p: sorted(v for v in G if v.startswith(p)) for p in ("core", "agg", "edge", "h")}
    assert [len(tiers[p]) for p in ("core", "agg", "edge", "h")] == [4, 8, 8, 16]
    assert sorted(G["agg0_1"]) == ["core2", "core3", "edge0_0", "edge0_1"]
    assert sorted(G["edge3_1"]) == ["agg3_0", "agg3_1", "h3_1_0", "h3_1_1"]
    assert all(G.degree(v) == 4 for v in G if not v.startswith("h"))  # every switch uses all k ports


@pytest.mark.parametrize("k", [0, 3, 5, -2, 2.0, True])
def test_fat_tree_needs_even_k(k: object) -> None:
    with pytest.raises(ConfigError, match="even"):
        fat_tree(k)  # type: ignore[arg-type]


def test_names_and_link_attributes() -> None:
    G = grid(2, 2, hosts="all", rate_bps=1e7, delay_s=0.002)
    assert sorted(G) == ["h0_0", "h0_1", "h1_0", "h1_1", "r0_0", "r0_1", "r1_0", "r1_1"]
    assert all(d == {"rate_bps": 1e7, "delay_s": 0.002} for *_, d in G.edges(data=True))
    assert line(3).edges["r0", "r1"] == {}  # unset: the scenario's defaults apply
    D = dumbbell(1, 1, bottleneck_rate_bps=1e6, access_rate_bps=1e8, access_delay_s=0.001)
    assert D.edges["rl", "rr"] == {"rate_bps": 1e6}
    assert D.edges["hl0", "rl"] == {"rate_bps": 1e8, "delay_s": 0.001}
    assert sorted(ring(3, hosts=["r1"])) == ["h1", "r0", "r1", "r2"]


@pytest.mark.parametrize("make", [lambda s: waxman(40, seed=s), lambda s: barabasi_albert(40, 3, seed=s)])
def test_random_generators_are_deterministic(make) -> None:  # type: ignore[no-untyped-def]
    a, b, c = make(7), make(7), make(8)
    assert list(a.edges) == list(b.edges)
    assert dict(a.nodes(data=True)) == dict(b.nodes(data=True))
    assert list(a.edges) != list(c.edges)


def test_random_generators_are_deterministic_across_processes() -> None:
    code = ("from netlab.topology.generators import waxman, barabasi_albert;"
            "print(sorted(waxman(30, seed=5).edges), sorted(barabasi_albert(30, 2, seed=5).edges))")  # fmt: skip
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
               for _ in range(2)}  # fmt: skip
    here = f"{sorted(waxman(30, seed=5).edges)} {sorted(barabasi_albert(30, 2, seed=5).edges)}\n"
    assert outputs == {here}


@pytest.mark.parametrize("seed", range(20))
def test_sparse_waxman_is_made_connected(seed: int) -> None:
    # With the defaults, 20 routers are essentially never connected by the draw alone.
    G = waxman(20, seed=seed)
    assert nx.is_connected(G)
    assert all(0 <= G.nodes[v]["x"] <= 1 and 0 <= G.nodes[v]["y"] <= 1 for v in G)


def test_generate_parses_units_and_short_names() -> None:
    G = generate("dumbbell", left=1, right=1, bottleneck_rate="10Mbps", bottleneck_delay_s="5ms")
    assert G.edges["rl", "rr"] == {"rate_bps": 1e7, "delay_s": 0.005}
    assert generate("line", n=2, rate="1Gbps", delay=0.001).edges["r0", "r1"] == {"rate_bps": 1e9, "delay_s": 0.001}


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("fattree", {"k": 4}, "unknown topology generator 'fattree'; did you mean 'fat_tree'?"),
        ("mesh", {}, "unknown topology generator 'mesh'; expected one of barabasi_albert, dumbbell, fat_tree"),
        ("grid", {"rows": 2, "colums": 2}, "grid: unknown parameter 'colums'; did you mean 'cols'?"),
        ("waxman", {"n": 5, "sead": 1}, "waxman: unknown parameter 'sead'; did you mean 'seed'?"),
        ("grid", {"rows": 2}, "grid: missing parameter 'cols'"),
        ("line", {"n": 2.5}, "n must be a whole number >= 1, got 2.5"),
        ("ring", {"n": 2}, "n must be a whole number >= 3"),
        ("line", {"n": 3, "hosts": "some"}, "hosts must be one of none, all, ends"),
        ("grid", {"rows": 1, "cols": 2, "hosts": ["r0_2"]}, "unknown router 'r0_2'; did you mean 'r0_1'?"),
        ("barabasi_albert", {"n": 3, "m": 3}, "n must be a whole number >= 4"),
        ("waxman", {"n": 5, "beta": 1.5}, "0 < beta <= 1"),
        ("line", {"n": 2, "rate": "10M"}, "ambiguous"),
    ],
)
def test_generate_errors(kind: str, params: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        generate(kind, **params)
    assert message in str(info.value)


def test_generate_knows_every_generator() -> None:
    assert set(GENERATORS) == {"line", "ring", "grid", "dumbbell", "fat_tree", "waxman", "barabasi_albert"}
