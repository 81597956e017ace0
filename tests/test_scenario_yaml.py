"""Scenario files: loading, shorthands, errors with file:line: key, and dump/load round trips."""

from __future__ import annotations

import dataclasses
import math
import re
import shutil
from pathlib import Path

import pytest

from netlab.errors import ConfigError, TopologyError, UnitError
from netlab.network.faults import FaultSpec
from netlab.routing.static import ExplicitPaths, OspfCost, ShortestDelay, ShortestHops
from netlab.scenario.files import dump_scenario, load_scenario, loads_scenario, save_scenario
from netlab.scenario.model import RunSpec, Scenario
from netlab.topology.spec import LinkSpec, NodeSpec, Topology
from netlab.workload.spec import (
    Constant,
    EmpiricalSize,
    ExponentialSize,
    FixedSize,
    FlowSpec,
    OnOff,
    Poisson,
    Trace,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "topologies" / "demo.yaml"

BASE = """\
nodes:
  - {name: h1, role: host}
  - {name: h2, role: host}
  - r1
  - r2
links:
  - {a: h1, b: r1, rate: 100Mbps, delay: 0.5ms}
  - [r1, r2]
  - {a: r2, b: h2}
"""


def _diamond() -> Topology:
    nodes = (NodeSpec("h1", "host"), NodeSpec("h2", "host"), NodeSpec("r1"), NodeSpec("r2"), NodeSpec("r3"))
    links = (
        LinkSpec("h1", "r1", rate_bps=1e8, delay_s=0.0005),
        LinkSpec("r1", "r2", rate_bps=1e7, delay_s=0.002, queue_packets=100),
        LinkSpec("r1", "r3", rate_bps=2e6, delay_s=1 / 3, queue_bytes=64_000, loss=0.01),
        LinkSpec("r2", "h2", rate_bps=math.inf, delay_s=0.001),
        LinkSpec("r3", "h2", rate_bps=12_345.678, cost=7.5, directed=True),
    )
    return Topology(nodes, links)


def _scenarios() -> list[Scenario]:
    topo = _diamond()
    f1 = FlowSpec("f1", "h1", "h2", arrivals=Poisson(200.0), size=FixedSize(1500), stop_s=50.0)
    f2 = FlowSpec("f2", "h1", "h2", arrivals=Constant(1 / 3), size=ExponentialSize(812.5), start_s=1.25, count=7)
    f3 = FlowSpec("f3", "h2", "h1", arrivals=OnOff(500.0, on_s=0.1, off_s=2.0, exponential=False),
                  size=EmpiricalSize((40, 576, 1500), (7.0, 4.0, 1.0)), ttl=8)  # fmt: skip
    f4 = FlowSpec("f4", "h1", "h2", arrivals=Trace((0.1, 0.2, 0.2), (100, 200, 300)), path=("h1", "r1", "r2", "h2"))
    return [
        Scenario(topo),
        Scenario(topo, flows=(f1, f2, f3, f4), routing=OspfCost(0.05, reference_bps=1e9), seed=7, name="all kinds",
                 faults=(FaultSpec(20.0, "down", link=("r1", "r2")), FaultSpec(25.0, "up", node="r3")),
                 run=RunSpec(until_s=60.0, warmup_s=2.0, stop_after_delivered=1000, bin_s=0.5, record_packets=True)),
        Scenario(topo, flows=(f1,), routing=ExplicitPaths(0.1, paths={"f1": ("h1", "r1", "r3", "h2")})),
        Scenario(topo, flows=(f4,), routing=ShortestDelay(), run=RunSpec(until_s=1e-3)),
    ]  # fmt: skip


def test_demo_is_valid() -> None:
    s = load_scenario(DEMO)
    assert s.name == "demo" and s.source == str(DEMO)
    assert {n.name for n in s.topology.nodes if n.role == "host"} == {"h1", "h2", "h3", "h4"}
    rates = {(link.a, link.b): link.rate_bps for link in s.topology.links}
    assert rates[("r1", "r2")] == 10e6 and rates[("r1", "r4")] == 2e6
    assert all(link.queue_packets for link in s.topology.links)
    assert isinstance(s.routing, OspfCost) and s.routing.detection_delay_s == pytest.approx(0.05)
    assert [(f.at_s, f.action) for f in s.faults] == [(20.0, "down"), (30.0, "up")]
    assert {type(f.size) for f in s.flows} == {FixedSize, ExponentialSize, EmpiricalSize}
    assert (s.run.until_s, s.run.warmup_s) == (60.0, 2.0)


@pytest.mark.parametrize("scenario", [load_scenario(DEMO), *_scenarios()], ids=lambda s: s.name)
def test_round_trip(scenario: Scenario) -> None:
    text = dump_scenario(scenario)
    assert "source" not in text
    assert loads_scenario(text) == dataclasses.replace(scenario, source="<string>")
    assert loads_scenario(dump_scenario(loads_scenario(text))).to_yaml() == text  # canonical: a fixed point


def test_dump_is_readable() -> None:
    text = dump_scenario(_scenarios()[1])
    for piece in ("rate: 10Mbps", "delay: 2ms", "rate: inf", "{poisson: 200/s}", "size: 1500B",
                  "{strategy: ospf, detection_delay: 50ms, reference_bandwidth: 1Gbps}", "values: [40B, 576B, 1500B]",
                  "weights: [7, 4, 1]", "delay: 0.3333333333333333", "rate: 12345.678"):  # fmt: skip
        assert piece in text, piece


def test_save_and_load(tmp_path: Path) -> None:
    s = _scenarios()[1]
    save_scenario(s, tmp_path / "s.yaml")
    assert load_scenario(tmp_path / "s.yaml") == dataclasses.replace(s, source=str(tmp_path / "s.yaml"))


def test_shorthands_and_defaults() -> None:
    s = loads_scenario("name: x\ndefaults: {link: {rate: 10Mbps, delay: 1ms, queue_packets: 100}}\n" + BASE)
    links = s.topology.links
    assert (links[0].rate_bps, links[0].delay_s, links[0].queue_packets) == (1e8, 0.0005, 100)
    assert (links[1].a, links[1].b, links[1].rate_bps, links[1].delay_s) == ("r1", "r2", 1e7, 0.001)
    assert s.topology.node("r1").role == "router" and s.topology.node("h1").role == "host"
    assert s.routing == ShortestHops() and s.seed == 1 and s.name == "x"


@pytest.mark.parametrize(("arrivals", "expected"), [
    ("{poisson: 200/s}", Poisson(200.0)),
    ("{poisson: 200pps}", Poisson(200.0)),
    ("{poisson: 200}", Poisson(200.0)),
    ("{constant: 2.5e2}", Constant(250.0)),
    ("{on_off: {rate: 500/s, on: 1s, off: 2s}}", OnOff(500.0, 1.0, 2.0)),
    ("{trace: {times: [0.1, 200ms], sizes: [100B, 1KB]}}", Trace((0.1, 0.2), (100, 1000))),
])  # fmt: skip
def test_arrival_forms(arrivals: str, expected: object) -> None:
    s = loads_scenario(BASE + f"flows: [{{name: f, src: h1, dst: h2, arrivals: {arrivals}}}]")
    assert s.flows[0].arrivals == expected


@pytest.mark.parametrize(("size", "expected"), [
    ("1000B", FixedSize(1000)),
    ("1500", FixedSize(1500)),
    ("{fixed: {bytes: 1KiB}}", FixedSize(1024)),
    ("{exponential: 800B}", ExponentialSize(800.0)),
    ("{empirical: {values: [40B, 576B, 1500B], weights: [7, 4, 1]}}", EmpiricalSize((40, 576, 1500), (7, 4, 1))),
])  # fmt: skip
def test_size_forms(size: str, expected: object) -> None:
    s = loads_scenario(BASE + f"flows: [{{name: f, src: h1, dst: h2, size: {size}}}]")
    assert s.flows[0].size == expected


@pytest.mark.parametrize(("routing", "expected"), [
    ("shortest_delay", ShortestDelay()),
    ("{strategy: shortest_hops, detection_delay: 50ms}", ShortestHops(0.05)),
    ("{strategy: ospf, reference_bandwidth: 1Gbps}", OspfCost(reference_bps=1e9)),
    ("{strategy: explicit, paths: {f: [h1, r1, r2, h2]}}", ExplicitPaths(paths={"f": ("h1", "r1", "r2", "h2")})),
])  # fmt: skip
def test_routing_forms(routing: str, expected: object) -> None:
    s = loads_scenario(BASE + f"flows: [{{name: f, src: h1, dst: h2}}]\nrouting: {routing}")
    assert s.routing == expected


def test_trace_file_is_relative_to_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("time_s,size_bytes\n0.5,100\n1.5,200\n")
    (tmp_path / "s.yaml").write_text(BASE + "flows: [{name: f, src: h1, dst: h2, arrivals: {trace: {file: t.csv}}}]")
    assert load_scenario(tmp_path / "s.yaml").flows[0].arrivals == Trace((0.5, 1.5), (100, 200))


def test_topology_from_file_and_generator(tmp_path: Path) -> None:
    shutil.copy(ROOT / "topologies" / "abilene.graphml", tmp_path / "abilene.graphml")
    (tmp_path / "s.yaml").write_text(
        "defaults: {link: {queue_packets: 100}}\ntopology: {file: abilene.graphml, hosts: [Atlanta]}\n"
    )
    s = load_scenario(tmp_path / "s.yaml")
    assert s.topology.node("Atlanta").role == "host" and all(link.queue_packets == 100 for link in s.topology.links)
    g = loads_scenario("defaults: {link: {rate: 10Mbps}}\ntopology: {generator: grid, rows: 2, cols: 3, hosts: all}")
    assert len(g.topology.nodes) == 12 and {link.rate_bps for link in g.topology.links} == {1e7}
    assert loads_scenario(g.to_yaml()) == g  # a generated topology is written out node by node


# (scenario text, error class, expected message: regex)
ERRORS = [
    (BASE + "  - [r1, r22]\n", TopologyError, r"^<string>:10: links\[3\]\.b: unknown node 'r22'; did you mean 'r2'\?"),
    (BASE.replace("  - r2\n", "  - r2\n  - r1\n"), TopologyError, r"^<string>:6: nodes\[4\]: duplicate node 'r1'"),
    (BASE + "  - {a: r1, b: h2, rate: 0}\n", UnitError, r"^<string>:10: links\[3\]\.rate: expected a positive rate"),
    (BASE + "  - {a: r1, b: h2, rate: -5Mbps}\n", UnitError, r"^<string>:10: links\[3\]\.rate: expected a rate"),
    (BASE + "  - {a: r1, b: h2, delay: -1ms}\n", UnitError, r"^<string>:10: links\[3\]\.delay: expected a time"),
    (BASE + "  - {a: r1, b: h2, rate: 10M}\n", UnitError,
     r"^<string>:10: links\[3\]\.rate: expected a rate like '10Mbps'.*got '10M' \(a number with a prefix but no unit"),
    (BASE + "  - {a: r1, b: h2, delay: 3 parsecs}\n", UnitError, r"links\[3\]\.delay: expected a time like '2ms'"),
    (BASE.replace("rate: 100Mbps", "rat: 100Mbps"), ConfigError,
     r"^<string>:7: links\[0\]\.rat: unknown key; did you mean 'rate'\?"),
    ("nodes: [a, b]\nlinks: [[a, b]]\nrnu: {until: 1s}\n", ConfigError,
     r"^<string>:3: rnu: unknown key; did you mean 'run'\?"),
    (BASE + "  - {a: r1, b: h2, queue_packets: many}\n", ConfigError,
     r"^<string>:10: links\[3\]\.queue_packets: expected a whole number, got 'many'"),
    (BASE + "  - {a: r1, b: h2, directed: 3}\n", ConfigError, r"links\[3\]\.directed: expected true or false, got 3"),
    (BASE + "  - {a: r1, b: h2, loss: 2}\n", TopologyError, r"^<string>:10: links\[3\]: link r1-h2: loss must be"),
    ("nodes: [a, b]\nlinks: {a: b}\n", ConfigError, r"^<string>:2: links: expected a list"),
    ("nodes:\n  - {name: a, role: switch}\n", ConfigError,
     r"^<string>:2: nodes\[0\]\.role: expected one of host, router"),
    ("nodes: [a, b]\nlinks:\n  - {a: a}\n", ConfigError, r"^<string>:3: links\[0\]: missing required key 'b'"),
    (BASE + "flows:\n  - {name: f, src: h1, dst: h3}\n", TopologyError,
     r"^<string>:11: flows\[0\]\.dst: unknown node 'h3'; expected one of h1, h2, r1, r2$"),
    (BASE + "flows:\n  - {name: f, src: h1, dst: h2}\n  - {name: f, src: h2, dst: h1}\n", ConfigError,
     r"^<string>:12: flows\[1\]: duplicate flow name 'f'"),
    (BASE + "flows: [{name: f, src: h1, dst: h2, arrivals: {poison: 3/s}}]\n", ConfigError,
     r"^<string>:10: flows\[0\]\.arrivals\.poison: unknown arrivals kind; did you mean 'poisson'\?"),
    (BASE + "flows: [{name: f, src: h1, dst: h2, arrivals: {poisson: fast}}]\n", UnitError,
     r"flows\[0\]\.arrivals\.poisson: expected a packet rate like '200/s'"),
    (BASE + "flows: [{name: f, src: h1, dst: h2, size: {empirical: {values: []}}}]\n", ConfigError,
     r"flows\[0\]\.size\.empirical: empirical size: expected a non-empty list"),
    (BASE + "flows: [{name: f, src: h1, dst: h2}]\nrouting: {strategy: explicit, paths: {f: [h1, r2, h2]}}\n",
     TopologyError, r"^<string>:11: routing\.paths\.f: h1 -> r2 is not a link of the topology \(path h1 -> r2 -> h2\)"),
    (BASE + "flows: [{name: f, src: h1, dst: h2, path: [h1, r1, h2]}]\n", TopologyError,
     r"^<string>:10: flows\[0\]\.path: r1 -> h2 is not a link"),
    (BASE + "flows: [{name: f, src: h1, dst: h2}]\nrouting: {strategy: explicit, paths: {g: [h1, r1]}}\n",
     ConfigError, r"routing\.paths\.g: no flow named 'g'"),
    (BASE + "routing: ospff\n", ConfigError,
     r"^<string>:10: routing\.strategy: unknown routing strategy 'ospff'; did you mean 'ospf'\?"),
    (BASE + "routing: {strategy: ospf, paths: {}}\n", ConfigError,
     r"^<string>:10: routing\.paths: not a parameter of strategy 'ospf'"),
    ("topology: {generator: ring, n: 3}\n" + BASE, ConfigError, r"^<string>:1: topology: give either topology"),
    (BASE + "faults: [{at: 1s, link: [h1, h2]}]\n", TopologyError,
     r"^<string>:10: faults\[0\]\.link: no link h1 -> h2"),
    (BASE + "faults: [{at: 1s, node: r7}]\n", TopologyError, r"faults\[0\]\.node: unknown node 'r7'"),
    (BASE + "run: {until: 10s, warmup: 20s}\n", ConfigError, r"^<string>:10: run: run\.warmup \(20\.0 s\) must be"),
    (BASE + "seed: one\n", ConfigError, r"^<string>:10: seed: expected a whole number, got 'one'"),
    ("nodes: [a, b]\nlinks: [[a, b]]\nlinks: []\n", ConfigError, r"^<string>:3: invalid YAML: duplicate key 'links'"),
    ("nodes: [a, b\nlinks: []\n", ConfigError, r"^<string>:2: invalid YAML"),
    ("- just\n- a list\n", ConfigError, r"^<string>: expected a mapping with keys name, seed"),
    ("name: x\n", ConfigError, r"^<string>: expected nodes and links"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "error", "message"), ERRORS, ids=[re.sub(r"\W+", "_", m)[:50] for *_, m in ERRORS])
def test_errors_name_line_key_and_expectation(text: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        loads_scenario(text)


def test_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BASE + "  - {a: r1, b: h2, rate: 10M}\n")
    with pytest.raises(UnitError, match=rf"^{re.escape(str(path))}:10: links\[3\]\.rate: "):
        load_scenario(path)


@pytest.mark.parametrize(("name", "text", "message"), [
    ("missing.yaml", None, r"missing\.yaml: no such scenario file"),
    ("s.yaml", "topology: {file: nowhere.graphml}\n", r"s\.yaml:1: topology\.file: no such topology file '.*nowhere"),
    ("s.yaml", BASE + "flows: [{name: f, src: h1, dst: h2, arrivals: {trace: {file: t.csv}}}]\n",
     r"s\.yaml:10: flows\[0\]\.arrivals\.trace\.file: no such trace file"),
])  # fmt: skip
def test_missing_files_are_config_errors(tmp_path: Path, name: str, text: str | None, message: str) -> None:
    if text is not None:
        (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_scenario(tmp_path / name)


def test_a_user_defined_strategy_cannot_be_written() -> None:
    class Mine(ShortestHops):
        pass

    with pytest.raises(ConfigError, match="cannot write routing strategy"):
        dump_scenario(Scenario(_diamond(), routing=Mine()))
