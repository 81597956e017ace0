"""One option, two spellings: a scenario file may carry the Python name of a key (``stop_s`` for ``stop``,
``until_s`` for ``until``); it means the same and warns (DeprecationWarning) pointing at the file's key. And the
other way round: a spec's Python constructor takes the file's key (``FlowSpec(stop="30s")``), its value read as
the file reads it."""

from __future__ import annotations

from typing import Any

import pytest

import netlab
from netlab.errors import ConfigError
from netlab.scenario.files import loads_scenario

NET = """\
nodes: [{name: h1, role: host}, {name: h2, role: host}, r1]
links: [{a: h1, b: r1, rate: 10Mbps, delay: 1ms}, [r1, h2]]
"""


@pytest.mark.parametrize(("canonical", "python"), [
    ("flows: [{name: f, src: h1, dst: h2, arrivals: {poisson: 200/s}, stop: 2}]\n",
     "flows: [{name: f, src: h1, dst: h2, arrivals: {poisson: 200/s}, stop_s: 2}]\n"),
    ("flows: [{name: f, src: h1, dst: h2, arrivals: {poisson: 200/s}, start: 0.5, count: 50}]\n",
     "flows: [{name: f, src: h1, dst: h2, arrivals: {poisson: 200/s}, start_s: 0.5, count: 50}]\n"),
    ("flows: [{name: f, src: h1, dst: h2, count: 20}]\nrun: {until: 3, warmup: 0.5}\n",
     "flows: [{name: f, src: h1, dst: h2, count: 20}]\nrun: {until_s: 3, warmup_s: 0.5}\n"),
])  # fmt: skip
def test_python_names_in_a_file_mean_the_same_and_warn(canonical: str, python: str) -> None:
    a = loads_scenario(NET + canonical)
    with pytest.warns(DeprecationWarning, match=r"Python name of this option; a scenario file says '[a-z]+'"):
        b = loads_scenario(NET + python)
    assert a == b
    ra, rb = netlab.run(a), netlab.run(b)
    assert ra.flows.equals(rb.flows) and repr(ra.summary) == repr(rb.summary)  # repr: NaN equals NaN


def test_the_warning_names_file_line_and_key() -> None:
    with pytest.warns(DeprecationWarning, match=r"^<string>:4: flows\[0\]\.stop_s: 'stop_s' is the Python name"):
        loads_scenario(NET + "flows:\n  - {name: f, src: h1, dst: h2, count: 3, stop_s: 1}\n")


def test_both_spellings_at_once_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"flows\[0\]\.stop_s: unknown key"):
        loads_scenario(NET + "flows: [{name: f, src: h1, dst: h2, stop: 1, stop_s: 2}]\n")


def test_python_names_in_run_overrides_mean_the_same_and_warn() -> None:
    s = loads_scenario(NET + "flows: [{name: f, src: h1, dst: h2, arrivals: {poisson: 100/s}}]\n")
    a = netlab.run(s, run={"until": "2s"})
    with pytest.warns(DeprecationWarning, match=r"run\.until_s: 'until_s' is the Python name .* says 'until'") as w:
        b = netlab.run(s, run={"until_s": 2})
    assert w[0].filename == __file__  # attributed to the caller's line, not to netlab's insides
    assert a.flows.equals(b.flows) and a.summary["sim_time_s"] == b.summary["sim_time_s"] == 2.0


def test_dotted_override_with_the_python_name() -> None:
    s = loads_scenario(NET + "flows: [{name: f, src: h1, dst: h2, count: 5}]\n")
    with pytest.warns(DeprecationWarning, match=r"flows\[0\]\.stop_s: 'stop_s' is the Python name"):
        b = s.override("flows[0].stop_s=1s")
    assert b == s.override("flows[0].stop=1s") and b.flows[0].stop_s == 1.0


# --- the other way round: Python constructors take the scenario file's keys -------------------------------------


def _specs_with_keys() -> list[type]:
    """Every dataclass of netlab with an option whose scenario-file key differs from its Python name."""
    import dataclasses
    import importlib
    import pkgutil

    from netlab.scenario.fields import python_names

    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(netlab.__path__, "netlab."):
        if info.name.endswith("__main__"):
            continue
        for value in vars(importlib.import_module(info.name)).values():
            if isinstance(value, type) and dataclasses.is_dataclass(value) and python_names(value):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[k] for k in sorted(found)]


SPECS_WITH_KEYS = _specs_with_keys()


def test_the_walk_finds_the_specs() -> None:
    names = {cls.__name__ for cls in SPECS_WITH_KEYS}
    assert {"FlowSpec", "LinkSpec", "RunSpec", "Poisson", "TcpConfig", "OspfCost", "ScriptedMessage"} <= names
    assert len(SPECS_WITH_KEYS) >= 30


@pytest.mark.parametrize("cls", SPECS_WITH_KEYS, ids=lambda c: c.__name__)
def test_every_key_that_differs_is_accepted_by_the_constructor(cls: type) -> None:
    # Each key given next to its Python name is refused as a duplicate, by name: the constructor knows the key
    # (without the alias, Python's own "unexpected keyword argument" would come first).
    from netlab.scenario.fields import python_names

    for name, key in python_names(cls).items():
        with pytest.raises(TypeError, match=rf"got both {key!r} \(the scenario-file key\) and {name!r}"):
            cls(**{key: None, name: None})


@pytest.mark.parametrize(("python", "yaml"), [
    (lambda: netlab.FlowSpec("f", "a", "b", start_s=0.5, stop_s=30.0),
     lambda: netlab.FlowSpec("f", "a", "b", start="500ms", stop="30s")),
    (lambda: netlab.LinkSpec("a", "b", rate_bps=10e6, delay_s=1e-3),
     lambda: netlab.LinkSpec("a", "b", rate="10Mbps", delay="1ms")),
    (lambda: netlab.RunSpec(until_s=120.0, warmup_s=1.0, bin_s=0.25),
     lambda: netlab.RunSpec(until="2min", warmup=1, bin="250ms")),
    (lambda: netlab.Poisson(rate_pps=200.0), lambda: netlab.Poisson(rate="200/s")),
    (lambda: netlab.ExponentialSize(mean_bytes=1500.0), lambda: netlab.ExponentialSize(mean="1500B")),
    (lambda: netlab.OspfCost(reference_bps=1e9, detection_delay_s=0.05),
     lambda: netlab.OspfCost(reference_bandwidth="1Gbps", detection_delay="50ms")),
    (lambda: netlab.LeastLoaded(mode="link_state", update_interval_s=1.0),
     lambda: netlab.LeastLoaded(mode="link_state", update_interval="1s")),
    (lambda: netlab.FaultSpec(1200.0, "down", node="mx"),
     lambda: netlab.FaultSpec(at="20min", action="down", node="mx")),
])  # fmt: skip
def test_a_key_and_its_python_name_make_the_same_spec(python: Any, yaml: Any) -> None:
    assert yaml() == python()


def test_python_with_file_keys_equals_the_file() -> None:
    # the same flow, once as the reader reads a file and once as Python written with the file's keys and values
    text = "flows: [{name: f, src: h1, dst: h2, arrivals: {poisson: 200/s}, start: 500ms, stop: 2s}]\n"
    from_file = loads_scenario(NET + text).flows[0]
    from_python = netlab.FlowSpec("f", "h1", "h2", arrivals=netlab.Poisson(rate="200/s"), start="500ms", stop="2s")
    assert from_python == from_file


def test_keywords_that_are_python_keywords_work_through_a_mapping() -> None:
    from netlab.mail.config import ScriptedMessage

    m = ScriptedMessage(**{"at": "5min", "from": "ann", "to": ("bob@b.example",), "body_size": "4KB"})
    assert m == ScriptedMessage(at_s=300.0, sender="ann", to=("bob@b.example",), body_bytes=4000)


def test_a_key_and_a_positional_argument_for_the_same_option_are_refused() -> None:
    with pytest.raises(TypeError, match=r"FaultSpec\(\) got 'at' and a positional argument for 'at_s'"):
        netlab.FaultSpec(10.0, "down", node="x", at="5s")


@pytest.mark.parametrize(("make", "message"), [
    (lambda: netlab.FlowSpec("f", "a", "b", stop="30x"), r"FlowSpec\(\): stop: expected a time like '2ms', got '30x'"),
    (lambda: netlab.LinkSpec("a", "b", rate="fast"), r"LinkSpec\(\): rate: expected a rate like '10Mbps', got 'fast'"),
    (lambda: netlab.Poisson(rate="10Mbps"), r"Poisson\(\): rate: expected a packet rate like '200/s'"),
])  # fmt: skip
def test_a_bad_value_under_a_key_names_the_key_and_what_was_expected(make: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()


def test_the_python_names_and_signature_are_unchanged() -> None:
    import dataclasses
    import inspect
    import pickle

    spec = netlab.FlowSpec("f", "a", "b", stop="1s")
    assert list(inspect.signature(netlab.FlowSpec).parameters)[:3] == ["name", "src", "dst"]
    assert "stop_s" in inspect.signature(netlab.FlowSpec).parameters
    assert dataclasses.replace(spec, stop_s=2.0).stop_s == 2.0
    assert pickle.loads(pickle.dumps(spec)) == spec
    with pytest.raises(TypeError, match="unexpected keyword argument 'stopp'"):
        netlab.FlowSpec("f", "a", "b", stopp=1)  # type: ignore[call-arg]


@pytest.mark.parametrize(("make", "message"), [
    (lambda: netlab.FlowSpec("f", "a", "b", stop_s="30s"),
     r"FlowSpec\(\): stop_s takes a number \(s\), got '30s'; the scenario-file key reads the string: stop='30s'"),
    (lambda: netlab.LinkSpec("a", "b", "10Mbps"),  # positional: the third field is rate_bps
     r"LinkSpec\(\): rate_bps takes a number \(bit/s\), got '10Mbps'; .* rate='10Mbps'"),
    # a class whose own checks did not look at the type: OspfCost kept the string
    (lambda: netlab.OspfCost(reference_bps="1Gbps"),
     r"OspfCost\(\): reference_bps takes a number \(bit/s\), got '1Gbps'; .* reference_bandwidth='1Gbps'"),
])  # fmt: skip
def test_a_file_value_under_the_python_name_points_at_the_key(make: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        make()
