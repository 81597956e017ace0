"""The C-speed engine of :class:`~netlab.routing._trees.ShortestPathTrees`: scipy's searches, networkx's tie order.

The reversed graph is a scipy CSR matrix whose row *v* lists the links into *v* in topology order, so
:func:`scipy.sparse.csgraph.breadth_first_order` visits neighbours exactly as networkx's breadth-first search does
and its predecessors are the hop-count tree as it stands. For costs, :func:`scipy.sparse.csgraph.dijkstra` gives
the distances (the same floating-point sums networkx's search makes), and the tree follows from them:

* a node's *candidates* are the neighbours ``v`` with ``dist[v] + cost == dist[node]``;
* networkx keeps the candidate its search settled first. Candidates at different distances settle in distance
  order, so only candidates at the same distance need the search's order among equals, which is: by the place
  of the node that reached them first (their own next hop), then by their position in that node's row;
* that order is rebuilt group by group of equal distance, each group once every group its members' candidates
  belong to is placed (a breadth-first walk over the groups), with a handful of numpy operations per step.

Zero-cost ties (a candidate at the node's own distance) are left to the plain-Python search: ``trees`` answers
None for such a destination. Imported only when a graph is large enough to need it (numpy and scipy load here).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import breadth_first_order, dijkstra

__all__ = ["FastGraph"]

#: Distances are computed for this many destinations at once, at most (memory: batch x nodes x 8 bytes).
BATCH_CELLS = 4_000_000

Tree = tuple[np.ndarray, np.ndarray]  # next link number per node (-1: none), distance per node


def _gather(ptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The entries ``ptr[r]:ptr[r+1]`` of each of *rows*, concatenated: (their positions, each row's count)."""
    starts = ptr[rows]
    lens = ptr[rows + 1] - starts
    total = int(lens.sum())
    offsets = np.repeat(starts - (np.cumsum(lens) - lens), lens)
    return np.arange(total, dtype=np.int64) + offsets, lens


class FastGraph:
    """The links that are up, as arrays: *src*, *dst* (node numbers) and *up* per link; *weights* None = hops."""

    def __init__(
        self, n: int, src: Sequence[int], dst: Sequence[int], up: Sequence[bool], weights: Sequence[float] | None
    ) -> None:
        self.n = n
        self.hop_count = weights is None
        link_src = np.asarray(src, dtype=np.int64)
        link_dst = np.asarray(dst, dtype=np.int64)
        ids = np.flatnonzero(np.asarray(up, dtype=bool))
        order = np.argsort(link_dst[ids], kind="stable")  # rows by link end, topology order within a row
        self.e_link = ids[order]
        self.e_u = link_src[self.e_link]
        self.e_v = link_dst[self.e_link]
        counts = np.bincount(self.e_v, minlength=n)
        self.indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=self.indptr[1:])
        self.e_pos = np.arange(len(self.e_link), dtype=np.int64) - self.indptr[self.e_v]
        self.max_row = int(counts.max(initial=0)) + 1
        all_w = np.ones(len(link_src)) if weights is None else np.asarray(weights, dtype=np.float64)
        self.link_w = all_w
        self.e_w = all_w[self.e_link]
        # Every cost the same (OSPF on equal links, say): the tree is the hop-count tree, whatever the sums.
        w_up = self.e_w
        self.uniform = weights is None or (len(w_up) > 0 and bool((w_up == w_up[0]).all()) and w_up[0] > 0)
        self.python_only = not bool(np.isfinite(w_up).all())
        self.R = csr_array((self.e_w, self.e_u.astype(np.int32), self.indptr.astype(np.int32)), shape=(n, n))
        self.link_src, self.link_dst = link_src, link_dst
        key = self.e_u * n + self.e_v  # (from, to) -> link number, for the predecessors of the search
        korder = np.argsort(key)
        self.keys = key[korder]
        self.key_link = self.e_link[korder]
        self.by_src = np.lexsort((self.e_link, self.e_u))  # entries node by node, in topology order within a node

    # ---------------------------------------------------------------- trees
    def trees(self, dsts: Sequence[int]) -> list[Tree | None]:
        """The trees toward *dsts* (None for one only the plain-Python search may build)."""
        if self.python_only:
            return [None] * len(dsts)
        if self.hop_count:
            return [self._bfs(j) for j in dsts]
        out: list[Tree | None] = []
        batch = max(1, BATCH_CELLS // max(self.n, 1))
        for k in range(0, len(dsts), batch):
            chunk = list(dsts[k : k + batch])
            D = np.atleast_2d(dijkstra(self.R, directed=True, indices=chunk))
            for j, dist in zip(chunk, D, strict=True):
                nxt = self._bfs(j)[0] if self.uniform else self._dijkstra(j, dist)
                out.append(None if nxt is None else (nxt, dist.copy()))
        return out

    def distances(self, j: int) -> np.ndarray:
        """Every node's distance to *j* alone (no tree)."""
        if self.hop_count:
            return self._bfs(j)[1]
        dist: np.ndarray = dijkstra(self.R, directed=True, indices=j)
        return dist

    def arrays(self, nxt: list[int], dist: list[float]) -> Tree:
        """A tree from the plain-Python search, stored as this engine stores its own."""
        return np.asarray(nxt, dtype=np.int32), np.asarray(dist, dtype=np.float32 if self.hop_count else np.float64)

    def _links(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        found: np.ndarray = self.key_link[np.searchsorted(self.keys, u * self.n + v)]
        return found

    def _bfs(self, j: int) -> Tree:
        """The breadth-first tree toward *j*: next links from the search's predecessors, hop counts by doubling."""
        _, pred = breadth_first_order(self.R, j, directed=True, return_predecessors=True)
        nxt = np.full(self.n, -1, dtype=np.int32)
        u = np.flatnonzero(pred >= 0)
        nxt[u] = self._links(u, pred[u].astype(np.int64))
        # Hops to j: each node's count to an ancestor, doubled until the ancestor is j (log2 of the depth rounds).
        up = np.arange(self.n)
        up[u] = pred[u]
        hops = np.zeros(self.n, dtype=np.float32)
        hops[u] = 1.0
        while True:
            further = up[up]
            if (further == up).all():
                break
            hops += hops[up]
            up = further
        hops[(pred < 0) & (up != j)] = np.inf
        return nxt, hops

    def _dijkstra(self, j: int, D: np.ndarray) -> np.ndarray | None:
        Dv, Du = D[self.e_v], D[self.e_u]
        tight = (Dv + self.e_w == Du) & (self.e_u != j) & np.isfinite(Dv)
        t = self.by_src[tight[self.by_src]]  # each node's candidate entries, node by node
        if (Dv[t] == Du[t]).any():
            return None  # a zero-cost tie: settled in the search's own order, which only the search knows
        tu = self.e_u[t]
        nxt = np.full(self.n, -1, dtype=np.int32)
        if not len(t):
            return nxt
        starts = np.flatnonzero(np.r_[True, tu[1:] != tu[:-1]])
        lens = np.diff(np.r_[starts, len(t)])
        dv = Dv[t]
        at_min = dv == np.repeat(np.minimum.reduceat(dv, starts), lens)
        if (np.add.reduceat(at_min, starts) == 1).all():
            chosen = t[at_min]  # no node has two candidates at the nearest distance: no order needed
            nxt[self.e_u[chosen]] = self.e_link[chosen]
            return nxt
        return self._ordered(j, D, t, tu, nxt)

    def _ordered(self, j: int, D: np.ndarray, t: np.ndarray, tu: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        """The tree when candidates tie: rebuild the search's order, group of equal distance by group."""
        n = self.n
        reached = np.flatnonzero(np.isfinite(D))
        members = reached[np.argsort(D[reached], kind="stable")]  # by distance
        ds = D[members]
        sorted_gid = np.cumsum(np.r_[False, ds[1:] != ds[:-1]])  # group number: equal distances, one group
        gid = np.full(n, -1, dtype=np.int64)
        gid[members] = sorted_gid
        groups = int(sorted_gid[-1]) + 1
        uptr = np.zeros(n + 1, dtype=np.int64)  # each node's candidate entries (t is sorted by node)
        np.cumsum(np.bincount(tu, minlength=n), out=uptr[1:])
        tv = self.e_v[t]
        edges = np.unique(gid[tv] * groups + gid[tu])  # group of a candidate -> group of the node
        g_from, g_to = edges // groups, edges % groups
        waiting = np.bincount(g_to, minlength=groups)
        gptr = np.searchsorted(g_from, np.arange(groups + 1))
        mptr = np.zeros(groups + 1, dtype=np.int64)
        np.cumsum(np.bincount(sorted_gid, minlength=groups), out=mptr[1:])
        rank = np.zeros(n, dtype=np.int64)  # place in the search's order among the nodes at the same distance
        ready = np.flatnonzero(waiting == 0)
        while len(ready):
            idx, _ = _gather(mptr, ready)
            m = members[idx]
            m = m[m != j]
            if len(m):
                ent, lens = _gather(uptr, m)
                cand = t[ent]
                v = self.e_v[cand]
                key = gid[v] * n + rank[v]  # the first settled candidate: nearest, then first in the order
                first = np.r_[0, np.cumsum(lens)[:-1]]
                chosen = cand[key == np.repeat(np.minimum.reduceat(key, first), lens)]
                nxt[m] = self.e_link[chosen]
                p = self.e_v[chosen]
                reached_by = (gid[p] * n + rank[p]) * self.max_row + self.e_pos[chosen]
                order = np.lexsort((reached_by, gid[m]))
                sm = m[order]
                sg = gid[sm]
                pos = np.arange(len(sm))
                start = np.maximum.accumulate(np.where(np.r_[True, sg[1:] != sg[:-1]], pos, 0))
                rank[sm] = pos - start
            nxt_idx, _ = _gather(gptr, ready)
            succ, times = np.unique(g_to[nxt_idx], return_counts=True)
            waiting[succ] -= times
            ready = succ[waiting[succ] == 0]
        return nxt

    def equal_cost(self, dist: np.ndarray, j: int, rel_tol: float) -> tuple[np.ndarray, np.ndarray]:
        """The equal-cost next links toward *j* of every node: (offsets by node, link numbers in topology order)."""
        D = dist.astype(np.float64)
        e = self.by_src  # entries node by node, topology order within a node
        u, v = self.e_u[e], self.e_v[e]
        du, dv = D[u], D[v]
        a = dv + self.e_w[e]
        # math.isclose(a, du, rel_tol, abs_tol=1e-15), written out with the same floating-point operations
        with np.errstate(invalid="ignore"):  # inf - inf where neither end reaches j: dropped below
            diff = np.abs(du - a)
            close = (diff <= np.abs(rel_tol * du)) | (diff <= np.abs(rel_tol * a)) | (diff <= 1e-15)
        keep = close & (dv < du) & (u != j) & np.isfinite(du) & np.isfinite(dv)
        ids = self.e_link[e][keep]
        ptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(u[keep], minlength=self.n), out=ptr[1:])
        return ptr, ids

    def first_least(self, dist: Any, j: int) -> np.ndarray:
        """Per node, the first link (topology order) with the least ``dist[end] + cost``, where a later link wins
        only when more than 1e-15 cheaper than the one chosen so far (-1: none). Nodes whose candidates differ by
        less than a few ulps from the least are decided by that sequential rule itself, in Python."""
        D = np.asarray(dist, dtype=np.float64)
        e = self.by_src
        u = self.e_u[e]
        val = D[self.e_v[e]] + self.e_w[e]
        out = np.full(self.n, -1, dtype=np.int32)
        if not len(e):
            return out
        starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
        lens = np.diff(np.r_[starts, len(u)])
        low = np.repeat(np.minimum.reduceat(val, starts), lens)
        with np.errstate(invalid="ignore"):
            near = (val > low) & (val <= low + 2e-15 + 4 * np.spacing(np.abs(low)))
        owner = u[starts]
        fine = np.isfinite(low) & (u != j) & ~np.repeat(np.add.reduceat(near, starts) > 0, lens)
        pick = np.flatnonzero(fine & (val == low))
        pu = u[pick]
        first = pick[np.r_[True, pu[1:] != pu[:-1]]] if len(pick) else pick  # the first at the least, node by node
        out[u[first]] = self.e_link[e[first]]
        for i in np.flatnonzero(np.add.reduceat(near, starts) > 0):
            node = int(owner[i])
            if node == j or not np.isfinite(low[starts[i]]):
                continue
            best, best_d = -1, np.inf
            for k in range(starts[i], starts[i] + lens[i]):
                if val[k] < best_d - 1e-15:
                    best, best_d = int(self.e_link[e[k]]), val[k]
            out[node] = best
        return out

    # ---------------------------------------------------------------- changes
    def touched(self, trees: dict[int, Tree], down: list[int], came: list[int]) -> list[int]:
        """The destinations of *trees* that links going *down* or *came* up can alter (see ShortestPathTrees)."""
        d = np.asarray(down, dtype=np.int64)
        c = np.asarray(came, dtype=np.int64)
        d_src = self.link_src[d]
        c_src, c_dst, c_w = self.link_src[c], self.link_dst[c], self.link_w[c]
        out = []
        for j, (nxt, dist) in trees.items():
            dist64: Any = dist.astype(np.float64) if self.hop_count else dist
            if (nxt[d_src] == d).any() or (dist64[c_dst] + c_w <= dist64[c_src]).any():
                out.append(j)
        return out
