"""Scenario files: YAML in, :class:`Scenario` out, and back.

The format is documented in ``docs/scenario-reference.md`` (generated from the dataclass field metadata by
:mod:`netlab.experiment.reference`). Every key is read and written by the generic field codec of
:mod:`netlab.experiment.registry`, which walks :func:`dataclasses.fields`; this module adds only the shorthands
(a bare node name, a ``[a, b]`` link, ``defaults.link``, ``topology: {file|generator}``, a bare strategy name)
and the cross-checks that need the whole file (unknown nodes, duplicate names, paths that are not paths).

Every mistake raises :class:`ConfigError` (or a subclass) as ``FILE:LINE: KEY.PATH: what was expected, got
what``, the line taken from the YAML node marks.

>>> s = loads_scenario("nodes: [a, b]\\nlinks: [[a, b]]\\nrun: {until: 10s}")
>>> s.topology.links[0].rate_bps, s.run.until_s
(1000000000.0, 10.0)
>>> loads_scenario(dump_scenario(s)) == s
True
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import yaml

from netlab.errors import ConfigError, TopologyError
from netlab.experiment.registry import (
    ROUTING,
    Ctx,
    FlowMap,
    FlowSeq,
    build,
    convert,
    did_you_mean,
    dump_fields,
    field_unit,
    fields_by_key,
    type_hints,
)
from netlab.experiment.scenario import RunSpec, Scenario
from netlab.network.faults import FaultSpec
from netlab.routing.base import RoutingStrategy
from netlab.routing.static import ExplicitPaths
from netlab.topology.spec import ROLES, LinkSpec, NodeSpec, Topology
from netlab.workload.spec import FlowSpec

__all__ = [
    "TOPOLOGY_KEYS",
    "TOP_LEVEL_KEYS",
    "Dumper",
    "Loader",
    "dump_scenario",
    "load_scenario",
    "loads_scenario",
    "save_scenario",
    "scenario_from_data",
    "scenario_to_data",
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
}
#: Keys of the ``topology`` section -> description.
TOPOLOGY_KEYS: dict[str, str] = {
    "file": "a .graphml or .gml file (Topology Zoo attributes), relative to the scenario file",
    "generator": "a generator kind: line, ring, grid, dumbbell, fat_tree, waxman, barabasi_albert",
    "hosts": "with file: names of the nodes that are hosts; with a generator: its own parameter (none, all, "
    "ends or router names: a host is attached to each)",
    "(other keys)": "parameters of the generator, e.g. `rows: 3, cols: 3` for grid",
}
_LINK_ENDS = ("a", "b")


# -- YAML with line numbers -------------------------------------------------------------------------------------


class _Map(dict):  # type: ignore[type-arg]
    """A parsed mapping that remembers the line of each key (1-based)."""

    lines: dict[Any, int]


class _Seq(list):  # type: ignore[type-arg]
    """A parsed list that remembers the line of each item (1-based)."""

    lines: list[int]


class Loader(yaml.SafeLoader):
    """PyYAML's safe loader, building :class:`_Map`/:class:`_Seq` with line marks and refusing duplicate keys."""


class Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper, indenting block lists and writing FlowMap/FlowSeq on one line."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _construct_map(loader: Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    out = _Map()
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in out
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, "a key must be a scalar", key_node.start_mark) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _construct_seq(loader: Loader, node: yaml.SequenceNode) -> _Seq:
    out = _Seq(loader.construct_object(child, deep=True) for child in node.value)
    out.lines = [child.start_mark.line + 1 for child in node.value]
    return out


Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
# PyYAML follows YAML 1.1, where ``on``/``off``/``yes``/``no`` are booleans (``on_off: {on: 1s}`` would have a key
# True) and ``1e-3`` is a string. Read both as YAML 1.2 does, and write them so they read back the same.
_BOOL, _FLOAT = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:float"
_EXP_FLOAT = re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$")
for _cls in (Loader, Dumper):
    _cls.yaml_implicit_resolvers = {
        first: [(tag, regex) for tag, regex in resolvers if tag != _BOOL]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _cls.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
    _cls.add_implicit_resolver(_FLOAT, _EXP_FLOAT, list("-+0123456789."))
Dumper.add_representer(FlowMap, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))
Dumper.add_representer(FlowSeq, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))
Dumper.add_representer(_Map, yaml.SafeDumper.represent_dict)
Dumper.add_representer(_Seq, yaml.SafeDumper.represent_list)


def load_scenario(path: str | Path) -> Scenario:
    """Read the scenario file *path* (YAML). Relative file names inside it are relative to *path*.

    Raises
    ------
    ConfigError
        When the file is missing or unreadable, or anything in it is wrong (message ``FILE:LINE: KEY: ...``).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the scenario file ({exc})") from None
    return _load_text(text, str(path), p.parent, p.stem)


def loads_scenario(text: str, source: str = "<string>") -> Scenario:
    """Read a scenario from YAML *text*; *source* names it in error messages (files are relative to cwd)."""
    return _load_text(text, source, Path(), "scenario")


def dump_scenario(scenario: Scenario) -> str:
    """*scenario* as canonical YAML that :func:`loads_scenario` reads back into an equal scenario.

    Values equal to their defaults are left out, quantities are written with units (``'10Mbps'``, ``'2ms'``)
    when that is exact, and link values shared by every link move into ``defaults.link``.
    """
    text: str = yaml.dump(scenario_to_data(scenario), Dumper=Dumper, sort_keys=False, allow_unicode=True, width=110)
    return text


def save_scenario(scenario: Scenario, path: str | Path) -> None:
    """Write *scenario* to *path* as YAML (see :func:`dump_scenario`)."""
    Path(path).write_text(dump_scenario(scenario), encoding="utf-8")


def _load_text(text: str, where: str, base: Path, default_name: str) -> Scenario:
    try:
        data = yaml.load(text, Loader=Loader)  # noqa: S506 - Loader is a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where}{line}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: invalid YAML: {exc}") from None
    return scenario_from_data(data, where=where, source=where, base=base, default_name=default_name)


# -- reading ----------------------------------------------------------------------------------------------------


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
    ctx, node = root, data
    for part in re.findall(r"[A-Za-z_]+|\[\d+\]", m.group(1)):
        if part.startswith("["):
            i = int(part[1:-1])
            if not isinstance(node, list) or i >= len(node):
                break
            ctx, node = ctx.at(i, node), node[i]
        else:
            if not isinstance(node, Mapping) or part not in node:
                ctx = dataclasses.replace(ctx, path=f"{ctx.path}.{part}" if ctx.path else part)
                node = None
                continue
            ctx, node = ctx.key(part, node), node[part]
    return ctx.error(m.group(2), cls)


def _each(data: Mapping[str, Any], key: str, root: Ctx, read: Any) -> list[Any]:
    """Read the list ``data[key]`` item by item (missing or null: no items)."""
    items = data.get(key) or []
    ctx = root.key(key, data)
    if not isinstance(items, list | tuple):
        raise ctx.error(f"expected a list, got {items!r:.60}")
    return [read(item, ctx.at(i, items)) for i, item in enumerate(items)]


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
        spec = build(NodeSpec, {"name": item} if isinstance(item, str) else item, ctx)
        if spec.role not in ROLES:
            raise ctx.key("role", item).error(f"expected one of {', '.join(ROLES)}, got {spec.role!r}")
        if spec.name in seen:
            raise ctx.error(f"duplicate node {spec.name!r} (already nodes[{seen[spec.name]}])", TopologyError)
        seen[spec.name] = len(seen)
        return spec

    nodes = _each(data, "nodes", root, node)
    pairs: set[tuple[str, str]] = set()

    def link(item: Any, ctx: Ctx) -> LinkSpec:
        if isinstance(item, list):
            if len(item) != 2:
                raise ctx.error(f"expected [a, b] or a mapping with keys a, b, rate, ..., got {item!r:.60}")
            item = dict(zip(_LINK_ENDS, item, strict=True))
        spec = build(LinkSpec, item, ctx, defaults=defaults)
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

    links = _each(data, "links", root, link)
    try:
        return Topology(tuple(nodes), tuple(links))
    except ConfigError as exc:
        raise root.error(str(exc), type(exc)) from None


def _topology_section(value: Any, ctx: Ctx, defaults: dict[str, Any]) -> Topology:
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
    nodes = tuple(dataclasses.replace(n, role="host") if n.name in hosts else n for n in topology.nodes)
    return dataclasses.replace(topology, nodes=nodes)


def _known_node(name: str, names: Collection[str], ctx: Ctx) -> None:
    if name not in names:
        raise ctx.error(f"unknown node {name!r}" + did_you_mean(name, names), TopologyError)


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


# -- writing ----------------------------------------------------------------------------------------------------


def scenario_to_data(scenario: Scenario, *, compact: bool = True) -> dict[str, Any]:
    """*scenario* as plain YAML-ready data; :func:`scenario_from_data` reads it back into an equal scenario.

    ``compact`` (for files) leaves out defaults and writes unit strings and shorthands; otherwise every key is
    present with plain numbers in base units, which is the tree :func:`apply_overrides` edits.
    """
    data: dict[str, Any] = {"name": scenario.name, "seed": scenario.seed}
    links = scenario.topology.links
    common: dict[str, Any] = {}
    if compact and len(links) >= 2:
        for f in dataclasses.fields(LinkSpec):
            values = {getattr(link, f.name) for link in links}
            if f.name not in _LINK_ENDS and len(values) == 1 and values != {f.default}:
                common[f.name] = values.pop()
    if common:  # written like a link whose ends are left out
        body = dump_fields(LinkSpec("", "", **common), compact)
        data["defaults"] = {"link": FlowMap({k: v for k, v in body.items() if k not in _LINK_ENDS})}
    data["nodes"] = [_dump_node(n, compact) for n in scenario.topology.nodes]
    data["links"] = []
    for link in links:
        body = dump_fields(link, compact, base=common)
        data["links"].append(FlowSeq([link.a, link.b]) if compact and list(body) == ["a", "b"] else body)
    if scenario.flows or not compact:
        data["flows"] = [dump_fields(f, compact) for f in scenario.flows]
    data["routing"] = _dump_routing(scenario.routing, compact)
    if scenario.faults or not compact:
        data["faults"] = [dump_fields(f, compact) for f in scenario.faults]
    run = dump_fields(scenario.run, compact)
    if run or not compact:
        data["run"] = run
    if scenario.mail is not None:
        data["mail"] = dict(dump_fields(scenario.mail, compact))  # block style: one key per line
    return data


def _dump_node(node: NodeSpec, compact: bool) -> Any:
    body = dump_fields(node, compact)
    return node.name if compact and list(body) == ["name"] else body


def _dump_routing(routing: RoutingStrategy, compact: bool) -> Any:
    names = [name for name, cls in ROUTING.items() if type(routing) is cls]
    if not names:
        if compact:
            known = ", ".join(ROUTING)
            raise ConfigError(f"cannot write routing strategy {routing!r} to YAML: it is not one of {known}")
        return routing  # overrides pass a user-defined strategy through untouched
    body = dump_fields(routing, compact)
    if compact and not body:
        return names[0]
    return FlowMap({"strategy": names[0], **body})
