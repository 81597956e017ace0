"""Change parts of a scenario by dotted key, as on the command line (``netlab run x.yaml -s run.until=10s``).

The scenario is written out as its full data tree (every key present, plain numbers in base units), the
assignments edit that tree, and the tree is read back by the same code that reads scenario files, so an
override is checked exactly like the file it replaces a value of.

Keys: ``seed``, ``run.until``, ``routing.strategy``, ``links[0].rate`` or ``links.0.rate``, and list items
that have a name by that name: ``flows.f1.arrivals.poisson``, ``nodes.r1.forwarding_delay``. Values are YAML
scalars (``10s``, ``300/s``, ``null``, ``{constant: 100/s}``); ``mail.send={file: day.csv}`` replaces a list by
one read from a file (relative to the current directory).

>>> from netlab.scenario.files import loads_scenario
>>> s = loads_scenario("nodes: [a, b]\\nlinks: [[a, b]]\\nrouting: {strategy: shortest_hops, detection_delay: 50ms}")
>>> t = apply_overrides(s, ["routing.strategy=ospf", "links[0].rate=5Mbps"], {"seed": 3})
>>> t.routing, t.topology.links[0].rate_bps, t.seed
(OspfCost(detection_delay_s=0.05, reference_bps=100000000.0), 5000000.0, 3)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from netlab.errors import ConfigError
from netlab.scenario.dialect import Loader
from netlab.scenario.document import scenario_from_data, scenario_to_data
from netlab.scenario.fields import fields_by_key
from netlab.scenario.model import Scenario
from netlab.scenario.registry import ARRIVALS, ROUTING, SIZES, did_you_mean

__all__ = ["apply_overrides", "parse_key"]

_SEGMENT = re.compile(r"\[([^\[\]]*)\]|([^.\[\]]+)")
# Every parameter any strategy takes: ``routing.reference_bandwidth=1Gbps`` may come before ``routing.strategy=ospf``.
_ROUTING_KEYS = {key for cls in ROUTING.values() for key in fields_by_key(cls)} | {"strategy"}


def parse_key(key: str) -> list[str | int]:
    """``"links[0].rate"`` or ``"links.0.rate"`` -> ``["links", 0, "rate"]``.

    >>> parse_key("flows.f1.arrivals.poisson")
    ['flows', 'f1', 'arrivals', 'poisson']
    """
    text = key.strip()
    segments: list[str | int] = []
    pos = 0
    for m in _SEGMENT.finditer(text):
        if text[pos : m.start()] not in ("", ".") or (m.group(2) is not None and pos and text[pos] != "."):
            break
        seg = (m.group(1) if m.group(1) is not None else m.group(2)).strip()
        segments.append(int(seg) if seg.isdigit() else seg)
        pos = m.end()
    if not segments or pos != len(text) or "" in segments or text.startswith("."):
        raise ConfigError(f"override {key!r}: expected a dotted key like 'run.until' or 'links[0].rate'")
    return segments


def apply_overrides(scenario: Scenario, assignments: Sequence[str], values: Mapping[str, Any]) -> Scenario:
    """A copy of *scenario* with *assignments* (``"key=value"`` strings, applied in order) and then *values*
    (``{"seed": 2, "run": {"until": "10s"}}``) replaced. A mapping value merges into a section key by key.

    Changing ``routing.strategy`` keeps the parameters the new strategy also takes (``detection_delay``) and
    drops the others, unless they were set in the same call.

    Raises
    ------
    ConfigError
        For an unknown key (with a did-you-mean), a malformed assignment, or a value the file format refuses.
    """
    tree = scenario_to_data(scenario, compact=False)
    edit = _Edit(tree)
    for text in assignments:
        key, sep, raw = text.partition("=")
        if not sep:
            raise ConfigError(f"override {text!r}: expected KEY=VALUE, e.g. run.until=10s")
        try:
            value = yaml.load(raw, Loader=Loader)
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {text!r}: the value is not valid YAML ({exc})") from None
        edit.merge(parse_key(key), _plain(value), text)
    for key, value in values.items():
        edit.merge([key], value, f"{key}={value!r}")
    edit.finish()
    where = f"{scenario.source or 'scenario'} (overridden)"
    # A file an override names ({file: day.csv}) is read relative to the current directory, as typed on a command
    # line; the scenario's own files were read when it was loaded and are inline in the tree by now.
    return scenario_from_data(tree, where=where, source=scenario.source, base=Path())


class _Edit:
    """Assignments into the full data tree of a scenario, checking each key exists on the way."""

    def __init__(self, tree: dict[str, Any]) -> None:
        self.tree = tree
        self.strategy_before = _strategy(tree.get("routing"))
        self.routing_set: set[str] = set()  # routing keys the caller set: never dropped by finish()

    def merge(self, path: list[str | int], value: Any, label: str) -> None:
        """Assign *value* at *path*; a mapping merges key by key into a section that is a mapping."""
        if path == ["topology"]:  # a Topology object replaces the nodes and links
            self.tree.pop("nodes", None)
            self.tree.pop("links", None)
        if path == ["routing"] and isinstance(value, str):
            path = ["routing", "strategy"]  # a bare name changes the strategy and keeps its parameters
        if path[:2] == ["routing", "strategy"] and not isinstance(self.tree.get("routing"), dict):
            self.tree["routing"] = {}  # a user-defined strategy object gives way to a named one
        parent, last = self._walk(path, label)
        target = parent[last] if isinstance(parent, list) else parent.get(last)
        if isinstance(value, Mapping) and set(value) == {"file"} and isinstance(target, list):
            parent[last] = value  # a list read from a file (mail.send={file: day.csv}) replaces the list
            return
        if isinstance(value, Mapping) and (
            isinstance(target, list) or (isinstance(target, dict) and not _switches_kind(target, value))
        ):  # {"run": {"until": "10s"}} or {"links": {0: {"rate": ...}}} edits in place
            for key, sub in value.items():
                self.merge([*path, key], sub, label)
            return
        if isinstance(parent, dict) and _switches_kind(parent, {last: value}):
            parent.clear()  # {poisson: ...} -> {constant: ...}: a flow has one arrival process
        if path[0] == "routing" and len(path) > 1:
            self.routing_set.add(str(path[1]))
        parent[last] = value

    def finish(self) -> None:
        """After a strategy change, drop the old strategy's parameters that the new one does not take."""
        routing = self.tree.get("routing")
        new = _strategy(routing)
        if isinstance(routing, dict) and new != self.strategy_before and new in ROUTING:
            keep = set(fields_by_key(ROUTING[new])) | {"strategy"} | self.routing_set
            for key in [k for k in routing if k not in keep]:
                del routing[key]

    def _walk(self, path: list[str | int], label: str) -> tuple[Any, str | int]:
        """The container holding the last segment of *path*, and that segment (an index for lists)."""
        node: Any = self.tree
        for depth, seg in enumerate(path):
            where = _render(path[: depth + 1])
            last = depth == len(path) - 1
            if isinstance(node, list):
                seg = _index(node, seg, where, label)
            elif isinstance(node, dict):
                if seg not in node and not (last and _may_add(path, node, seg)):
                    raise ConfigError(f"override {label!r}: {where}: unknown key" + did_you_mean(seg, map(str, node)))
            else:
                raise ConfigError(f"override {label!r}: {_render(path[:depth])} has no keys (it is {node!r:.40})")
            if last:
                return node, seg
            node = node[seg]
        raise AssertionError("unreachable")  # pragma: no cover - path is never empty


def _may_add(path: list[str | int], node: dict[str, Any], seg: str | int) -> bool:
    """Keys absent from the tree that may still be set: any strategy's parameter, a new kind, a topology."""
    if path[0] == "routing" and len(path) == 2:
        return seg in _ROUTING_KEYS
    if path[:2] == ["routing", "paths"] and len(path) == 3:
        return True  # a path for one more flow
    return path == ["topology"] or _switches_kind(node, {seg: None})


def _plain(value: Any) -> Any:
    """Parsed YAML without its line marks: an override's line 1 is no line of the scenario file."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _strategy(routing: Any) -> Any:
    return routing.get("strategy") if isinstance(routing, dict) else routing


def _switches_kind(target: Mapping[Any, Any], value: Mapping[Any, Any]) -> bool:
    """True when *target* is ``{kind: ...}`` of arrivals or sizes and *value* names another kind of the same."""
    if len(target) != 1 or len(value) != 1:
        return False
    (old,), (new,) = list(target), list(value)
    return old != new and any(old in k.classes and new in k.classes for k in (ARRIVALS, SIZES))


def _index(items: list[Any], seg: str | int, where: str, label: str) -> int:
    """A list index, or the index of the item whose ``name`` is *seg* (flows, nodes)."""
    if isinstance(seg, int):
        if not 0 <= seg < len(items):
            raise ConfigError(f"override {label!r}: {where}: index out of range (the list has {len(items)} items)")
        return seg
    names = [item.get("name") for item in items if isinstance(item, dict)]
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == seg:
            return i
    raise ConfigError(f"override {label!r}: {where}: no item named {seg!r}" + did_you_mean(seg, map(str, names)))


def _render(path: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path))
