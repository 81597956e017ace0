"""Reading a scenario from parsed YAML data: the top-level keys, the shorthands the generic field reader does
not know (a bare strategy name, ``topology: {file|generator}``), and the cross-checks that need the whole file
(unknown nodes in flows and faults, duplicate flow names, explicit paths that are not paths of the topology).

>>> s = scenario_from_data({"nodes": ["a", "b"], "links": [["a", "b"]], "routing": "ospf"}, where="x.yaml")
>>> type(s.routing).__name__, s.name
('OspfCost', 'scenario')
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from netlab.errors import ConfigError, TopologyError
from netlab.experiment.registry import ROUTING, did_you_mean
from netlab.experiment.scenario import RunSpec, Scenario
from netlab.experiment.scenario_topology import (
    _known_node,
    _link_defaults,
    _nodes_and_links,
    _topology_section,
)
from netlab.experiment.spec_fields import fields_by_key
from netlab.experiment.spec_reading import Ctx, _each, build, convert
from netlab.experiment.yaml_dialect import _Map
from netlab.network.faults import FaultSpec
from netlab.routing.base import RoutingStrategy
from netlab.routing.static import ExplicitPaths
from netlab.topology.spec import Topology
from netlab.workload.spec import FlowSpec

__all__ = ["TOP_LEVEL_KEYS", "scenario_from_data"]

#: Top-level keys of a scenario file -> (default, description). The reference page prints these.
TOP_LEVEL_KEYS: dict[str, tuple[str, str]] = {
    "name": ("the file name", "scenario name (used in results metadata)"),
    "seed": ("`1`", "root seed; every random stream is derived from it"),
    "defaults": ("", "`{link: {...}}`: values for every link (any link key except a, b)"),
    "nodes": ("", "list of nodes: a mapping, or a bare name for a router"),
    "links": ("", "list of links: a mapping, or `[a, b]` for a link with the defaults"),
    "topology": ("", "instead of nodes/links: `{file: ...}` or `{generator: kind, ...}`"),
    "flows": ("`[]`", "list of background packet flows"),
    "routing": ("`shortest_hops`", "routing strategy: a name, or `{strategy: name, param: value}`"),
    "faults": ("`[]`", "list of scheduled link or node faults"),
    "run": ("", "when the run stops and what it records"),
    "mail": ("none", "the mail system: domains, servers, users, DNS, queue, workload (see Mail below)"),
}


def scenario_from_data(
    data: Any, *, where: str, source: str | None = None, base: Path | None = None, default_name: str = "scenario"
) -> Scenario:
    """Build a :class:`Scenario` from parsed YAML *data*; errors are prefixed with *where* (a file name).

    Also accepts spec objects in place of mappings (a ``RunSpec``, ``FlowSpec``, a strategy, a ``Topology``),
    which is how :meth:`Scenario.override` passes Python values through the same checks.
    """
    root = Ctx(where, base=base or Path())
    if not isinstance(data, dict):
        raise root.error(f"expected a mapping with keys {', '.join(TOP_LEVEL_KEYS)}, got {data!r:.60}")
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise root.key(key, data).error("unknown key" + did_you_mean(key, TOP_LEVEL_KEYS))
    if "topology" in data and ("nodes" in data or "links" in data):
        raise root.key("topology", data).error("give either topology (a file or a generator) or nodes and links")
    defaults = _link_defaults(data.get("defaults"), root.key("defaults", data))
    if "topology" in data:
        topology = _topology_section(data["topology"], root.key("topology", data), defaults)
    else:
        topology = _nodes_and_links(data, root, defaults)
    names = [n.name for n in topology.nodes]
    flows = tuple(_each(data, "flows", root, lambda item, c: _flow(item, c, names)))
    routing = _routing(data.get("routing"), root.key("routing", data))
    faults = tuple(_each(data, "faults", root, lambda item, c: _fault(item, c, topology)))
    run = build(RunSpec, data.get("run") or {}, root.key("run", data))
    seed = convert(data.get("seed", 1), int, None, root.key("seed", data))
    name = convert(data.get("name", default_name), str, None, root.key("name", data))
    _check_flow_names(data, root, flows)
    _check_paths(data, root, topology, flows, routing)
    mail = None
    if data.get("mail") is not None:
        from netlab.mail.config import MailSpec

        mail = build(MailSpec, data["mail"], root.key("mail", data))
    try:  # without source, so that its messages do not name the file twice
        scenario = Scenario(topology, flows, routing, faults, run, seed, name, mail)
    except ConfigError as exc:
        raise _at_path(root, data, str(exc), type(exc)) from None
    return dataclasses.replace(scenario, source=source)


_PATH_PREFIX = re.compile(r"^((?:mail|flows|faults|run)(?:\.[A-Za-z_]+|\[\d+\])*): (.*)$", re.DOTALL)


def _at_path(root: Ctx, data: Any, message: str, cls: type[ConfigError]) -> ConfigError:
    """A validation error whose message starts with a key path (``mail.users[2].address: ...``), located at
    that key's line in the file."""
    m = _PATH_PREFIX.match(message)
    if m is None:
        return root.error(message, cls)
    ctx, node, note = root, data, ""
    for part in re.findall(r"[A-Za-z_]+|\[\d+\]", m.group(1)):
        if part.startswith("["):
            i = int(part[1:-1])
            if isinstance(node, list) and i < len(node):
                ctx, node = ctx.at(i, node), node[i]
                continue
            line = ctx.line
            if isinstance(node, Mapping) and "file" in node:  # a list read from a CSV file: say which row
                line = getattr(node, "lines", {}).get("file", line)
                note = f" (data row {i + 1} of {node['file']})"
            ctx, node = dataclasses.replace(ctx, path=f"{ctx.path}{part}", line=line), None
        else:
            if not isinstance(node, Mapping) or part not in node:
                ctx = dataclasses.replace(ctx, path=f"{ctx.path}.{part}" if ctx.path else part)
                node = None
                continue
            ctx, node = ctx.key(part, node), node[part]
    return ctx.error(m.group(2) + note, cls)


def _flow(item: Any, ctx: Ctx, names: list[str]) -> FlowSpec:
    flow = build(FlowSpec, item, ctx)
    for end in ("src", "dst"):
        _known_node(getattr(flow, end), names, ctx.key(end, item))
    return flow


def _fault(item: Any, ctx: Ctx, topology: Topology) -> FaultSpec:
    fault = build(FaultSpec, item, ctx)
    if fault.node is not None:
        _known_node(fault.node, [n.name for n in topology.nodes], ctx.key("node", item))
    pairs = {(u, v) for u, v, _ in topology.directed_links()}
    if fault.link is not None and tuple(fault.link) not in pairs:
        raise ctx.key("link", item).error(f"no link {fault.link[0]} -> {fault.link[1]} in the topology", TopologyError)
    return fault


def _routing(value: Any, ctx: Ctx) -> RoutingStrategy:
    """A strategy name, ``{strategy: name, param: value, ...}``, or (from Python) a strategy object."""
    if value is None:
        value = "shortest_hops"
    if isinstance(value, str):
        value = {"strategy": value}
    if not isinstance(value, dict):
        if isinstance(value, RoutingStrategy):
            return value
        raise ctx.error(f"expected a strategy name or {{strategy: name, ...}}, got {value!r:.60}")
    if "strategy" not in value:
        raise ctx.error(f"missing required key 'strategy' (one of {', '.join(ROUTING)})")
    name, sctx = value["strategy"], ctx.key("strategy", value)
    if not isinstance(name, str) or name not in ROUTING:
        raise sctx.error(f"unknown routing strategy {name!r}" + did_you_mean(name, ROUTING))
    params = _Map({k: v for k, v in value.items() if k != "strategy"})
    params.lines = getattr(value, "lines", {})  # keep the line marks of a parsed mapping
    accepted = fields_by_key(ROUTING[name])
    for key in params:
        if key not in accepted:
            hint = did_you_mean(key, accepted)
            raise ctx.key(key, value).error(f"not a parameter of strategy {name!r}{hint}")
    strategy: RoutingStrategy = build(ROUTING[name], params, ctx)
    return strategy


def _check_flow_names(data: Mapping[str, Any], root: Ctx, flows: tuple[FlowSpec, ...]) -> None:
    seen: set[str] = set()
    for i, flow in enumerate(flows):
        if flow.name in seen:
            raise root.key("flows", data).at(i, data["flows"]).error(f"duplicate flow name {flow.name!r}")
        seen.add(flow.name)


def _check_paths(
    data: Mapping[str, Any], root: Ctx, topology: Topology, flows: tuple[FlowSpec, ...], routing: RoutingStrategy
) -> None:
    """Explicit paths must be paths of the topology; checked here to point at the line (attach checks again)."""
    pairs = {(u, v) for u, v, _ in topology.directed_links()}
    by_name = {f.name: f for f in flows}
    todo: list[tuple[Ctx, str, tuple[str, ...]]] = []
    for i, flow in enumerate(flows):
        if flow.path is not None:
            fctx = root.key("flows", data).at(i, data["flows"])
            todo.append((fctx.key("path", data["flows"][i]), flow.name, flow.path))
    if isinstance(routing, ExplicitPaths):
        rctx, raw = root.key("routing", data), data.get("routing")
        raw_paths = raw.get("paths") if isinstance(raw, dict) else None
        pctx = rctx.key("paths", raw)
        for flow_name, path in routing.paths.items():
            c = pctx.key(flow_name, raw_paths)
            if flow_name not in by_name:
                raise c.error(f"no flow named {flow_name!r}" + did_you_mean(flow_name, by_name))
            todo.append((c, flow_name, path))
    for ctx, flow_name, path in todo:
        flow = by_name[flow_name]
        if len(path) < 2 or (path[0], path[-1]) != (flow.src, flow.dst):
            raise ctx.error(f"expected a node path from {flow.src} to {flow.dst}, got {list(path)}", TopologyError)
        for u, v in zip(path, path[1:], strict=False):
            if (u, v) not in pairs:
                route = " -> ".join(path)
                raise ctx.error(f"{u} -> {v} is not a link of the topology (path {route})", TopologyError)
