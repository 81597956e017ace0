"""TCP congestion-window plots from the ``cwnd`` results table (``transport: {trace: true}``, or
:func:`netlab.transport.stats.cwnd_table`).

matplotlib is imported inside the function, so importing this module costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["plot_cwnd"]


def plot_cwnd(table: pd.DataFrame | Any, connections: Iterable[str] | None = None, *, segments_of: int | None = None,
              ax: Axes | None = None) -> Axes:  # fmt: skip
    """cwnd over time, one step line per connection (``connection`` labels; default: all of *table*), with the
    periods of loss recovery shaded (fast recovery light, after a timeout darker) and ssthresh dashed.

    *table* is the cwnd DataFrame or a Results object holding one (``res.cwnd``). *segments_of* (an MSS in
    bytes) plots windows in segments instead of bytes. Returns the Axes.
    """
    if not hasattr(table, "columns"):
        table = table.cwnd
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 4))
    names = list(connections) if connections is not None else list(dict.fromkeys(table["connection"]))
    scale = segments_of or 1
    for name in names:
        rows = table[table["connection"] == name]
        if rows.empty:
            raise ValueError(f"plot_cwnd: no cwnd rows for connection {name!r}")
        t = rows["time_s"].to_numpy()
        (line,) = ax.step(t, rows["cwnd_bytes"].to_numpy() / scale, where="post", label=name)
        ss = rows["ssthresh_bytes"].to_numpy() / scale
        finite = ss < float("inf")
        if finite.any():
            ax.step(t[finite], ss[finite], where="post", linestyle="--", color=line.get_color(), linewidth=0.8)
        states = rows["state"].to_numpy()
        start = None
        for i, st in enumerate(states):
            inside = st in ("recovery", "loss")
            if inside and start is None:
                start, kind = i, st
            elif not inside and start is not None:
                ax.axvspan(t[start], t[i], color=line.get_color(), alpha=0.25 if kind == "loss" else 0.1, lw=0)
                start = None
    ax.set_xlabel("time (s)")
    ax.set_ylabel("cwnd (segments)" if segments_of else "cwnd (bytes)")
    # beside the axes, off the curves (the windows fill the whole plot)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return ax
