"""A scenario file as a whole: its top-level keys, the ``nodes``/``links``/``topology`` sections, the shorthands
the generic field reader (:mod:`netlab.scenario.decode`) does not know (a bare strategy name, ``[a, b]`` for a link,
``defaults.link``), the cross-checks that need the whole file (unknown nodes in flows and faults, duplicate names,
explicit paths that are not paths of the topology), and the way back: a :class:`Scenario` as YAML-ready data.

>>> s = scenario_from_data({"nodes": ["a", "b"], "links": [["a", "b"]], "routing": "ospf"}, where="x.yaml")
>>> type(s.routing).__name__, s.name
('OspfCost', 'scenario')
>>> scenario_to_data(s)
{'name': 'scenario', 'seed': 1, 'nodes': ['a', 'b'], 'links': [['a', 'b']], 'routing': 'ospf'}
>>> t = _nodes_and_links({"nodes": ["a", "b"], "links": [["a", "b"]]}, Ctx("x.yaml"), {"rate_bps": 1e6})
>>> [(n.name, n.role) for n in t.nodes], t.links[0].rate_bps
([('a', 'router'), ('b', 'router')], 1000000.0)
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from netlab.errors import ConfigError, TopologyError
from netlab.network.faults import FaultSpec
from netlab.options import did_you_mean
from netlab.routing.base import RoutingStrategy
from netlab.routing.static import ExplicitPaths
from netlab.scenario.decode import Ctx, build, convert, instance, read_list
from netlab.scenario.dialect import FlowMap, FlowSeq, LineMap
from netlab.scenario.encode import dump_fields, ref_text
from netlab.scenario.fields import field_unit, fields_by_key, type_hints
from netlab.scenario.model import RunSpec, Scenario
from netlab.scenario.registry import ROUTING, ROUTING_KIND, named_class, split_call
from netlab.topology.spec import LinkSpec, NodeSpec, Role, Topology
from netlab.transport.config import TcpConfig
from netlab.workload.spec import FlowSpec

__all__ = [
    "TOPOLOGY_KEYS",
    "TOP_LEVEL_KEYS",
    "check_paths",
    "locate",
    "scenario_from_data",
    "scenario_to_data",
    "topology_section",
]

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
    "transport": ("", "TCP of the mail system's connections: congestion control, windows, delayed ACKs"),
}


def scenario_from_data(
    data: Any, *, where: str, source: str | None = None, base: Path | None = None, default_name: str = "scenario"
) -> Scenario:
    """Build a :class:`Scenario` from parsed YAML *data*; errors are prefixed with *where* (a file name).

    Spec objects may stand in place of mappings (a ``RunSpec``, ``FlowSpec``, a strategy, a ``Topology``).
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
        topology = topology_section(data["topology"], root.key("topology", data), defaults)
    else:
        topology = _nodes_and_links(data, root, defaults)
    names = [n.name for n in topology.nodes]
    flows = tuple(read_list(data, "flows", root, lambda item, c: _flow(item, c, names)))
    routing = _routing(data.get("routing"), root.key("routing", data))
    faults = tuple(read_list(data, "faults", root, lambda item, c: _fault(item, c, topology)))
    run = build(RunSpec, data.get("run") or {}, root.key("run", data))
    seed = convert(data.get("seed", 1), int, None, root.key("seed", data))
    name = convert(data.get("name", default_name), str, None, root.key("name", data))
    _check_flow_names(data, root, flows)
    check_paths(topology, flows, routing, lambda keys: locate(root, data, keys))
    mail = None
    if data.get("mail") is not None:
        from netlab.mail.config import MailSpec

        mail = build(MailSpec, data["mail"], root.key("mail", data))
    transport = build(TcpConfig, data.get("transport") or {}, root.key("transport", data))
    try:  # without source, so that its messages do not name the file twice
        scenario = Scenario(topology, flows, routing, faults, run, seed, name, mail, transport=transport)
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
    flow: FlowSpec = build(FlowSpec, item, ctx)
    for end in ("src", "dst"):
        _known_node(getattr(flow, end), names, ctx.key(end, item))
    return flow


def _fault(item: Any, ctx: Ctx, topology: Topology) -> FaultSpec:
    fault: FaultSpec = build(FaultSpec, item, ctx)
    if fault.node is not None:
        _known_node(fault.node, [n.name for n in topology.nodes], ctx.key("node", item))
    pairs = {(u, v) for u, v, _ in topology.directed_links()}
    if fault.link is not None and tuple(fault.link) not in pairs:
        raise ctx.key("link", item).error(f"no link {fault.link[0]} -> {fault.link[1]} in the topology", TopologyError)
    return fault


def _routing(value: Any, ctx: Ctx) -> RoutingStrategy:
    """A strategy name (``ospf``, ``ecmp(weight=delay)``, ``mypkg.routing:Mine(k=2)``), ``{strategy: name,
    param: value, ...}``, or (from Python) a strategy object."""
    if value is None:
        value = "shortest_hops"
    if isinstance(value, str):
        try:
            name, params = split_call(value)
        except ConfigError as exc:
            raise ctx.error(str(exc)) from None
        value = {"strategy": name, **params}
    if not isinstance(value, dict):
        if isinstance(value, RoutingStrategy):
            return value
        raise ctx.error(f"expected a strategy name or {{strategy: name, ...}}, got {value!r:.60}")
    if "strategy" not in value:
        raise ctx.error(f"missing required key 'strategy' (one of {', '.join(ROUTING)})")
    name, sctx = value["strategy"], ctx.key("strategy", value)
    try:
        cls = named_class(name, ROUTING, ROUTING_KIND)
    except ConfigError as exc:
        raise sctx.error(str(exc)) from None
    params = LineMap({k: v for k, v in value.items() if k != "strategy"})
    params.lines = getattr(value, "lines", {})  # keep the line marks of a parsed mapping
    accepted = fields_by_key(cls) if dataclasses.is_dataclass(cls) else {}
    for key in params:
        if accepted and key not in accepted:  # a class of the user's own that is no dataclass takes any
            hint = did_you_mean(key, accepted)
            raise ctx.key(key, value).error(f"not a parameter of strategy {name!r}{hint}")
    strategy: RoutingStrategy = instance(cls, params, ROUTING_KIND, ctx)
    return strategy


def _check_flow_names(data: Mapping[str, Any], root: Ctx, flows: tuple[FlowSpec, ...]) -> None:
    seen: set[str] = set()
    for i, flow in enumerate(flows):
        if flow.name in seen:
            raise root.key("flows", data).at(i, data["flows"]).error(f"duplicate flow name {flow.name!r}")
        seen.add(flow.name)


def locate(root: Ctx, data: Any, keys: tuple[str | int, ...]) -> Ctx:
    """The context of ``data[k0][k1]...`` below *root*, with the line of the deepest key the data marks (data
    without line marks, such as an override's, gives the path alone)."""
    ctx, node = root, data
    for k in keys:
        if isinstance(k, int):
            ctx = ctx.at(k, node)
            node = node[k] if isinstance(node, list) and k < len(node) else None
        else:
            ctx = ctx.key(k, node)
            node = node.get(k) if isinstance(node, Mapping) else None
    return ctx


def check_paths(
    topology: Topology,
    flows: tuple[FlowSpec, ...],
    routing: RoutingStrategy,
    at: Callable[[tuple[str | int, ...]], Ctx],
) -> None:
    """Explicit paths (``flows[i].path``, ``routing.paths``) must be paths of the topology from the flow's source
    to its destination; *at* gives the context of a key path for the error. Checked when a scenario is read or
    overridden, to point at the key (the strategy's attach checks again)."""
    pairs = {(u, v) for u, v, _ in topology.directed_links()}
    by_name = {f.name: f for f in flows}
    todo: list[tuple[Ctx, str, tuple[str, ...]]] = []
    for i, flow in enumerate(flows):
        if flow.path is not None:
            todo.append((at(("flows", i, "path")), flow.name, flow.path))
    if isinstance(routing, ExplicitPaths):
        for flow_name, path in routing.paths.items():
            c = at(("routing", "paths", flow_name))
            if flow_name not in by_name:
                raise c.error(f"no flow named {flow_name!r}" + did_you_mean(flow_name, by_name))
            todo.append((c, flow_name, path))
    for ctx, flow_name, path in todo:
        flow = by_name[flow_name]
        if len(path) < 2 or (path[0], path[-1]) != (flow.src, flow.dst):
            raise ctx.error(f"expected a node path from {flow.src} to {flow.dst}, got {list(path)}", TopologyError)
        for u, v in itertools.pairwise(path):
            if (u, v) not in pairs:
                route = " -> ".join(path)
                raise ctx.error(f"{u} -> {v} is not a link of the topology (path {route})", TopologyError)


# ------------------------------------------------------------------ the topology sections
#: Keys of the ``topology`` section -> description.
TOPOLOGY_KEYS: dict[str, str] = {
    "file": "a .graphml or .gml file (Topology Zoo attributes), relative to the scenario file",
    "generator": "a generator kind: line, ring, grid, dumbbell, fat_tree, waxman, barabasi_albert",
    "hosts": "with file: names of the nodes that are hosts; with a generator: its own parameter (none, all, "
    "ends or router names: a host is attached to each)",
    "(other keys)": "parameters of the generator, e.g. `rows: 3, cols: 3` for grid",
}
_LINK_ENDS = ("a", "b")


def _link_defaults(value: Any, ctx: Ctx) -> dict[str, Any]:
    """``defaults: {link: {...}}`` -> LinkSpec field name -> value."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ctx.error(f"expected a mapping like {{link: {{rate: 10Mbps}}}}, got {value!r:.60}")
    for key in value:
        if key != "link":
            raise ctx.key(key, value).error("unknown key" + did_you_mean(key, ["link"]))
    link = value.get("link") or {}
    lctx = ctx.key("link", value)
    if not isinstance(link, dict):
        raise lctx.error(f"expected a mapping of link keys, got {link!r:.60}")
    fields, hints, out = fields_by_key(LinkSpec), type_hints(LinkSpec), {}
    for key, raw in link.items():
        if key not in fields or key in _LINK_ENDS:
            choices = [k for k in fields if k not in _LINK_ENDS]
            raise lctx.key(key, link).error("unknown key" + did_you_mean(key, choices))
        f = fields[key]
        out[f.name] = convert(raw, hints[f.name], field_unit(f), lctx.key(key, link))
    return out


def _nodes_and_links(data: Mapping[str, Any], root: Ctx, defaults: dict[str, Any]) -> Topology:
    if "nodes" not in data:
        raise root.error("expected nodes and links (or a topology section), found neither")
    seen: dict[str, int] = {}

    def node(item: Any, ctx: Ctx) -> NodeSpec:
        spec: NodeSpec = build(NodeSpec, {"name": item} if isinstance(item, str) else item, ctx)
        if spec.name in seen:
            raise ctx.error(f"duplicate node {spec.name!r} (already nodes[{seen[spec.name]}])", TopologyError)
        seen[spec.name] = len(seen)
        return spec

    nodes = read_list(data, "nodes", root, node)
    pairs: set[tuple[str, str]] = set()

    def link(item: Any, ctx: Ctx) -> LinkSpec:
        if isinstance(item, list):
            if len(item) != 2:
                raise ctx.error(f"expected [a, b] or a mapping with keys a, b, rate, ..., got {item!r:.60}")
            item = dict(zip(_LINK_ENDS, item, strict=True))
        spec: LinkSpec = build(LinkSpec, item, ctx, defaults=defaults)
        for end in _LINK_ENDS:
            name = getattr(spec, end)
            _known_node(name, seen, ctx.key(end, item))
        if spec.a == spec.b:
            raise ctx.error(f"a link from {spec.a!r} to itself", TopologyError)
        for pair in [(spec.a, spec.b)] if spec.directed else [(spec.a, spec.b), (spec.b, spec.a)]:
            if pair in pairs:
                raise ctx.error(f"a second link {pair[0]} -> {pair[1]}", TopologyError)
            pairs.add(pair)
        return spec

    links = read_list(data, "links", root, link)
    try:
        return Topology(tuple(nodes), tuple(links))
    except ConfigError as exc:
        raise root.error(str(exc), type(exc)) from None


def topology_section(value: Any, ctx: Ctx, defaults: dict[str, Any]) -> Topology:
    """``topology: {file: x.graphml, hosts: [...]}`` or ``topology: {generator: grid, rows: 3, ...}``."""
    if isinstance(value, Topology):
        return value
    if not isinstance(value, dict) or ("file" in value) == ("generator" in value):
        raise ctx.error(f"expected a mapping with either 'file' or 'generator', got {value!r:.60}")
    hosts: tuple[str, ...] = ()
    if "file" in value:
        for key in value:
            if key not in ("file", "hosts"):
                raise ctx.key(key, value).error("unknown key" + did_you_mean(key, ["file", "hosts"]))
        hosts = convert(value.get("hosts", ()), tuple[str, ...], None, ctx.key("hosts", value))
        fctx = ctx.key("file", value)
        path = ctx.base / convert(value["file"], str, None, fctx)
        if not path.is_file():
            raise fctx.error(f"no such topology file {str(path)!r}")
    else:
        kind = convert(value["generator"], str, None, ctx.key("generator", value))
        # Everything else is the generator's: its own ``hosts`` attaches host leaves to routers.
        params = {str(k): v for k, v in value.items() if k != "generator"}
    try:
        if "file" in value:
            from netlab.topology.zoo import read_topology_file

            topology = read_topology_file(path, defaults=defaults or None)
        else:
            from netlab.topology.convert import topology_from_graph
            from netlab.topology.generators import generate

            topology = topology_from_graph(generate(kind, **params), defaults=defaults or None)
    except ConfigError as exc:
        raise ctx.error(str(exc), type(exc)) from None
    except (TypeError, ValueError, KeyError) as exc:
        raise ctx.error(f"cannot build the topology: {exc}") from None
    names = [n.name for n in topology.nodes]
    for i, host in enumerate(hosts):
        _known_node(host, names, ctx.key("hosts", value).at(i, value["hosts"]))
    nodes = tuple(dataclasses.replace(n, role=Role.HOST) if n.name in hosts else n for n in topology.nodes)
    return dataclasses.replace(topology, nodes=nodes)


def _known_node(name: str, names: Collection[str], ctx: Ctx) -> None:
    if name not in names:
        raise ctx.error(f"unknown node {name!r}" + did_you_mean(name, names), TopologyError)


# ------------------------------------------------------------------ writing
def scenario_to_data(scenario: Scenario) -> dict[str, Any]:
    """*scenario* as plain YAML-ready data that :func:`scenario_from_data` reads back into an equal scenario:
    defaults left out, unit strings, shorthands for nodes, links and strategies, and link values shared by every
    link moved into ``defaults.link``."""
    data: dict[str, Any] = {"name": scenario.name, "seed": scenario.seed}
    links = scenario.topology.links
    common: dict[str, Any] = {}
    if len(links) >= 2:
        for f in dataclasses.fields(LinkSpec):
            values = {getattr(link, f.name) for link in links}
            if f.name not in _LINK_ENDS and len(values) == 1 and values != {f.default}:
                common[f.name] = values.pop()
    if common:  # written like a link whose ends are left out
        body = dump_fields(LinkSpec("", "", **common), compact=True)
        data["defaults"] = {"link": FlowMap({k: v for k, v in body.items() if k not in _LINK_ENDS})}
    data["nodes"] = [_dump_node(n) for n in scenario.topology.nodes]
    data["links"] = []
    for link in links:
        body = dump_fields(link, compact=True, base=common)
        data["links"].append(FlowSeq([link.a, link.b]) if list(body) == ["a", "b"] else body)
    if scenario.flows:
        data["flows"] = [dump_fields(f, compact=True) for f in scenario.flows]
    data["routing"] = _dump_routing(scenario.routing)
    if scenario.faults:
        data["faults"] = [dump_fields(f, compact=True) for f in scenario.faults]
    run = dump_fields(scenario.run, compact=True)
    if run:
        data["run"] = run
    if scenario.mail is not None:
        data["mail"] = dict(dump_fields(scenario.mail, compact=True))  # block style: one key per line
    if scenario.transport != TcpConfig():
        data["transport"] = dict(dump_fields(scenario.transport, compact=True))
    return data


def _dump_node(node: NodeSpec) -> Any:
    body = dump_fields(node, compact=True)
    return node.name if list(body) == ["name"] else body


def _dump_routing(routing: RoutingStrategy) -> Any:
    names = [name for name, cls in ROUTING.items() if type(routing) is cls]
    if not names:  # a strategy of the user's own: module:Class(key=value, ...)
        return ref_text(routing, ROUTING_KIND)
    body = dump_fields(routing, compact=True)
    if not body:
        return names[0]
    return FlowMap({"strategy": names[0], **body})
