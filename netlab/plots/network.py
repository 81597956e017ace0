"""Plots of a run's network tables. Each takes :class:`netlab.Results` and an optional Axes, returns the Axes.

matplotlib is imported inside the functions, so ``import netlab`` never pays for it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from netlab._rows import rows

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from netlab.results import Results

__all__ = ["plot_flow_delays", "plot_link_utilisation"]


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_link_utilisation(results: Results, ax: Axes | None = None, *, top: int = 20, **kwargs: Any) -> Axes:
    """Heatmap of link utilisation (0..1) per time bin, for the *top* busiest directed links."""
    ax = _axes(ax, (9, 4.5))
    bins = results.link_bins
    if bins.empty:
        ax.set_title("no link statistics")
        return ax
    busiest = results.links.sort_values("utilisation", ascending=False)["link"].head(top).tolist()
    table = bins[bins["link"].isin(busiest)].pivot_table(index="link", columns="bin_start_s", values="utilisation")
    table = table.reindex(busiest)
    starts = list(table.columns)
    ends = bins.drop_duplicates("bin_start_s").set_index("bin_start_s")["bin_end_s"]
    edges: list[float] = [*map(float, starts), float(ends[starts[-1]])]
    mesh = ax.pcolormesh(edges, range(len(busiest) + 1), table.to_numpy(), vmin=0.0, vmax=1.0,
                         cmap=kwargs.pop("cmap", "viridis"), **kwargs)  # fmt: skip
    ax.set_yticks([i + 0.5 for i in range(len(busiest))], busiest, fontsize=7)
    ax.invert_yaxis()  # busiest link on top
    ax.set_xlabel("time (s)")
    marked = mark_faults(ax, getattr(results, "scenario", None), edges[-1])
    ax.set_title("link utilisation per time bin", pad=14 if marked else 6)  # room for the fault names
    ax.figure.colorbar(mesh, ax=ax, label="utilisation")
    return ax


def fault_periods(scenario: Any, end_s: float) -> list[tuple[str, float, float]]:
    """``(what, down_s, up_s)`` for each period a link or node of *scenario* is down (up_s: *end_s* if it stays
    down), from its fault schedule: ``[("mx-b1 down", 1200.0, 1260.0)]`` for the seed scenario."""
    down: dict[object, tuple[str, float]] = {}  # what is down -> (its name, since when)
    periods: list[tuple[str, float, float]] = []
    for f in sorted(getattr(scenario, "faults", ()) or (), key=lambda f: f.at_s):
        # a link is one whichever way its ends are written ([a, b] down, [b, a] up)
        key: object = f.node if f.node is not None else frozenset(f.link or ())
        if str(f.action) == "down":
            down.setdefault(key, (f.node or "–".join(f.link or ()), f.at_s))
        elif key in down:
            name, t = down.pop(key)
            periods.append((f"{name} down", t, f.at_s))
    periods += [(f"{name} down", t, end_s) for name, t in down.values() if t < end_s]
    return sorted(periods, key=lambda p: p[1])


def mark_faults(ax: Axes, scenario: Any, end_s: float, *, start_s: float = 0.0, origin_s: float = 0.0,
                legend: bool = False) -> int:  # fmt: skip
    """Shade each down period of *scenario* that overlaps ``[start_s, end_s]`` (simulated s) on a time x axis,
    clipped to that window and drawn at ``t - origin_s`` (for an axis of time since some event), in red hatching:
    no colour of the data's colormap. Each is named above the axes, or, with *legend*, by a legend entry
    (``mx-b1 down 1200-1260 s``: an artist labelled for the caller's legend) for plots whose top is taken.
    Returns how many were marked."""
    periods = [(what, max(t0, start_s), min(t1, end_s), t0, t1) for what, t0, t1 in fault_periods(scenario, math.inf)
               if t1 > start_s and t0 < end_s]  # fmt: skip
    for what, a, b, t0, t1 in periods:
        span = f"{t0:g}-{t1:g} s" if math.isfinite(t1) else f"from {t0:g} s"  # down for good: no end to give
        label = f"{what} {span}" if legend else None
        # under the data (zorder 0.5), so a bar or a line inside the period stays readable
        ax.axvspan(a - origin_s, max(b, a + 1e-9) - origin_s, facecolor="none", edgecolor="red", hatch="//",
                   linewidth=1.0, gid="fault", label=label, zorder=0.5)  # fmt: skip
        if not legend:
            ax.annotate(what, (a - origin_s, 1.0), xycoords=("data", "axes fraction"), xytext=(0, 2),
                        textcoords="offset points", fontsize=7, color="red", va="bottom")  # fmt: skip
    return len(periods)


def plot_flow_delays(results: Results, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Mean one-way delay (ms) of each flow, with its loss ratio in the label (a flow that delivered nothing has
    no delay: its bar is marked "none delivered")."""
    from netlab.plots.bars import bars

    ax = _axes(ax, (7, 3.5))
    f = results.flows
    labels, notes, delays = [], [], []
    for r in rows(f):
        loss = f"loss {r.lost_packets / (r.tx_packets or 1):.1%}"
        delay = float(r.delay_mean_s) * 1e3 if r.rx_packets else math.nan
        labels.append(f"{r.flow}\n{r.src}->{r.dst}")
        # the note follows the value drawn: NaN (nothing delivered, or no delay measured) is not "0 ms"
        notes.append(f"none delivered, {loss}" if not r.rx_packets else f"no delay measured, {loss}"
                     if math.isnan(delay) else f"0 ms, {loss}" if delay == 0 else loss)  # fmt: skip
        delays.append(delay)
    bars(ax, range(len(f)), delays, labels=notes, **kwargs)
    ax.set_xticks(range(len(f)), labels, fontsize=7)
    ax.set_xlabel("flow (src->dst)")
    ax.set_ylabel("mean delay (ms)")
    ax.set_title("per-flow mean delay")
    return ax
