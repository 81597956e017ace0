"""Write geant.graphml and the packet-flow scenarios abilene.yaml and geant.yaml.

Run as ``python topologies/_make_scenarios.py``.

Not part of the package; the files it writes are checked in, and tests/test_real_topologies.py checks them
against each other (the scenarios' backbone delays come from the GraphML coordinates, their rates from its
LinkSpeedRaw divided by SCALE_DOWN).

Assumptions, stated once:

* GEANT is a *reconstruction* of the GEANT2 core (about 2005-2008) from the public network maps: 20 PoPs at
  city-centre coordinates (approximate), 10 Gbit/s on the trunk ring, 2.5 Gbit/s on spurs. It is not the
  Topology Zoo's or SNDlib's file and is not exact.
* Packet-level simulation of 10 Gbit/s links needs ~1 M events per second of simulated time per link, so the
  scenarios scale every capacity down by SCALE_DOWN = 1000 (9.92 Gbit/s -> 9.92 Mbit/s), keeping the ratios
  between links and the propagation delays (great circle / 2e8 m/s) unchanged.
* One host ``h_<PoP>`` per PoP stands for the PoP's customers, on an access link 100x the backbone rate with no
  delay, so access never bottlenecks. Traffic is a gravity model: demand i -> j proportional to w_i * w_j, w the
  metro population in millions (rounded), Poisson arrivals, exponential sizes of mean 1000 B, scaled so that
  the busiest backbone link runs at TARGET_UTIL under hop-count routing.
"""

from __future__ import annotations

import itertools
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCALE_DOWN = 1000.0
TARGET_UTIL = 0.6
MEAN_BYTES = 1000

# name, country, longitude, latitude, weight (metro population, millions, rounded)
GEANT_POPS = [
    ("London", "United Kingdom", -0.1276, 51.5072, 14),
    ("Amsterdam", "Netherlands", 4.9041, 52.3676, 2.5),
    ("Paris", "France", 2.3522, 48.8566, 12),
    ("Frankfurt", "Germany", 8.6821, 50.1109, 5.8),
    ("Geneva", "Switzerland", 6.1432, 46.2044, 1),
    ("Milan", "Italy", 9.19, 45.4642, 4.3),
    ("Madrid", "Spain", -3.7038, 40.4168, 6.7),
    ("Lisbon", "Portugal", -9.1393, 38.7223, 2.9),
    ("Brussels", "Belgium", 4.3517, 50.8503, 2.1),
    ("Luxembourg", "Luxembourg", 6.1296, 49.6116, 0.6),
    ("Copenhagen", "Denmark", 12.5683, 55.6761, 2.1),
    ("Stockholm", "Sweden", 18.0686, 59.3293, 2.4),
    ("Prague", "Czech Republic", 14.4378, 50.0755, 2.7),
    ("Vienna", "Austria", 16.3738, 48.2082, 2.9),
    ("Budapest", "Hungary", 19.0402, 47.4979, 3.3),
    ("Warsaw", "Poland", 21.0122, 52.2297, 3.1),
    ("Athens", "Greece", 23.7275, 37.9838, 3.8),
    ("Ljubljana", "Slovenia", 14.5058, 46.0569, 0.5),
    ("Zagreb", "Croatia", 15.9819, 45.815, 1.1),
    ("Dublin", "Ireland", -6.2603, 53.3498, 2),
]
G10, G2_5 = 10e9, 2.5e9
GEANT_LINKS = [
    ("London", "Amsterdam", G10),
    ("London", "Paris", G10),
    ("London", "Dublin", G2_5),
    ("Amsterdam", "Frankfurt", G10),
    ("Amsterdam", "Copenhagen", G10),
    ("Amsterdam", "Brussels", G2_5),
    ("Brussels", "Luxembourg", G2_5),
    ("Luxembourg", "Paris", G2_5),
    ("Luxembourg", "Frankfurt", G2_5),
    ("Paris", "Geneva", G10),
    ("Paris", "Madrid", G10),
    ("Madrid", "Lisbon", G2_5),
    ("Madrid", "Milan", G10),
    ("Lisbon", "London", G2_5),
    ("Geneva", "Milan", G10),
    ("Geneva", "Frankfurt", G10),
    ("Frankfurt", "Prague", G10),
    ("Copenhagen", "Stockholm", G10),
    ("Stockholm", "Warsaw", G2_5),
    ("Warsaw", "Prague", G10),
    ("Prague", "Vienna", G10),
    ("Vienna", "Budapest", G10),
    ("Vienna", "Milan", G10),
    ("Vienna", "Ljubljana", G2_5),
    ("Ljubljana", "Zagreb", G2_5),
    ("Zagreb", "Budapest", G2_5),
    ("Milan", "Athens", G2_5),
    ("Budapest", "Athens", G2_5),
    ("Frankfurt", "Vienna", G10),
]
# Abilene PoP weights (metro population, millions, rounded), by the labels in abilene.graphml.
ABILENE_WEIGHTS = {
    "New York": 19.5,
    "Chicago": 9.5,
    "Washington DC": 6.3,
    "Seattle": 4,
    "Sunnyvale": 2,
    "Los Angeles": 13,
    "Denver": 2.9,
    "Kansas City": 2.2,
    "Houston": 7.1,
    "Atlanta": 6.1,
    "Indianapolis": 2.1,
}


def geant_graphml() -> str:
    keys = """  <key attr.name="Network" attr.type="string" for="graph" id="d0" />
  <key attr.name="GeoLocation" attr.type="string" for="graph" id="d1" />
  <key attr.name="Type" attr.type="string" for="graph" id="d2" />
  <key attr.name="Country" attr.type="string" for="node" id="d3" />
  <key attr.name="Internal" attr.type="int" for="node" id="d4" />
  <key attr.name="Longitude" attr.type="double" for="node" id="d5" />
  <key attr.name="Latitude" attr.type="double" for="node" id="d6" />
  <key attr.name="label" attr.type="string" for="node" id="d7" />
  <key attr.name="LinkLabel" attr.type="string" for="edge" id="d8" />
  <key attr.name="LinkSpeed" attr.type="string" for="edge" id="d9" />
  <key attr.name="LinkSpeedUnits" attr.type="string" for="edge" id="d10" />
  <key attr.name="LinkSpeedRaw" attr.type="double" for="edge" id="d11" />"""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<!-- GEANT2 pan-European research backbone core (about 2005-2008): 20 PoPs, 29 links.",
        "     RECONSTRUCTED for netlab from the public GEANT2 network maps, written in the Internet Topology Zoo's",
        "     GraphML attribute conventions (node label/Longitude/Latitude, edge LinkSpeedRaw/LinkLabel). No",
        "     Topology Zoo or SNDlib data file was copied. Coordinates are city centres (approximate); capacities are",
        "     an assumption: 10 Gbit/s on the trunk links, 2.5 Gbit/s on the spurs to smaller PoPs.",
        "     Generated by topologies/_make_scenarios.py. -->",
        (
            '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
            'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">'
        ),
        keys,
        '  <graph edgedefault="undirected">',
        '    <data key="d0">Geant</data>',
        '    <data key="d1">Europe</data>',
        '    <data key="d2">REN</data>',
    ]
    ids = {}
    for i, (name, country, lon, lat, _w) in enumerate(GEANT_POPS):
        ids[name] = i
        out += [
            f'    <node id="{i}">',
            f'      <data key="d3">{country}</data>',
            '      <data key="d4">1</data>',
            f'      <data key="d5">{lon}</data>',
            f'      <data key="d6">{lat}</data>',
            f'      <data key="d7">{name}</data>',
            "    </node>",
        ]
    for a, b, rate in GEANT_LINKS:
        speed = "10" if rate == G10 else "2.5"
        out += [
            f'    <edge source="{ids[a]}" target="{ids[b]}">',
            f'      <data key="d8">{speed} Gbps</data>',
            f'      <data key="d9">{speed}</data>',
            '      <data key="d10">G</data>',
            f'      <data key="d11">{rate:.1f}</data>',
            "    </edge>",
        ]
    out += ["  </graph>", "</graphml>", ""]
    return "\n".join(out)


def slug(name: str) -> str:
    return "h_" + re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()


def scenario_yaml(graphml: Path, weights: dict[str, float], title: str, source_note: str) -> str:
    sys.path.insert(0, str(HERE.parent))
    import networkx as nx

    from netlab.topology.zoo import read_topology_file

    topo = read_topology_file(graphml)
    pops = [n.name for n in topo.nodes]
    G = nx.Graph()
    for link in topo.links:
        G.add_edge(link.a, link.b)
    # Gravity demands (relative), then the hop-count load of each backbone link per unit of demand.
    pairs = [(i, j) for i, j in itertools.permutations(pops, 2)]
    demand = {(i, j): weights[i] * weights[j] for i, j in pairs}
    total = sum(demand.values())
    load: dict[tuple[str, str], float] = {}
    rates = {}
    for link in topo.links:
        rates[(link.a, link.b)] = rates[(link.b, link.a)] = link.rate_bps / SCALE_DOWN
    for (i, j), dem in demand.items():
        path = nx.shortest_path(G, i, j)  # networkx's BFS tie-break; only used to size the load
        for u, v in itertools.pairwise(path):
            load[(u, v)] = load.get((u, v), 0.0) + dem / total
    busiest = max(load[k] / rates[k] for k in load)
    total_bps = TARGET_UTIL / busiest
    lines = [
        f"# {title}",
        *(f"# {x}" for x in source_note.strip().splitlines()),
        f"# Backbone rates: the GraphML LinkSpeedRaw / {SCALE_DOWN:.0f} (packet-level simulation of 10 Gbit/s is",
        "# too slow for a lab); delays: great circle between the PoPs / 2e8 m/s, from the GraphML coordinates.",
        "# One host h_<pop> per PoP (its customers), on an access link 100x the backbone rate, no delay.",
        (
            "# Traffic: gravity model (demand i->j ~ w_i * w_j, w = metro population in millions), "
            f"{total_bps / 1e6:.2f} Mbit/s"
        ),
        f"# in total, sized so the busiest link runs at about {TARGET_UTIL:.0%} under hop count. Poisson arrivals,",
        f"# exponential sizes of mean {MEAN_BYTES} B. Written by topologies/_make_scenarios.py.",
        f"name: {graphml.stem}",
        "seed: 1",
        "defaults:",
        "  link: {queue_packets: 100}",
        "nodes:",
    ]
    coords = {n.name: (n.x, n.y) for n in topo.nodes}
    lines.extend(f"  - {{name: {p!r}, x: {coords[p][0]}, y: {coords[p][1]}}}".replace("'", '"') for p in pops)
    lines.extend(f"  - {{name: {slug(p)}, role: host}}" for p in pops)
    lines.append("links:")
    lines.extend(
        f'  - {{a: "{link.a}", b: "{link.b}", rate: {link.rate_bps / SCALE_DOWN / 1e6:g}Mbps, '
        f"delay: {link.delay_s * 1e3:.6f}ms}}"
        for link in topo.links
    )
    access = max(rates.values()) * 100
    lines.extend(f'  - {{a: {slug(p)}, b: "{p}", rate: {access / 1e6:g}Mbps, delay: 0s}}' for p in pops)
    lines.append("flows:")
    for (i, j), dem in demand.items():
        pps = total_bps * dem / total / (8 * MEAN_BYTES)
        lines.append(
            f"  - {{name: {slug(i)[2:]}-{slug(j)[2:]}, src: {slug(i)}, dst: {slug(j)}, "
            f"arrivals: {{poisson: {pps:.4g}/s}}, size: {{exponential: {MEAN_BYTES}B}}}}"
        )
    lines += ["routing: shortest_hops", "run: {until: 10s, warmup: 1s}", ""]
    return "\n".join(lines)


def main() -> None:
    (HERE / "geant.graphml").write_text(geant_graphml())
    geant_w = {name: w for name, _c, _x, _y, w in GEANT_POPS}
    (HERE / "geant.yaml").write_text(
        scenario_yaml(
            HERE / "geant.graphml",
            geant_w,
            "GEANT (reconstructed GEANT2 core, geant.graphml): a packet-flow scenario.",
            "Topology: 20 PoPs, 29 links; see the comment in geant.graphml for what is reconstructed and assumed.",
        )
    )
    (HERE / "abilene.yaml").write_text(
        scenario_yaml(
            HERE / "abilene.graphml",
            ABILENE_WEIGHTS,
            "Abilene (abilene.graphml): a packet-flow scenario.",
            "Topology: 11 PoPs, 14 OC-192 links (9.92 Gbit/s); see the comment in abilene.graphml.",
        )
    )
    print("wrote geant.graphml, geant.yaml, abilene.yaml")


if __name__ == "__main__":
    main()
