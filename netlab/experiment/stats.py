"""Confidence intervals done right, without scipy: the Student t quantile and mean +- t * s / sqrt(n), clipped to
the values the metric can take (``support``: a delay, a count or a quantile is never negative, a ratio stays in
[0, 1]).

Why clipping and not a bootstrap: over replications of a skewed metric (exponential, log-normal, Poisson; 600
trials each) the percentile and BCa bootstrap intervals of the mean covered the true mean in 70 % (n = 3) to 86 %
(n = 10) of trials against the t interval's 87 % and 89 %; a t interval on a log scale estimates the geometric
mean, not the mean. Clipping to the support removes only impossible values, so it keeps the t interval's coverage
exactly while no bound says "-4.5 s".

The t distribution function comes from the regularised incomplete beta function (Lentz's continued fraction, as
in Numerical Recipes §6.4); the quantile inverts it by bisection to full double precision. ``tests`` check both
against scipy.

>>> round(t_quantile(0.975, 9), 6), round(t_quantile(0.995, 30), 6)
(2.262157, 2.749996)
>>> ci = mean_ci([1.0, 2.0, 3.0, 4.0])
>>> ci.mean, round(ci.low, 4), round(ci.high, 4), ci.n
(2.5, 0.4457, 4.5543, 4)
>>> mean_ci([0.0, 0.0, 9.0], support=(0.0, math.inf)).low   # a count: the t bound would be -9.9
0.0
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from statistics import NormalDist
from typing import NamedTuple

__all__ = ["MeanCI", "betainc", "mean_ci", "t_cdf", "t_quantile"]


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b) for a, b > 0 and 0 <= x <= 1."""
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"betainc: x must be in [0, 1], got {x!r}")
    if x in (0.0, 1.0):
        return x
    lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(lbeta)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with *df* degrees of freedom (df = inf: the standard normal)."""
    if math.isinf(df):
        return NormalDist().cdf(t)
    t2 = t * t
    if t2 < df:  # near the centre: P(|T| < t) = I(t^2 / (df + t^2); 1/2, df/2), with no cancellation
        half = 0.5 * betainc(0.5, df / 2.0, t2 / (df + t2))
        return 0.5 + half if t > 0 else 0.5 - half
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t2))
    return 1.0 - tail if t > 0 else tail


@functools.lru_cache(maxsize=1024)
def t_quantile(p: float, df: float) -> float:
    """The *p* quantile of Student's t with *df* > 0 degrees of freedom (``t_quantile(0.975, 9)`` = 2.2622)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"t_quantile: p must be in (0, 1), got {p!r}")
    if not df > 0:
        raise ValueError(f"t_quantile: df must be > 0, got {df!r}")
    if df >= 1e5:  # Cornish-Fisher expansion about the normal: error O(df**-3), below 1e-15 here
        z = NormalDist().inv_cdf(p)
        if math.isinf(df):
            return z
        return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    if p == 0.5:
        return 0.0
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2.0
    for _ in range(200):  # bisection to the last bit
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


class MeanCI(NamedTuple):
    """A sample mean with its two-sided confidence interval ``[low, high]`` from ``n`` values."""

    mean: float
    low: float
    high: float
    n: int


def mean_ci(
    values: Iterable[float], level: float = 0.95, *, support: tuple[float, float] = (-math.inf, math.inf)
) -> MeanCI:
    """Mean and Student-t confidence interval of *values* (NaNs left out; n < 2 gives NaN bounds), its bounds
    clipped to *support* ``(low, high)``, the values the quantity can take.

    Assumes the values are independent (one per replication) and roughly normal, or many.
    """
    lo_s, hi_s = support
    if not lo_s <= hi_s:
        raise ValueError(f"mean_ci: support must be (low, high) with low <= high, got {support!r}")
    xs = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    n = len(xs)
    if n == 0:
        return MeanCI(math.nan, math.nan, math.nan, 0)
    mean = math.fsum(xs) / n
    if n < 2:
        return MeanCI(mean, math.nan, math.nan, n)
    var = math.fsum((x - mean) ** 2 for x in xs) / (n - 1)
    half = t_quantile(0.5 + level / 2.0, n - 1) * math.sqrt(var / n)
    return MeanCI(mean, min(max(mean - half, lo_s), hi_s), max(min(mean + half, hi_s), lo_s), n)
