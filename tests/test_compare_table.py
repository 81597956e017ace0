"""Comparison.table(): one tidy long-format DataFrame that prints as today's text table; one percentile
definition (numpy's default linear) in the run summary, compare's metrics and the CLI."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import netlab
from netlab._quantile import percentiles
from netlab.errors import ConfigError
from netlab.experiment.comparison import Comparison, format_comparison
from netlab.experiment.run_metrics import metrics_of
from netlab.experiment.table import COLUMNS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def comp() -> Comparison:
    s = netlab.load_scenario(ROOT / "topologies" / "compare.yaml").override("run.until=4s", "run.warmup=0.5s")
    return netlab.compare(s, ["shortest_hops", "least_loaded", "ecmp"], replications=3, progress=False, workers=1)


def test_table_is_long_format_with_paired_columns(comp: Comparison) -> None:
    t = comp.table()
    assert list(t.columns) == COLUMNS
    measured = sorted(set(comp.summary.loc[comp.summary["mean"].notna(), "metric"]))
    assert len(t) == 3 * len(measured) and sorted(set(t["metric"])) == measured
    assert list(dict.fromkeys(t["strategy"])) == comp.strategies  # in the order they were given
    assert t["n"].dtype == np.int64 and (t["n"] == 3).all()
    assert t.attrs == {"baseline": "shortest_hops", "level": 0.95}


def test_table_values_are_the_summary_and_paired_tables(comp: Comparison) -> None:
    t = comp.table().set_index(["strategy", "metric"])
    s = comp.summary.set_index(["strategy", "metric"])
    p = comp.paired.set_index(["strategy", "metric"])
    for (label, metric), row in t.iterrows():
        assert row["mean"] == s.loc[(label, metric), "mean"] and row["ci_low"] == s.loc[(label, metric), "ci_low"]
        if label == "shortest_hops":  # the baseline: nothing to compare with
            assert math.isnan(row["paired_diff"]) and math.isnan(row["paired_ci_high"])
        else:
            assert row["paired_diff"] == p.loc[(label, metric), "mean_diff"]
            assert row["paired_ci_low"] == p.loc[(label, metric), "ci_low"]
            assert row["paired_ci_high"] == p.loc[(label, metric), "ci_high"]
    # the paired difference of means is the difference of the means (no replication is missing here)
    lat = t.xs("packet_delay_mean_s", level="metric")
    assert lat.loc["least_loaded", "paired_diff"] == pytest.approx(lat.loc["least_loaded", "mean"]
                                                                   - lat.loc["shortest_hops", "mean"])  # fmt: skip


@pytest.mark.parametrize(("metric", "unit"), [("packet_delay_p95_s", "s"), ("throughput_bps", "bit/s"),
                                              ("loss_ratio", ""), ("drops", "packets")])  # fmt: skip
def test_units_are_those_of_the_values(comp: Comparison, metric: str, unit: str) -> None:
    t = comp.table([metric])
    assert set(t["unit"]) == {unit} and set(t["metric"]) == {metric}


def test_str_and_print_give_the_text_table(comp: Comparison, capsys: pytest.CaptureFixture[str]) -> None:
    t = comp.table(["packet_delay_p95_s", "link_util_max"])
    assert str(t) == format_comparison(comp, ["packet_delay_p95_s", "link_util_max"])
    print(t)
    out = capsys.readouterr().out
    assert "paired difference to 'shortest_hops'" in out and "packet_delay_p95 (ms)" in out and "ci_low" not in out
    with pd.option_context("display.width", 250, "display.max_columns", 20):  # a DataFrame at the prompt
        assert "paired_ci_low" in repr(t)
    assert "paired_ci_low" in t._repr_html_() and "<table" in t._repr_html_()  # and in Jupyter


def test_operations_on_the_table_give_plain_dataframes(comp: Comparison) -> None:
    t = comp.table()
    for derived in (t[t["metric"] == "packet_delay_p95_s"], t.copy(), t.head(2)):
        assert type(derived) is pd.DataFrame and "paired_ci_high" in str(derived)  # the DataFrame text
    wide = t.pivot(index="strategy", columns="metric", values="paired_diff")
    assert wide.loc["least_loaded", "packet_delay_p95_s"] < 0


def test_unknown_metric_is_a_clear_error(comp: Comparison) -> None:
    with pytest.raises(ConfigError, match=r"unknown metric 'packet_delay_p59_s'.*did you mean 'packet_delay_p9"):
        comp.table(["packet_delay_p59_s"])


# ------------------------------------------------------------------------------------------------ percentiles


def _type7(xs: list[float], p: float) -> float:
    """Hyndman and Fan's type 7, written from its formula: x[floor(h)] + frac(h) * (x[floor(h)+1] - x[floor(h)])."""
    xs = sorted(xs)
    h = (len(xs) - 1) * p / 100
    lo = math.floor(h)
    return xs[lo] + (h - lo) * (xs[min(lo + 1, len(xs) - 1)] - xs[lo])


@pytest.mark.parametrize("n", [1, 2, 3, 7, 20, 101, 1000])
def test_percentiles_are_the_linear_definition(n: int) -> None:
    rng = random.Random(n)
    xs = [rng.lognormvariate(0, 2) for _ in range(n)]
    ps = [0, 1, 5, 25, 50, 90, 95, 99, 99.9, 100]
    got = percentiles(xs, ps)
    assert got == pytest.approx([_type7(xs, p) for p in ps], rel=1e-12)
    assert got == list(pd.Series(xs).quantile([p / 100 for p in ps]))  # what the CLI's pandas gives, exactly


def test_percentiles_edge_cases() -> None:
    assert all(math.isnan(x) for x in percentiles([], [50, 95]))
    assert percentiles([3.0, float("nan"), 1.0], [50]) == [2.0]
    with pytest.raises(ValueError, match="must be in"):
        percentiles([1.0], [101])


def test_mail_summary_and_compare_agree_on_delivery_percentiles() -> None:
    # the seed run's summary used to take nearest-rank percentiles while compare interpolated (4.369 vs 4.288)
    res = netlab.run(netlab.load_scenario(ROOT / "topologies" / "seed.yaml").override("run.until=300s"))
    m, got = res.summary["mail"], metrics_of(res)
    done = res.messages[(res.messages.kind == "mail") & (res.messages.status == "delivered")]
    assert len(done) >= 10
    for p in (50, 95, 99):
        assert m[f"delivery_p{p}_s"] == got[f"mail_delivery_p{p}_s"]
        assert m[f"delivery_p{p}_s"] == np.percentile(done.delivered_s - done.submitted_s, p)


@pytest.mark.parametrize(("old", "new"), [("latency_p95_s", "packet_delay_p95_s"),
                                          ("latency_mean_s", "packet_delay_mean_s"),
                                          ("mail_latency_p99_s", "mail_delivery_p99_s")])  # fmt: skip
def test_old_metric_names_work_with_a_deprecation_warning(comp: Comparison, old: str, new: str) -> None:
    with pytest.warns(DeprecationWarning, match=f"'{old}' is now called '{new}'"):
        t = comp.table([old])
    assert set(t["metric"]) == {new}


def test_a_comparison_saved_with_the_old_names_loads_with_the_new(comp: Comparison, tmp_path: Path) -> None:
    from netlab.experiment.run_metrics import RENAMED

    back = {new: old for old, new in RENAMED.items()}
    comp.save(tmp_path / "c")
    for name in ("summary", "paired", "runs"):  # what an earlier release wrote
        f = tmp_path / "c" / f"{name}.parquet"
        df = pd.read_parquet(f)
        df = df.assign(metric=df["metric"].replace(back)) if "metric" in df else df.rename(columns=back)
        df.to_parquet(f)
    old = netlab.load_comparison(tmp_path / "c")
    assert old.summary.equals(comp.summary) and old.paired.equals(comp.paired)
    assert list(old.runs.columns) == list(comp.runs.columns)


@pytest.mark.parametrize("metric", ["out_of_order", "packet_delay_p99_s", "drops", "link_util_max"])
def test_intervals_stay_within_what_the_metric_can_take(comp: Comparison, metric: str) -> None:
    from netlab.experiment.run_metrics import SUPPORT

    lo, hi = SUPPORT[metric]
    rows = comp.summary[comp.summary["metric"] == metric].dropna(subset=["ci_low"])
    assert len(rows) and (rows["ci_low"] >= lo).all() and (rows["ci_high"] <= hi).all()
    assert (rows["ci_low"] <= rows["mean"]).all() and (rows["mean"] <= rows["ci_high"]).all()


@pytest.mark.parametrize("n", [3, 5, 10])
def test_clipped_t_interval_keeps_the_coverage_of_the_t_interval(n: int) -> None:
    """On an exponential sample (mean 1, so a zero lower bound is often what t says below it) the clipped interval
    covers the true mean exactly as often as Student's t (clipping drops only impossible values) and never goes
    below zero; t's coverage for this skewed law is 0.87-0.89 at these n (measured over 600 trials)."""
    rng = np.random.default_rng(20261202)
    covered = clipped_covered = negative = 0
    trials = 400
    for _ in range(trials):
        x = rng.exponential(1.0, n)
        t = netlab.mean_ci(x)
        c = netlab.mean_ci(x, support=(0.0, math.inf))
        covered += t.low <= 1.0 <= t.high
        clipped_covered += c.low <= 1.0 <= c.high
        negative += c.low < 0
    assert clipped_covered == covered and negative == 0
    assert 0.80 <= covered / trials <= 0.97


def test_netlab_plot_draws_the_delay_figures_of_a_sweep_saved_with_the_old_names(tmp_path: Path) -> None:
    from netlab.cli import main

    nan = math.nan
    old_names = ("latency_mean_s", "latency_p95_s")
    rows = [("load", v, 1e6 * v, s, m, "s", 0.01 * v, 0.0, 0.02 * v, nan, nan, nan, 2)
            for v in (0.5, 1.0) for s in ("shortest_hops", "least_loaded") for m in old_names]  # fmt: skip
    df = pd.DataFrame(rows, columns=["key", "value", "offered_bps", *COLUMNS])
    netlab.save_sweep(df, tmp_path / "old")
    assert main(["plot", str(tmp_path / "old"), "-o", str(tmp_path / "fig")]) == 0
    assert (tmp_path / "fig" / "load_packet_delay_mean_s.png").is_file()
    assert (tmp_path / "fig" / "load_packet_delay_p95_s.png").is_file()
