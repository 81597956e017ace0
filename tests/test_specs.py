"""The spec dataclasses as values: required fields are required, choices are enums that read and write as strings."""

from __future__ import annotations

import dataclasses
import re
import typing

import pytest

import netlab
from netlab.errors import ConfigError, TopologyError
from netlab.mail.config import (
    DomainSpec,
    FetchSpec,
    MailSpec,
    MailWorkloadSpec,
    QueueSpec,
    RecordSpec,
    ScriptedMessage,
    ServerSpec,
    UserSpec,
)
from netlab.network.faults import FaultAction, FaultSpec
from netlab.scenario.fields import allows_none, is_required, type_hints
from netlab.scenario.files import dump_scenario, loads_scenario
from netlab.scenario.model import RunSpec, Scenario
from netlab.scenario.reference import SECTIONS
from netlab.scenario.registry import ARRIVALS, ROUTING, SIZES
from netlab.topology.spec import LinkSpec, NodeSpec, Role, Topology
from netlab.workload.spec import Constant, EmpiricalSize, ExponentialSize, FixedSize, FlowSpec, OnOff, Poisson, Trace

REQUIRED = [
    (NodeSpec, ["name"]),
    (LinkSpec, ["a", "b"]),
    (FlowSpec, ["name", "src", "dst"]),
    (FaultSpec, ["at_s"]),
    (Poisson, ["rate_pps"]),
    (Constant, ["rate_pps"]),
    (OnOff, ["rate_pps"]),
    (Trace, ["times_s"]),
    (EmpiricalSize, ["values_bytes"]),
    (MailSpec, ["dns_server"]),
    (DomainSpec, ["name"]),
    (ServerSpec, ["host"]),
    (UserSpec, ["address"]),
    (RecordSpec, ["name"]),
    (ScriptedMessage, ["sender"]),
    (Topology, ["nodes", "links"]),
    (Scenario, ["topology"]),
]
OPTIONAL = [RunSpec, QueueSpec, FetchSpec, MailWorkloadSpec, FixedSize, ExponentialSize, *ROUTING.values()]
#: Every spec class the scenario format reads.
SPECS = sorted({cls for *_, classes in SECTIONS for cls in classes} | {c for k in (ARRIVALS, SIZES)
               for c in k.classes.values()} | set(ROUTING.values()), key=lambda c: c.__name__)  # fmt: skip


@pytest.mark.parametrize(("cls", "names"), REQUIRED, ids=[c.__name__ for c, _ in REQUIRED])
def test_a_spec_without_its_required_values_is_refused(cls: type, names: list[str]) -> None:
    with pytest.raises(TypeError, match=rf"missing {len(names)} required .*argument.*'{re.escape(names[-1])}'"):
        cls()
    if cls is not Scenario:  # Scenario's fields carry no scenario-file metadata; the rest tell the codec
        assert [f.name for f in dataclasses.fields(cls) if is_required(cls, f)] == names


@pytest.mark.parametrize("cls", OPTIONAL, ids=lambda c: c.__name__)
def test_a_spec_without_required_values_has_all_its_defaults(cls: type) -> None:
    obj = cls()
    assert not [f.name for f in dataclasses.fields(cls) if is_required(cls, f)]
    assert obj == cls(**{f.name: getattr(obj, f.name) for f in dataclasses.fields(cls)})


@pytest.mark.parametrize("cls", SPECS, ids=lambda c: c.__name__)
def test_none_is_a_default_only_where_the_type_admits_it(cls: type) -> None:
    """Required-ness is said by the missing default, never guessed from a None default on a non-None type."""
    hints = type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.default is None:
            assert allows_none(hints[f.name]), f"{cls.__name__}.{f.name}: None default on {hints[f.name]}"


def test_a_topology_needs_a_link() -> None:
    with pytest.raises(TopologyError, match=r"^a topology needs at least one link; 2 node\(s\) and no links"):
        Topology((NodeSpec("a", "host"), NodeSpec("b", "host")), ())
    with pytest.raises(TopologyError, match=r"^<string>: a topology needs at least one link"):
        loads_scenario("nodes: [a, b]\n")
    assert len(Topology((NodeSpec("a", "host"), NodeSpec("b", "host")), (LinkSpec("a", "b"),)).links) == 1


def test_a_scripted_message_names_its_sender_by_keyword() -> None:
    """``sender`` is required but follows ``at_s`` (the file's order: at, from, to), so it is keyword-only."""
    m = ScriptedMessage(5.0, sender="a@b.test", to=("c@d.test",))
    assert (m.at_s, m.sender) == (5.0, "a@b.test")
    assert [f.name for f in dataclasses.fields(ScriptedMessage)][:3] == ["at_s", "sender", "to"]


@pytest.mark.parametrize(("make", "member", "text"), [
    (lambda: NodeSpec("a", "host").role, Role.HOST, "host"),
    (lambda: NodeSpec("a").role, Role.ROUTER, "router"),
    (lambda: FaultSpec(1.0, "up", node="a").action, FaultAction.UP, "up"),
    (lambda: FaultSpec(1.0, node="a").action, FaultAction.DOWN, "down"),
])  # fmt: skip
def test_choices_are_enums_equal_to_their_strings(make: typing.Callable[[], object], member: object, text: str) -> None:
    value = make()
    assert value is member and value == text and f"{value}" == text and {text: 1}[value] == 1  # type: ignore[index]


def test_reprs_read_as_before() -> None:
    assert (
        repr(NodeSpec("a", "host"))
        == "NodeSpec(name='a', role='host', ip=None, forwarding_delay_s=0.0, x=None, y=None)"
    )
    assert (
        repr(FaultSpec(10.0, "down", link=("r1", "r2")))
        == "FaultSpec(at_s=10.0, action='down', link=('r1', 'r2'), node=None)"
    )


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: NodeSpec("a", "switch"), TopologyError, r"^node 'a': role must be one of host, router, got 'switch'$"),
    (lambda: NodeSpec("a", "hots"), TopologyError, r"got 'hots'; did you mean 'host'\?$"),
    (lambda: FaultSpec(1.0, "sideways", node="a"), ConfigError,
     r"^fault at 1\.0 s: action must be one of down, up, got 'sideways'$"),
    (lambda: loads_scenario("nodes: [{name: a, role: switch}, b]\nlinks: [[a, b]]\n"), ConfigError,
     r"^<string>:1: nodes\[0\]\.role: expected one of host, router, got 'switch'$"),
    (lambda: loads_scenario("nodes: [a, b]\nlinks: [[a, b]]\nfaults: [{at: 1s, node: a, action: off}]\n"), ConfigError,
     r"^<string>:3: faults\[0\]\.action: expected one of down, up, got 'off'$"),
])  # fmt: skip
def test_a_choice_outside_the_enum_is_refused(make: typing.Callable[[], object], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        make()


def test_choices_read_and_write_as_the_file_has_them() -> None:
    text = "nodes:\n- {name: a, role: host}\n- b\nlinks:\n- [a, b]\nfaults:\n- {at: 1s, action: up, node: b}\n"
    s = loads_scenario(text)
    assert s.topology.node("a").role is Role.HOST and s.faults[0].action is FaultAction.UP
    out = dump_scenario(s)
    assert "{name: a, role: host}" in out and "action: up" in out and "Role" not in out and "!!" not in out
    assert loads_scenario(out) == s
    assert netlab.run(Scenario(s.topology, run=RunSpec(until_s=2.0))).summary is not None
