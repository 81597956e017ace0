"""GraphML and GML topology files, with the Internet Topology Zoo's attributes understood.

The Zoo (topology-zoo.org) describes networks of points of presence (PoPs). :func:`read_topology_file` reads
one into a :class:`~netlab.topology.spec.Topology`:

- **Nodes** are named by their ``label`` (else their id). Duplicate labels get ``_2``, ``_3`` ... in file
  order (``Label``, ``Label_2``). Every node is a ``router`` unless it has a ``role`` attribute: Zoo nodes
  are PoPs, and hosts are attached to them by the scenario. ``Longitude``/``Latitude`` become ``x``/``y``.
- **Rate** (bit/s): ``rate_bps`` if present, else ``LinkSpeedRaw`` (bit/s), else ``LinkSpeed`` times the
  prefix in ``LinkSpeedUnits`` (``"G"`` = 1e9), else ``defaults["rate_bps"]``, else an error.
- **Delay** (seconds): ``delay_s`` if present, else the great-circle distance between the two PoPs
  (haversine, Earth radius 6371 km) over 2e8 m/s (light in fibre, about 2/3 c), else
  ``defaults["delay_s"]``, else an error naming the node without coordinates.
- **Parallel edges** between the same two PoPs (the Zoo lists separate circuits separately) are merged into
  one link whose rate is the *sum* of theirs (the capacity between the PoPs; a FIFO link at the sum rate is
  the usual model of a bundle) and whose delay is the *smallest* (the shortest circuit). Other attributes are
  taken from the first of them. Self-loops carry no traffic between PoPs and are dropped.

>>> t = read_topology_file("topologies/abilene.graphml")
>>> len(t.nodes), len(t.links), t.links[0].rate_bps
(11, 14, 9920000000.0)
"""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import networkx as nx

from netlab.errors import ConfigError, TopologyError
from netlab.topology.convert import check_link_defaults, topology_from_graph
from netlab.topology.spec import Topology

__all__ = ["EARTH_RADIUS_M", "FIBRE_SPEED_MPS", "great_circle_m", "read_topology_file"]

#: Mean Earth radius, metres.
EARTH_RADIUS_M = 6_371_000.0
#: Signal speed in optical fibre, m/s (refractive index about 1.5, so 2/3 of c).
FIBRE_SPEED_MPS = 2e8

_PREFIX = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
_NODE_ATTRS = ("role", "ip", "forwarding_delay_s")
_LINK_ATTRS = ("queue_packets", "queue_bytes", "loss", "cost")


def great_circle_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two points given in degrees (haversine formula).

    >>> round(great_circle_m(0, 0, 0, 1) / 1000, 2)  # one degree of latitude, km
    111.19
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _read(path: Path) -> nx.Graph[Any]:
    suffix = path.suffix.lower()
    if suffix not in (".graphml", ".gml"):
        raise ConfigError(f"{path}: unsupported topology file type {path.suffix!r}; expected .graphml or .gml "
                          "(or a scenario .yaml)")  # fmt: skip
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    try:
        if suffix == ".graphml":
            # Always a multigraph, so that parallel edges survive until they are merged below.
            return nx.read_graphml(path, force_multigraph=True)
        # label="id": labels are not unique in the Zoo; names are made from them below.
        return nx.read_gml(path, label="id")
    except (nx.NetworkXError, ET.ParseError, ValueError, KeyError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read {suffix[1:].upper()} ({exc})") from None


def _names(G: nx.Graph[Any]) -> dict[Hashable, str]:
    """Node -> its label (else id), duplicates numbered ``_2``, ``_3`` in file order."""
    wanted = {v: str(data.get("label") or v).strip() or str(v) for v, data in G.nodes(data=True)}
    taken = set(wanted.values())
    names: dict[Hashable, str] = {}
    used: set[str] = set()
    for v, label in wanted.items():
        name = label
        if name in used:
            i = 2
            while f"{label}_{i}" in taken or f"{label}_{i}" in used:
                i += 1
            name = f"{label}_{i}"
        used.add(name)
        names[v] = name
    return names


def _coordinates(data: Mapping[str, Any]) -> tuple[float, float] | None:
    lon, lat = data.get("Longitude", data.get("x")), data.get("Latitude", data.get("y"))
    if lon is None or lat is None:
        return None
    return float(lon), float(lat)


def _rate(data: Mapping[str, Any]) -> float | None:
    for key in ("rate_bps", "LinkSpeedRaw"):
        if data.get(key) not in (None, ""):
            return float(data[key])
    speed = data.get("LinkSpeed")
    if speed in (None, ""):
        return None
    unit = str(data.get("LinkSpeedUnits", "")).strip()
    if unit not in _PREFIX:
        raise ValueError(f"unknown LinkSpeedUnits {unit!r} (expected one of {', '.join(_PREFIX)})")
    return float(speed) * _PREFIX[unit]


def read_topology_file(path: str | os.PathLike[str], *, defaults: Mapping[str, object] | None = None) -> Topology:
    """Read a GraphML or GML file (Internet Topology Zoo conventions, module docstring) into a Topology.

    Parameters
    ----------
    path : str or path
        A ``.graphml`` or ``.gml`` file.
    defaults : dict, optional
        Values for missing link attributes, keyed by LinkSpec field name: ``rate_bps`` (bit/s) for links
        without a speed, ``delay_s`` (seconds) for links between PoPs without coordinates, and
        ``queue_packets``, ``queue_bytes``, ``loss``, ``cost``. Unit strings are accepted (``"1Gbps"``).

    Raises
    ------
    ConfigError
        The file is missing, of another type or unreadable (the message names it).
    TopologyError
        A link has no rate (or no delay, and an end has no coordinates) and *defaults* gives none; the
        message names the file, the link and the missing attribute.

    Examples
    --------
    >>> t = read_topology_file("topologies/abilene.graphml", defaults={"queue_packets": 100})
    >>> t.node("Chicago").role, t.links[0].queue_packets
    ('router', 100)
    """
    path = Path(path)
    G = _read(path)
    names = _names(G)
    # Checked and parsed once, before any edge, so a bad key or unit is reported as such.
    parsed = check_link_defaults(defaults, source=str(path))
    H: nx.Graph[Any] = nx.DiGraph() if G.is_directed() else nx.Graph()
    coords: dict[Hashable, tuple[float, float] | None] = {}
    for v, data in G.nodes(data=True):
        try:
            coords[v] = _coordinates(data)
        except (TypeError, ValueError) as exc:
            raise TopologyError(f"{path}: node {names[v]}: bad coordinates ({exc})") from None
        attrs = {k: data[k] for k in _NODE_ATTRS if data.get(k) not in (None, "")}
        xy = coords[v]
        if xy is not None:
            attrs["x"], attrs["y"] = xy
        H.add_node(names[v], **attrs)
    for u, v, data in G.edges(data=True):
        if u == v:
            continue
        key = (names[u], names[v])
        link = _link(data, key, (coords[u], coords[v]), parsed, f"{path}: edge {key[0]} - {key[1]}")
        if H.has_edge(*key):  # a parallel circuit: add its capacity, keep the shortest delay
            old = H.edges[key]
            old["rate_bps"] += link["rate_bps"]
            old["delay_s"] = min(old["delay_s"], link["delay_s"])
        else:
            H.add_edge(*key, **link)
    return topology_from_graph(H, defaults=parsed, source=str(path))


def _link(data: Mapping[str, Any], ends: tuple[str, str], coords: tuple[tuple[float, float] | None, ...],
          defaults: Mapping[str, Any], where: str) -> dict[str, Any]:  # fmt: skip
    """The netlab attributes of one file edge: rate and delay resolved as the module docstring says."""
    try:
        rate = _rate(data)
        delay = None if data.get("delay_s") in (None, "") else float(data["delay_s"])
    except (TypeError, ValueError) as exc:
        raise TopologyError(f"{where}: bad link attribute ({exc})") from None
    rate = defaults.get("rate_bps") if rate is None else rate
    if rate is None:
        raise TopologyError(
            f"{where}: no link rate (attribute 'LinkSpeedRaw', or 'LinkSpeed' with "
            "'LinkSpeedUnits'); pass a default rate, e.g. defaults={'rate_bps': '1Gbps'}"
        )
    if delay is None:
        delay = _propagation_delay(*coords)
    delay = defaults.get("delay_s") if delay is None else delay
    if delay is None:
        node = ends[0] if coords[0] is None else ends[1]
        raise TopologyError(
            f"{where}: node {node} has no coordinates ('Longitude', 'Latitude') for the delay; "
            "give the edge a 'delay_s' or pass defaults={'delay_s': ...}"
        )
    link = {"rate_bps": rate, "delay_s": delay}
    link.update({k: data[k] for k in _LINK_ATTRS if data.get(k) not in (None, "")})
    return link


def _propagation_delay(a: tuple[float, float] | None, b: tuple[float, float] | None) -> float | None:
    """Seconds for light in fibre along the great circle from *a* to *b* (lon, lat), or None."""
    if a is None or b is None:
        return None
    return great_circle_m(a[0], a[1], b[0], b[1]) / FIBRE_SPEED_MPS
