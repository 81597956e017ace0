"""Overrides: dotted keys as on the command line, and the keyword form of Scenario.override."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from netlab.errors import ConfigError, TopologyError, UnitError
from netlab.routing.static import ExplicitPaths, OspfCost, ShortestDelay, ShortestHops
from netlab.scenario.files import load_scenario
from netlab.scenario.model import RunSpec, Scenario
from netlab.scenario.overrides import apply_overrides, parse_key
from netlab.workload.spec import Constant, EmpiricalSize, FixedSize, FlowSpec, Poisson

DEMO = Path(__file__).resolve().parents[1] / "topologies" / "demo.yaml"


@pytest.fixture
def demo() -> Scenario:
    return load_scenario(DEMO)


@pytest.mark.parametrize(("key", "expected"), [
    ("seed", ["seed"]),
    ("run.until", ["run", "until"]),
    ("links[0].rate", ["links", 0, "rate"]),
    ("links.0.rate", ["links", 0, "rate"]),
    ("flows.bulk.arrivals.poisson", ["flows", "bulk", "arrivals", "poisson"]),
    ("flows[bulk].size", ["flows", "bulk", "size"]),
])  # fmt: skip
def test_parse_key(key: str, expected: list[Any]) -> None:
    assert parse_key(key) == expected


@pytest.mark.parametrize("key", ["", "a..b", "a.", ".a", "links[0]rate", "links[0"])
def test_parse_key_refuses_malformed_keys(key: str) -> None:
    with pytest.raises(ConfigError, match="expected a dotted key"):
        parse_key(key)


@pytest.mark.parametrize(("assignment", "get", "expected"), [
    ("seed=3", lambda s: s.seed, 3),
    ("name=other", lambda s: s.name, "other"),
    ("run.until=10s", lambda s: s.run.until_s, 10.0),
    ("run.stop_after_delivered=500", lambda s: s.run.stop_after_delivered, 500),
    ("run.until=null", lambda s: s.run.until_s, None),
    ("routing.detection_delay=100ms", lambda s: s.routing.detection_delay_s, 0.1),
    ("routing.reference_bandwidth=1Gbps", lambda s: s.routing.reference_bps, 1e9),
    ("links[4].rate=5Mbps", lambda s: s.topology.links[4].rate_bps, 5e6),
    ("links.4.rate=5Mbps", lambda s: s.topology.links[4].rate_bps, 5e6),
    ("links[0].queue_packets=7", lambda s: s.topology.links[0].queue_packets, 7),
    ("nodes.r1.forwarding_delay=1ms", lambda s: s.topology.node("r1").forwarding_delay_s, 0.001),
    ("flows.bulk.arrivals.poisson=300/s", lambda s: s.flows[0].arrivals, Poisson(300.0)),
    ("flows.bulk.arrivals.poisson.rate=300pps", lambda s: s.flows[0].arrivals, Poisson(300.0)),
    ("flows.bulk.arrivals.constant=100/s", lambda s: s.flows[0].arrivals, Constant(100.0)),
    ("flows.bulk.arrivals={constant: 1e2}", lambda s: s.flows[0].arrivals, Constant(100.0)),
    ("flows[bulk].size=1500B", lambda s: s.flows[0].size, FixedSize(1500)),
    ("flows.web.size={empirical: {values: [40B, 1500B]}}", lambda s: s.flows[1].size, EmpiricalSize((40, 1500))),
    ("flows.imix.stop=30s", lambda s: s.flows[2].stop_s, 30.0),
    ("faults[0].at=21s", lambda s: s.faults[0].at_s, 21.0),
])  # fmt: skip
def test_assignments(demo: Scenario, assignment: str, get: Any, expected: object) -> None:
    new = apply_overrides(demo, [assignment], {})
    assert get(new) == expected
    assert new.source == demo.source
    assert apply_overrides(demo, [], {}) == demo  # an empty override changes nothing


def test_override_returns_a_new_scenario(demo: Scenario) -> None:
    new = demo.override("run.until=10s", "seed=9")
    assert (new.run.until_s, new.seed) == (10.0, 9)
    assert (demo.run.until_s, demo.seed) == (60.0, 1)
    assert dataclasses.replace(new, run=demo.run, seed=demo.seed) == demo


@pytest.mark.parametrize(("values", "get", "expected"), [
    ({"seed": 2}, lambda s: s.seed, 2),
    ({"run": {"until": "10s"}}, lambda s: (s.run.until_s, s.run.warmup_s), (10.0, 2.0)),
    ({"run": RunSpec(until_s=5.0)}, lambda s: s.run, RunSpec(until_s=5.0)),
    ({"routing": "shortest_delay"}, lambda s: s.routing, ShortestDelay(0.05)),
    ({"routing": {"strategy": "shortest_hops"}}, lambda s: s.routing, ShortestHops(0.05)),
    ({"routing": OspfCost(reference_bps=1e9)}, lambda s: s.routing, OspfCost(reference_bps=1e9)),
    ({"flows": [FlowSpec("x", "h1", "h2", count=3)]}, lambda s: [f.name for f in s.flows], ["x"]),
    ({"links": {0: {"rate": "1Mbps"}}}, lambda s: s.topology.links[0].rate_bps, 1e6),
])  # fmt: skip
def test_keyword_values(demo: Scenario, values: dict[str, Any], get: Any, expected: object) -> None:
    assert get(demo.override(**values)) == expected


def test_changing_the_strategy_keeps_compatible_parameters(demo: Scenario) -> None:
    hops = demo.override("routing.strategy=shortest_hops")
    assert hops.routing == ShortestHops(detection_delay_s=0.05)  # reference_bandwidth dropped, delay kept
    explicit = hops.override("routing=explicit", "routing.paths={bulk: [h1, r1, r4, r3, h3]}")
    assert explicit.routing == ExplicitPaths(0.05, paths={"bulk": ("h1", "r1", "r4", "r3", "h3")})
    more = explicit.override("routing.paths.web=[h2, r1, r2, r3, h4]").routing.paths
    assert more == {"bulk": ("h1", "r1", "r4", "r3", "h3"), "web": ("h2", "r1", "r2", "r3", "h4")}
    assert explicit.override("routing.strategy=ospf").routing == OspfCost(0.05)  # paths dropped
    # a parameter set in the same call is kept (and checked against the new strategy)
    assert demo.override("routing.reference_bandwidth=1Gbps", "routing.strategy=ospf").routing.reference_bps == 1e9


def test_a_user_defined_strategy_gives_way_to_a_named_one(demo: Scenario) -> None:
    class Mine(ShortestHops):
        pass

    mine = demo.override(routing=Mine(0.2))
    assert type(mine.routing) is Mine and mine.override("seed=4").routing == Mine(0.2)
    assert mine.override("routing.strategy=ospf").routing == OspfCost()


@pytest.mark.parametrize(("assignment", "error", "message"), [
    ("run.untl=10s", ConfigError, r"^override 'run.untl=10s': run\.untl: unknown key; did you mean 'until'\?"),
    ("rnu.until=10s", ConfigError, r"rnu: unknown key; did you mean 'run'\?"),
    ("links[0].rat=1Mbps", ConfigError, r"links\[0\]\.rat: unknown key; did you mean 'rate'\?"),
    ("flows.bulkk.size=1B", ConfigError, r"flows\.bulkk: no item named 'bulkk'; did you mean 'bulk'\?"),
    ("links[99].rate=1Mbps", ConfigError, r"links\[99\]: index out of range \(the list has 8 items\)"),
    ("flows.bulk.arrivals.poison=3", ConfigError, r"arrivals\.poison: unknown key; did you mean 'poisson'\?"),
    ("seed.x=1", ConfigError, r"seed has no keys"),
    ("seed", ConfigError, r"expected KEY=VALUE"),
    ("seed=[1", ConfigError, r"the value is not valid YAML"),
    ("routing.strategy=ospff", ConfigError,
     r"^override 'routing.strategy=ospff': routing\.strategy: unknown routing strategy 'ospff'; did you mean 'ospf'\?"),
    ("routing.paths={bulk: [h1, r1, h3]}", ConfigError, r"routing\.paths: not a parameter of strategy 'ospf'"),
    ("links[0].rate=10M", UnitError, r"links\[0\]\.rate: expected a rate like '10Mbps'.*got '10M'"),
    ("run.until=-1s", UnitError, r"run\.until: expected a time"),
    ("flows.bulk.dst=h9", TopologyError, r"flows\[0\]\.dst: unknown node 'h9'"),
    ("seed=one", ConfigError, r"seed: expected a whole number, got 'one'"),
])  # fmt: skip
def test_bad_overrides(demo: Scenario, assignment: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        demo.override(assignment)


def test_explicit_paths_are_checked(demo: Scenario) -> None:
    with pytest.raises(TopologyError, match=r"routing\.paths\.bulk: r1 -> r3 is not a link of the topology"):
        demo.override("routing=explicit", "routing.paths={bulk: [h1, r1, r3, h3]}")


def test_send_file_override_replaces_the_list(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``mail.send={file: day.csv}`` on the command line: the file is read relative to the current directory."""
    s = load_scenario(str(DEMO.parent / "seed.yaml"))
    (tmp_path / "day.csv").write_text("at,from,to\n5,alice@alpha.example,dave@beta.example erin@beta.example\n")
    monkeypatch.chdir(tmp_path)
    t = s.override("mail.send={file: day.csv}")
    assert [(m.at_s, m.sender, m.to) for m in t.mail.send] == [
        (5.0, "alice@alpha.example", ("dave@beta.example", "erin@beta.example"))
    ]
    with pytest.raises(ConfigError, match=r"mail.send.file: no such send file 'nowhere.csv'"):
        s.override("mail.send={file: nowhere.csv}")


@pytest.mark.parametrize(("assignment", "link"), [
    ("links[r1,r2].loss=0.05", ("r1", "r2")),
    ("links[r2,r1].loss=0.05", ("r1", "r2")),  # an undirected link by its ends either way round
    ("links[ r4 , r3 ].loss=0.05", ("r4", "r3")),
    ("links.h1,r1.loss=0.05", ("h1", "r1")),
])  # fmt: skip
def test_a_link_by_its_ends(demo: Scenario, assignment: str, link: tuple[str, str]) -> None:
    new = demo.override(assignment)
    changed = [(x.a, x.b) for x, y in zip(new.topology.links, demo.topology.links, strict=True) if x != y]
    assert changed == [link] and new.topology.links[[(x.a, x.b) for x in new.topology.links].index(link)].loss == 0.05


@pytest.mark.parametrize(("assignment", "message"), [
    ("links[r1,r3].loss=0.05",
     (r"^override 'links\[r1,r3\]\.loss=0\.05': links\[r1,r3\]: no link between 'r1' and 'r3'; links at r1 or r3: "
      r"\[h1,r1\], \[h2,r1\], \[h3,r3\], \[h4,r3\], \[r1,r2\], \[r2,r3\], \[r1,r4\], \[r4,r3\]$")),
    ("links[r1,r22].loss=0.05", r"links\[r1,r22\]: no link has an end 'r22'; did you mean 'r2'\?"),
    ("links[r1].loss=0.05", r"links\[r1\]: expected a link index or its two ends, like links\[3\] or links\[r1,r2\]"),
])  # fmt: skip
def test_an_unknown_link_pair_lists_near_matches(demo: Scenario, assignment: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        demo.override(assignment)


def test_a_directed_link_is_found_only_its_own_way() -> None:
    s = Scenario(netlab_topology_with_a_directed_link())
    assert s.override("links[a,b].rate=5Mbps").topology.links[0].rate_bps == 5e6
    assert s.override("links[a,c].rate=5Mbps").topology.links[2].rate_bps == 5e6
    with pytest.raises(ConfigError, match=(r"no link between 'b' and 'a' \(links\[0\] is directed: only a -> b\); "
                                           r"links at b or a: \[a,b\], \[b,c\], \[c,a\]$")):  # fmt: skip
        s.override("links[b,a].rate=5Mbps")


def test_two_directed_links_of_one_pair_are_told_apart_by_the_order_of_the_ends() -> None:
    from netlab.topology.spec import LinkSpec, NodeSpec, Topology

    s = Scenario(Topology((NodeSpec("a", "host"), NodeSpec("b", "host")),
                          (LinkSpec("a", "b", directed=True), LinkSpec("b", "a", directed=True))))  # fmt: skip
    assert [x.loss for x in s.override("links[a,b].loss=0.1").topology.links] == [0.1, 0.0]
    assert [x.loss for x in s.override("links[b,a].loss=0.1").topology.links] == [0.0, 0.1]


def test_ends_that_name_two_links_are_an_error_giving_the_indices(demo: Scenario) -> None:
    """An earlier assignment of the same call made links[6] a second r1-r2 link: the ends no longer name one
    link, and the override is refused rather than applied to the first silently."""
    message = (
        r"^override 'links\[r2,r1\]\.loss=0\.05': links\[r2,r1\]: 2 links join 'r2' and 'r1': "
        r"links\[4\] \(r1-r2\), links\[6\] \(r1-r2\); name one by its index, e\.g\. links\[4\]$"
    )
    with pytest.raises(ConfigError, match=message):
        demo.override("links[6].b=r2", "links[r2,r1].loss=0.05")


@pytest.mark.parametrize(("assignment", "message"), [
    ("links[r2,r1].loss=0.05", None),
    ("links[r1,r3].loss=0.05",
     "override 'links[r1,r3].loss=0.05': links[r1,r3]: no link between 'r1' and 'r3'; links at r1 or r3: [h1,r1]"),
    ("links[r1,r9].loss=0.05",
     ("override 'links[r1,r9].loss=0.05': links[r1,r9]: no link has an end 'r9'; "
      "expected one of h1, h2, h3, h4, r1, r2, r3, r4")),
])  # fmt: skip
def test_a_link_by_its_ends_on_the_command_line(assignment: str, message: str | None, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from netlab.cli import main

    code = main(["run", str(DEMO), "-o", str(tmp_path / "r"), "--set", "run.until=2.5s", "--set", assignment])
    err = capsys.readouterr().err
    if message is None:
        assert code == 0, err
        from netlab.results import load_results

        saved = load_results(tmp_path / "r").scenario
        assert saved is not None and [(x.a, x.b) for x in saved.topology.links if x.loss == 0.05] == [("r1", "r2")]
    else:
        assert code == 2 and err.startswith("netlab: error: ") and message in err, err


def netlab_topology_with_a_directed_link() -> Any:
    from netlab.topology.spec import LinkSpec, NodeSpec, Topology

    nodes = (NodeSpec("a", "host"), NodeSpec("b", "host"), NodeSpec("c"))
    return Topology(nodes, (LinkSpec("a", "b", directed=True), LinkSpec("b", "c"), LinkSpec("c", "a")))


def test_assignments_take_effect_together(demo: Scenario) -> None:
    """A value checked against another is checked once the call's assignments are all in: warmup 70 s is
    valid once until is 90 s, in whichever order they come."""
    for order in (["run.warmup=70s", "run.until=90s"], ["run.until=90s", "run.warmup=70s"]):
        assert (demo.override(*order).run.warmup_s, demo.override(*order).run.until_s) == (70.0, 90.0)
    renamed = demo.override("flows.bulk.src=h2", "flows.bulk.path=[h2, r1, r2, r3, h3]")
    assert renamed.flows[0].path == ("h2", "r1", "r2", "r3", "h3")


@pytest.mark.parametrize(("assignments", "error", "message"), [
    (["run.warmup=70s"], ConfigError,
     r"^override 'run\.warmup=70s': run: run\.warmup \(70\.0 s\) must be shorter than run\.until \(60\.0 s\)$"),
    (["seed=2", "flows.bulk.dst=h9"], TopologyError,
     (r"^override 'seed=2', 'flows\.bulk\.dst=h9': flows\[0\]\.dst: unknown node 'h9'; "
      r"expected one of h1, h2, h3, h4, r1, r2, r3, r4$")),
    (["flows.bulk.path=[h1, r1, r3, h3]"], TopologyError,
     r"^override 'flows\.bulk\.path=\[h1, r1, r3, h3\]': flows\[0\]\.path: r1 -> r3 is not a link"),
    (["nodes.r1.name=r9"], TopologyError, r"^override 'nodes\.r1\.name=r9': links\[0\] \(h1-r1\): unknown node 'r1'"),
    (["flows.bulk.arrivals.on_off.on=1s"], ConfigError,
     r"^override 'flows\.bulk\.arrivals\.on_off\.on=1s': flows\[0\]\.arrivals: missing required key 'rate'"),
    (["mail.workload.count=3"], ConfigError,
     r"^override 'mail\.workload\.count=3': mail: missing required key 'dns_server'$"),
])  # fmt: skip
def test_errors_name_the_override(demo: Scenario, assignments: list[str], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        demo.override(*assignments)


def test_mail_items_by_host_and_address() -> None:
    s = load_scenario(str(DEMO.parent / "seed.yaml"))
    t = s.override("mail.users[bob@alpha.example].password=hunter2", "mail.servers.mx-b1.size_limit=1MB")
    assert t.mail.user("bob@alpha.example").password == "hunter2" and t.mail.server("mx-b1").size_limit_bytes == 10**6
    assert t.mail.user("alice@alpha.example") == s.mail.user("alice@alpha.example")
    with pytest.raises(ConfigError, match=r"mail\.users\.bob@alpha: no item named 'bob@alpha'; did you mean"):
        s.override("mail.users[bob@alpha].password=x")


def test_unchanged_parts_stay_the_same_objects(demo: Scenario) -> None:
    """An override rebuilds what it changes and nothing else (no dump and re-read of the whole scenario)."""
    new = demo.override("links[r1,r2].loss=0.05")
    assert new.flows is demo.flows and new.run is demo.run and new.routing is demo.routing
    assert all(a is b for a, b in zip(new.topology.nodes, demo.topology.nodes, strict=True))
    assert sum(a is not b for a, b in zip(new.topology.links, demo.topology.links, strict=True)) == 1
