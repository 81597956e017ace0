"""What :func:`~netlab.experiment.compare.compare` returns: a :class:`Comparison` of tables (per-run metrics,
mean and Student-t CI per strategy, paired differences to the baseline), saved as CSV files and ``meta.json``
and read back by :func:`load_comparison`, printed by :func:`format_comparison` (metrics in display units:
ms, Mbit/s).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netlab.errors import ConfigError
from netlab.experiment.run_metrics import METRICS
from netlab.experiment.stats import mean_ci
from netlab.scenario.model import Scenario

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Comparison", "format_comparison", "load_comparison", "summary_tables"]

_COLUMNS = ["strategy", "metric", "mean", "ci_low", "ci_high", "n"]
_PAIRED = ["strategy", "baseline", "metric", "mean_diff", "ci_low", "ci_high", "n"]


@dataclasses.dataclass
class Comparison:
    """What :func:`~netlab.experiment.compare.compare` produced. Tables (pandas DataFrames):

    ``summary``   strategy, metric, mean, ci_low, ci_high, n (Student-t CI over replications)
    ``paired``    strategy, baseline, metric, mean_diff, ci_low, ci_high, n (strategy minus baseline, paired by
                  replication, so common random numbers cancel)
    ``runs``      strategy, replication, seed and one column per metric
    ``delays``    strategy, replication, delay_s (delivered packets, thinned to ``max_delays`` per run)
    ``links``     strategy, replication, link, src, dst, rate_bps, utilisation
    ``link_bins`` strategy, link, bin_start_s, bin_end_s, utilisation (replication 0 only)
    ``paths``     strategy, replication, flow, path, bin_start_s, packets
    """

    summary: pd.DataFrame
    paired: pd.DataFrame
    runs: pd.DataFrame
    delays: pd.DataFrame
    links: pd.DataFrame
    link_bins: pd.DataFrame
    paths: pd.DataFrame
    meta: dict[str, Any]
    scenario: Scenario | None = None

    _TABLES = ("summary", "paired", "runs", "delays", "links", "link_bins", "paths")

    @property
    def strategies(self) -> list[str]:
        """The strategy labels, in the order they were given."""
        return list(self.meta["strategies"])

    @property
    def baseline(self) -> str:
        return str(self.meta["baseline"])

    def __repr__(self) -> str:
        return (f"<Comparison {self.meta.get('scenario_name', '?')!r} strategies={self.strategies} "
                f"replications={self.meta.get('replications')} baseline={self.baseline!r}>")  # fmt: skip

    def table(self, metrics: Sequence[str] | None = None) -> str:
        """The summary and paired tables as plain text (what ``netlab compare`` prints)."""
        return format_comparison(self, metrics)

    def save(self, directory: str | Path) -> Path:
        """Write every table as CSV and ``meta.json`` (with the scenario as YAML) into *directory*."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        for name in self._TABLES:
            getattr(self, name).to_csv(out / f"{name}.csv", index=False)
        meta = dict(self.meta)
        if self.scenario is not None:
            try:
                meta["scenario_yaml"] = self.scenario.to_yaml()
            except ConfigError:  # a user-defined strategy in the scenario cannot be written as YAML
                meta["scenario_yaml"] = None
        (out / "meta.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
        return out


def load_comparison(directory: str | Path) -> Comparison:
    """Read back what :meth:`Comparison.save` wrote."""
    import pandas as pd

    d = Path(directory)
    meta_path = d / "meta.json"
    from netlab.results import read_meta

    meta = read_meta(meta_path) if meta_path.is_file() else {}
    if meta.get("kind") != "comparison":
        raise ConfigError(f"{d}: not a saved netlab comparison (no meta.json of kind 'comparison')")
    tables = {}
    for name in Comparison._TABLES:
        p = d / f"{name}.csv"
        tables[name] = pd.read_csv(p) if p.is_file() and p.stat().st_size > 1 else pd.DataFrame()
    for name in ("runs", "delays", "links", "link_bins", "paths", "summary", "paired"):
        if "strategy" in tables[name]:
            tables[name]["strategy"] = tables[name]["strategy"].astype(str)
    scenario = None
    text = meta.pop("scenario_yaml", None)
    if text:
        from netlab.scenario.files import loads_scenario

        scenario = loads_scenario(text, source=str(meta_path))
    return Comparison(meta=meta, scenario=scenario, **tables)


def summary_tables(
    runs: pd.DataFrame, labels: list[str], baseline: str, level: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``summary`` (mean and Student-t CI at *level* per strategy and metric) and ``paired`` (strategy minus
    *baseline*, paired by replication) tables of a :class:`Comparison`, from its ``runs`` table."""
    import pandas as pd

    rows, prows = [], []
    by = {label: runs[runs["strategy"] == label].set_index("replication") for label in labels}
    for label in labels:
        for metric in METRICS:
            ci = mean_ci(by[label][metric], level)
            rows.append((label, metric, ci.mean, ci.low, ci.high, ci.n))
    for label in labels:
        if label == baseline:
            continue
        for metric in METRICS:
            diff = (by[label][metric] - by[baseline][metric]).dropna()
            ci = mean_ci(diff, level)
            prows.append((label, baseline, metric, ci.mean, ci.low, ci.high, ci.n))
    return pd.DataFrame(rows, columns=_COLUMNS), pd.DataFrame(prows, columns=_PAIRED)


def format_comparison(comp: Comparison, metrics: Sequence[str] | None = None) -> str:
    """The summary (mean [CI] per strategy) and the paired differences to the baseline as a text table."""
    if metrics is None:  # the metrics the runs had: no mail rows for packet flows, no retransmissions without TCP
        have = set(comp.summary.loc[comp.summary["mean"].notna(), "metric"])
        metrics = [m for m in METRICS if m in have]
    metrics = list(metrics)
    labels = comp.strategies
    level = comp.meta.get("level", 0.95)

    def cell(mean: float, lo: float, hi: float, scale: float) -> str:
        if math.isnan(mean):
            return "n/a"
        if math.isnan(lo):
            return f"{mean * scale:.4g}"
        return f"{mean * scale:.4g} [{lo * scale:.4g}, {hi * scale:.4g}]"

    def block(df: pd.DataFrame, value: str, title: str, cols: list[str]) -> list[str]:
        rows = []
        for metric in metrics:
            _, scale, unit = METRICS.get(metric, ("", 1.0, ""))
            name = metric.removesuffix("_s").removesuffix("_bps") + (f" ({unit})" if unit else "")
            cells = []
            for c in cols:
                r = df[(df["strategy"] == c) & (df["metric"] == metric)]
                if len(r):
                    first = r.iloc[0]
                    cells.append(cell(float(first[value]), float(first["ci_low"]), float(first["ci_high"]), scale))
                else:
                    cells.append("")
            rows.append([name, *cells])
        widths = [max(len(x) for x in col) + 2 for col in zip(["metric", *cols], *rows, strict=True)]
        lines = [title, "".join(f"{h:<{widths[0]}}" if i == 0 else f"{h:>{widths[i]}}"
                                for i, h in enumerate(["metric", *cols]))]  # fmt: skip
        lines += ["".join(f"{x:<{widths[0]}}" if i == 0 else f"{x:>{widths[i]}}" for i, x in enumerate(row))
                  for row in rows]  # fmt: skip
        return lines

    n = comp.meta.get("replications")
    head = (f"scenario {comp.meta.get('scenario_name')!r}: {len(labels)} strategies x {n} replications "
            f"(same arrivals per replication), mean [{level:.0%} CI]")  # fmt: skip
    lines = [head, "", *block(comp.summary, "mean", "summary", labels)]
    others = [label for label in labels if label != comp.baseline]
    if others:
        lines += ["", *block(comp.paired, "mean_diff", f"paired difference to {comp.baseline!r}, "
                             f"mean [{level:.0%} CI] (negative = lower than the baseline)", others)]  # fmt: skip
    return "\n".join(lines)
