"""Real topologies: Abilene and the reconstructed GEANT core load, validate, run, and their delays match their maps."""

from __future__ import annotations

from pathlib import Path

import pytest

import netlab
from netlab.topology.zoo import FIBRE_SPEED_MPS, great_circle_m, read_topology_file

ROOT = Path(__file__).resolve().parents[1]
TOPO = ROOT / "topologies"
#: name -> (PoPs, backbone links, scale-down of capacities in the scenario)
REAL = {"abilene": (11, 14, 1000.0), "geant": (20, 29, 1000.0)}


@pytest.mark.parametrize("name", REAL)
def test_graphml_loads_with_rates_and_coordinates(name: str) -> None:
    pops, links, _ = REAL[name]
    t = read_topology_file(TOPO / f"{name}.graphml")
    assert (len(t.nodes), len(t.links)) == (pops, links)
    assert all(n.role == "router" and n.x is not None and n.y is not None for n in t.nodes)
    assert {link.rate_bps for link in t.links} <= {9.92e9, 10e9, 2.5e9}
    G = t.to_graph()
    import networkx as nx

    assert nx.is_strongly_connected(G)


@pytest.mark.parametrize("name", REAL)
def test_propagation_delays_match_coordinates(name: str) -> None:
    t = read_topology_file(TOPO / f"{name}.graphml")
    xy = {n.name: (n.x, n.y) for n in t.nodes}
    for link in t.links:
        metres = great_circle_m(*xy[link.a], *xy[link.b])
        assert link.delay_s == pytest.approx(metres / FIBRE_SPEED_MPS, rel=1e-12)
        assert 1e-5 < link.delay_s < 0.03  # a continental link: tens of microseconds to tens of milliseconds


def test_known_distances() -> None:
    """Two links checked against independently known great-circle distances (±1 %)."""
    geant = {(link.a, link.b): link for link in read_topology_file(TOPO / "geant.graphml").links}
    assert geant[("London", "Paris")].delay_s * FIBRE_SPEED_MPS / 1e3 == pytest.approx(344, rel=0.01)
    assert geant[("Madrid", "Lisbon")].delay_s * FIBRE_SPEED_MPS / 1e3 == pytest.approx(503, rel=0.01)
    abilene = {frozenset((link.a, link.b)): link for link in read_topology_file(TOPO / "abilene.graphml").links}
    ny_dc = abilene[frozenset(("New York", "Washington DC"))]
    assert ny_dc.delay_s * FIBRE_SPEED_MPS / 1e3 == pytest.approx(328, rel=0.01)


@pytest.mark.parametrize("name", REAL)
def test_scenario_matches_its_graphml(name: str) -> None:
    pops, links, scale = REAL[name]
    s = netlab.load_scenario(str(TOPO / f"{name}.yaml"))
    t = read_topology_file(TOPO / f"{name}.graphml")
    backbone = {frozenset((link.a, link.b)): link for link in t.links}
    hosts = [n for n in s.topology.nodes if n.role == "host"]
    assert len(hosts) == pops and len(s.flows) == pops * (pops - 1)
    seen = 0
    for link in s.topology.links:
        ref = backbone.get(frozenset((link.a, link.b)))
        if ref is None:  # an access link: host to its PoP, never the bottleneck
            assert {link.a, link.b} & {h.name for h in hosts} and link.delay_s == 0.0
            continue
        seen += 1
        assert link.rate_bps == pytest.approx(ref.rate_bps / scale, rel=1e-9)
        assert link.delay_s == pytest.approx(ref.delay_s, abs=1e-9)  # the YAML keeps nanoseconds
    assert seen == links


@pytest.mark.parametrize("name", REAL)
def test_scenario_runs_briefly(name: str) -> None:
    s = netlab.load_scenario(str(TOPO / f"{name}.yaml")).override("run.until=3s", "run.warmup=0.5s")
    res = netlab.run(s)
    assert res.summary["counted_delivered"] > 1000 and res.summary["dropped"] == 0
    util = res.links["utilisation"].max()
    assert 0.4 < util < 0.8  # sized for about 60 % on the busiest link under hop count
    assert (res.flows["rx_packets"] > 0).mean() > 0.9
