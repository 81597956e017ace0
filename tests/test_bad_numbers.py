"""Non-finite and out-of-range numbers as a class: every number of a scenario, from a file or from Python.

NaN compares false with everything, so ``not 0 <= nan <= 1`` is the only range check it fails; a NaN time, weight
or probability that slips through gives packets "in flight" forever or a fault at t = 0 while the checks pass.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from pathlib import Path
from typing import Any

import pytest

import netlab
from netlab import FlowSpec, LinkSpec, NodeSpec, Poisson, RunSpec, Scenario, Topology
from netlab.cli import main
from netlab.mail.config import MailSpec
from netlab.scenario.fields import field_key, type_hints, union_members
from netlab.scenario.files import loads_scenario
from netlab.scenario.numbers import check_numbers
from netlab.scenario.registry import ARRIVALS, ROUTING, SIZES
from netlab.topology import generators

BASE = """name: t
nodes: [{name: a, role: host}, {name: b, role: host}]
links: [{a: a, b: b, rate: 10Mbps, delay: 1ms, LINK}]
flows: [{name: f, src: a, dst: b, arrivals: {poisson: 100/s}, size: SIZE, count: 5}]
routing: ROUTING
run: {until: 1s}
"""


def _text(link: str = "loss: 0", size: str = "1000B", routing: str = "shortest_hops") -> str:
    return BASE.replace("LINK", link).replace("SIZE", size).replace("ROUTING", routing)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_text(link="loss: .nan"), r"x.yaml:3: links\[0\].loss: expected a finite number, got nan"),
        (_text(link="loss: .inf"), r"x.yaml:3: links\[0\].loss: expected a finite number, got inf"),
        (_text(link="cost: .inf"), r"x.yaml:3: links\[0\].cost: expected a finite number, got inf"),
        (_text(link="cost: inf"), r"x.yaml:3: links\[0\].cost: expected a finite number, got 'inf'"),
        (_text(link="cost: -1"), r"x.yaml:3: links\[0\]: link a-b: cost must be a positive, finite number"),
        (_text(link="queue_packets: 1.0e20"), r"x.yaml:3: links\[0\].queue_packets: expected a whole number"),
        (_text(size="{empirical: {values: [40B, 1500B], weights: [.inf, 1]}}"),
         r"x.yaml:4: flows\[0\].size.empirical.weights\[0\]: expected a finite number, got inf"),
        (_text(size="{empirical: {values: [40B, 1500B], weights: [.nan, 1]}}"),
         r"x.yaml:4: flows\[0\].size.empirical.weights\[0\]: expected a finite number, got nan"),
        (_text(size="{empirical: {values: [40B, 1500B], weights: [-1, 2]}}"),
         r"x.yaml:4: flows\[0\].size.empirical: .*finite, non-negative weight"),
        (_text(routing="{strategy: least_loaded, ewma: .nan}"), r"x.yaml:5: routing.ewma: expected a finite number"),
        (_text(routing="{strategy: k_shortest_least_loaded, k: 1.0e20}"), r"x.yaml:5: routing.k: expected a whole"),
        (_text().replace("{name: a, role: host}", "{name: a, role: host, x: .nan}"),
         r"x.yaml:2: nodes\[0\].x: expected a finite number, got nan"),
        (_text().replace("run: {until: 1s}", "run: {until: 1s, stop_after_delivered: .nan}"),
         r"x.yaml:6: run.stop_after_delivered: expected a whole number, got nan"),
    ],
)  # fmt: skip
def test_a_file_with_a_bad_number_names_file_line_and_key(text: str, message: str) -> None:
    with pytest.raises(netlab.ConfigError, match=message):
        loads_scenario(text, source="x.yaml")


TOPO = Topology((NodeSpec("a", "host"), NodeSpec("b", "host")), (LinkSpec("a", "b"),))
NAN = math.nan


def _flow(**kw: Any) -> FlowSpec:
    return FlowSpec("f", "a", "b", arrivals=Poisson(10.0), **kw)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Scenario(TOPO, flows=(_flow(start_s=NAN),)), r"flows\[0\].start: expected a finite number, got nan"),
        (lambda: Scenario(TOPO, flows=(_flow(stop_s=-math.inf),)), r"flow 'f': stop -inf s is before start"),
        (lambda: Scenario(TOPO, run=RunSpec(until_s=5.0, warmup_s=NAN)), r"run.warmup: expected a finite number"),
        (lambda: Scenario(TOPO, faults=(netlab.FaultSpec(at_s=NAN, link=("a", "b"), action="down"),)),
         r"faults\[0\].at: expected a finite number, got nan"),
        (lambda: Scenario(TOPO, routing=netlab.ShortestHops(detection_delay_s=NAN)),
         r"routing.detection_delay: expected a finite number"),
        (lambda: LinkSpec("a", "b", cost=math.inf), r"link a-b: cost must be a positive, finite number, got inf"),
        (lambda: LinkSpec("a", "b", queue_packets=1e20), r"queue_packets must be a whole number >= 1, got 1e\+20"),
        (lambda: NodeSpec("a", x=math.inf), r"node 'a': x must be a finite number, got inf"),
    ],
)  # fmt: skip
def test_the_python_api_refuses_bad_numbers_naming_the_key(make: Any, message: str) -> None:
    with pytest.raises(netlab.ConfigError, match=message):
        make()


def _spec_classes() -> list[type]:
    """Every spec dataclass a Scenario can hold: those its fields' annotations reach (flows, run, faults, mail;
    the topology checks its own), and the registries' strategies and laws."""
    todo: list[Any] = [FlowSpec, RunSpec, netlab.FaultSpec, MailSpec, *ROUTING.values(), *ARRIVALS.classes.values(),
                       *SIZES.classes.values()]  # fmt: skip
    seen: list[type] = []
    while todo:
        tp = todo.pop()
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            if tp in seen or tp in (Topology,):
                continue
            seen.append(tp)
            todo.extend(type_hints(tp).values())
        else:
            todo.extend(typing.get_args(tp))
    return sorted(seen, key=lambda c: c.__name__)


def _float_fields() -> list[tuple[type, dataclasses.Field[Any]]]:
    out = []
    for cls in _spec_classes():
        hints = type_hints(cls)
        for f in dataclasses.fields(cls):
            members, _ = union_members(hints[f.name])
            if float in members or any(typing.get_args(m)[:1] == (float,) for m in members):
                out.append((cls, f))
    return out


FLOAT_FIELDS = _float_fields()


def test_the_walk_knows_the_spec_classes() -> None:
    names = {cls.__name__ for cls, _ in FLOAT_FIELDS}
    assert {"FlowSpec", "RunSpec", "FaultSpec", "Poisson", "LeastLoaded", "MailWorkloadSpec", "QueueSpec",
            "ScriptedMessage", "EmpiricalSize"} <= names  # fmt: skip
    assert len(FLOAT_FIELDS) >= 40


@pytest.mark.parametrize(("cls", "f"), FLOAT_FIELDS, ids=[f"{c.__name__}.{f.name}" for c, f in FLOAT_FIELDS])
@pytest.mark.parametrize("bad", [math.nan, -math.inf])
def test_every_float_field_refuses_nan_and_minus_inf(cls: type, f: dataclasses.Field[Any], bad: float) -> None:
    obj = object.__new__(cls)  # the values a spec could hold, without its own __post_init__ (the walk is the net)
    for g in dataclasses.fields(cls):
        default = g.default if g.default is not dataclasses.MISSING else None
        object.__setattr__(obj, g.name, default)
    members, _ = union_members(type_hints(cls)[f.name])
    object.__setattr__(obj, f.name, bad if float in members else (bad,))
    with pytest.raises(netlab.ConfigError, match=rf"x\.{field_key(f)}(\[0\])?: expected a finite number"):
        check_numbers(obj, "x")


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("line", {"n": 10**20}, r"line: n=1e\+20 would build 1e\+20 nodes .* at most 100,000 nodes"),
        ("grid", {"rows": 100_000, "cols": 100_000}, r"grid: rows=100,000, cols=100,000 would build 10,000,000,000"),
        ("ring", {"n": 60_000, "hosts": "all"}, r"ring: n=60,000 would build 120,000 nodes"),
        ("fat_tree", {"k": 100}, r"fat_tree: k=100 would build 262,500 nodes"),
        ("barabasi_albert", {"n": 100_000, "m": 99_999}, r"would build 100,000 nodes and 9,999,900,000 links"),
        ("waxman", {"n": 20_000}, r"waxman: n=20,000 would draw .* at most 10,000 routers"),
        ("dumbbell", {"left": 10**9, "right": 1}, r"dumbbell: left=1,000,000,000, right=1 would build"),
        ("line", {"n": 3, "rate": math.nan}, r"line: rate_bps must be a finite number, got nan"),
        ("line", {"n": 3, "delay": math.inf}, r"line: delay_s must be a finite number, got inf"),
    ],
)
def test_generator_sizes_are_checked_before_building(kind: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(netlab.ConfigError, match=message):
        generators.generate(kind, **params)
    if not any(isinstance(v, float) for v in params.values()):  # the plain functions check too
        with pytest.raises(netlab.ConfigError, match=message):
            getattr(generators, kind)(**params)


def test_a_generator_at_the_limit_still_builds() -> None:
    assert generators.generate("line", n=generators.MAX_ROUTERS).number_of_nodes() == generators.MAX_ROUTERS


def test_the_cli_answers_a_huge_generator_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "g.yaml"
    path.write_text("name: g\ntopology: {generator: line, n: 100000000000000000000}\nrun: {until: 1s}\n")
    assert main(["topo", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"netlab: error: {path}:2: topology: line: n=1e+20") and "Traceback" not in err
