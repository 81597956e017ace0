"""Every new strategy, in full runs: no loops past the TTL, recovery after a link failure, YAML round trip, and the
path tracker leaves the run unchanged."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import netlab
from netlab.routing.adaptive import Decide, KShortestLeastLoaded, LoadMetric, LoadMode
from netlab.routing.base import PathWeight
from netlab.routing.multipath import Ecmp, Spray, SprayMode
from netlab.routing.tracking import PathTracker
from netlab.scenario.files import loads_scenario
from netlab.scenario.registry import ROUTING

ROOT = Path(__file__).resolve().parents[1]
NEW = [
    "least_loaded",
    "k_shortest_least_loaded",
    "ecmp",
    "spray",
    "weighted_split",
    "widest_shortest",
    "shortest_widest",
]
VARIANTS = {
    "least_loaded": "{strategy: least_loaded}",
    "least_loaded_ls": (
        "{strategy: least_loaded, mode: link_state, update_interval: 200ms, ewma: 1, metric: utilisation}"
    ),
    "least_loaded_clamped": "{strategy: least_loaded, mode: link_state, update_interval: 100ms, clamp: 0.5, cap: 3}",
    "k_shortest": "{strategy: k_shortest_least_loaded, k: 3, per: packet}",
    "k_shortest_flow": "{strategy: k_shortest_least_loaded, per: flow, mode: link_state, update_interval: 300ms}",
    "ecmp": "{strategy: ecmp, salt: false}",
    "spray": "{strategy: spray, mode: round_robin}",
    "weighted_split": "{strategy: weighted_split, splits: {r1: {r3: 2, r2: 1}, r3: {r1: 1, r2: 1}}}",
    "widest_shortest": "{strategy: widest_shortest, update_interval: 500ms}",
    "shortest_widest": "{strategy: shortest_widest, update_interval: 500ms}",
}


def _scenario(routing: str) -> netlab.Scenario:
    text = (ROOT / "topologies" / "compare.yaml").read_text()
    text = text.replace("routing: shortest_hops", f"routing: {routing}")
    text = text.replace(
        "run: {until: 20s, warmup: 2s}",
        "run: {until: 6s, warmup: 0.5s, record_packets: true}\n"
        "faults: [{at: 2s, link: [r1, r3], action: down}, {at: 4s, link: [r1, r3], action: up}]",
    )
    return loads_scenario(text, source="compare.yaml")


def test_every_new_strategy_is_registered() -> None:
    assert set(NEW) <= set(ROUTING)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_no_loops_and_recovery_after_a_link_failure(name: str) -> None:
    s = _scenario(VARIANTS[name])
    res = netlab.run(s)
    by = res.summary["dropped_by_reason"]
    assert by["ttl_exceeded"] == 0 and by["no_route"] == 0
    pk = res.packets
    assert pk["hops"].max() <= len(s.topology.nodes)
    late = pk[(pk["created_s"] > 2.1) & (pk["created_s"] < 3.9)]  # r1-r3 down, routing knows: all delivered
    assert len(late) > 100 and (late["status"] == "delivered").all()


@pytest.mark.parametrize("name", list(VARIANTS))
def test_yaml_round_trip(name: str) -> None:
    s = _scenario(VARIANTS[name])
    back = loads_scenario(s.to_yaml())
    assert back.routing == s.routing and type(back.routing) is type(s.routing)


@pytest.mark.parametrize("name", ["least_loaded_ls", "k_shortest", "ecmp", "weighted_split", "shortest_widest"])
def test_override_switches_to_the_strategy(name: str) -> None:
    s = _scenario("shortest_hops")
    strategy = loads_scenario(_scenario(VARIANTS[name]).to_yaml()).routing
    t = s.override(f"routing.strategy={next(k for k, c in ROUTING.items() if c is type(strategy))}")
    assert type(t.routing) is type(strategy)


@pytest.mark.parametrize("routing", ["shortest_hops", "{strategy: ospf, reference_bandwidth: 1Gbps}",
                                     "{strategy: explicit, paths: {bulk: [h1, r1, r2, r3, h3]}}",
                                     VARIANTS["least_loaded"], VARIANTS["k_shortest"], VARIANTS["spray"],
                                     VARIANTS["least_loaded_ls"]])  # fmt: skip
def test_path_tracker_changes_nothing(routing: str) -> None:
    s = _scenario(routing)
    plain = netlab.run(s)
    sim = netlab.experiment.runner.Simulation(dataclasses.replace(s, routing=PathTracker(s.routing)))
    tracked = sim.execute()
    pd.testing.assert_frame_equal(plain.flows, tracked.flows)
    pd.testing.assert_frame_equal(plain.packets, tracked.packets)
    paths = sim.strategy.paths_frame()
    assert paths["packets"].sum() >= plain.summary["delivered"]
    if "explicit" in routing:
        assert set(paths.loc[paths["flow"] == "bulk", "path"]) == {"h1-r1-r2-r3-h3"}


def test_reprs_are_readable() -> None:
    for name, cls in ROUTING.items():
        text = repr(cls())
        assert text.startswith(cls.__name__ + "(") and "object at" not in text, name


@pytest.mark.parametrize(
    ("make", "field", "member"),
    [
        (lambda: netlab.LeastLoaded(mode="link_state"), "mode", LoadMode.LINK_STATE),
        (lambda: netlab.LeastLoaded(mode="link_state", metric="utilisation"), "metric", LoadMetric.UTILISATION),
        (lambda: KShortestLeastLoaded(per="flow"), "per", Decide.FLOW),
        (lambda: KShortestLeastLoaded(path_weight="delay"), "path_weight", PathWeight.DELAY),
        (lambda: Spray(mode="round_robin"), "mode", SprayMode.ROUND_ROBIN),
        (lambda: Ecmp(weight="delay"), "weight", PathWeight.DELAY),
    ],
)
def test_option_strings_are_read_as_their_enums(make: Any, field: str, member: Any) -> None:
    """A strategy's modes are enums however they were written; the repr still reads as the string."""
    strategy = make()
    assert getattr(strategy, field) is member
    assert f"{field}={member.value!r}" in repr(strategy)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: netlab.LeastLoaded(mode="linkstate"),
            "LeastLoaded: mode must be one of oracle, link_state, got 'linkstate'; did you mean 'link_state'?",
        ),
        (lambda: Spray(mode="roundrobin"), "spray: mode must be one of random, round_robin, got 'roundrobin'"),
        (lambda: Ecmp(weight="cost"), "ecmp: weight must be one of hops, delay, got 'cost'"),
        (lambda: KShortestLeastLoaded(per="packets"), "per must be one of flow, message, packet, got 'packets'"),
    ],
)
def test_a_misspelt_option_names_the_choices(make: Any, message: str) -> None:
    with pytest.raises(netlab.ConfigError, match=re.escape(message)):
        make()
