"""Animations on the topology, for a lecture. One message's life: each SMTP hop's segments moving along the links
from client to server, the message waiting at an MTA in between, and the stage timeline advancing beside it.

:func:`animate_message` returns a :class:`matplotlib.animation.FuncAnimation`: in Jupyter show it with
``IPython.display.HTML(anim.to_jshtml())``, or write a standalone page with
``Path("message.html").write_text(anim.to_jshtml())`` (JavaScript and embedded PNG frames: no ffmpeg needed).
:func:`message_frames` is the data behind it (where the segments are at each frame), for other renderers.

The segments are drawn along the hop-count path between the SMTP client and server in the topology (the
packets' own paths, which the routing chose per packet, are in ``res.packets``). Time advances stage by stage,
each stage given the same number of frames, so a 5-minute queue wait and a 20 ms transfer both stay visible; the
title gives the simulated time.

:func:`animate_links` shows link load over time: one frame per bin of ``res.link_bins``, each edge coloured by
the utilisation of its busier direction in that bin (:func:`link_frames` is the data). matplotlib is imported
inside the functions.
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING, Any, NamedTuple

import networkx as nx

from netlab.errors import ConfigError

if TYPE_CHECKING:
    from matplotlib.animation import FuncAnimation

    from netlab.results import Results

__all__ = ["Frame", "animate_links", "animate_message", "link_frames", "message_frames"]

#: Segments drawn per SMTP hop: a train of dots, the first leading.
SEGMENTS = 5


class Frame(NamedTuple):
    """One frame: simulated time (s), the stage's label and index, and the segments' (x, y) positions."""

    time_s: float
    stage: str
    stage_index: int
    points: tuple[tuple[float, float], ...]


def _along(path: list[tuple[float, float]], f: float) -> tuple[float, float]:
    """The point a fraction *f* (0..1) of the way along the polyline *path*, by length."""
    import math

    f = min(max(f, 0.0), 1.0)
    lengths = [math.dist(a, b) for a, b in pairwise(path)]
    total = sum(lengths)
    if total == 0.0:
        return path[-1]
    left = f * total
    for (a, b), length in zip(pairwise(path), lengths, strict=True):
        if left <= length and length > 0:
            t = left / length
            return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
        left -= length
    return path[-1]


def message_frames(res: Results, message_id: str | None = None, *, rcpt: str | None = None,
                   frames_per_stage: int = 12) -> list[Frame]:  # fmt: skip
    """The frames of :func:`animate_message`: per stage of :func:`~netlab.plots.mail.message_stages`,
    *frames_per_stage* frames; in an SMTP stage the segments move from the client's node to the server's,
    otherwise they wait at the host the message is at."""
    from netlab.plots.compare import node_positions
    from netlab.plots.mail import chosen_message, message_stages

    if res.scenario is None:
        raise ConfigError("animate_message: these results carry no scenario (no topology to draw on)")
    if frames_per_stage < 2:
        raise ConfigError(f"animate_message: frames_per_stage must be >= 2, got {frames_per_stage!r}")
    topo = res.scenario.topology
    pos = node_positions(topo)
    G: nx.Graph[str] = nx.Graph()
    G.add_nodes_from(pos)
    G.add_edges_from((link.a, link.b) for link in topo.links)
    stages = message_stages(res, message_id, rcpt)
    sender_host = _submitting_host(res, chosen_message(res, message_id, rcpt)["message_id"])
    frames: list[Frame] = []
    here = sender_host or next(iter(pos))
    for i, (label, start, end) in enumerate(stages):
        path: list[tuple[float, float]]
        if label.startswith("SMTP "):
            client, _, server = label.removeprefix("SMTP ").partition(" -> ")
            client = client if client in pos else here
            nodes = nx.shortest_path(G, client, server) if server in pos and client in pos else [here]
            path = [pos[n] for n in nodes]
            here = server if server in pos else here
        else:
            path = [pos[here]]
        for k in range(frames_per_stage):
            f = k / (frames_per_stage - 1)
            lag = 0.08  # spacing of the dots of the train, as a fraction of the path
            points = tuple(_along(path, f * (1 + lag * (SEGMENTS - 1)) - lag * j) for j in range(SEGMENTS))
            frames.append(Frame(start + f * (end - start), label, i, points))
    return frames


def _submitting_host(res: Results, message_id: str) -> str | None:
    """The host of the mail program that submitted *message_id* (its first SMTP hop's client)."""
    hops = res.tables.get("mail_hops")
    if hops is None or not len(hops):
        return None
    mine = hops[hops["message_id"] == message_id].sort_values("start_s")
    return str(mine.iloc[0]["client"]) if len(mine) else None


def animate_message(res: Results, message_id: str | None = None, *, rcpt: str | None = None,
                    frames_per_stage: int = 12, interval_ms: int = 80) -> FuncAnimation:  # fmt: skip
    """An animation of one (message, recipient)'s life (default: the first delivered mail): the topology with
    the message's segments moving hop by hop, and its stage timeline with a cursor at the current stage.

    Export: ``anim.to_jshtml()`` (a standalone HTML page; no ffmpeg). The figure is left open for the caller.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    from netlab.plots.mail import chosen_message, message_stages, plot_message_timeline
    from netlab.plots.topology import draw_topology

    frames = message_frames(res, message_id, rcpt=rcpt, frames_per_stage=frames_per_stage)
    stages = message_stages(res, message_id, rcpt)
    if res.scenario is None:  # pragma: no cover - message_frames has refused these results already
        raise ConfigError("animate_message: these results carry no scenario")
    fig, (ax_topo, ax_time) = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [1.2, 1]})
    draw_topology(res.scenario.topology, ax=ax_topo, labels=False)
    plot_message_timeline(res, message_id, rcpt, ax=ax_time)
    row = chosen_message(res, message_id, rcpt)
    fig.suptitle(f"message {row['message_id']} to {row['rcpt_to']}")
    topo = res.scenario.topology
    if len(topo.nodes) <= 40:  # names on a small graph; on a large one they would hide it
        from netlab.plots.compare import node_positions

        G: nx.Graph[str] = nx.Graph()
        G.add_nodes_from(n.name for n in topo.nodes)
        nx.draw_networkx_labels(G, node_positions(topo), ax=ax_topo, font_size=7)
    dots = ax_topo.scatter([p[0] for p in frames[0].points], [p[1] for p in frames[0].points], s=40, c="#d62728",
                           zorder=5)  # fmt: skip
    cursor = ax_time.axhspan(-0.5, 0.5, color="#d62728", alpha=0.15)
    t0 = stages[0][1] if stages else 0.0

    def update(i: int) -> tuple[Any, ...]:
        fr = frames[i]
        dots.set_offsets([list(p) for p in fr.points])
        cursor.set_y(fr.stage_index - 0.5)
        ax_topo.set_title(f"t = {fr.time_s:.3f} s ({fr.time_s - t0:.3f} s since submission): {fr.stage}", fontsize=9)
        return dots, cursor

    update(0)
    return FuncAnimation(fig, update, frames=len(frames), interval=interval_ms, blit=False, repeat=False)


def link_frames(res: Results) -> tuple[list[tuple[str, str]], list[float], Any]:
    """The data of :func:`animate_links`: the undirected edges ``(a, b)`` (topology order), the bins' start
    times (s) and an array (bins x edges) of each edge's utilisation (0..1) in each bin, the larger of its two
    directions' (NaN for a bin of zero length)."""
    import numpy as np

    bins = res.link_bins
    if res.scenario is None:
        raise ConfigError("animate_links: these results carry no scenario (no topology to draw on)")
    if bins is None or not len(bins):
        raise ConfigError("animate_links: these results have no link_bins (the run ended before its first bin)")
    edges = list(dict.fromkeys((link.a, link.b) for link in res.scenario.topology.links))
    column = {frozenset(e): i for i, e in enumerate(edges)}
    starts = sorted(set(bins["bin_start_s"]))
    row = {t: i for i, t in enumerate(starts)}
    util = np.zeros((len(starts), len(edges)))
    for t, a, b, u in zip(bins["bin_start_s"], bins["src"], bins["dst"], bins["utilisation"], strict=True):
        j = column.get(frozenset((a, b)))
        if j is not None:  # np.fmax: a direction with NaN (zero-length bin) does not hide the other
            util[row[t], j] = np.fmax(util[row[t], j], u)
    return edges, [float(t) for t in starts], util


def animate_links(res: Results, *, interval_ms: int = 200, cmap: str = "plasma") -> FuncAnimation:
    """Link load over time on the topology: one frame per bin of ``res.link_bins`` (``meta["bin_s"]`` seconds),
    each edge coloured by the utilisation (0..1, colour bar) of its busier direction in that bin, hosts and
    routers drawn in the topology's colours (not the colormap's). Export with ``anim.to_jshtml()`` (no ffmpeg).
    The figure is left open for the caller."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    from netlab.plots.compare import node_positions
    from netlab.plots.topology import ROLE_COLOURS, busiest_labels

    edges, starts, util = link_frames(res)
    assert res.scenario is not None  # link_frames refused results without one
    topo = res.scenario.topology
    pos = node_positions(topo)
    fig, ax = plt.subplots(figsize=(9, 6))
    lines = LineCollection([[pos[a], pos[b]] for a, b in edges], cmap=cmap, norm=Normalize(0.0, 1.0), linewidths=3,
                           zorder=1)  # fmt: skip
    lines.set_array(util[0])
    ax.add_collection(lines)
    for role, colour in ROLE_COLOURS.items():
        names = [n.name for n in topo.nodes if n.role == role]
        if names:
            ax.scatter([pos[n][0] for n in names], [pos[n][1] for n in names], s=60 if role == "router" else 30,
                       color=colour, edgecolors="black", linewidths=0.5, zorder=2,
                       label=f"{role}s ({len(names)})")  # fmt: skip
    graph: nx.Graph[str] = nx.Graph()
    graph.add_nodes_from(n.name for n in topo.nodes)
    graph.add_edges_from(edges)
    for name in busiest_labels(graph):  # every name on a small graph, the best-connected few on a large one
        ax.annotate(name, pos[name], xytext=(4, 4), textcoords="offset points", fontsize=7)
    fig.colorbar(lines, ax=ax, label="utilisation of the busier direction (0..1)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0, -0.02), frameon=False, ncol=2)
    ax.set_axis_off()
    ax.autoscale_view()
    width = float(res.meta.get("bin_s", starts[1] - starts[0] if len(starts) > 1 else 0.0))

    def update(i: int) -> tuple[Any, ...]:
        lines.set_array(util[i])
        ax.set_title(f"link load, bin {i + 1}/{len(starts)}: t = {starts[i]:.6g} s to {starts[i] + width:.6g} s")
        return (lines,)

    update(0)
    return FuncAnimation(fig, update, frames=len(starts), interval=interval_ms, blit=False, repeat=False)
