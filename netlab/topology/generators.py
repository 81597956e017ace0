"""Topology generators: plain functions that return a :class:`networkx.Graph` ready for
:func:`netlab.topology.convert.topology_from_graph`.

Every node has a string name and a ``role`` attribute (``"host"`` or ``"router"``). Edges carry ``rate_bps``
(bit/s) and ``delay_s`` (seconds) only when those are given, so that the scenario's link defaults (or
:class:`~netlab.topology.spec.LinkSpec`'s) apply to the rest.

Naming scheme (routers start with ``r`` or their tier, hosts with ``h``):

=================  ======================================  ==========================================
generator          routers                                 hosts
=================  ======================================  ==========================================
line, ring         ``r0`` .. ``r{n-1}``                    ``h3`` attached to ``r3`` (see *hosts*)
grid               ``r{row}_{col}``                        ``h{row}_{col}`` attached to ``r{row}_{col}``
waxman, BA         ``r0`` .. ``r{n-1}``                    ``h3`` attached to ``r3`` (see *hosts*)
dumbbell           ``rl`` (left), ``rr`` (right)           ``hl0`` .. and ``hr0`` ..
fat_tree           ``core{i}``, ``agg{pod}_{i}``,          ``h{pod}_{edge}_{i}``
                   ``edge{pod}_{i}``
=================  ======================================  ==========================================

Hosts are always leaves attached to a router by their own link, never routers renamed: a host only
originates and sinks traffic, so a path never has to cross one. Line, ring, grid, Waxman and
Barabási–Albert graphs have no hosts unless *hosts* asks for them: ``"none"`` (default), ``"all"`` (one
host per router), ``"ends"`` (line only: both ends) or a list of router names.

Random generators take an integer *seed* (default 1) and draw from :class:`random.Random` only (through
networkx), so the same seed gives the same graph in any process. Every generated graph is connected:
Barabási–Albert graphs are by construction; a Waxman draw that is not gets the shortest links that join its
components (see :func:`waxman`). Redrawing until connected would not do: with the default parameters not
one draw in a hundred with n <= 100 routers is connected.

>>> G = generate("grid", rows=2, cols=3, hosts="all", rate="10Mbps")
>>> G.number_of_nodes(), G.number_of_edges(), G.edges["r0_0", "h0_0"]["rate_bps"]
(12, 13, 10000000.0)
"""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any, cast

import networkx as nx

from netlab._text import did_you_mean
from netlab.errors import ConfigError
from netlab.units import parse_rate, parse_time

__all__ = ["GENERATORS", "barabasi_albert", "dumbbell", "fat_tree", "generate", "grid", "line", "ring", "waxman"]

#: Which nodes get a host: "none", "all", "ends" (line only) or router names.
Hosts = str | Iterable[str]


def _whole(name: str, value: object, minimum: int) -> int:
    """*value* as an int >= *minimum*; bools and floats are refused (``rows=2.5`` is a mistake, not 2)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return value


def _set_edges(
    G: nx.Graph[str], edges: Iterable[tuple[str, str]], rate_bps: float | None, delay_s: float | None
) -> None:
    attrs: dict[str, float] = {}
    if rate_bps is not None:
        attrs["rate_bps"] = float(rate_bps)
    if delay_s is not None:
        attrs["delay_s"] = float(delay_s)
    G.add_edges_from(edges, **attrs)


def _host_name(router: str) -> str:
    return "h" + router[1:] if router.startswith("r") else "h_" + router


def _attach_hosts(G: nx.Graph[str], hosts: Hosts, rate_bps: float | None, delay_s: float | None, *,
                  ends: tuple[str, ...] = ()) -> nx.Graph[str]:  # fmt: skip
    """Attach one host leaf to each router chosen by *hosts* (see the module docstring)."""
    routers = list(G.nodes)
    if isinstance(hosts, str):
        if hosts == "none":
            chosen: list[str] = []
        elif hosts == "all":
            chosen = routers
        elif hosts == "ends" and ends:
            chosen = list(ends)
        else:
            allowed = ["none", "all", *(["ends"] if ends else [])]
            raise ConfigError(f"hosts must be one of {', '.join(allowed)} or a list of router names, got {hosts!r}")
    else:
        chosen = list(hosts)
        unknown = [r for r in chosen if r not in G]
        if unknown:
            raise ConfigError(f"hosts: unknown router {unknown[0]!r}{did_you_mean(unknown[0], routers)}")
    for r in dict.fromkeys(chosen):  # dedupe, keep order
        G.add_node(_host_name(r), role="host")
        _set_edges(G, [(_host_name(r), r)], rate_bps, delay_s)
    return G


def _routers(names: Iterable[str]) -> nx.Graph[str]:
    G: nx.Graph[str] = nx.Graph()
    G.add_nodes_from(names, role="router")
    return G


def line(
    n: int, *, hosts: Hosts = "none", rate_bps: float | None = None, delay_s: float | None = None
) -> nx.Graph[str]:
    """A chain of *n* routers ``r0 - r1 - ... - r{n-1}``.

    Parameters
    ----------
    n : int
        Number of routers (>= 1).
    hosts : "none", "all", "ends" or list of str
        Routers that get a host leaf (``h{i}`` on ``r{i}``); ``"ends"`` means ``r0`` and ``r{n-1}``.
    rate_bps, delay_s : float, optional
        Rate (bit/s) and propagation delay (seconds) of every link; unset means the scenario default.

    Examples
    --------
    >>> G = line(4, hosts="ends")
    >>> G.number_of_nodes(), G.number_of_edges(), sorted(G.neighbors("r0"))
    (6, 5, ['h0', 'r1'])
    """
    n = _whole("n", n, 1)
    check_size("line", {"n": n, "hosts": hosts})
    G = _routers(f"r{i}" for i in range(n))
    _set_edges(G, ((f"r{i}", f"r{i + 1}") for i in range(n - 1)), rate_bps, delay_s)
    return _attach_hosts(G, hosts, rate_bps, delay_s, ends=tuple(dict.fromkeys(("r0", f"r{n - 1}"))))


def ring(
    n: int, *, hosts: Hosts = "none", rate_bps: float | None = None, delay_s: float | None = None
) -> nx.Graph[str]:
    """A cycle of *n* routers ``r0 - r1 - ... - r{n-1} - r0``.

    Parameters
    ----------
    n : int
        Number of routers (>= 3; two routers would need two links between the same pair).
    hosts : "none", "all" or list of str
        Routers that get a host leaf (``h{i}`` on ``r{i}``).
    rate_bps, delay_s : float, optional
        Rate (bit/s) and propagation delay (seconds) of every link.

    Examples
    --------
    >>> G = ring(5, hosts=["r0", "r2"])
    >>> G.number_of_nodes(), G.number_of_edges()
    (7, 7)
    """
    n = _whole("n", n, 3)
    check_size("ring", {"n": n, "hosts": hosts})
    G = _routers(f"r{i}" for i in range(n))
    _set_edges(G, ((f"r{i}", f"r{(i + 1) % n}") for i in range(n)), rate_bps, delay_s)
    return _attach_hosts(G, hosts, rate_bps, delay_s)


def grid(rows: int, cols: int, *, hosts: Hosts = "none", rate_bps: float | None = None,
         delay_s: float | None = None) -> nx.Graph[str]:  # fmt: skip
    """A *rows* x *cols* mesh of routers ``r{row}_{col}``, each linked to its right and lower neighbour.

    Node ``r{i}_{j}`` is node ``(i, j)`` of :func:`networkx.grid_2d_graph`; routers are added row by row.

    Parameters
    ----------
    rows, cols : int
        Size of the grid (>= 1 each).
    hosts : "none", "all" or list of str
        Routers that get a host leaf (``h{i}_{j}`` on ``r{i}_{j}``).
    rate_bps, delay_s : float, optional
        Rate (bit/s) and propagation delay (seconds) of every link.

    Examples
    --------
    >>> G = grid(6, 6)
    >>> G.number_of_nodes(), G.number_of_edges()
    (36, 60)
    """
    rows, cols = _whole("rows", rows, 1), _whole("cols", cols, 1)
    check_size("grid", {"rows": rows, "cols": cols, "hosts": hosts})
    G = _routers(f"r{i}_{j}" for i in range(rows) for j in range(cols))
    right = ((f"r{i}_{j}", f"r{i}_{j + 1}") for i in range(rows) for j in range(cols - 1))
    down = ((f"r{i}_{j}", f"r{i + 1}_{j}") for i in range(rows - 1) for j in range(cols))
    _set_edges(G, itertools.chain(right, down), rate_bps, delay_s)
    return _attach_hosts(G, hosts, rate_bps, delay_s)


def dumbbell(left: int, right: int, *, bottleneck_rate_bps: float | None = None,
             bottleneck_delay_s: float | None = None, access_rate_bps: float | None = None,
             access_delay_s: float | None = None) -> nx.Graph[str]:  # fmt: skip
    """Two routers ``rl - rr`` joined by one bottleneck link, *left* hosts on ``rl`` and *right* on ``rr``.

    Parameters
    ----------
    left, right : int
        Number of hosts on each side (>= 1): ``hl0 .. hl{left-1}`` and ``hr0 .. hr{right-1}``.
    bottleneck_rate_bps, bottleneck_delay_s : float, optional
        Rate (bit/s) and propagation delay (seconds) of the ``rl - rr`` link.
    access_rate_bps, access_delay_s : float, optional
        Rate (bit/s) and propagation delay (seconds) of every host link.

    Examples
    --------
    >>> G = dumbbell(2, 3, bottleneck_rate_bps=1e7)
    >>> G.number_of_nodes(), G.number_of_edges(), G.edges["rl", "rr"]["rate_bps"]
    (7, 6, 10000000.0)
    """
    left, right = _whole("left", left, 1), _whole("right", right, 1)
    check_size("dumbbell", {"left": left, "right": right})
    G = _routers(["rl", "rr"])
    _set_edges(G, [("rl", "rr")], bottleneck_rate_bps, bottleneck_delay_s)
    for side, count in (("l", left), ("r", right)):
        hosts = [f"h{side}{i}" for i in range(count)]
        G.add_nodes_from(hosts, role="host")
        _set_edges(G, ((h, f"r{side}") for h in hosts), access_rate_bps, access_delay_s)
    return G


def fat_tree(k: int, *, rate_bps: float | None = None, delay_s: float | None = None) -> nx.Graph[str]:
    """A k-ary fat tree (Al-Fares et al., 2008): ``(k/2)**2`` core switches and *k* pods.

    Each pod has k/2 aggregation switches ``agg{pod}_{i}`` and k/2 edge switches ``edge{pod}_{i}``, fully
    connected to each other; edge switch ``edge{p}_{e}`` has k/2 hosts ``h{p}_{e}_{i}``. Aggregation switch
    ``agg{p}_{i}`` connects to core switches ``core{i*k/2}`` .. ``core{i*k/2 + k/2 - 1}``. In all
    ``5 k**2 / 4`` switches, ``k**3 / 4`` hosts and ``3 k**3 / 4`` links.

    Parameters
    ----------
    k : int
        Switch port count: even and >= 2.
    rate_bps, delay_s : float, optional
        Rate (bit/s) and propagation delay (seconds) of every link.

    Raises
    ------
    ConfigError
        If *k* is odd or < 2.

    Examples
    --------
    >>> G = fat_tree(4)
    >>> G.number_of_nodes(), G.number_of_edges()
    (36, 48)
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 2 or k % 2:
        raise ConfigError(f"fat_tree: k must be an even whole number >= 2, got {k!r}")
    check_size("fat_tree", {"k": k})
    half = k // 2
    G = _routers(f"core{i}" for i in range(half * half))
    edges: list[tuple[str, str]] = []
    for p in range(k):
        G.add_nodes_from((f"agg{p}_{i}" for i in range(half)), role="router")
        G.add_nodes_from((f"edge{p}_{i}" for i in range(half)), role="router")
        for i in range(half):
            edges += [(f"core{i * half + j}", f"agg{p}_{i}") for j in range(half)]
            edges += [(f"agg{p}_{i}", f"edge{p}_{e}") for e in range(half)]
        for e in range(half):
            hosts = [f"h{p}_{e}_{i}" for i in range(half)]
            G.add_nodes_from(hosts, role="host")
            edges += [(f"edge{p}_{e}", h) for h in hosts]
    _set_edges(G, edges, rate_bps, delay_s)
    return G


def _join_components(G: nx.Graph[int]) -> None:
    """Make the geometric graph *G* (nodes with ``pos``) connected by adding the shortest missing links.

    Kruskal over all node pairs with the existing links already merged: each added link is the shortest one
    between two still separate components (ties by node number), so the result is deterministic and the
    added links are the ones the Waxman model itself finds most likely.
    """
    comp = {v: i for i, c in enumerate(nx.connected_components(G)) for v in c}
    if len(set(comp.values())) <= 1:
        return
    parent = list(range(max(comp.values()) + 1))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    pos = dict(cast(Iterable[tuple[int, tuple[float, float]]], G.nodes(data="pos")))
    pairs = sorted((math.dist(pos[u], pos[v]), u, v) for u, v in itertools.combinations(sorted(G.nodes), 2)
                   if comp[u] != comp[v])  # fmt: skip
    for _, u, v in pairs:
        a, b = find(comp[u]), find(comp[v])
        if a != b:
            parent[a] = b
            G.add_edge(u, v)


def _relabel(G: nx.Graph[int], rate_bps: float | None, delay_s: float | None) -> nx.Graph[str]:
    """Integer nodes 0..n-1 -> routers ``r0``..; a ``pos`` attribute -> ``x``/``y``; edges in sorted order."""
    H = _routers(f"r{i}" for i in sorted(G.nodes))
    for i, pos in G.nodes(data="pos"):
        if pos is not None:
            xy = cast(tuple[float, float], pos)
            H.nodes[f"r{i}"].update(x=float(xy[0]), y=float(xy[1]))
    _set_edges(H, ((f"r{u}", f"r{v}") for u, v in sorted(tuple(sorted(e)) for e in G.edges)), rate_bps, delay_s)
    return H


def waxman(n: int, *, alpha: float = 0.4, beta: float = 0.1, seed: int = 1, hosts: Hosts = "none",
           rate_bps: float | None = None, delay_s: float | None = None) -> nx.Graph[str]:  # fmt: skip
    """A Waxman random graph: *n* routers at uniform points of the unit square, linked with probability
    ``beta * exp(-d / (alpha * L))``, d their distance and L the largest distance between two routers.

    The names follow Waxman (1988) and :func:`networkx.waxman_graph` (*beta* the largest probability,
    *alpha* the distance scale); BRITE swaps them. Routers keep their position as ``x``/``y`` (used for
    drawing; not longitude/latitude, so no delay is derived from it).

    The draw is made connected by adding, Kruskal-fashion, the shortest links that join two of its
    components (ties by router number). The defaults give sparse draws (mean degree about 4 at n = 100 and
    under 1 at n = 20, where most links are added ones): raise *beta* or *alpha* for a graph mostly Waxman's.

    Parameters
    ----------
    n : int
        Number of routers (>= 1).
    alpha : float
        Distance scale relative to L, > 0; larger means more long links.
    beta : float
        Link probability of two routers at distance 0, in (0, 1].
    seed : int
        Seed of the draw (same seed, same graph, in any process).
    hosts : "none", "all" or list of str
        Routers that get a host leaf.
    rate_bps, delay_s : float, optional
        Rate (bit/s) and propagation delay (seconds) of every link.

    Examples
    --------
    >>> G = waxman(20, seed=3)
    >>> G.number_of_nodes(), nx.is_connected(G), list(G.edges) == list(waxman(20, seed=3).edges)
    (20, True, True)
    """
    n = _whole("n", n, 1)
    seed = _whole("seed", seed, 0)
    check_size("waxman", {"n": n, "hosts": hosts})
    if not alpha > 0 or not 0 < beta <= 1:
        raise ConfigError(f"waxman: need alpha > 0 and 0 < beta <= 1, got alpha={alpha!r}, beta={beta!r}")
    G = nx.waxman_graph(n, beta=beta, alpha=alpha, seed=seed)
    _join_components(G)
    G = _relabel(G, rate_bps, delay_s)
    return _attach_hosts(G, hosts, rate_bps, delay_s)


def barabasi_albert(n: int, m: int, *, seed: int = 1, hosts: Hosts = "none", rate_bps: float | None = None,
                    delay_s: float | None = None) -> nx.Graph[str]:  # fmt: skip
    """A Barabási–Albert preferential-attachment graph: each new router links to *m* existing ones.

    Connected by construction: :func:`networkx.barabasi_albert_graph` starts from a star on m + 1 routers.

    Parameters
    ----------
    n : int
        Number of routers (> *m*).
    m : int
        Links per new router (>= 1).
    seed : int
        Seed of the draw (same seed, same graph, in any process).
    hosts : "none", "all" or list of str
        Routers that get a host leaf.
    rate_bps, delay_s : float, optional
        Rate (bit/s) and propagation delay (seconds) of every link.

    Examples
    --------
    >>> G = barabasi_albert(30, 2)
    >>> G.number_of_nodes(), G.number_of_edges()
    (30, 56)
    """
    m = _whole("m", m, 1)
    n = _whole("n", n, m + 1)
    check_size("barabasi_albert", {"n": n, "m": m, "hosts": hosts})
    G = nx.barabasi_albert_graph(n, m, seed=_whole("seed", seed, 0))
    G = _relabel(G, rate_bps, delay_s)
    return _attach_hosts(G, hosts, rate_bps, delay_s)


#: The generators :func:`generate` knows, by name.
GENERATORS: dict[str, Callable[..., nx.Graph[str]]] = {
    "line": line,
    "ring": ring,
    "grid": grid,
    "dumbbell": dumbbell,
    "fat_tree": fat_tree,
    "waxman": waxman,
    "barabasi_albert": barabasi_albert,
}


def generate(kind: str, **params: Any) -> nx.Graph[str]:
    """The graph of generator *kind* called with *params*: the scenario file's ``topology:`` entry point.

    Parameters named ``*_bps`` or ``*_s`` also accept unit strings (``"10Mbps"``, ``"2ms"``) and may be
    written without the suffix, as in scenario files (``rate="10Mbps"`` is ``rate_bps=1e7``).

    Raises
    ------
    ConfigError
        For an unknown *kind* or parameter (with a did-you-mean), a missing parameter or a bad value.

    Examples
    --------
    >>> generate("fat_tree", k=4).number_of_edges()
    48
    >>> generate("fat_tre", k=4)
    Traceback (most recent call last):
    ...
    netlab.errors.ConfigError: unknown topology generator 'fat_tre'; did you mean 'fat_tree'?
    """
    if kind not in GENERATORS:
        raise ConfigError(f"unknown topology generator {kind!r}{did_you_mean(kind, GENERATORS)}")
    func = GENERATORS[kind]
    sig = inspect.signature(func)
    kwargs: dict[str, Any] = {}
    for key, given in params.items():
        name, value = key, given
        if name not in sig.parameters:
            name = next((p for p in (f"{key}_bps", f"{key}_s") if p in sig.parameters), key)
        if name not in sig.parameters:
            raise ConfigError(f"{kind}: unknown parameter {key!r}{did_you_mean(key, sig.parameters)}")
        if name in kwargs:
            raise ConfigError(f"{kind}: parameter {name!r} given twice")
        if isinstance(value, str) and name.endswith("_bps"):
            value = parse_rate(value)
        elif isinstance(value, str) and name.endswith("_s"):
            value = parse_time(value)
        kwargs[name] = value
    missing = [p.name for p in sig.parameters.values() if p.default is p.empty and p.name not in kwargs]
    if missing:
        raise ConfigError(f"{kind}: missing parameter {', '.join(map(repr, missing))}")
    for name, value in kwargs.items():
        if isinstance(value, float) and not math.isfinite(value) and not (name.endswith("_bps") and value > 0):
            raise ConfigError(f"{kind}: {name} must be a finite number, got {value!r}")
    check_size(kind, kwargs)
    return func(**kwargs)


#: The most routers (switches) a generator builds, and the most links: ten times the largest topology measured
#: (bench/scale.py: 10,000 routers, setup 1.65 s, 441 MB), so a typo such as ``n: 100000000`` fails at once
#: instead of filling the memory.
MAX_ROUTERS = 100_000
MAX_LINKS = 1_000_000
#: Waxman draws every pair of routers (n**2 / 2 draws in Python: 3.4 s at n = 3,000, about 40 s at 10,000).
MAX_WAXMAN = 10_000


def _sizes(kind: str, p: dict[str, Any]) -> tuple[int, int] | None:
    """(routers, links) *kind* would build from *p* (hosts and their links counted as routers and links), or
    None when a parameter is not a whole number (the generator itself says so)."""
    ints = {k: v for k, v in p.items() if isinstance(v, int) and not isinstance(v, bool)}
    hosts = p.get("hosts", "none")

    def with_hosts(routers: int, links: int) -> tuple[int, int]:
        extra = routers if hosts == "all" else (2 if hosts == "ends" else 0)
        if not isinstance(hosts, str):
            extra = len(list(hosts)) if isinstance(hosts, list | tuple) else 0
        return routers + extra, links + extra

    try:
        if kind in ("line", "ring", "waxman"):
            n = ints["n"]
            return with_hosts(n, n)
        if kind == "grid":
            r, c = ints["rows"], ints["cols"]
            return with_hosts(r * c, 2 * r * c)
        if kind == "dumbbell":
            return 2 + ints["left"] + ints["right"], 1 + ints["left"] + ints["right"]
        if kind == "fat_tree":
            k = ints["k"]
            return 5 * k * k // 4 + k**3 // 4, 3 * k**3 // 4
        if kind == "barabasi_albert":
            n, m = ints["n"], ints["m"]
            return with_hosts(n, n * m)
    except KeyError:
        return None
    return None


def check_size(kind: str, params: dict[str, Any]) -> None:
    """Refuse, before building anything, a *kind* graph beyond :data:`MAX_ROUTERS` nodes or :data:`MAX_LINKS`
    links (Waxman: beyond :data:`MAX_WAXMAN` routers), with the numbers."""
    sizes = _sizes(kind, params)
    if sizes is None:
        return
    nodes, links = sizes
    given = ", ".join(f"{k}={_short(v)}" for k, v in params.items() if isinstance(v, int) and not isinstance(v, bool))
    if kind == "waxman" and params["n"] > MAX_WAXMAN:
        raise ConfigError(f"waxman: {given} would draw {_short(params['n'])}**2/2 router pairs; netlab draws "
                          f"Waxman graphs of at most {MAX_WAXMAN:,} routers (try barabasi_albert for larger "
                          "ones)")  # fmt: skip
    if nodes > MAX_ROUTERS or links > MAX_LINKS:
        raise ConfigError(f"{kind}: {given} would build {_short(nodes)} nodes and {_short(links)} links; netlab "
                          f"generates at most {MAX_ROUTERS:,} nodes and {MAX_LINKS:,} links (the largest topology "
                          "measured, 10,000 routers, takes 1.65 s and 441 MB to set up)")  # fmt: skip


def _short(n: int) -> str:
    """*n* with thousands separators, or in e-notation past 12 digits (a 1e20 typo need not print 21 digits)."""
    return f"{n:,}" if abs(n) < 10**12 else f"{n:.3g}"
