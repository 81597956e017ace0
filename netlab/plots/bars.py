"""Bars that stay visible at zero: every bar plot of :mod:`netlab.plots` draws through :func:`bars`, and a
notebook's own bar chart can too.

A bar of height 0 (or NaN: nothing measured) draws nothing, so a reader cannot tell "zero" from "missing" or
"forgotten". :func:`bars` marks each such bar with a short line at its base, in the bar's colour, and writes its
label there (``"0"`` when the caller gives none). matplotlib is imported by the caller (this takes its Axes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.container import BarContainer

__all__ = ["ZERO_GID", "bars"]

#: The gid of a zero bar's mark and of its text, for tests and for callers that look for them.
ZERO_GID = "zero-bar"


def bars(ax: Axes, positions: Sequence[float], sizes: Sequence[float], *, start: Any = 0.0,
         labels: Sequence[str] | None = None, zero_label: str = "0", horizontal: bool = False,
         fontsize: float = 7, **kwargs: Any) -> BarContainer:  # fmt: skip
    """``ax.bar`` (``ax.barh`` if *horizontal*) of *sizes* (heights, or widths, in data units) at *positions*,
    each starting at *start* (``bottom``, or ``left``); *labels*, if given, written at each bar's end. A bar of
    size 0 or NaN gets a mark at its base (a short line across it) and its label, or *zero_label* (``"no data"``
    for NaN) when there are no *labels*. *kwargs* go to matplotlib. Returns the bars."""
    import numpy as np  # with matplotlib, which the caller has imported

    values = [float(s) for s in sizes]
    # a number, or one per bar (a list, numpy array or Series: np.ndim tells them apart, Sequence does not)
    starts = [float(start)] * len(values) if np.ndim(start) == 0 else [float(b) for b in np.ravel(start)]
    for what, given in (("positions", positions), ("start", starts), ("labels", labels)):
        if given is not None and len(given) != len(values):
            raise ValueError(f"bars: {len(values)} sizes but {len(given)} {what}; give one per bar")
    drawn = [0.0 if math.isnan(v) else v for v in values]
    if horizontal:
        container = ax.barh(positions, drawn, left=starts, **kwargs)
    else:
        container = ax.bar(positions, drawn, bottom=starts, **kwargs)
    for i, (pos, value, base, patch) in enumerate(zip(positions, values, starts, container.patches, strict=True)):
        label = labels[i] if labels is not None else None
        end = base + (0.0 if math.isnan(value) else value)
        xy = (end, pos) if horizontal else (pos, end)
        align: dict[str, Any] = {"va": "center"} if horizontal else {"ha": "center", "va": "bottom"}
        offset = (3, 0) if horizontal else (0, 2)
        zero = value == 0.0 or math.isnan(value)
        if zero:
            # a short line across the invisible bar, in its colour, so it reads as "here, and zero"; not clipped,
            # since a base on the axis line would be half cut off
            ax.plot(*([base], [pos]) if horizontal else ([pos], [base]), marker="|" if horizontal else "_",
                    markersize=9, markeredgewidth=2, color=patch.get_facecolor(), gid=ZERO_GID, zorder=3,
                    clip_on=False)  # fmt: skip
            label = label if label is not None else (zero_label if value == 0.0 else "no data")
        if label is not None:
            text = ax.annotate(label, xy, xytext=offset, textcoords="offset points", fontsize=fontsize, **align)
            if zero:
                text.set_gid(ZERO_GID)
    return container
