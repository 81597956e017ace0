"""The topology part of a scenario file: ``nodes`` and ``links`` (a bare node name, a ``[a, b]`` link, values
from ``defaults.link``), or a ``topology`` section that reads a file or runs a generator, with the checks that
need the whole topology (unknown nodes, duplicate names, self-links, parallel links).

>>> t = _nodes_and_links({"nodes": ["a", "b"], "links": [["a", "b"]]}, Ctx("x.yaml"), {"rate_bps": 1e6})
>>> [(n.name, n.role) for n in t.nodes], t.links[0].rate_bps
([('a', 'router'), ('b', 'router')], 1000000.0)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from typing import Any

from netlab.errors import ConfigError, TopologyError
from netlab.experiment.registry import did_you_mean
from netlab.experiment.spec_fields import field_unit, fields_by_key, type_hints
from netlab.experiment.spec_reading import Ctx, _each, build, convert
from netlab.topology.spec import ROLES, LinkSpec, NodeSpec, Topology

__all__ = ["TOPOLOGY_KEYS"]

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
