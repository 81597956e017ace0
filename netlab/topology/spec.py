"""What exists: nodes and links of a topology, as frozen values.

A :class:`LinkSpec` is one topology edge; unless ``directed`` it stands for two directed links, one each way
(full duplex), with the same rate, delay, queue limit and loss. Field metadata drives the scenario file format
and its generated reference page: ``key`` is the YAML key, ``unit`` one of ``rate``/``size``/``time`` (parsed
with :mod:`netlab.units`), ``doc`` the description.

>>> t = Topology(nodes=(NodeSpec("a"), NodeSpec("b")), links=(LinkSpec("a", "b", rate_bps=1e7, delay_s=0.001),))
>>> [(u, v) for u, v, _ in t.directed_links()]
[('a', 'b'), ('b', 'a')]
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterator
from dataclasses import dataclass

import networkx as nx

from netlab.errors import TopologyError
from netlab.options import Choice, key_aliases, option

# option is re-exported: the spec modules of other layers have long imported it from here.
__all__ = ["ROLES", "LinkSpec", "NodeSpec", "Role", "Topology", "option"]


class Role(Choice):
    """What a node does: a host originates and sinks traffic (and runs mail programs); a router forwards."""

    HOST = "host"
    ROUTER = "router"


#: The role names, as a scenario file writes them.
ROLES = tuple(r.value for r in Role)


@key_aliases
@dataclass(frozen=True, slots=True)
class NodeSpec:
    """A node: a host (traffic source/sink) or a router (forwards only)."""

    name: str = option(doc="unique node name")
    role: Role | str = option(Role.ROUTER, doc="one of: " + ", ".join(ROLES))  # a str is read as its Role
    ip: str | None = option(None, doc="IPv4 address; auto-assigned from 10.0.0.0/8 in node order when omitted")
    forwarding_delay_s: float = option(0.0, key="forwarding_delay", unit="time", doc="time to forward a packet")
    x: float | None = option(None, doc="longitude or x coordinate (drawing; GraphML import)")
    y: float | None = option(None, doc="latitude or y coordinate (drawing; GraphML import)")

    def __post_init__(self) -> None:
        # "host" from Python or a file becomes Role.HOST, which still equals "host"
        object.__setattr__(self, "role", Role.parse(self.role, f"node {self.name!r}: role", TopologyError))
        if self.ip is not None:
            try:
                ipaddress.IPv4Address(self.ip)
            except ValueError:
                raise TopologyError(f"node {self.name!r}: ip: expected an IPv4 address like '10.0.0.1', got "
                                    f"{self.ip!r:.60}") from None  # fmt: skip
        for name in ("x", "y"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)):
                raise TopologyError(f"node {self.name!r}: {name} must be a finite number, got {v!r}")


@key_aliases
@dataclass(frozen=True, slots=True)
class LinkSpec:
    """A topology edge: two directed links (one if ``directed``), each a FIFO output queue plus a wire.

    Rates in bit/s (``inf`` for a pure delay), delays in seconds, queue limits count the packet in service.
    """

    a: str = option(doc="one end (node name)")
    b: str = option(doc="the other end (node name)")
    rate_bps: float = option(1e9, key="rate", unit="rate", doc="serialisation rate per direction; inf = pure delay")
    delay_s: float = option(0.0, key="delay", unit="time", doc="propagation delay")
    queue_packets: int | None = option(None, doc="queue limit in packets, counting the one in service; none = no limit")
    queue_bytes: int | None = option(None, unit="size", doc="queue limit in bytes, counting the one in service")
    loss: float = option(0.0, doc="probability that a packet is lost after serialisation (0..1)")
    cost: float | None = option(None, doc="OSPF cost override (default: reference bandwidth / rate)")
    directed: bool = option(False, doc="true: only a -> b exists")

    def __post_init__(self) -> None:
        if not self.rate_bps > 0:
            raise TopologyError(f"link {self.a}-{self.b}: rate must be positive, got {self.rate_bps!r} bit/s")
        if not self.delay_s >= 0 or math.isinf(self.delay_s):
            raise TopologyError(f"link {self.a}-{self.b}: delay must be finite and >= 0, got {self.delay_s!r} s")
        if not 0.0 <= self.loss <= 1.0:
            raise TopologyError(f"link {self.a}-{self.b}: loss must be a probability in [0, 1], got {self.loss!r}")
        for name in ("queue_packets", "queue_bytes"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise TopologyError(f"link {self.a}-{self.b}: {name} must be a whole number >= 1, got {v!r}")
        if self.cost is not None and not (self.cost > 0 and math.isfinite(self.cost)):
            raise TopologyError(f"link {self.a}-{self.b}: cost must be a positive, finite number, got {self.cost!r}")


@dataclass(frozen=True, slots=True)
class Topology:
    """Nodes and links. Validated on construction: names unique, every link end a known node, and at least one
    link (nodes without links carry nothing: no flow, no mail)."""

    nodes: tuple[NodeSpec, ...]
    links: tuple[LinkSpec, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "links", tuple(self.links))
        seen: set[str] = set()
        for i, n in enumerate(self.nodes):
            if n.name in seen:
                raise TopologyError(f"nodes[{i}]: duplicate node name {n.name!r}")
            seen.add(n.name)
        if not self.links:
            raise TopologyError(
                f"a topology needs at least one link; {len(self.nodes)} node(s) and no links carry nothing"
            )
        ips: dict[str, str] = {}
        for i, n in enumerate(self.nodes):
            if n.ip is not None:
                ip = str(ipaddress.IPv4Address(n.ip))
                if ip in ips:
                    raise TopologyError(f"nodes[{i}] ({n.name}).ip: {ip} is already the address of {ips[ip]!r}")
                ips[ip] = n.name
        pairs: set[tuple[str, str]] = set()
        for i, link in enumerate(self.links):
            for end in (link.a, link.b):
                if end not in seen:
                    raise TopologyError(f"links[{i}] ({link.a}-{link.b}): unknown node {end!r}")
            if link.a == link.b:
                raise TopologyError(f"links[{i}]: a link from {link.a!r} to itself")
            for pair in self._pairs(link):
                if pair in pairs:
                    raise TopologyError(f"links[{i}]: a second link {pair[0]} -> {pair[1]}")
                pairs.add(pair)

    @staticmethod
    def _pairs(link: LinkSpec) -> list[tuple[str, str]]:
        return [(link.a, link.b)] if link.directed else [(link.a, link.b), (link.b, link.a)]

    def node(self, name: str) -> NodeSpec:
        """The node called *name* (TopologyError if there is none)."""
        for n in self.nodes:
            if n.name == name:
                return n
        raise TopologyError(f"unknown node {name!r}")

    def directed_links(self) -> Iterator[tuple[str, str, LinkSpec]]:
        """Every directed link as ``(from, to, spec)``, in file order (a->b before b->a)."""
        for link in self.links:
            for u, v in self._pairs(link):
                yield u, v, link

    def to_graph(self) -> nx.DiGraph[str]:
        """A :class:`networkx.DiGraph` with node attributes of :class:`NodeSpec` and edge attributes
        ``rate_bps``, ``delay_s``, ``loss``, ``cost``, ``queue_packets``, ``queue_bytes``, ``spec``."""
        G: nx.DiGraph[str] = nx.DiGraph()
        for n in self.nodes:
            G.add_node(n.name, role=n.role, ip=n.ip, x=n.x, y=n.y, spec=n)
        for u, v, s in self.directed_links():
            G.add_edge(u, v, rate_bps=s.rate_bps, delay_s=s.delay_s, loss=s.loss, cost=s.cost,
                       queue_packets=s.queue_packets, queue_bytes=s.queue_bytes, spec=s)  # fmt: skip
        return G
