"""Classes of the user's own named in scenario files, overrides and ``--strategies`` as ``module:Class(args)``:
read, run, written back the same way, and refused with a clear error when they are not what they claim."""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import netlab
from netlab import cli
from netlab.errors import ConfigError
from netlab.experiment.sweep import offered_load_bps, scale_load
from netlab.scenario.files import dump_scenario, loads_scenario
from netlab.scenario.strategies import resolve_strategies, split_strategy_list, strategy_spec
from netlab.workload.spec import ArrivalLaw, SizeLaw

HERE = __name__  # the module name a file uses for the classes below (pytest imports this file by its name)


@dataclasses.dataclass(frozen=True)
class Bursts:
    """*count* packets at once every *every_s* seconds."""

    count: int = 3
    every_s: float = 1.0

    @property
    def mean_rate_pps(self) -> float:
        return self.count / self.every_s

    def times(self, start_s: float, rng: random.Random) -> Iterator[tuple[float, int | None]]:
        for k in itertools.count():
            for _ in range(self.count):
                yield start_s + k * self.every_s, None


@dataclasses.dataclass(frozen=True)
class ScalableBursts(Bursts):
    def scaled(self, factor: float) -> ScalableBursts:
        return dataclasses.replace(self, every_s=self.every_s / factor)


@dataclasses.dataclass(frozen=True)
class TwoSizes:
    """Packets of *small_bytes* and *large_bytes*, alternately (needs no randomness)."""

    small_bytes: int = 100
    large_bytes: int = 1500

    @property
    def mean_bytes(self) -> float:
        return (self.small_bytes + self.large_bytes) / 2

    def sampler(self, rng: random.Random) -> Callable[[], int]:
        sizes = itertools.cycle((self.small_bytes, self.large_bytes))
        return lambda: next(sizes)


@dataclasses.dataclass
class Detour(netlab.ShortestHops):
    """Hop count under a name of the user's own (a strategy defined outside netlab)."""

    note: str = "mine"


class Plain:
    """A law that is no dataclass: readable from a file, but a file cannot be written for it."""

    def __init__(self, rate: float = 10.0) -> None:
        self.rate = rate

    def __repr__(self) -> str:
        return f"Plain(rate={self.rate})"

    @property
    def mean_rate_pps(self) -> float:
        return self.rate

    def times(self, start_s: float, rng: random.Random) -> Iterator[tuple[float, int | None]]:
        return ((start_s + k / self.rate, None) for k in itertools.count())


class NotALaw:
    """Has no times()."""


BASE = """\
nodes: [{name: a, role: host}, {name: b, role: host}]
links: [{a: a, b: b, rate: 8Mbps, delay: 1ms}]
run: {until: 10s}
"""


def test_user_classes_satisfy_the_protocols() -> None:
    assert isinstance(Bursts(), ArrivalLaw) and isinstance(Plain(), ArrivalLaw) and isinstance(TwoSizes(), SizeLaw)
    assert not isinstance(NotALaw(), ArrivalLaw)


@pytest.mark.parametrize("flow", [
    f"{{name: f, src: a, dst: b, arrivals: '{HERE}:Bursts(count=2, every_s=500ms)', size: '{HERE}:TwoSizes'}}",
    (f"{{name: f, src: a, dst: b, arrivals: {{'{HERE}:Bursts': {{count: 2, every_s: 0.5}}}}, "
    f"size: {{'{HERE}:TwoSizes': {{}}}}}}"),
])  # fmt: skip
def test_a_law_of_ones_own_in_a_file_runs_and_is_written_back(flow: str) -> None:
    s = loads_scenario(BASE + f"flows:\n  - {flow}\n")
    assert s.flows[0].arrivals == Bursts(2, 0.5) and s.flows[0].size == TwoSizes()
    text = dump_scenario(s)
    assert f"arrivals: '{HERE}:Bursts(count=2, every_s=500ms)'" in text and f"size: '{HERE}:TwoSizes'" in text
    assert loads_scenario(text) == s
    res = netlab.run(dataclasses.replace(s, flows=(dataclasses.replace(s.flows[0], stop_s=2.2),)))
    row = res.flows.iloc[0]
    # 2 packets at 0, 0.5, 1.0, 1.5, 2.0 s: 10 packets, alternately 100 and 1500 bytes
    assert (row.tx_packets, row.tx_bytes) == (10, 5 * (100 + 1500))
    assert offered_load_bps(s) == pytest.approx(4.0 * 800 * 8)


def test_a_strategy_of_ones_own_in_a_file_an_override_and_compare() -> None:
    s = loads_scenario(BASE + f"routing: {HERE}:Detour(note=x, detection_delay=50ms)\n")
    assert s.routing == Detour(0.05, note="x")
    assert f"routing: {HERE}:Detour(detection_delay=50ms, note=x)" in dump_scenario(s)
    assert loads_scenario(dump_scenario(s)) == s
    assert loads_scenario(BASE + f"routing: {{strategy: '{HERE}:Detour', note: y}}\n").routing == Detour(note="y")
    t = loads_scenario(BASE).override(f"routing.strategy={HERE}:Detour", "routing.note=z")
    assert t.routing == Detour(note="z")
    assert loads_scenario(BASE).override(f"routing={HERE}:Detour(note=w)").routing == Detour(note="w")
    chosen = resolve_strategies(split_strategy_list(f"shortest_hops,{HERE}:Detour(note=v, detection_delay=1s)"))
    assert list(chosen) == ["shortest_hops", f"{HERE}:Detour(note=v, detection_delay=1s)"]
    assert list(chosen.values())[1] == Detour(1.0, note="v")
    assert strategy_spec(Detour(note="v")) == {"strategy": f"{HERE}:Detour", "note": "v"}


def test_compare_on_the_command_line_names_a_strategy_of_ones_own(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(BASE.replace("until: 10s", "until: 2s") + "flows: [{name: f, src: a, dst: b, count: 50}]\n")
    argv = ["compare", str(path), "--strategies", f"shortest_hops,{HERE}:Detour(note=cli)", "--reps", "2",
            "-j", "1", "-q", "-o", str(tmp_path / "out")]  # fmt: skip
    assert cli.main(argv) == 0
    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert meta["strategy_specs"][f"{HERE}:Detour(note=cli)"] == {"strategy": f"{HERE}:Detour", "note": "cli"}


def test_an_override_of_a_law_of_ones_own() -> None:
    s = loads_scenario(BASE + "flows: [{name: f, src: a, dst: b}]\n")
    t = s.override(f"flows.f.arrivals={HERE}:Bursts(count=4)", f"flows.f.size={{{HERE}:TwoSizes: {{small_bytes: 40}}}}")
    assert t.flows[0].arrivals == Bursts(count=4) and t.flows[0].size == TwoSizes(small_bytes=40)


def test_scale_load_needs_a_scaled_method() -> None:
    s = loads_scenario(BASE + f"flows: [{{name: f, src: a, dst: b, arrivals: '{HERE}:ScalableBursts(every_s=2s)'}}]\n")
    assert scale_load(s, 4.0).flows[0].arrivals == ScalableBursts(every_s=0.5)
    s = loads_scenario(BASE + f"flows: [{{name: f, src: a, dst: b, arrivals: '{HERE}:Bursts'}}]\n")
    with pytest.raises(ConfigError, match=r"flow 'f': cannot scale Bursts\(count=3, every_s=1\.0\) \(it has no scaled"):
        scale_load(s, 2.0)


def test_a_class_that_is_no_dataclass_is_read_but_not_written() -> None:
    s = loads_scenario(BASE + f"flows: [{{name: f, src: a, dst: b, arrivals: '{HERE}:Plain(rate=20)'}}]\n")
    assert s.flows[0].arrivals.rate == 20
    assert s.override("run.until=5s").run.until_s == 5.0  # overrides never write the scenario out
    with pytest.raises(ConfigError, match=r"cannot write arrival law Plain\(rate=20\) to YAML: .* no dataclass"):
        dump_scenario(s)


def test_a_class_defined_in_a_function_cannot_be_written() -> None:
    @dataclasses.dataclass(frozen=True)
    class Local(Bursts):
        pass

    s = netlab.Scenario(loads_scenario(BASE).topology, flows=(netlab.FlowSpec("f", "a", "b", arrivals=Local()),))
    with pytest.raises(ConfigError, match=r"cannot write arrival law .*a class defined inside a function"):
        dump_scenario(s)


@pytest.mark.parametrize(("text", "message"), [
    ("routing: nosuchmodule:Thing\n", (r"^<string>:4: routing\.strategy: routing strategy 'nosuchmodule:Thing': "
     r"cannot import module 'nosuchmodule'")),
    (f"routing: {HERE}:Detuor\n", rf"{HERE} has no 'Detuor'; did you mean 'Detour'\?"),
    (f"routing: {HERE}:HERE\n", rf"routing strategy '{HERE}:HERE': not a class"),
    (f"routing: {HERE}:Bursts\n", rf"'{HERE}:Bursts' is not a routing strategy: it has no attach\(\)"),
    (f"routing: {HERE}:Detour(nope=1)\n", r"routing\.nope: not a parameter of strategy .*Detour'"),
    (f"flows: [{{name: f, src: a, dst: b, arrivals: '{HERE}:NotALaw'}}]\n",
     rf"^<string>:4: flows\[0\]\.arrivals: '{HERE}:NotALaw' is not an arrival law: it has no times\(\)"),
    (f"flows: [{{name: f, src: a, dst: b, size: '{HERE}:Bursts(count=2)'}}]\n",
     rf"flows\[0\]\.size: '{HERE}:Bursts' is not a size law: it has no sampler\(\)"),
    (f"flows: [{{name: f, src: a, dst: b, arrivals: '{HERE}:Bursts(count=many)'}}]\n",
     r"flows\[0\]\.arrivals\.count: expected a whole number, got 'many'"),
    (f"flows: [{{name: f, src: a, dst: b, arrivals: '{HERE}:Plain(speed=1)'}}]\n",
     r"flows\[0\]\.arrivals: .*unexpected keyword argument 'speed'"),
])  # fmt: skip
def test_bad_class_names_and_arguments(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        loads_scenario(BASE + text)


def test_a_named_class_is_checked_before_it_is_made(tmp_path: Path) -> None:
    """``subprocess:Popen`` is a class, but no routing strategy: it is refused before anything is called."""
    marker = tmp_path / "made"
    with pytest.raises(ConfigError, match=r"'subprocess:Popen' is not a routing strategy: it has no attach\(\)"):
        loads_scenario(BASE + f"routing: subprocess:Popen(args=[touch, {marker}])\n")
    assert not marker.exists()
