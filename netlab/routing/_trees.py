"""Shortest-path trees toward destinations: each node's next link, kept per destination, built when asked for.

A tree toward destination *d* holds, for every node, the link that starts its shortest path to *d* over the links
that are up (by hop count, or by a link cost), and each node's distance. It is the predecessor tree of one search
from *d* over the reversed links; no path is ever listed. Trees are built for the destinations a strategy names
(:meth:`ShortestPathTrees.prepare`: the hosts, say) and for any other destination the first time a packet heads for
it, so a topology of 10,000 routers costs nothing for the routers that nobody sends to.

Ties break exactly as networkx's searches on the reversed graph do (``single_source_shortest_path`` for hop
counts, ``single_source_dijkstra_path`` for costs), whose graph lists each node's incoming links in topology
order: a node's next hop is the first node settled, in the search's order, that lies on one of its shortest paths.
Two engines give that same tree: a plain-Python search for small graphs (no import cost) and, from
:data:`FAST_MIN_NODES` nodes on, scipy's C searches with the tie order rebuilt by numpy
(:mod:`netlab.routing._fast_trees`). ``tests/test_routing_trees.py`` compares both with the networkx searches on
random graphs full of equal-cost ties.

After a link or node goes down or comes up, :meth:`ShortestPathTrees.refresh` keeps every tree the change cannot
alter (a link that went down carried none of its shortest paths; a link that came up would not shorten or tie any)
and drops the rest, to be built again when next needed.

>>> import netlab
>>> from netlab.network.network import Network
>>> topo = netlab.Topology(tuple(netlab.NodeSpec(n) for n in "abcd"),
...                        tuple(netlab.LinkSpec(u, v) for u, v in ("ab", "bd", "ac", "cd")))
>>> import simpy
>>> net = Network(simpy.Environment(), topo)
>>> trees = ShortestPathTrees(net, lambda link: None)
>>> a, d = net.nodes["a"], net.nodes["d"]
>>> trees.next_link(a, d).name, trees.distance(a, d)
('a->b', 2.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

from netlab.errors import ConfigError

if TYPE_CHECKING:
    from netlab.network.link import Link
    from netlab.network.network import Network
    from netlab.network.node import Node

__all__ = ["FAST_MIN_NODES", "ShortestPathTrees", "python_tree"]

#: From this many nodes on, trees come from scipy's C searches. Below it the plain-Python search is faster than
#: importing numpy and scipy (about 0.3 s) and each tree takes well under a millisecond.
FAST_MIN_NODES = 400

#: A link's cost: a number, or None for "count hops" (every link costs 1).
Weight = Callable[["Link"], "float | None"]

#: One node's incoming links as ``(from node, link number, cost)``, in topology order.
Row = list[tuple[int, int, float]]


def python_tree(rows: Sequence[Row], n: int, dst: int, hop_count: bool) -> tuple[list[int], list[float]]:
    """Next link number (-1: none) and distance of each of *n* nodes toward node *dst*, in pure Python.

    *rows[v]* lists the links into node *v* that are up. A breadth-first search (*hop_count*) or Dijkstra's
    search from *dst* over the reversed links; a node's next link is the one toward the node that first reached
    it, so ties go the way networkx's searches send them (see the module docstring).
    """
    nxt = [-1] * n
    dist = [math.inf] * n
    dist[dst] = 0.0
    if hop_count:
        frontier, d = [dst], 0.0
        while frontier:
            d += 1.0
            found = []
            for v in frontier:
                for u, link, _w in rows[v]:
                    if dist[u] == math.inf:
                        dist[u] = d
                        nxt[u] = link
                        found.append(u)
            frontier = found
        return nxt, dist
    # networkx's _dijkstra_multisource: a node keeps the first settled neighbour that gave it its final distance.
    seen: list[float | None] = [None] * n
    seen[dst] = 0.0
    done = bytearray(n)
    heap: list[tuple[float, int, int]] = [(0.0, 0, dst)]
    count = 1
    while heap:
        d, _, v = heappop(heap)
        if done[v]:
            continue
        done[v] = 1
        dist[v] = d
        for u, link, w in rows[v]:
            if done[u]:
                continue
            nd = d + w
            s = seen[u]
            if s is None or nd < s:
                seen[u] = nd
                nxt[u] = link
                heappush(heap, (nd, count, u))
                count += 1
    return nxt, dist


class ShortestPathTrees:
    """Next links toward destinations over the links of *net* that are up, one tree per destination.

    Parameters
    ----------
    net : Network
    weight : callable
        ``weight(link)``: the link's cost (a number >= 0), or None for every link (count hops).
    fast : bool, optional
        Force the scipy engine on (True) or off (False); by default it serves graphs of :data:`FAST_MIN_NODES`
        nodes and more.
    is_up : callable, optional
        Which links count as up (default: ``link.routed_up``, the state routing has been told of, when the trees
        are built or refreshed). A strategy that learns of changes later still passes its own view.

    A tree costs one 4-byte link number and one distance per node (about 130 KB at 11,000 nodes).
    """

    def __init__(
        self, net: Network, weight: Weight, *, fast: bool | None = None, is_up: Callable[[Link], bool] | None = None
    ) -> None:
        self.net = net
        self.weight = weight
        self.is_up = is_up
        self.nodes: list[Node] = list(net.nodes.values())
        self.index: dict[Node, int] = {node: i for i, node in enumerate(self.nodes)}
        self.links: list[Link] = list(net.links)
        self._number: dict[Link, int] = {link: k for k, link in enumerate(self.links)}
        self.src = [self.index[link.src] for link in self.links]
        self.dst = [self.index[link.dst] for link in self.links]
        self.fast = len(self.nodes) >= FAST_MIN_NODES if fast is None else fast
        self._trees: dict[int, tuple[Any, Any]] = {}  # destination -> (next link numbers, distances)
        self._sets: dict[int, tuple[Any, Any]] = {}  # destination -> equal-cost links (offsets by node, link numbers)
        self._dists: dict[int, Any] = {}  # destination -> distances, for those with no tree
        self._first: dict[int, Any] = {}  # destination -> first least-cost link number per node
        self.built = 0  # trees built so far (for tests and benchmarks)
        self._snapshot()

    def __repr__(self) -> str:
        engine = "scipy" if self.fast else "python"
        return f"<ShortestPathTrees {len(self.nodes)} nodes, {len(self._trees)} trees, {engine}>"

    # ---------------------------------------------------------------- the graph
    def _snapshot(self) -> None:
        """Read the links' up states and costs; build the engine's view of the links that are up."""
        is_up = self.is_up
        self.up = [link.routed_up for link in self.links] if is_up is None else [is_up(link) for link in self.links]
        raw = [self.weight(link) for link in self.links]
        self.hop_count = all(w is None for w in raw)
        self.costs = [1.0 if w is None else float(w) for w in raw]
        bad = next((i for i, w in enumerate(self.costs) if self.up[i] and not w >= 0), None)
        if bad is not None:
            raise ConfigError(f"routing: link {self.links[bad].name} costs {self.costs[bad]!r}: expected a number >= 0")
        self.rows: list[Row] | None = None
        self.engine: Any = None
        if self.fast:
            from netlab.routing._fast_trees import FastGraph

            weights = None if self.hop_count else self.costs
            self.engine = FastGraph(len(self.nodes), self.src, self.dst, self.up, weights)
        else:
            self.rows = self._rows()

    def _rows(self) -> list[Row]:
        rows: list[Row] = [[] for _ in self.nodes]
        for i, up in enumerate(self.up):
            if up:
                rows[self.dst[i]].append((self.src[i], i, self.costs[i]))
        return rows

    # ---------------------------------------------------------------- trees
    def prepare(self, destinations: Iterable[Node]) -> None:
        """Build now the trees toward *destinations* that are not built yet (in batches, on the fast engine)."""
        todo = [j for j in dict.fromkeys(self.index[d] for d in destinations) if j not in self._trees]
        if not todo:
            return
        if self.engine is not None:
            for j, tree in zip(todo, self.engine.trees(todo), strict=True):
                self._trees[j] = tree if tree is not None else self._python(j)
        else:
            for j in todo:
                self._trees[j] = self._python(j)
        self.built += len(todo)

    def _python(self, j: int) -> tuple[Any, Any]:
        if self.rows is None:
            self.rows = self._rows()
        nxt, dist = python_tree(self.rows, len(self.nodes), j, self.hop_count)
        if self.engine is not None:
            tree: tuple[Any, Any] = self.engine.arrays(nxt, dist)
            return tree
        return nxt, dist

    def _tree(self, dst: Node) -> tuple[Any, Any]:
        j = self.index[dst]
        tree = self._trees.get(j)
        if tree is None:
            self.prepare((dst,))
            tree = self._trees[j]
        return tree

    def next_link(self, node: Node, dst: Node) -> Link | None:
        """The link *node* forwards on toward *dst*, or None (*node* is *dst*, or cannot reach it)."""
        i = int(self._tree(dst)[0][self.index[node]])
        return self.links[i] if i >= 0 else None

    def distance(self, node: Node, dst: Node) -> float:
        """The length of *node*'s shortest path to *dst* (hops or summed cost; inf if there is none)."""
        return float(self._tree(dst)[1][self.index[node]])

    def distances(self, dst: Node) -> Sequence[float]:
        """Each node's distance to *dst*, by node number (inf: no path); cheaper than a tree when none is built."""
        j = self.index[dst]
        tree = self._trees.get(j)
        if tree is not None:
            dist: Sequence[float] = tree[1]
            return dist
        dist = self._dists.get(j)  # type: ignore[assignment]
        if dist is None:
            dist = self.engine.distances(j) if self.engine is not None else self._python(j)[1]
            self._dists[j] = dist
        return dist

    def first_least(self, node: Node, dst: Node) -> Link | None:
        """*node*'s first up link (topology order) on a least-cost path to *dst*; a later link wins only if it is
        more than 1e-15 cheaper (the rule :class:`netlab.LeastLoaded` has always used). None: no path."""
        j = self.index[dst]
        first = self._first.get(j)
        if first is None:
            dist = self.distances(dst)
            first = self.engine.first_least(dist, j) if self.engine is not None else self._first_least(dist, j)
            self._first[j] = first
        k = int(first[self.index[node]])
        return self.links[k] if k >= 0 else None

    def _first_least(self, dist: Sequence[float], j: int) -> list[int]:
        out = [-1] * len(self.nodes)
        for i, node in enumerate(self.nodes):
            if i == j or math.isinf(dist[i]):
                continue
            best, best_d = -1, math.inf
            for link in node.out_links:
                k = self._number[link]
                if not self.up[k]:
                    continue
                dv = dist[self.dst[k]]
                if not math.isinf(dv) and dv + self.costs[k] < best_d - 1e-15:
                    best, best_d = k, dv + self.costs[k]
            out[i] = best
        return out

    def equal_cost(self, node: Node, dst: Node, rel_tol: float = 1e-9) -> list[Link]:
        """Every up link of *node* that starts a shortest path to *dst* (ECMP), in topology order.

        A link ``node -> v`` counts when ``dist(v) + cost`` equals ``dist(node)`` (within *rel_tol*, or 1e-15 s)
        and *v* is strictly closer, so forwarding over any of them is loop-free.
        """
        j = self.index[dst]
        sets = self._sets.get(j)
        if sets is None:
            dist = self._tree(dst)[1]
            if self.engine is not None:
                sets = self.engine.equal_cost(dist, j, rel_tol)
            else:
                sets = self._equal_cost(dist, j, rel_tol)
            self._sets[j] = sets
        ptr, ids = sets
        i = self.index[node]
        return [self.links[k] for k in ids[ptr[i] : ptr[i + 1]]]

    def _equal_cost(self, dist: list[float], j: int, rel_tol: float) -> tuple[list[int], list[int]]:
        by_node: list[list[int]] = [[] for _ in self.nodes]
        for k, up in enumerate(self.up):
            u, v = self.src[k], self.dst[k]
            du, dv = dist[u], dist[v]
            if not up or u == j or math.isinf(du) or math.isinf(dv):
                continue
            if math.isclose(dv + self.costs[k], du, rel_tol=rel_tol, abs_tol=1e-15) and dv < du:
                by_node[u].append(k)
        ptr = [0]
        for ks in by_node:
            ptr.append(ptr[-1] + len(ks))
        return ptr, [k for ks in by_node for k in ks]

    def table(self, node: Node) -> dict[Node, Link]:
        """Every destination *node* can reach, with its next link (builds every tree: for tests and small nets)."""
        self.prepare(self.nodes)
        return {dst: link for dst in self.nodes if (link := self.next_link(node, dst)) is not None}

    @property
    def destinations(self) -> list[Node]:
        """The destinations whose trees are built."""
        return [self.nodes[j] for j in self._trees]

    # ---------------------------------------------------------------- changes
    def refresh(self) -> list[Node]:
        """After links went down or came up: keep the trees the change cannot alter, drop the others.

        Returns the destinations whose trees were dropped. A tree stays when no link that went down is the next
        link of a node in it, and no link that came up would give its start a path as short as its current one.
        """
        old = self.up
        self._snapshot()
        changed = [i for i, (a, b) in enumerate(zip(old, self.up, strict=True)) if a != b]
        if not changed:
            return []
        down = [i for i in changed if not self.up[i]]
        came = [i for i in changed if self.up[i]]
        if self.engine is not None:
            touched = self.engine.touched(self._trees, down, came)
        else:
            touched = [j for j, (nxt, dist) in self._trees.items() if self._touches(nxt, dist, down, came)]
        for j in touched:
            del self._trees[j]
        self._sets.clear()
        self._dists.clear()
        self._first.clear()
        return [self.nodes[j] for j in touched]

    def _touches(self, nxt: list[int], dist: list[float], down: list[int], came: list[int]) -> bool:
        src, dst, cost = self.src, self.dst, self.costs
        return any(nxt[src[i]] == i for i in down) or any(dist[dst[i]] + cost[i] <= dist[src[i]] for i in came)

    def clear(self) -> None:
        """Drop every tree and read the links again (after costs changed)."""
        self._trees.clear()
        self._sets.clear()
        self._dists.clear()
        self._first.clear()
        self._snapshot()
