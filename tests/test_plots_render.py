"""Every public plot function renders on the seed run (and a small comparison) as a referee would read it:
axis labels set, with a unit where the axis is a quantity; units in the title that agree with the axes;
legends outside the data area; no node names on a 1,000-node graph; global rcParams untouched.

The list of plot functions is read from the ``__all__`` of every ``netlab.plots`` module, so a new function
without a render case here fails :func:`test_every_plot_function_has_a_render_case`.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import matplotlib as mpl
import pytest

import netlab
import netlab.plots

SEED = Path(__file__).parents[1] / "topologies" / "seed.yaml"
UNIT = re.compile(r"[(\[][^)\]]*(s|ms|bytes|segments|Mbit/s|bit/s|%|fraction|0\.\.1)[^)\]]*[)\]]")
PLOT_PREFIXES = ("plot_", "draw_", "animate_")


@pytest.fixture(scope="module", autouse=True)
def agg() -> Any:
    # The Agg backend inside the test only: the library never calls matplotlib.use.
    import matplotlib.pyplot as plt

    before = mpl.get_backend()
    plt.switch_backend("Agg")
    yield
    plt.close("all")
    plt.switch_backend(before)


@pytest.fixture(scope="module")
def seed_run() -> netlab.Results:
    # 25 minutes: past mx-b1's crash (20 min) and return (21 min), so the fault marks have something to mark
    return netlab.run(netlab.load_scenario(SEED).override("run.until=1500s"))


@pytest.fixture(scope="module")
def comp() -> netlab.Comparison:
    s = netlab.load_scenario(SEED).override("run.until=120s")
    return netlab.compare(s, ["shortest_hops", "least_loaded"], replications=1, workers=1, progress=False)


@pytest.fixture(scope="module")
def sweep_df() -> Any:
    s = netlab.load_scenario(Path(__file__).parents[1] / "topologies" / "compare.yaml").override(
        "run.until=2s", "run.warmup=0.2s"
    )
    return netlab.sweep(s, "load", [0.5, 1.0], ["shortest_hops", "least_loaded"], replications=2, progress=False)


def _public_plot_functions() -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}
    for info in pkgutil.iter_modules(netlab.plots.__path__):
        module = importlib.import_module(f"netlab.plots.{info.name}")
        for name in getattr(module, "__all__", []):
            if name.startswith(PLOT_PREFIXES):
                found[name] = getattr(module, name)
    return found


def _cwnd_results() -> Any:
    from tcp_helpers import bulk

    from netlab.transport import TcpConfig
    from netlab.transport.stats import cwnd_table

    return cwnd_table(bulk(2, TcpConfig(congestion="cubic", trace=True), queue_packets=40, until_s=4, warmup_s=1).stack)


#: name -> (how to call it from the fixtures, which axes are quantities that need a unit: "x", "y", "xy", "")
CASES: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "plot_latency_cdf": (lambda f: f["fn"](f["comp"]), "x"),
    "plot_latency_box": (lambda f: f["fn"](f["comp"]), "y"),
    "plot_load_latency": (lambda f: f["fn"](f["sweep"]), "xy"),
    "plot_link_heatmap": (lambda f: f["fn"](f["comp"]), "x"),
    "plot_topology_load": (lambda f: f["fn"](f["seed"]), ""),
    "plot_path_share": (lambda f: f["fn"](f["comp"]), "x"),
    "plot_link_utilisation": (lambda f: f["fn"](f["seed"]), "x"),
    "plot_flow_delays": (lambda f: f["fn"](f["seed"]), "y"),
    "plot_message_timeline": (lambda f: f["fn"](f["seed"]), "x"),
    "plot_mail_delivery_cdf": (lambda f: f["fn"](f["comp"]), "x"),
    "draw_topology": (lambda f: f["fn"](f["seed"].scenario.topology), ""),
    "plot_cwnd": (lambda f: f["fn"](_cwnd_results()), "xy"),
    "animate_message": (lambda f: f["fn"](f["seed"], frames_per_stage=2), ""),
    "plot_mail_queues": (lambda f: f["fn"](f["seed"]), "x"),
    "plot_retries": (lambda f: f["fn"](f["seed"]), "x"),
    "animate_links": (lambda f: f["fn"](f["seed"]), ""),
}


def test_every_plot_function_has_a_render_case() -> None:
    assert set(_public_plot_functions()) == set(CASES)


def _all_axes(out: Any) -> list[Any]:
    fig = out.figure if hasattr(out, "figure") and not hasattr(out, "_fig") else getattr(out, "_fig", out)
    if hasattr(out, "get_xlabel"):
        return [out]
    # a Figure or an animation: every axes but colorbars
    return [a for a in fig.axes if a.get_label() != "<colorbar>"]


def _legend_outside_axes(ax: Any) -> bool:
    legend = ax.get_legend() or (ax.figure.legends[0] if ax.figure.legends else None)
    if legend is None:
        return True
    renderer = ax.figure.canvas.get_renderer()
    lb = legend.get_window_extent(renderer)
    ab = ax.get_window_extent(renderer)
    overlap_w = min(lb.x1, ab.x1) - max(lb.x0, ab.x0)
    overlap_h = min(lb.y1, ab.y1) - max(lb.y0, ab.y0)
    return overlap_w <= 1 or overlap_h <= 1


@pytest.mark.parametrize("name", sorted(CASES))
def test_plot_renders_with_labelled_units(name: str, seed_run: netlab.Results, comp: netlab.Comparison,
                                          sweep_df: Any) -> None:  # fmt: skip
    import matplotlib.pyplot as plt

    fn = _public_plot_functions()[name]
    call, quantities = CASES[name]
    rc_before = dict(mpl.rcParams)
    out = call({"fn": fn, "seed": seed_run, "comp": comp, "sweep": sweep_df})
    assert dict(mpl.rcParams) == rc_before, f"{name} changed global rcParams"
    axes = _all_axes(out)
    fig = axes[0].figure
    fig.canvas.draw()
    main = axes[-1] if name == "animate_message" else axes[0]  # the animation's timeline panel has the axes
    for ax in axes:
        assert _legend_outside_axes(ax), f"{name}: the legend overlaps the data area"
    if quantities or main.axison:
        assert (main.get_xlabel() and main.get_ylabel()) or not quantities.count("y"), name
    for axis in quantities:
        label = main.get_xlabel() if axis == "x" else main.get_ylabel()
        assert UNIT.search(label), f"{name}: {axis} label {label!r} has no unit in parentheses"
    title = main.get_title() or (fig._suptitle.get_text() if fig._suptitle else "")
    labels = main.get_xlabel() + " " + main.get_ylabel()
    for unit in re.findall(r"\((ms|s|Mbit/s|bytes)\)", title):
        assert f"({unit}" in labels or f" {unit}," in labels, f"{name}: title unit {unit!r} not on an axis"
    plt.close(fig)


def test_heatmap_marks_the_seed_fault(seed_run: netlab.Results) -> None:
    import matplotlib.pyplot as plt

    from netlab.plots.network import plot_link_utilisation

    ax = plot_link_utilisation(seed_run)
    texts = [t.get_text() for t in ax.texts]
    assert any("mx-b1 down" in t for t in texts), texts
    spans = [p for p in ax.patches if p.get_gid() == "fault"]
    assert len(spans) == 1
    x0, x1 = spans[0].get_x(), spans[0].get_x() + spans[0].get_width()
    assert (x0, x1) == pytest.approx((1200.0, 1260.0))  # down at 20 min, up at 21 min
    plt.close(ax.figure)


def test_timeline_names_its_message_scale_and_stages(seed_run: netlab.Results) -> None:
    import matplotlib.pyplot as plt

    from netlab.plots.mail import chosen_message, plot_message_timeline

    ax = plot_message_timeline(seed_run)
    row = chosen_message(seed_run)
    assert str(row["message_id"]) in ax.get_title()
    assert ("log" in ax.get_xlabel()) == (ax.get_xscale() != "linear")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "SMTP transaction" in legend and "queue wait" in legend
    plt.close(ax.figure)


def test_latency_cdf_is_log_by_default_and_can_be_linear(comp: netlab.Comparison) -> None:
    import matplotlib.pyplot as plt

    from netlab.plots.compare import plot_latency_cdf
    from netlab.plots.mail import plot_mail_delivery_cdf

    for fn in (plot_latency_cdf, plot_mail_delivery_cdf):
        assert fn(comp).get_xscale() == "log"
        ax = fn(comp, log=False)
        assert ax.get_xscale() == "linear" and "log" not in ax.get_xlabel()
    plt.close("all")


def test_large_topology_has_no_labels_on_every_node() -> None:
    import matplotlib.pyplot as plt

    from netlab.plots.topology import MAX_LABELS, draw_topology
    from netlab.topology.convert import topology_from_graph
    from netlab.topology.generators import barabasi_albert

    topo = topology_from_graph(barabasi_albert(1000, 2, seed=1))
    ax = draw_topology(topo)
    assert 0 < len(ax.texts) <= MAX_LABELS  # only the busiest (highest-degree) nodes are named
    plt.close(ax.figure)


def test_hosts_are_not_drawn_in_a_utilisation_colour(seed_run: netlab.Results) -> None:
    import matplotlib.pyplot as plt
    import numpy as np

    from netlab.plots.compare import plot_topology_load
    from netlab.plots.topology import ROLE_COLOURS

    host = np.array(mpl.colors.to_rgb(ROLE_COLOURS["host"]))
    ramp = mpl.colormaps["plasma"](np.linspace(0, 1, 256))[:, :3]
    assert np.min(np.linalg.norm(ramp - host, axis=1)) > 0.25  # far from every colour of the ramp
    ax = plot_topology_load(seed_run)
    plt.close(ax.figure)


def test_fault_periods_pair_a_link_whichever_way_its_ends_are_written() -> None:
    from types import SimpleNamespace

    from netlab.network.faults import FaultSpec
    from netlab.plots.network import fault_periods

    faults = (FaultSpec(10.0, "down", link=("a", "b")), FaultSpec(20.0, "up", link=("b", "a")),
              FaultSpec(5.0, "down", node="x"))  # fmt: skip
    assert fault_periods(SimpleNamespace(faults=faults), 100.0) == [("x down", 5.0, 100.0), ("a–b down", 10.0, 20.0)]


# --- faults on the mail time axes, zero bars ---------------------------------------------------------------------

SEED_FAULT = (1200.0, 1260.0)  # seed.yaml: mx-b1 crashes at 20 min and returns at 21 min


def _fault_spans(ax: Any) -> list[tuple[float, float]]:
    return [(p.get_x(), p.get_x() + p.get_width()) for p in ax.patches if p.get_gid() == "fault"]


def _legend_texts(ax: Any) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


def _message_where(res: netlab.Results, test: Callable[[list[tuple[str, float, float]]], bool]) -> tuple[str, str]:
    """The first delivered (message, recipient) of *res* whose stages pass *test*."""
    from netlab.plots.mail import message_stages

    m = res.messages[(res.messages["kind"] == "mail") & (res.messages["status"] == "delivered")]
    for mid, rcpt in zip(m["message_id"], m["rcpt_to"], strict=True):
        if test(message_stages(res, mid, rcpt)):
            return str(mid), str(rcpt)
    raise AssertionError("no such message in the run")


def _message_during_the_fault(res: netlab.Results) -> tuple[str, str]:
    return _message_where(res, lambda st: st[0][1] < SEED_FAULT[1] and st[-1][2] > SEED_FAULT[0])


def test_timeline_shades_a_fault_during_the_message_and_names_it_in_the_legend(seed_run: netlab.Results) -> None:
    import matplotlib.pyplot as plt

    from netlab.plots.mail import message_stages, plot_message_timeline

    mid, rcpt = _message_during_the_fault(seed_run)
    stages = message_stages(seed_run, mid, rcpt)
    t0, t_end = stages[0][1], stages[-1][2]
    ax = plot_message_timeline(seed_run, mid, rcpt)
    # the x axis is time since submission: the period is shifted by t0 and clipped to the message's life
    want = (max(SEED_FAULT[0], t0) - t0, min(SEED_FAULT[1], t_end) - t0)
    assert _fault_spans(ax) == [pytest.approx(want)]
    assert "mx-b1 down 1200-1260 s" in _legend_texts(ax)
    plt.close(ax.figure)


def test_timeline_of_a_message_before_the_fault_marks_none(seed_run: netlab.Results) -> None:
    import matplotlib.pyplot as plt

    from netlab.plots.mail import message_stages, plot_message_timeline

    assert message_stages(seed_run)[-1][2] < SEED_FAULT[0]  # the default message: the first delivered, early
    ax = plot_message_timeline(seed_run)
    assert _fault_spans(ax) == []
    assert not any("down" in t for t in _legend_texts(ax))
    plt.close(ax.figure)


@pytest.fixture(scope="module")
def mx_down_run() -> netlab.Results:
    # both of beta's MXs down for the first 200 s: beta's mail is deferred at the relays, retried, then delivered
    faults = ("faults=[{at: 0s, node: mx-b1, action: down}, {at: 0s, node: mx-b2, action: down},"
              " {at: 200s, node: mx-b1, action: up}, {at: 200s, node: mx-b2, action: up}]")  # fmt: skip
    return netlab.run(netlab.load_scenario(SEED).override("run.until=900s", faults))


@pytest.mark.parametrize("name", ["plot_retries", "plot_mail_queues"])
def test_mail_time_plots_shade_the_faults_and_name_them(mx_down_run: netlab.Results, name: str) -> None:
    import matplotlib.pyplot as plt

    import netlab.plots.mail as pm

    ax = getattr(pm, name)(mx_down_run)
    spans = _fault_spans(ax)
    assert len(spans) == 2 and all(x1 == pytest.approx(200.0) for _, x1 in spans), spans  # each MX, until 200 s
    texts = _legend_texts(ax)
    assert {"mx-b1 down 0-200 s", "mx-b2 down 0-200 s"} <= set(texts), texts
    plt.close(ax.figure)


def _zero_marks(ax: Any) -> tuple[list[tuple[float, float]], list[tuple[str, tuple[float, float]]]]:
    from netlab.plots.bars import ZERO_GID

    lines = [(float(ln.get_xdata()[0]), float(ln.get_ydata()[0])) for ln in ax.lines if ln.get_gid() == ZERO_GID]
    texts = [(t.get_text(), tuple(map(float, t.xy))) for t in ax.texts if t.get_gid() == ZERO_GID]
    return lines, texts  # type: ignore[return-value]


@pytest.mark.parametrize("horizontal", [False, True])
def test_a_zero_bar_gets_a_mark_and_a_0(horizontal: bool) -> None:
    import matplotlib.pyplot as plt

    from netlab.plots.bars import bars

    _, ax = plt.subplots()
    container = bars(ax, [0, 1, 2, 3], [2.0, 0.0, 3.0, float("nan")], start=[0.0, 5.0, 0.0, 1.0], horizontal=horizontal)
    assert len(container.patches) == 4
    lines, texts = _zero_marks(ax)
    at = (lambda pos, base: (base, pos)) if horizontal else (lambda pos, base: (pos, base))
    assert lines == [at(1, 5.0), at(3, 1.0)]  # at each invisible bar's base, none on the others
    assert texts == [("0", at(1, 5.0)), ("no data", at(3, 1.0))]
    plt.close(ax.figure)


def test_flow_delays_label_a_zero_and_an_empty_flow() -> None:
    import matplotlib.pyplot as plt
    import pandas as pd

    from netlab.plots.network import plot_flow_delays

    flows = pd.DataFrame({"flow": ["a", "b", "c"], "src": ["h1"] * 3, "dst": ["h2"] * 3,
                          "delay_mean_s": [0.005, 0.0, float("nan")], "tx_packets": [10, 10, 4],
                          "rx_packets": [10, 10, 0], "lost_packets": [0, 0, 4]})  # fmt: skip
    ax = plot_flow_delays(SimpleNamespace(flows=flows))  # type: ignore[arg-type]
    lines, texts = _zero_marks(ax)
    assert lines == [(1.0, 0.0), (2.0, 0.0)]
    assert texts == [("0 ms, loss 0.0%", (1.0, 0.0)), ("none delivered, loss 100.0%", (2.0, 0.0))]
    assert [p.get_height() for p in ax.patches] == pytest.approx([5.0, 0.0, 0.0])
    plt.close(ax.figure)


def test_bars_take_arrays_and_refuse_a_label_per_bar_short() -> None:
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from netlab.plots.bars import bars

    _, ax = plt.subplots()
    bars(ax, [0, 1], np.array([1.0, 0.0]), start=pd.Series([2.0, 3.0]))  # was: "only 0-dimensional arrays ..."
    assert _zero_marks(ax)[0] == [(1.0, 3.0)]
    with pytest.raises(ValueError, match="bars: 2 sizes but 1 labels; give one per bar"):
        bars(ax, [0, 1], [1.0, 2.0], labels=["a"])  # was: a bare IndexError
    plt.close(ax.figure)


def test_flow_delays_note_a_delivering_flow_without_a_delay_as_such() -> None:
    import matplotlib.pyplot as plt
    import pandas as pd

    from netlab.plots.network import plot_flow_delays

    flows = pd.DataFrame({"flow": ["a"], "src": ["h1"], "dst": ["h2"], "delay_mean_s": [float("nan")],
                          "tx_packets": [3], "rx_packets": [2], "lost_packets": [1]})  # fmt: skip
    ax = plot_flow_delays(SimpleNamespace(flows=flows))  # type: ignore[arg-type]
    assert _zero_marks(ax)[1] == [("no delay measured, loss 33.3%", (0.0, 0.0))]  # was "0 ms, loss 33.3%"
    plt.close(ax.figure)


def test_timeline_labels_its_zero_length_stage(seed_run: netlab.Results) -> None:
    import matplotlib.pyplot as plt

    from netlab.plots.mail import message_stages, plot_message_timeline

    # filing into the mailbox takes no simulated time in some deliveries
    mid, rcpt = _message_where(seed_run, lambda st: any(e == s for _, s, e in st))
    stages = message_stages(seed_run, mid, rcpt)
    zero = [(i, s - stages[0][1]) for i, (_, s, e) in enumerate(stages) if e == s]
    ax = plot_message_timeline(seed_run, mid, rcpt)
    lines, texts = _zero_marks(ax)
    assert lines == [pytest.approx((x, i)) for i, x in zero]
    assert [t for t, _ in texts] == ["0 s"] * len(zero)
    plt.close(ax.figure)
