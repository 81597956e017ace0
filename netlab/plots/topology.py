"""Drawing a topology: routers and hosts in two colours, links labelled with their rate.

matplotlib is imported inside the function, so ``import netlab`` never pays for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import networkx as nx

from netlab.units import format_rate

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from netlab.topology.spec import Topology

__all__ = ["draw_topology"]

#: Node colour by role. Hosts are grey squares: grey is far from every colour of the plasma and viridis ramps
#: that colour links by load, so a host never reads as a busy link.
ROLE_COLOURS = {"router": "#4c72b0", "host": "#9e9e9e"}
#: Node marker by role (a second cue besides colour).
ROLE_MARKERS = {"router": "o", "host": "s"}
#: Above this many nodes only the MAX_LABELS best-connected ones are named: names on every node hide the graph.
MAX_NAMED_NODES = 100
MAX_LABELS = 10
#: Above this many links, rate labels would only hide the drawing.
MAX_LABELLED_LINKS = 30


def draw_topology(topology: Topology, ax: Axes | None = None, *, labels: bool = True, **kwargs: Any) -> Axes:
    """Draw *topology* on *ax* (a new figure if None) and return the Axes.

    Nodes sit at their ``x``/``y`` coordinates (longitude/latitude for Zoo topologies) when every node has
    them, else where :func:`networkx.spring_layout` puts them with seed 1 (the same drawing every time).
    Routers and hosts get different colours and markers; on more than 100 nodes only the 10 best-connected
    are named; directed links are drawn as arrows. Links carry their rate
    (bit/s, formatted) when there are fewer than 30. *kwargs* go to :func:`networkx.draw_networkx_nodes`.

    Parameters
    ----------
    topology : Topology
        What to draw.
    ax : matplotlib Axes, optional
        Where to draw.
    labels : bool
        Write node names and link rates.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 6))
    G: nx.Graph[str] = nx.Graph()
    G.add_nodes_from(n.name for n in topology.nodes)
    D: nx.DiGraph[str] = nx.DiGraph()
    D.add_nodes_from(G)
    rates: dict[tuple[str, str], str] = {}
    for link in topology.links:
        (D if link.directed else G).add_edge(link.a, link.b)
        rates.setdefault((link.a, link.b), format_rate(link.rate_bps))
    if all(n.x is not None and n.y is not None for n in topology.nodes):
        pos = {n.name: (float(n.x), float(n.y)) for n in topology.nodes}  # type: ignore[arg-type]
    else:
        layout: nx.Graph[str] = nx.Graph(G)
        layout.add_edges_from(D.edges)
        pos = {name: (float(x), float(y)) for name, (x, y) in nx.spring_layout(layout, seed=1).items()}
    for role, colour in ROLE_COLOURS.items():
        nodes = [n.name for n in topology.nodes if n.role == role]
        if nodes:
            nx.draw_networkx_nodes(G, pos, nodelist=nodes, node_color=colour, node_size=300 if role == "router"
                                   else 150, node_shape=ROLE_MARKERS[role], label=f"{role}s ({len(nodes)})",
                                   ax=ax, **kwargs)  # fmt: skip
    nx.draw_networkx_edges(G, pos, ax=ax, edge_color="#555555")
    if D.number_of_edges():
        nx.draw_networkx_edges(D, pos, ax=ax, edge_color="#555555", arrows=True, arrowstyle="-|>")
    if labels:
        nx.draw_networkx_labels(G, pos, labels=busiest_labels(G, D), ax=ax, font_size=8)
        if len(topology.links) < MAX_LABELLED_LINKS:
            for graph in (G, D):
                edge_labels = {e: r for e, r in rates.items() if graph.has_edge(*e)}
                if edge_labels:
                    nx.draw_networkx_edge_labels(graph, pos, edge_labels=edge_labels, ax=ax, font_size=7)
    # outside the drawing: on a layout any corner may hold nodes
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.set_axis_off()
    return ax


def busiest_labels(G: nx.Graph[str], D: nx.DiGraph[str] | None = None,
                   weight: dict[str, float] | None = None) -> dict[str, str]:  # fmt: skip
    """Node names to draw: all of them up to MAX_NAMED_NODES nodes, else the MAX_LABELS nodes of highest *weight*
    (default: degree, counting directed links too)."""
    if G.number_of_nodes() <= MAX_NAMED_NODES:
        return {n: n for n in G}
    score = weight or {n: G.degree(n) + (D.degree(n) if D is not None and n in D else 0) for n in G}
    top = sorted(G, key=lambda n: -score.get(n, 0.0))[:MAX_LABELS]
    return {n: n for n in top}
