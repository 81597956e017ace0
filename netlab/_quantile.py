"""The one percentile definition netlab uses everywhere (run summaries, comparisons, the CLI, plots).

numpy's default, ``method="linear"`` (Hyndman and Fan's type 7, also pandas' ``quantile`` and R's default): the
sorted values ``x[0] <= ... <= x[n-1]`` are joined by straight lines at positions ``h = (n - 1) * p / 100``, so
the p-th percentile is ``x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])``. Computed by numpy
(imported when first used: ``import netlab`` stays light).

>>> percentiles([1.0, 2.0, 3.0, 4.0], [50, 90])
[2.5, 3.7]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Final

__all__ = ["PERCENTILE_METHOD", "percentiles"]

#: The name numpy and pandas give the definition (``np.percentile(x, p, method=PERCENTILE_METHOD)``).
PERCENTILE_METHOD: Final = "linear"


def percentiles(values: Iterable[float], ps: Sequence[float]) -> list[float]:
    """The *ps* percentiles (0..100) of *values* by linear interpolation between order statistics (numpy's
    default); NaNs are left out, and no values give NaN for every percentile."""
    import numpy as np

    for p in ps:
        if not 0.0 <= p <= 100.0:
            raise ValueError(f"percentiles: p must be in [0, 100], got {p!r}")
    xs = np.fromiter((float(v) for v in values), dtype=float)
    xs = xs[~np.isnan(xs)]
    if not xs.size:
        return [math.nan] * len(ps)
    return [float(v) for v in np.percentile(xs, list(ps), method=PERCENTILE_METHOD)]
