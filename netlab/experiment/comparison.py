"""What :func:`~netlab.experiment.compare.compare` returns: a :class:`Comparison` of tables (per-run metrics,
mean and Student-t CI per strategy, paired differences to the baseline), saved as Parquet (and CSV) files and
``meta.json`` and read back by :func:`load_comparison`, printed by :func:`format_comparison` (metrics in display units:
ms, Mbit/s). :meth:`Comparison.table` merges summary and paired into one tidy table
(:mod:`netlab.experiment.table`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netlab.errors import ConfigError
from netlab.experiment.run_metrics import METRICS, SUPPORT, renamed_metrics
from netlab.experiment.stats import mean_ci
from netlab.scenario.model import Scenario

if TYPE_CHECKING:
    import pandas as pd

    from netlab.experiment.table import ComparisonTable

__all__ = ["MAIL_COLUMNS", "Comparison", "format_comparison", "load_comparison", "measured_metrics", "summary_tables"]

_COLUMNS = ["strategy", "metric", "mean", "ci_low", "ci_high", "n"]
_PAIRED = ["strategy", "baseline", "metric", "mean_diff", "ci_low", "ci_high", "n"]
#: The columns of :attr:`Comparison.mail` and their dtypes.
MAIL_COLUMNS = {"strategy": "str", "replication": "int64", "message_id": "str", "rcpt_to": "str", "status": "str",
                "submitted_s": "float64", "delivery_s": "float64"}  # fmt: skip


@dataclasses.dataclass
class Comparison:
    """What :func:`~netlab.experiment.compare.compare` produced. Tables (pandas DataFrames):

    ``summary``   strategy, metric, mean, ci_low, ci_high, n (Student-t CI over replications, clipped to the
                  values the metric can take: :data:`~netlab.experiment.run_metrics.SUPPORT`)
    ``paired``    strategy, baseline, metric, mean_diff, ci_low, ci_high, n (strategy minus baseline, paired by
                  replication, so common random numbers cancel)
    ``runs``      strategy, replication, seed and one column per metric
    ``delays``    strategy, replication, delay_s (delivered packets, thinned to ``max_delays`` per run)
    ``links``     strategy, replication, link, src, dst, rate_bps, utilisation
    ``link_bins`` strategy, link, bin_start_s, bin_end_s, utilisation (replication 0 only)
    ``paths``     strategy, replication, flow, path, bin_start_s, packets
    ``mail``      strategy, replication, message_id, rcpt_to, status, submitted_s, delivery_s: every (message,
                  recipient) pair of mail in every run, with its end (delivered, bounced, queued, rejected ...)
                  and submission-to-mailbox time in s (NaN unless delivered); empty without mail
    """

    summary: pd.DataFrame
    paired: pd.DataFrame
    runs: pd.DataFrame
    delays: pd.DataFrame
    links: pd.DataFrame
    link_bins: pd.DataFrame
    paths: pd.DataFrame
    mail: pd.DataFrame
    meta: dict[str, Any]
    scenario: Scenario | None = None

    _TABLES = ("summary", "paired", "runs", "delays", "links", "link_bins", "paths", "mail")

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

    def table(self, metrics: Sequence[str] | None = None) -> ComparisonTable:
        """One tidy DataFrame: a row per (strategy, *metrics*) with mean, CI, paired difference to the baseline
        and its CI, and ``n``, in the units of the ``unit`` column (s, bit/s); ``print`` shows it as the text
        table ``netlab compare`` prints (ms, Mbit/s). *metrics* defaults to those the runs measured. Wide:
        ``comp.table().pivot(index="strategy", columns="metric", values="paired_diff")``.
        """
        from netlab.experiment.table import comparison_table

        return comparison_table(self, metrics)

    def save(self, directory: str | Path, *, csv: bool = True) -> Path:
        """Write every table as Parquet (exact) and, unless *csv* is false, CSV (for spreadsheets), and
        ``meta.json`` (with the scenario as YAML) into *directory*; :func:`load_comparison` reads it back."""
        from netlab.results import SAVE_FORMAT, write_tables

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        write_tables(out, {name: getattr(self, name) for name in self._TABLES}, csv=csv)
        meta = dict(self.meta, format=SAVE_FORMAT)
        if self.scenario is not None:
            try:
                meta["scenario_yaml"] = self.scenario.to_yaml()
            except ConfigError:  # a user-defined strategy in the scenario cannot be written as YAML
                meta["scenario_yaml"] = None
        (out / "meta.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
        return out


def load_comparison(directory: str | Path) -> Comparison:
    """Read back what :meth:`Comparison.save` wrote: every table exactly as it was (older, CSV-only saves load
    with CSV's losses)."""
    import pandas as pd

    from netlab.results import SAVE_FORMAT, read_table

    d = Path(directory)
    meta_path = d / "meta.json"
    from netlab.results import read_meta

    meta = read_meta(meta_path) if meta_path.is_file() else {}
    if meta.get("kind") != "comparison":
        raise ConfigError(f"{d}: not a saved netlab comparison (no meta.json of kind 'comparison')")
    saved_as = meta.pop("format", 1)
    if saved_as > SAVE_FORMAT:
        raise ConfigError(f"{meta_path}: saved in format {saved_as} by a newer netlab; this one reads up to "
                          f"{SAVE_FORMAT}")  # fmt: skip
    tables = {}
    for name in Comparison._TABLES:
        df = read_table(d, name)
        if df is None and name == "mail":  # saved before comparisons kept the mail pairs
            df = pd.DataFrame(columns=list(MAIL_COLUMNS)).astype(MAIL_COLUMNS)
        tables[name] = pd.DataFrame() if df is None else df
        if saved_as == 1 and "strategy" in tables[name]:  # CSV reads a label such as "1" as a number
            tables[name]["strategy"] = tables[name]["strategy"].astype(str)
        tables[name] = renamed_metrics(tables[name])
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
            ci = mean_ci(by[label][metric], level, support=SUPPORT[metric])
            rows.append((label, metric, ci.mean, ci.low, ci.high, ci.n))
    for label in labels:
        if label == baseline:
            continue
        for metric in METRICS:
            diff = (by[label][metric] - by[baseline][metric]).dropna()
            lo, hi = SUPPORT[metric]
            ci = mean_ci(diff, level, support=(lo - hi, hi - lo))  # a difference of two values in [lo, hi]
            prows.append((label, baseline, metric, ci.mean, ci.low, ci.high, ci.n))
    return pd.DataFrame(rows, columns=_COLUMNS), pd.DataFrame(prows, columns=_PAIRED)


def measured_metrics(comp: Comparison) -> list[str]:
    """The metrics the runs had, in :data:`METRICS` order: no mail rows for packet flows, no retransmissions
    without TCP."""
    have = set(comp.summary.loc[comp.summary["mean"].notna(), "metric"])
    return [m for m in METRICS if m in have]


def format_comparison(comp: Comparison, metrics: Sequence[str] | None = None) -> str:
    """The summary (mean [CI] per strategy) and the paired differences to the baseline as a text table."""
    metrics = measured_metrics(comp) if metrics is None else list(metrics)
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
