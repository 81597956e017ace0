"""The comparison plots render headless, return their Axes and draw something."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

import netlab
from netlab.experiment.compare import compare
from netlab.experiment.comparison import Comparison
from netlab.experiment.sweep import sweep
from netlab.plots import compare as pc

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def comp() -> Comparison:
    s = netlab.load_scenario(str(ROOT / "topologies" / "compare.yaml")).override("run.until=3s", "run.warmup=0.5s")
    return compare(s, ["shortest_hops", "least_loaded"], replications=2, progress=False)


def _png_bytes(ax) -> int:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=60)
    plt.close(ax.figure)
    return len(buf.getvalue())


def test_latency_cdf(comp: Comparison) -> None:
    ax = pc.plot_latency_cdf(comp)
    assert len(ax.lines) == 2 and [t.get_text() for t in ax.get_legend().get_texts()] == comp.strategies
    assert _png_bytes(ax) > 5000


@pytest.mark.parametrize("kind", ["box", "violin"])
def test_latency_box(comp: Comparison, kind: str) -> None:
    _, ax = plt.subplots()
    assert pc.plot_latency_box(comp, ax=ax, kind=kind) is ax
    assert len(ax.get_xticklabels()) == 2 and (ax.lines or ax.collections)
    assert _png_bytes(ax) > 5000


def test_latency_box_refuses_unknown_kind(comp: Comparison) -> None:
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="kind"):
        pc.plot_latency_box(comp, ax=ax, kind="pie")
    plt.close(fig)


def test_link_heatmap(comp: Comparison) -> None:
    ax = pc.plot_link_heatmap(comp, strategy="least_loaded")
    assert ax.collections and "least_loaded" in ax.get_title()
    assert _png_bytes(ax) > 5000


@pytest.mark.parametrize("strategy", ["shortest_hops", "least_loaded"])
def test_topology_load(comp: Comparison, strategy: str) -> None:
    ax = pc.plot_topology_load(comp, strategy=strategy)
    assert len(ax.collections) >= 2 and strategy in ax.get_title()  # edges and nodes
    assert _png_bytes(ax) > 5000


def test_topology_load_of_a_run() -> None:
    res = netlab.run(netlab.load_scenario(str(ROOT / "topologies" / "demo.yaml")).override("run.until=3s"))
    ax = pc.plot_topology_load(res)
    assert ax.collections and _png_bytes(ax) > 5000


def test_path_share(comp: Comparison) -> None:
    ax = pc.plot_path_share(comp)
    assert "least_loaded" in ax.get_title() and len(ax.collections) >= 2  # one band per path
    assert _png_bytes(ax) > 5000
    ax = pc.plot_path_share(comp.paths[comp.paths["strategy"] == "shortest_hops"].drop(columns="strategy"), flow="bulk")
    assert "bulk" in ax.get_title()
    plt.close(ax.figure)


def test_load_latency() -> None:
    s = netlab.load_scenario(str(ROOT / "topologies" / "compare.yaml")).override("run.until=2s", "run.warmup=0.2s")
    df = sweep(s, "load", [0.5, 1.0], ["shortest_hops", "least_loaded"], replications=2, progress=False)
    ax = pc.plot_load_latency(df)
    assert len(ax.lines) == 2 and len(ax.collections) == 2  # a line and a CI band per strategy
    assert ax.get_xlabel() == "offered load (Mbit/s)"
    assert _png_bytes(ax) > 5000
