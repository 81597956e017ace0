"""compare() and sweep(): common random numbers, confidence intervals, paired differences, save/load, CLI."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest

import netlab
from netlab.cli import main
from netlab.errors import ConfigError
from netlab.experiment.compare import compare
from netlab.experiment.comparison import load_comparison
from netlab.experiment.run_metrics import METRICS
from netlab.experiment.stats import mean_ci, t_cdf, t_quantile
from netlab.experiment.sweep import offered_load_bps, save_sweep, scale_load, sweep
from netlab.routing.adaptive import LeastLoaded
from netlab.routing.static import ShortestHops
from netlab.scenario.strategies import resolve_strategies, split_strategy_list

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = str(ROOT / "topologies" / "compare.yaml")


@pytest.fixture(scope="module")
def short() -> netlab.Scenario:
    return netlab.load_scenario(SCENARIO).override("run.until=4s", "run.warmup=0.5s")


# ------------------------------------------------------------------------------------------------ statistics


@pytest.mark.parametrize("p", [0.975, 0.995, 0.9, 0.6])
def test_t_quantile_matches_scipy(p: float) -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    for df in [*range(1, 101), 0.5, 2.5, 150, 1000, 1e6]:
        assert t_quantile(p, df) == pytest.approx(scipy_stats.t.ppf(p, df), rel=1e-9, abs=1e-12)
        assert t_quantile(1 - p, df) == pytest.approx(scipy_stats.t.ppf(1 - p, df), rel=1e-9, abs=1e-12)


def test_t_cdf_matches_scipy() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    for df in (1, 3, 10, 57.5):
        for t in (-40.0, -3.0, -0.2, 0.0, 0.01, 1.0, 2.5, 12.0):
            assert t_cdf(t, df) == pytest.approx(scipy_stats.t.cdf(t, df), rel=1e-10, abs=1e-14)


def test_ci_covers_a_known_mean_at_the_nominal_rate() -> None:
    rng = random.Random(7)
    trials, n, hits = 4000, 8, 0
    for _ in range(trials):
        ci = mean_ci([rng.gauss(5.0, 2.0) for _ in range(n)])
        hits += ci.low <= 5.0 <= ci.high
    # 95 % nominal; the binomial sd over 4000 trials is 0.0034, so +-0.015 is over 4 sd.
    assert abs(hits / trials - 0.95) < 0.015


def test_mean_ci_edge_cases() -> None:
    assert mean_ci([]).n == 0 and math.isnan(mean_ci([]).mean)
    one = mean_ci([3.0, float("nan")])
    assert one.mean == 3.0 and one.n == 1 and math.isnan(one.low)
    same = mean_ci([2.0, 2.0, 2.0])
    assert same.low == same.high == 2.0


# ------------------------------------------------------------------------------------------------ strategies


def test_strategy_strings_dicts_and_objects() -> None:
    got = resolve_strategies(
        [
            "shortest_hops",
            "least_loaded(mode=link_state, update_interval=2s, clamp=0.5)",
            {"strategy": "k_shortest_least_loaded", "k": 2},
            LeastLoaded(metric="queue"),
        ]
    )
    labels = list(got)
    assert labels[0] == "shortest_hops" and labels[3] == "least_loaded(metric=queue)"
    ll = got[labels[1]]
    assert isinstance(ll, LeastLoaded) and ll.update_interval_s == 2.0 and ll.clamp == 0.5
    assert got[labels[2]].k == 2
    assert split_strategy_list("a,b(x=1, y={p: 1, q: 2}),c") == ["a", "b(x=1, y={p: 1, q: 2})", "c"]


@pytest.mark.parametrize(("spec", "match"), [
    ("least_lodaed", "did you mean 'least_loaded'"),
    ("least_loaded(mode=warp)", "mode"),
    ("least_loaded(bogus=1)", "unknown key"),
    (object(), "not a routing strategy"),
])  # fmt: skip
def test_bad_strategies_are_refused(spec: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        resolve_strategies([spec])


def test_duplicate_labels_and_bad_baseline(short: netlab.Scenario) -> None:
    with pytest.raises(ConfigError, match="two strategies"):
        resolve_strategies(["ecmp", "ecmp"])
    with pytest.raises(ConfigError, match="baseline"):
        compare(short, ["ecmp"], replications=1, baseline="nope", progress=False)


# ------------------------------------------------------------------------------------------------ compare


class Recorder(ShortestHops):
    """Shortest hops that notes every packet it sees at its source (class-level log survives the deep copy)."""

    log: ClassVar[dict[tuple[str, int], list[tuple[str, int, float, int]]]] = {}
    tag = "?"

    def attach(self, net: netlab.Network) -> None:  # type: ignore[name-defined]
        super().attach(net)
        self.key = (self.tag, net.seed)
        Recorder.log[self.key] = []

    def next_link(self, node, packet):  # type: ignore[no-untyped-def]
        if packet.hops == 0:
            Recorder.log[self.key].append((packet.flow, packet.seq, packet.created, packet.size))
        return self.route(node, packet.dst)  # never filed in node.fib: asked at every hop


def test_common_random_numbers(short: netlab.Scenario) -> None:
    a, b = Recorder(), Recorder()
    a.tag, b.tag = "a", "b"
    Recorder.log.clear()
    c = compare(
        short, {"a": a, "b": b, "ll": "least_loaded"}, replications=2, progress=False, track_paths=False, workers=1
    )  # the class-level log is only seen in this process
    assert c.meta["seeds"] == [1, 2]
    for seed in (1, 2):
        assert len(Recorder.log[("a", seed)]) > 500
        assert Recorder.log[("a", seed)] == Recorder.log[("b", seed)]  # identical arrival times and sizes
    assert Recorder.log[("a", 1)] != Recorder.log[("a", 2)]
    sent = c.runs.pivot(index="replication", columns="strategy", values="throughput_bps")
    assert sent["a"].tolist() == sent["b"].tolist()


def test_compare_tables(short: netlab.Scenario) -> None:
    c = compare(short, ["shortest_hops", "least_loaded"], replications=4, progress=False)
    assert list(c.summary.columns) == ["strategy", "metric", "mean", "ci_low", "ci_high", "n"]
    assert len(c.summary) == 2 * len(METRICS) and len(c.runs) == 8
    p95 = c.summary.set_index(["strategy", "metric"]).loc[("shortest_hops", "packet_delay_p95_s")]
    assert p95["ci_low"] <= p95["mean"] <= p95["ci_high"] and p95["n"] == 4
    paired = c.paired.set_index("metric")
    assert set(c.paired["baseline"]) == {"shortest_hops"} and set(c.paired["strategy"]) == {"least_loaded"}
    assert paired.loc["packet_delay_p95_s", "ci_high"] < 0  # least-loaded is faster, clearly
    assert paired.loc["link_util_max", "ci_high"] < 0
    runs = c.runs.set_index(["strategy", "replication"])
    assert runs.loc[("shortest_hops", 0), "path_diversity"] == 1.0
    assert runs.loc[("least_loaded", 0), "path_diversity"] > 1.2
    assert runs["retransmissions"].isna().all()
    assert (runs.loc["shortest_hops", "out_of_order"] == 0).all()
    assert (runs.loc["least_loaded", "out_of_order"] > 0).all()
    assert set(c.delays["strategy"]) == {"shortest_hops", "least_loaded"}
    text = str(c.table())
    assert "paired difference to 'shortest_hops'" in text and "packet_delay_p95 (ms)" in text


def test_compare_is_reproducible_and_reloadable(short: netlab.Scenario, tmp_path: Path) -> None:
    c = compare(short, ["ecmp", "spray"], replications=2, progress=False)
    again = compare(short, ["ecmp", "spray"], replications=2, progress=False)
    pd.testing.assert_frame_equal(c.runs, again.runs)
    back = load_comparison(c.save(tmp_path / "cmp"))
    for name in ("summary", "paired", "runs", "delays", "paths", "links", "link_bins"):
        pd.testing.assert_frame_equal(getattr(c, name), getattr(back, name), check_dtype=False)
    assert back.strategies == ["ecmp", "spray"] and back.baseline == "ecmp"
    assert back.scenario == c.scenario
    assert json.loads((tmp_path / "cmp" / "meta.json").read_text())["versions"]["netlab"]


def test_load_comparison_refuses_other_directories(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a saved netlab comparison"):
        load_comparison(tmp_path)


def test_compare_accepts_a_mapper_and_warmup(short: netlab.Scenario) -> None:
    calls = []

    def mapper(fn, jobs):  # type: ignore[no-untyped-def]
        calls.append(len(jobs))
        return [fn(job) for job in jobs]

    c = compare(short, ["shortest_hops"], replications=2, warmup="1s", progress=False, mapper=mapper)
    assert calls == [2] and c.meta["warmup_s"] == 1.0


def test_spraying_over_unequal_paths_reorders() -> None:
    nodes = tuple(netlab.NodeSpec(n, "host" if n in "sd" else "router") for n in "sabd")
    links = (
        netlab.LinkSpec("s", "a", rate_bps=1e7, delay_s=0.001),
        netlab.LinkSpec("a", "d", rate_bps=1e7, delay_s=0.001),
        netlab.LinkSpec("s", "b", rate_bps=1e7, delay_s=0.004),
        netlab.LinkSpec("b", "d", rate_bps=1e7, delay_s=0.001),
    )
    flow = netlab.FlowSpec("f", "s", "d", arrivals=netlab.Poisson(500.0), count=500)
    s = netlab.Scenario(netlab.Topology(nodes, links), flows=(flow,))
    c = compare(s, ["ecmp", "spray(mode=round_robin)"], replications=1, progress=False)
    runs = c.runs.set_index("strategy")
    assert runs.loc["ecmp", "out_of_order"] == 0 and runs.loc["ecmp", "path_diversity"] == 1.0
    assert runs.loc["spray(mode=round_robin)", "out_of_order"] > 50
    assert runs.loc["spray(mode=round_robin)", "path_diversity"] == pytest.approx(2.0, rel=1e-3)


# ------------------------------------------------------------------------------------------------ sweeps


def test_scale_load_and_offered_load(short: netlab.Scenario) -> None:
    base = offered_load_bps(short)
    assert base == pytest.approx(300 * 8000 + 200 * 6400 + 50 * 4000)
    assert offered_load_bps(scale_load(short, 1.5)) == pytest.approx(1.5 * base)
    with pytest.raises(ConfigError):
        scale_load(short, 0)


def test_load_sweep(short: netlab.Scenario, tmp_path: Path) -> None:
    df = sweep(short, "load", [0.5, 1.2], ["shortest_hops", "least_loaded"], replications=2, progress=False)
    from netlab.experiment.table import COLUMNS

    assert list(df.columns) == ["key", "value", "offered_bps", *COLUMNS]
    rows = df[(df["metric"] == "packet_delay_mean_s")].set_index(["strategy", "value"])
    lat = rows["mean"]
    assert lat[("shortest_hops", 1.2)] > lat[("shortest_hops", 0.5)]
    assert lat[("least_loaded", 1.2)] < lat[("shortest_hops", 1.2)]
    # paired differences to the baseline at the same value, on the same arrivals
    for value in (0.5, 1.2):
        diff = rows.loc[("least_loaded", value)]
        assert diff["paired_diff"] == pytest.approx(lat[("least_loaded", value)] - lat[("shortest_hops", value)])
        assert diff["paired_ci_low"] <= diff["paired_diff"] <= diff["paired_ci_high"]
        assert math.isnan(rows.loc[("shortest_hops", value), "paired_diff"])
    assert (rows.loc[("least_loaded", 1.2), "paired_ci_high"]) < 0
    assert save_sweep(df, tmp_path / "sw").joinpath("sweep.csv").is_file()


def test_key_sweep(short: netlab.Scenario) -> None:
    df = sweep(short, "flows.bulk.arrivals.poisson", ["100/s", "400/s"], ["shortest_hops"], replications=1,
               progress=False)  # fmt: skip
    thr = df[df["metric"] == "throughput_bps"].set_index("value")["mean"]
    assert thr["400/s"] > thr["100/s"]


# ------------------------------------------------------------------------------------------------ CLI


def test_cli_compare_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp"
    code = main(["compare", SCENARIO, "--strategies", "shortest_hops,least_loaded(mode=link_state, update_interval=1s)",
                 "--reps", "2", "-o", str(out), "-q", "--set", "run.until=3s", "--warmup", "0.5s"])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0 and "paired difference to 'shortest_hops'" in text and "packet_delay_p99 (ms)" in text
    assert (out / "summary.csv").is_file()
    assert main(["plot", str(out)]) == 0
    assert (out / "latency_cdf.png").stat().st_size > 5000 and (out / "path_share.png").is_file()


def test_cli_plot_of_a_run_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    res = netlab.run(netlab.load_scenario(SCENARIO).override("run.until=3s"))
    res.save(tmp_path / "run")
    assert main(["plot", str(tmp_path / "run")]) == 0
    assert (tmp_path / "run" / "topology_load.png").is_file()
    assert main(["plot", str(tmp_path / "nothing")]) == 2
    assert main(["compare", SCENARIO, "--strategies", "shortest_hopz", "--reps", "1", "-q"]) == 2
    assert "did you mean 'shortest_hops'" in capsys.readouterr().err
