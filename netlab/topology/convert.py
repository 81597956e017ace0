"""Any networkx graph -> :class:`~netlab.topology.spec.Topology` (the way back is :meth:`Topology.to_graph`).

Node attributes read: ``role`` (default ``"router"``), ``ip``, ``forwarding_delay_s`` (seconds), and ``x``/``y``
or, failing those, ``Longitude``/``Latitude`` (Internet Topology Zoo). Edge attributes read, named as the
:class:`~netlab.topology.spec.LinkSpec` fields: ``rate_bps`` (bit/s), ``delay_s`` (seconds), ``queue_packets``,
``queue_bytes`` (bytes), ``loss`` and ``cost``. Other attributes are ignored; ``None`` counts as missing.

>>> G = nx.Graph([("a", "b")])
>>> topology_from_graph(G, defaults={"rate_bps": "10Mbps"}).links
(LinkSpec(a='a', b='b', rate_bps=10000000.0, delay_s=0.0, queue_packets=None, queue_bytes=None, loss=0.0, \
cost=None, directed=False),)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import networkx as nx

from netlab._text import did_you_mean
from netlab.errors import ConfigError, TopologyError, UnitError
from netlab.topology.spec import LinkSpec, NodeSpec, Topology
from netlab.units import parse_rate, parse_size, parse_time

__all__ = ["LINK_ATTRIBUTES", "check_link_defaults", "topology_from_graph"]

_PARSERS: dict[str | None, Callable[[object], Any]] = {"rate": parse_rate, "time": parse_time, "size": parse_size}
#: Edge attributes that become :class:`LinkSpec` fields (and the keys *defaults* may have).
LINK_ATTRIBUTES = tuple(f.name for f in dataclasses.fields(LinkSpec) if f.name not in ("a", "b", "directed"))
_UNITS = {f.name: f.metadata.get("unit") for f in dataclasses.fields(LinkSpec)}


def _value(field: str, value: object) -> Any:
    """*value* for LinkSpec *field*: unit strings (``"10Mbps"``) parsed, numbers passed through."""
    parse = _PARSERS.get(_UNITS[field])
    if parse is not None and isinstance(value, str):
        try:
            return parse(value)
        except UnitError as exc:
            raise UnitError(f"{field}: {exc}") from None
    return value


def check_link_defaults(defaults: Mapping[str, object] | None, *, source: str | None = None) -> dict[str, Any]:
    """*defaults* for missing link attributes, keys checked against :data:`LINK_ATTRIBUTES` (ConfigError with
    a did-you-mean otherwise), unit strings parsed and ``None`` values dropped.

    >>> check_link_defaults({"rate_bps": "1Gbps", "delay_s": "2ms", "loss": None})
    {'rate_bps': 1000000000.0, 'delay_s': 0.002}
    """
    where = f"{source}: " if source else ""
    out: dict[str, Any] = {}
    for key, value in (defaults or {}).items():
        if key not in LINK_ATTRIBUTES:
            raise ConfigError(f"{where}link defaults: unknown key {key!r}{did_you_mean(key, LINK_ATTRIBUTES)}")
        if value is not None:
            out[key] = _guard(where, "link defaults", _value, key, value)
    return out


def _coordinate(data: Mapping[str, Any], key: str, fallback: str) -> float | None:
    value = data.get(key)
    if value is None:
        value = data.get(fallback)
    return None if value is None else float(value)


def _node(name: str, data: Mapping[str, Any]) -> NodeSpec:
    forwarding = data.get("forwarding_delay_s")
    if forwarding is None and isinstance(data.get("spec"), NodeSpec):
        # Topology.to_graph() keeps the forwarding delay only inside the NodeSpec it stores as "spec".
        forwarding = data["spec"].forwarding_delay_s
    return NodeSpec(
        name=name,
        role=str(data.get("role") or "router"),
        ip=None if data.get("ip") is None else str(data["ip"]),
        forwarding_delay_s=0.0 if forwarding is None else float(forwarding),
        x=_coordinate(data, "x", "Longitude"),
        y=_coordinate(data, "y", "Latitude"),
    )


def _link_fields(data: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    fields = dict(defaults)
    for key in LINK_ATTRIBUTES:
        if data.get(key) is not None:
            fields[key] = _value(key, data[key])
    return fields


def topology_from_graph(G: nx.Graph[Any], *, defaults: Mapping[str, object] | None = None, source: str | None = None,
                        name: Callable[[Hashable], str] = str) -> Topology:  # fmt: skip
    """The :class:`Topology` of the networkx graph *G*, in *G*'s node and edge order.

    An undirected edge becomes one (full-duplex) link. In a directed graph, a pair ``(u, v)``, ``(v, u)``
    with equal link attributes becomes one undirected link ``u - v`` (u the node seen first); any other
    directed edge becomes a ``directed`` link. Multigraphs are accepted if no pair has parallel edges (merge
    them first, as :func:`netlab.topology.zoo.read_topology_file` does).

    ``topology_from_graph(t.to_graph()) == t`` when t's links are listed in the order networkx walks them
    (by first end, in node order, as generated and imported topologies are); otherwise the same links come
    back in that order, and two opposite directed links with equal attributes come back as one undirected.

    Parameters
    ----------
    G : networkx.Graph or networkx.DiGraph
        The graph; node and edge attributes as in the module docstring.
    defaults : dict, optional
        Values for missing edge attributes, keyed by LinkSpec field name (``rate_bps``, ``delay_s``, ...);
        unit strings are accepted (``{"rate_bps": "1Gbps", "delay_s": "2ms"}``). Whatever is still
        missing takes the :class:`LinkSpec` default (1 Gbit/s, no delay, no queue limit, no loss).
    source : str, optional
        Where *G* came from (a file name), for error messages.
    name : callable
        Node -> node name (default :class:`str`); names must come out unique.

    Raises
    ------
    TopologyError
        For a value LinkSpec or NodeSpec refuses, duplicate names, parallel edges, or a self-loop.
    ConfigError
        For an unknown key in *defaults*.

    Examples
    --------
    >>> from netlab.topology.spec import LinkSpec, NodeSpec, Topology
    >>> t = Topology((NodeSpec("a", "host"), NodeSpec("b")), (LinkSpec("a", "b", rate_bps=1e7, delay_s=0.01),))
    >>> topology_from_graph(t.to_graph()) == t
    True
    """
    where = f"{source}: " if source else ""
    link_defaults = check_link_defaults(defaults, source=source)
    names = {v: name(v) for v in G.nodes}
    seen: dict[str, Hashable] = {}
    for v, n in names.items():
        if n in seen:
            raise TopologyError(f"{where}nodes {seen[n]!r} and {v!r} are both named {n!r}")
        seen[n] = v
    if G.is_multigraph():
        for u, v in G.edges():
            if G.number_of_edges(u, v) > 1:
                raise TopologyError(f"{where}parallel edges between {names[u]} and {names[v]}: merge them first")
    nodes = [_guard(where, f"node {names[v]}", _node, names[v], data) for v, data in G.nodes(data=True)]
    links: list[LinkSpec] = []
    done: set[tuple[Hashable, Hashable]] = set()
    for u, v, data in G.edges(data=True):
        if (u, v) in done:
            continue
        label = f"edge {names[u]} - {names[v]}"
        fields = _guard(where, label, _link_fields, data, link_defaults)
        directed = G.is_directed()
        if directed and G.has_edge(v, u):
            back = G.get_edge_data(v, u)
            back = next(iter(back.values())) if G.is_multigraph() else back
            if _guard(where, label, _link_fields, back, link_defaults) == fields:
                directed = False
                done.add((v, u))
        done.add((u, v))
        links.append(_guard(where, label, LinkSpec, names[u], names[v], directed=directed, **fields))
    try:
        return Topology(tuple(nodes), tuple(links))
    except TopologyError as exc:
        raise TopologyError(f"{where}{exc}") from None


def _guard(where: str, what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``func(*args, **kwargs)`` with every error about a value turned into a TopologyError naming *what*."""
    try:
        return func(*args, **kwargs)
    except ConfigError as exc:
        text = str(exc) if what in str(exc) or str(exc).startswith("link ") else f"{what}: {exc}"
        raise type(exc)(f"{where}{text}") from None
    except (TypeError, ValueError) as exc:
        raise TopologyError(f"{where}{what}: bad attribute value ({exc})") from None
