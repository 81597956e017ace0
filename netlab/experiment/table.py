"""The tidy table of a :class:`~netlab.experiment.comparison.Comparison`: one row per (strategy, metric) with
mean, confidence interval, paired difference to the baseline and its interval, in the units the ``unit`` column
names (seconds, bit/s: never the display's ms or Mbit/s). Imported only when a table is made: it needs pandas.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from netlab.experiment.run_metrics import METRICS, UNITS, canonical_metric

if TYPE_CHECKING:
    from netlab.experiment.comparison import Comparison

__all__ = ["COLUMNS", "ComparisonTable", "tidy_table"]

#: The columns of :func:`tidy_table`, in order.
COLUMNS = ["strategy", "metric", "unit", "mean", "ci_low", "ci_high", "paired_diff", "paired_ci_low",
           "paired_ci_high", "n"]  # fmt: skip


class ComparisonTable(pd.DataFrame):
    """A long-format DataFrame (:data:`COLUMNS`) that prints as the text table ``netlab compare`` shows.

    ``str(table)`` and ``print(table)`` give the text; Jupyter shows the DataFrame; every operation on it
    (filtering, ``pivot``, ``merge``) returns a plain :class:`pandas.DataFrame`.
    """

    _metadata = ["_text"]  # noqa: RUF012 (pandas reads this class attribute by name)
    _text: str

    @property
    def _constructor(self) -> Any:
        return pd.DataFrame

    def __str__(self) -> str:
        return str(getattr(self, "_text", "")) or super().__str__()


def tidy_table(comp: Comparison, metrics: Sequence[str]) -> pd.DataFrame:
    """*comp*'s summary and paired tables merged, one row per (strategy, metric) of *metrics*, strategies in
    their given order; the baseline's paired columns are NaN (it is what the others are compared with)."""
    summary = comp.summary[comp.summary["metric"].isin(list(metrics))]
    paired = comp.paired[["strategy", "metric", "mean_diff", "ci_low", "ci_high"]].rename(
        columns={"mean_diff": "paired_diff", "ci_low": "paired_ci_low", "ci_high": "paired_ci_high"}
    )
    df = summary.merge(paired, on=["strategy", "metric"], how="left", validate="one_to_one")
    df["unit"] = df["metric"].map(lambda m: UNITS.get(m, ""))
    order = {label: i for i, label in enumerate(comp.strategies)}
    where = {m: i for i, m in enumerate(metrics)}
    df = df.assign(_s=df["strategy"].map(order), _m=df["metric"].map(where)).sort_values(["_s", "_m"], kind="stable")
    df = df[COLUMNS].reset_index(drop=True)
    df["n"] = df["n"].astype("int64")
    df.attrs.update(baseline=comp.baseline, level=float(comp.meta.get("level", 0.95)))
    return df


def comparison_table(comp: Comparison, metrics: Sequence[str] | None = None) -> ComparisonTable:
    """:func:`tidy_table` of *metrics* (default: those the runs measured) as a :class:`ComparisonTable`."""
    from netlab.experiment.comparison import format_comparison, measured_metrics

    chosen = [canonical_metric(m, stacklevel=4) for m in metrics] if metrics is not None else measured_metrics(comp)
    unknown = [m for m in chosen if m not in METRICS]
    if unknown:
        from netlab._text import did_you_mean
        from netlab.errors import ConfigError

        raise ConfigError(f"table: unknown metric {unknown[0]!r}" + did_you_mean(unknown[0], list(METRICS)))
    tidy = tidy_table(comp, chosen)
    table = ComparisonTable(tidy)
    table.attrs.update(tidy.attrs)
    table._text = format_comparison(comp, chosen)
    return table
