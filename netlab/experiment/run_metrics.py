"""The metrics of one run (:data:`METRICS`), from its :class:`~netlab.results.Results` and counted paths: packet
delay mean and percentiles (s), throughput after the warm-up (bit/s), drops and loss ratio, TCP retransmissions,
mail delivery times (s), reordering, link utilisation (0..1) and path diversity (effective number of paths).
Percentiles are numpy's default linear interpolation between order statistics (:mod:`netlab._quantile`), the
definition of the run summary and the CLI too.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from netlab._quantile import PERCENTILE_METHOD

if TYPE_CHECKING:
    import pandas as pd

    from netlab.results import Results

__all__ = [
    "METRICS",
    "RENAMED",
    "SUPPORT",
    "UNITS",
    "canonical_metric",
    "metrics_of",
    "path_diversity",
    "renamed_metrics",
]

#: Metric name -> (description, display scale, display unit). Per run; the tables give mean and CI over runs.
METRICS: dict[str, tuple[str, float, str]] = {
    "packet_delay_mean_s": ("mean one-way delay of delivered packets", 1e3, "ms"),
    "packet_delay_p50_s": ("median one-way delay of delivered packets", 1e3, "ms"),
    "packet_delay_p95_s": ("95th percentile one-way delay of delivered packets", 1e3, "ms"),
    "packet_delay_p99_s": ("99th percentile one-way delay of delivered packets", 1e3, "ms"),
    "throughput_bps": ("delivered bits per second after warm-up", 1e-6, "Mbit/s"),
    "drops": ("packets dropped (counted packets, any reason)", 1.0, ""),
    "loss_ratio": ("dropped / sent", 1.0, ""),
    "retransmissions": ("transport retransmissions (TCP sessions; NaN for runs without any)", 1.0, ""),
    "mail_delivered": ("(message, recipient) pairs delivered (runs with mail)", 1.0, ""),
    "mail_delivery_p50_s": ("median submission-to-delivery time of delivered mail", 1.0, "s"),
    "mail_delivery_p95_s": ("95th percentile submission-to-delivery time of delivered mail", 1.0, "s"),
    "mail_delivery_p99_s": ("99th percentile submission-to-delivery time of delivered mail", 1.0, "s"),
    "out_of_order": ("delivered packets with a lower seq than one of their flow delivered before", 1.0, ""),
    "link_util_max": ("utilisation of the busiest directed link", 1.0, ""),
    "link_util_mean": ("mean utilisation over the directed links", 1.0, ""),
    "path_diversity": ("per flow exp(entropy of path shares), averaged over flows (1 = one path)", 1.0, ""),
}

#: Metric name -> the unit of its values in the tables (SI: seconds, bit/s; "" for ratios), as ``table()`` says.
UNITS: dict[str, str] = {
    "packet_delay_mean_s": "s", "packet_delay_p50_s": "s", "packet_delay_p95_s": "s", "packet_delay_p99_s": "s",
    "throughput_bps": "bit/s", "drops": "packets", "loss_ratio": "", "retransmissions": "segments",
    "mail_delivered": "pairs", "mail_delivery_p50_s": "s", "mail_delivery_p95_s": "s", "mail_delivery_p99_s": "s",
    "out_of_order": "packets", "link_util_max": "", "link_util_mean": "", "path_diversity": "paths",
}  # fmt: skip

_NONNEG = (0.0, math.inf)
#: Metric name -> (lowest, highest) value it can take: the confidence intervals are clipped to it
#: (:func:`~netlab.experiment.stats.mean_ci`), so no interval of a delay or a count goes below zero.
SUPPORT: dict[str, tuple[float, float]] = {
    **dict.fromkeys(METRICS, _NONNEG),
    "loss_ratio": (0.0, 1.0), "link_util_max": (0.0, 1.0), "link_util_mean": (0.0, 1.0),
    "path_diversity": (1.0, math.inf),
}  # fmt: skip

#: The names of earlier releases -> today's: ``latency_*`` was the packet delay, ``mail_latency_*`` the mail
#: delivery time. :func:`canonical_metric` accepts them with a :class:`DeprecationWarning`.
RENAMED: dict[str, str] = {
    **{f"latency_{q}_s": f"packet_delay_{q}_s" for q in ("mean", "p50", "p95", "p99")},
    **{f"mail_latency_{q}_s": f"mail_delivery_{q}_s" for q in ("p50", "p95", "p99")},
}


def canonical_metric(name: str, *, stacklevel: int = 3) -> str:
    """Today's name of metric *name*: itself, or for a name of :data:`RENAMED` its new name with a warning.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     canonical_metric("mail_latency_p95_s"), w[0].category.__name__
    ('mail_delivery_p95_s', 'DeprecationWarning')
    """
    new = RENAMED.get(name)
    if new is None:
        return name
    import warnings

    warnings.warn(f"metric {name!r} is now called {new!r}; the old name will go", DeprecationWarning,
                  stacklevel=stacklevel)  # fmt: skip
    return new


def renamed_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """*df*, a table saved before the metrics were renamed (a comparison's or a sweep's), with today's names
    (:data:`RENAMED`) in its ``metric`` column and as column names; a table with today's names as it is."""
    if "metric" in df.columns and df["metric"].isin(list(RENAMED)).any():
        df = df.assign(metric=df["metric"].replace(RENAMED))
    if any(c in RENAMED for c in df.columns):
        df = df.rename(columns=RENAMED)
    return df


def metrics_of(res: Results, paths: pd.DataFrame | None = None) -> dict[str, float]:
    """The per-run metrics of :data:`METRICS` from *res* (needs ``run.record_packets``) and counted *paths*."""
    out = dict.fromkeys(METRICS, math.nan)
    warm = res.scenario.run.warmup_s if res.scenario is not None else 0.0
    span = res.summary["sim_time_s"] - warm
    f = res.flows
    sent = float(f["tx_packets"].sum()) if len(f) else 0.0
    lost = float(f["lost_packets"].sum()) if len(f) else 0.0
    out["drops"] = lost
    out["loss_ratio"] = lost / sent if sent else math.nan
    out["throughput_bps"] = 8.0 * float(f["rx_bytes"].sum()) / span if span > 0 and len(f) else math.nan
    pk = res.packets
    if pk is not None and len(pk):
        ok = pk[pk["status"] == "delivered"]
        if len(ok):
            d = (ok["end_s"] - ok["created_s"]).to_numpy()
            out["packet_delay_mean_s"] = float(d.mean())
            import numpy as np

            p50, p95, p99 = np.percentile(d, [50, 95, 99], method=PERCENTILE_METHOD)
            out.update(packet_delay_p50_s=float(p50), packet_delay_p95_s=float(p95), packet_delay_p99_s=float(p99))
            prev_max = ok.groupby("flow", sort=False)["seq"].transform(lambda s: s.cummax().shift())
            out["out_of_order"] = float((ok["seq"] < prev_max).sum())
        else:
            out["out_of_order"] = 0.0
    tables = res.tables
    if "connections" in tables and len(tables["connections"]):
        out["retransmissions"] = float(tables["connections"]["retransmissions"].sum())
    if "messages" in tables:
        m = tables["messages"]
        done = m[(m["kind"] == "mail") & (m["status"] == "delivered")]
        out["mail_delivered"] = float(len(done))
        if len(done):
            import numpy as np

            d = (done["delivered_s"] - done["submitted_s"]).to_numpy(dtype=float)
            p50, p95, p99 = np.percentile(d, [50, 95, 99], method=PERCENTILE_METHOD)
            out.update(mail_delivery_p50_s=float(p50), mail_delivery_p95_s=float(p95), mail_delivery_p99_s=float(p99))
    links = res.links
    if len(links):
        util = links["utilisation"].dropna()
        out["link_util_max"] = float(util.max())
        out["link_util_mean"] = float(util.mean())
    if paths is not None:
        bin_s = (res.scenario.run.bin_s if res.scenario is not None else None) or 1.0  # the path tracker's bins
        counted = paths[paths["bin_start_s"] + bin_s > warm]  # the time bins after the warm-up
        out["path_diversity"] = path_diversity(counted)
    return out


def path_diversity(paths: pd.DataFrame) -> float:
    """Mean over flows of ``exp(H)``, H the entropy of the flow's path shares: the effective number of paths."""
    import numpy as np

    values = []
    for _, g in paths.groupby("flow"):
        n = g.groupby("path")["packets"].sum().to_numpy(dtype=float)
        p = n[n > 0] / n.sum()
        values.append(math.exp(-float((p * np.log(p)).sum())))
    return float(sum(values) / len(values)) if values else math.nan
