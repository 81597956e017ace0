"""GraphML/GML import with Topology Zoo attributes, and graph <-> Topology conversion."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import pytest

from netlab.errors import ConfigError, TopologyError
from netlab.topology.convert import topology_from_graph
from netlab.topology.generators import dumbbell
from netlab.topology.spec import LinkSpec, NodeSpec, Topology
from netlab.topology.zoo import great_circle_m, read_topology_file

ROOT = Path(__file__).resolve().parent.parent
ABILENE = ROOT / "topologies" / "abilene.graphml"
TINY = Path(__file__).parent / "data" / "tiny.gml"

ZOO_HEADER = """<?xml version="1.0" encoding="utf-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key attr.name="Longitude" attr.type="double" for="node" id="d0" />
  <key attr.name="Latitude" attr.type="double" for="node" id="d1" />
  <key attr.name="label" attr.type="string" for="node" id="d2" />
  <key attr.name="LinkSpeedRaw" attr.type="double" for="edge" id="d3" />
  <graph edgedefault="undirected">
    <node id="0"><data key="d0">-0.1276</data><data key="d1">51.5072</data><data key="d2">London</data></node>
"""


def test_abilene() -> None:
    t = read_topology_file(ABILENE)
    assert len(t.nodes) == 11
    assert len(t.links) == 14
    assert {n.role for n in t.nodes} == {"router"}
    assert {link.rate_bps for link in t.links} == {9.92e9}
    assert not any(link.directed for link in t.links)
    assert nx.is_connected(t.to_graph().to_undirected())
    chicago = t.node("Chicago")
    assert chicago.x == pytest.approx(-87.65, abs=0.1) and chicago.y == pytest.approx(41.85, abs=0.1)


def test_abilene_delay_from_coordinates() -> None:
    # New York - Chicago is about 1145 km along the great circle; light in fibre covers 200 km per ms.
    t = read_topology_file(ABILENE)
    (link,) = [lk for lk in t.links if {lk.a, lk.b} == {"New York", "Chicago"}]
    assert link.delay_s == pytest.approx(1145e3 / 2e8, rel=0.01)
    assert all(0 < lk.delay_s < 0.02 for lk in t.links)  # every hop is within the continental US


def test_great_circle_quarter_meridian() -> None:
    assert great_circle_m(0, 0, 0, 90) == pytest.approx(math.pi / 2 * 6371e3)
    assert great_circle_m(10, 20, 10, 20) == 0


def test_gml_labels_multi_edges_and_rates() -> None:
    t = read_topology_file(TINY)
    assert [n.name for n in t.nodes] == ["Paris", "Lyon", "Paris_2"]  # duplicate label numbered
    paris_lyon, lyon_paris2 = t.links
    # Two parallel circuits (10 G from LinkSpeed + LinkSpeedUnits, 2.5 G raw) merge into one 12.5 Gbit/s link.
    assert (paris_lyon.a, paris_lyon.b, paris_lyon.rate_bps) == ("Paris", "Lyon", 12.5e9)
    assert lyon_paris2.rate_bps == 1e9
    assert paris_lyon.delay_s == pytest.approx(great_circle_m(2.3522, 48.8566, 4.8357, 45.764) / 2e8)


def test_defaults_fill_missing_attributes() -> None:
    t = read_topology_file(TINY, defaults={"queue_packets": 50, "loss": 0.01, "delay_s": "1s", "rate_bps": 1})
    assert all(lk.queue_packets == 50 and lk.loss == 0.01 for lk in t.links)
    assert all(lk.delay_s < 0.01 for lk in t.links)  # coordinates beat the default delay
    assert t.links[1].rate_bps == 1e9  # the file's rate beats the default rate


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "net.graphml"
    path.write_text(ZOO_HEADER + body + "  </graph>\n</graphml>\n")
    return path


def test_missing_rate_names_file_edge_and_attribute(tmp_path: Path) -> None:
    paris = '<node id="1"><data key="d0">2.35</data><data key="d1">48.86</data><data key="d2">Paris</data></node>'
    path = _write(tmp_path, f'    {paris}\n    <edge source="0" target="1" />\n')
    with pytest.raises(TopologyError) as info:
        read_topology_file(path)
    message = str(info.value)
    assert str(path) in message
    assert "London - Paris" in message
    assert "LinkSpeedRaw" in message
    assert "rate_bps" in message  # the hint: pass a default rate
    t = read_topology_file(path, defaults={"rate_bps": "100Mbps"})
    assert t.links[0].rate_bps == 1e8
    assert t.links[0].delay_s == pytest.approx(343.5e3 / 2e8, rel=0.01)  # London - Paris about 344 km


def test_missing_coordinates_name_the_node(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """    <node id="1"><data key="d2">Nowhere</data></node>
    <edge source="0" target="1"><data key="d3">1e9</data></edge>
""",
    )
    with pytest.raises(TopologyError, match=r"net.graphml: edge London - Nowhere: node Nowhere has no coordinates"):
        read_topology_file(path)
    assert read_topology_file(path, defaults={"delay_s": 0.003}).links[0].delay_s == 0.003


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.graphml", None, "missing.graphml: no such file"),
        ("broken.graphml", "<graphml><graph>", "broken.graphml: cannot read GRAPHML"),
        ("broken.gml", "graph [ node [ id 0 ", "broken.gml: cannot read GML"),
        ("net.txt", "", "net.txt: unsupported topology file type '.txt'"),
    ],
)
def test_bad_files(tmp_path: Path, name: str, content: str | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        read_topology_file(path)


def test_unknown_default_key_did_you_mean() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'rate'; did you mean 'rate_bps'\?"):
        read_topology_file(TINY, defaults={"rate": 1e9})


@pytest.mark.parametrize(
    "topology",
    [
        Topology(
            (NodeSpec("a", "host", ip="10.0.0.1"), NodeSpec("b", forwarding_delay_s=1e-5, x=1.0, y=2.0), NodeSpec("c")),
            (
                LinkSpec("a", "b", rate_bps=1e7, delay_s=0.01, queue_packets=10, loss=0.1),
                LinkSpec("b", "c", rate_bps=math.inf, queue_bytes=64000, cost=3.0, directed=True),
            ),
        ),
        topology_from_graph(dumbbell(2, 2, bottleneck_rate_bps=1e6)),
    ],
)
def test_round_trip(topology: Topology) -> None:
    assert topology_from_graph(topology.to_graph()) == topology


def test_directed_graph_pairs() -> None:
    D = nx.DiGraph()
    D.add_edge(1, 2, rate_bps=1e6)
    D.add_edge(2, 1, rate_bps=1e6)
    D.add_edge(2, 3, rate_bps=1e6)
    D.add_edge(3, 2, rate_bps=2e6)  # not symmetric: stays two directed links
    t = topology_from_graph(D, name=lambda v: f"n{v}")
    assert [(lk.a, lk.b, lk.directed) for lk in t.links] == [("n1", "n2", False), ("n2", "n3", True),
                                                              ("n3", "n2", True)]  # fmt: skip


def test_convert_errors() -> None:
    with pytest.raises(TopologyError, match="nodes 1 and '1' are both named '1'"):
        topology_from_graph(nx.Graph([(1, "1")]))
    M = nx.MultiGraph([("a", "b"), ("a", "b")])
    with pytest.raises(TopologyError, match="parallel edges between a and b"):
        topology_from_graph(M)
    with pytest.raises(TopologyError, match=r"g\.gml: link a-b: rate must be positive"):
        topology_from_graph(nx.Graph([("a", "b", {"rate_bps": 0})]), source="g.gml")
