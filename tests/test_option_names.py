"""One option, two spellings: a scenario file may carry the Python name of a key (``stop_s`` for ``stop``,
``until_s`` for ``until``); it means the same and warns (DeprecationWarning) pointing at the file's key."""

from __future__ import annotations

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
