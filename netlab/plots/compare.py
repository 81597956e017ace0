"""Plots of strategy comparisons: latency CDF and box/violin per strategy, load-latency curves with confidence
intervals, a link-utilisation heatmap, the topology with links coloured by load, and path shares over time.

Each function takes its data and an optional Axes and returns the Axes; matplotlib is imported inside.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import networkx as nx

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from netlab.experiment.comparison import Comparison
    from netlab.results import Results

__all__ = [
    "plot_latency_box",
    "plot_latency_cdf",
    "plot_link_heatmap",
    "plot_load_latency",
    "plot_path_share",
    "plot_topology_load",
]


def _axes(ax: Axes | None, figsize: tuple[float, float] = (7, 4)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def outside_legend(ax: Axes, **kwargs: Any) -> None:
    """A legend below the axes (never over the data); none when nothing is labelled."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, fontsize=7, loc="upper left", bbox_to_anchor=(0, -0.15), frameon=False,
                  **kwargs)  # fmt: skip


def _strategies(comp: Comparison, strategies: list[str] | None) -> list[str]:
    return list(strategies) if strategies is not None else comp.strategies


def plot_latency_cdf(comp: Comparison, ax: Axes | None = None, *, strategies: list[str] | None = None,
                     log: bool = True) -> Axes:  # fmt: skip
    """Empirical CDF of delivered packets' one-way delay (ms), one line per strategy, all replications pooled.

    *log*: a log delay axis (default), since queueing delays are heavy-tailed: a linear axis squeezes the body
    of the distribution into its first pixels. The legend sits below the axes, off the curves.
    """
    import numpy as np

    ax = _axes(ax)
    for label in _strategies(comp, strategies):
        d = np.sort(comp.delays.loc[comp.delays["strategy"] == label, "delay_s"].to_numpy()) * 1e3
        if len(d):
            ax.step(d, np.arange(1, len(d) + 1) / len(d), where="post", label=label)
    if log:
        ax.set_xscale("log")
    ax.set_xlabel("one-way delay (ms" + (", log scale)" if log else ")"))
    ax.set_ylabel("fraction of packets")
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    outside_legend(ax)
    ax.set_title("latency CDF per strategy")
    return ax


def plot_latency_box(comp: Comparison, ax: Axes | None = None, *, strategies: list[str] | None = None,
                     kind: str = "box") -> Axes:  # fmt: skip
    """Delay distribution (ms) per strategy as boxes (``kind="box"``, whiskers at 1st-99th percentiles) or
    violins (``kind="violin"``)."""
    ax = _axes(ax)
    labels = [s for s in _strategies(comp, strategies) if (comp.delays["strategy"] == s).any()]
    data = [comp.delays.loc[comp.delays["strategy"] == s, "delay_s"].to_numpy() * 1e3 for s in labels]
    if not data:
        ax.set_title("no delays recorded")
        return ax
    if kind == "violin":
        ax.violinplot(data, showmedians=True)
    elif kind == "box":
        ax.boxplot(data, whis=(1, 99), showfliers=False)
    else:
        raise ValueError(f"plot_latency_box: kind must be box or violin, got {kind!r}")
    ax.set_xticks(range(1, len(labels) + 1), labels, rotation=20, ha="right", fontsize=7)
    ax.set_xlabel("strategy")
    ax.set_ylabel("one-way delay (ms)")
    ax.set_title("delay per strategy")
    ax.grid(axis="y", alpha=0.3)
    return ax


def plot_load_latency(sweep: pd.DataFrame, ax: Axes | None = None, *, metric: str = "packet_delay_mean_s",
                      x: str | None = None) -> Axes:  # fmt: skip
    """*metric* (mean and CI band) against the swept value, one line per strategy, from :func:`netlab.sweep`.

    *x* is ``"value"`` (the swept value) or ``"offered_bps"`` (offered load, Mbit/s); by default the offered
    load for a load sweep, else the value.
    """
    from netlab.experiment.run_metrics import METRICS, canonical_metric

    metric = canonical_metric(metric)
    ax = _axes(ax)
    df = sweep[sweep["metric"] == metric]
    key = str(df["key"].iloc[0]) if len(df) else "value"
    x = x or ("offered_bps" if key == "load" and "offered_bps" in df else "value")
    _, scale, unit = METRICS.get(metric, ("", 1.0, ""))
    for label, group in df.groupby("strategy", sort=False):
        g = group.sort_values(x)
        xs = g[x].to_numpy(dtype=float) * (1e-6 if x == "offered_bps" else 1.0)
        line = ax.plot(xs, g["mean"] * scale, marker="o", label=str(label))[0]
        ax.fill_between(xs, g["ci_low"] * scale, g["ci_high"] * scale, color=line.get_color(), alpha=0.2)
    ax.set_xlabel("offered load (Mbit/s)" if x == "offered_bps" else key)
    ax.set_ylabel(metric.removesuffix("_s").removesuffix("_bps") + (f" ({unit})" if unit else ""))
    ax.grid(alpha=0.3)
    outside_legend(ax)
    ax.set_title(f"{metric.removesuffix('_s').removesuffix('_bps')} vs {key} (mean, 95 % CI)")
    return ax


def plot_link_heatmap(comp: Comparison, ax: Axes | None = None, *, strategy: str | None = None,
                      top: int = 20) -> Axes:  # fmt: skip
    """Link utilisation per time bin for one strategy (replication 0), busiest links on top."""
    from netlab.plots.network import plot_link_utilisation

    ax = _axes(ax, (9, 4.5))
    strategy = strategy or comp.baseline
    bins = comp.link_bins[comp.link_bins["strategy"] == strategy]
    links = comp.links[(comp.links["strategy"] == strategy) & (comp.links["replication"] == 0)]
    view = SimpleNamespace(link_bins=bins, links=links, scenario=comp.scenario)
    plot_link_utilisation(view, ax=ax, top=top)  # type: ignore[arg-type]
    marked = any(p.get_gid() == "fault" for p in ax.patches)  # fault names sit above the axes
    ax.set_title(f"link utilisation per time bin: {strategy}", pad=14 if marked else 6)
    return ax


def node_positions(topology: Any) -> dict[str, tuple[float, float]]:
    """Where to draw each node: its x/y when every node has them, else a spring layout (seed 1)."""
    if all(n.x is not None and n.y is not None for n in topology.nodes):
        return {n.name: (float(n.x), float(n.y)) for n in topology.nodes}
    G: nx.Graph[str] = nx.Graph()
    G.add_nodes_from(n.name for n in topology.nodes)
    G.add_edges_from((link.a, link.b) for link in topology.links)
    return {name: (float(x), float(y)) for name, (x, y) in nx.spring_layout(G, seed=1).items()}


def plot_topology_load(source: Results | Comparison, ax: Axes | None = None, *, strategy: str | None = None,
                       cmap: str = "plasma") -> Axes:  # fmt: skip
    """The topology with each edge coloured (and thickened) by the utilisation of its busier direction.

    *source* is a run's :class:`Results` or a :class:`Comparison` (then *strategy*'s mean over replications,
    the baseline by default).
    """
    import matplotlib as mpl

    from netlab.plots.topology import ROLE_COLOURS, ROLE_MARKERS, busiest_labels

    ax = _axes(ax, (7, 5))
    scenario = source.scenario
    if scenario is None:
        ax.set_title("no topology saved with these results")
        return ax
    if hasattr(source, "strategies"):
        strategy = strategy or source.baseline
        links = source.links[source.links["strategy"] == strategy]
        util = links.groupby(["src", "dst"])["utilisation"].mean().to_dict()
        title = f"link load: {strategy}"
    else:
        util = source.links.set_index(["src", "dst"])["utilisation"].to_dict()
        title = "link load"
    topo = scenario.topology
    pos = node_positions(topo)
    G: nx.Graph[str] = nx.Graph()
    for n in topo.nodes:
        G.add_node(n.name, role=n.role)
    edges, values = [], []
    for link in topo.links:
        u = max(
            float(util.get((link.a, link.b), 0.0)), float(util.get((link.b, link.a), 0.0) if not link.directed else 0.0)
        )
        u = 0.0 if math.isnan(u) else u
        edges.append((link.a, link.b))
        values.append(u)
        G.add_edge(link.a, link.b)
    norm = mpl.colors.Normalize(vmin=0.0, vmax=max(1.0, *values) if values else 1.0)
    colormap = mpl.colormaps[cmap]
    nx.draw_networkx_edges(G, pos, edgelist=edges, edge_color=[colormap(norm(v)) for v in values],
                           width=[1.5 + 6.0 * min(v, 1.0) for v in values], ax=ax)  # fmt: skip
    for role, colour in ROLE_COLOURS.items():
        nodes = [n.name for n in topo.nodes if n.role == role]
        if nodes:
            nx.draw_networkx_nodes(
                G,
                pos,
                nodelist=nodes,
                node_color=colour,
                node_size=300 if role == "router" else 150,
                node_shape=ROLE_MARKERS[role],
                ax=ax,
                label=f"{role}s ({len(nodes)})",
            )
    load: dict[str, float] = {}
    for (a, b), v in zip(edges, values, strict=True):  # a node's weight: the load of its links
        load[a], load[b] = load.get(a, 0.0) + v, load.get(b, 0.0) + v
    nx.draw_networkx_labels(G, pos, labels=busiest_labels(G, weight=load), ax=ax, font_size=8)
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, 0.0), fontsize=7, frameon=False, ncols=2)
    if len(edges) < 40:
        labels = {e: f"{v:.0%}" for e, v in zip(edges, values, strict=True)}
        nx.draw_networkx_edge_labels(G, pos, edge_labels=labels, ax=ax, font_size=7)
    ax.figure.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=colormap), ax=ax, label="utilisation (busier direction)")
    ax.set_axis_off()
    ax.set_title(title)
    return ax


def plot_path_share(source: Comparison | pd.DataFrame, ax: Axes | None = None, *, flow: str | None = None,
                    strategy: str | None = None, replication: int = 0) -> Axes:  # fmt: skip
    """Share of a flow's packets on each path per time bin (stacked), from a :class:`Comparison` or a paths table
    (``flow, path, bin_start_s, packets``). Shows oscillation: shares swinging between paths at each update.

    *flow* defaults to the flow with the most distinct paths; *strategy* to the first one with several paths.
    """
    ax = _axes(ax, (8, 3.5))
    paths = cast("pd.DataFrame", getattr(source, "paths", source))
    title_strategy = ""
    if "strategy" in paths:
        paths = paths[paths["replication"] == replication]
        if strategy is None and len(paths):
            strategy = str(_most_spread(paths, ["strategy", "flow"])[0])
        paths = paths[paths["strategy"] == strategy]
        title_strategy = f" ({strategy})"
    if paths.empty:
        ax.set_title("no paths recorded")
        return ax
    if flow is None:
        flow = str(_most_spread(paths, ["flow"])[0])
    table = paths[paths["flow"] == flow].pivot_table(index="bin_start_s", columns="path", values="packets",
                                                     aggfunc="sum", fill_value=0)  # fmt: skip
    share = table.div(table.sum(axis=1), axis=0)
    ax.stackplot(share.index.to_numpy(dtype=float), share.to_numpy().T, labels=list(share.columns), step="post")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("share of packets")
    ax.set_ylim(0, 1)
    outside_legend(ax)
    ax.set_title(f"path share of flow {flow}{title_strategy}")
    return ax


def _most_spread(paths: pd.DataFrame, keys: list[str]) -> tuple[Any, ...]:
    """The group (by *keys*) whose packets are least concentrated on one path (first on ties)."""
    per_path = paths.groupby([*keys, "path"], sort=False)["packets"].sum()
    spread = 1.0 - per_path.groupby(level=keys, sort=False).max() / per_path.groupby(level=keys, sort=False).sum()
    best = spread.idxmax()
    return best if isinstance(best, tuple) else (best,)
