"""Memory that scales with what the user asked for: link statistics bounded by default, a warning when a chosen
``run.bin`` overflows its limit, and a run too large for ``run.max_memory`` refused before anything is built."""

from __future__ import annotations

import itertools
import math
import warnings

import pytest

import netlab
from netlab.errors import MemoryLimitError, NetlabWarning, UnitError
from netlab.experiment import runner
from netlab.experiment.memory import BIN_ROW_BYTES, TREE_NODE_BYTES, estimate_memory
from netlab.experiment.runner import Simulation


def line(n: int, *, until: float | None = 100.0, **run: object) -> netlab.Scenario:
    """h0 - r1 - ... - h{n-1} at 10 Mbit/s, one 100 packet/s flow end to end."""
    names = ["h0", *(f"r{i}" for i in range(1, n - 1)), f"h{n - 1}"]
    nodes = tuple(netlab.NodeSpec(x, "host" if x[0] == "h" else "router") for x in names)
    links = tuple(netlab.LinkSpec(a, b, rate_bps=1e7, delay_s=1e-3) for a, b in itertools.pairwise(names))
    flow = netlab.FlowSpec("f", names[0], names[-1], arrivals=netlab.Constant(100.0), stop_s=until or 20.0)
    return netlab.Scenario(netlab.Topology(nodes, links), flows=(flow,),
                           run=netlab.RunSpec(until_s=until, **run))  # type: ignore[arg-type]  # fmt: skip


def test_default_bins_are_one_second_while_the_table_is_small() -> None:
    res = netlab.run(line(3, until=5.0))
    assert res.meta["bin_s"] == 1.0
    assert sorted(set(res.link_bins["bin_start_s"])) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert len(res.link_bins) == 4 * 5  # 4 directed links x 5 bins


@pytest.mark.parametrize("limit", [200, 90, 41])
def test_default_bins_widen_until_links_times_bins_fits(limit: int) -> None:
    """100 s over 4 links is 400 rows at 1 s: the width doubles until the table fits, nothing is lost."""
    res = netlab.run(line(3, max_link_bins=limit))
    end, width, bins = res.summary["sim_time_s"], res.meta["bin_s"], res.link_bins
    expected = 1.0
    while (math.floor(end / expected) + 1) * 4 > limit:  # bin boundaries 0, w, 2w, ... up to the end, 4 links
        expected *= 2
    assert width == expected > 1 and len(bins) == 4 * math.ceil(end / width) <= limit
    starts = sorted(set(bins["bin_start_s"]))
    assert starts == [k * width for k in range(len(starts))]  # one grid, from 0
    assert (bins["bin_end_s"] - bins["bin_start_s"]).max() == width
    totals = bins.groupby("link", sort=False)[["packets", "bytes", "drops"]].sum()
    whole = res.links.set_index("link")[["packets", "bytes", "drops"]]
    assert totals.loc[whole.index].equals(whole)  # the bins add up to the run's totals
    narrow = netlab.run(line(3))
    assert res.links.equals(narrow.links) and res.flows.equals(narrow.flows)  # only the statistics' grain changed


def test_a_chosen_bin_is_kept_and_an_overflow_warns_up_front() -> None:
    with pytest.warns(NetlabWarning, match=r"link_bins would hold 404 rows \(4 links x 101 bins of 1 s.*"
                      r"run.max_link_bins = 100: set run.bin wider"):  # fmt: skip
        res = netlab.run(line(3, bin_s=1.0, max_link_bins=100))
    assert res.meta["bin_s"] == 1.0 and len(res.link_bins) == 400


def test_a_chosen_bin_that_overflows_in_a_run_of_unknown_length_warns_when_it_does() -> None:
    with pytest.warns(NetlabWarning, match=r"link_bins holds 44 rows .* run.max_link_bins = 40"):
        res = netlab.run(line(3, until=None, bin_s=1.0, max_link_bins=40))
    assert res.meta["bin_s"] == 1.0 and len(res.link_bins) == 4 * 20  # kept: 20 bins of the 20 s run


def test_no_warning_within_the_limit() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        netlab.run(line(3, bin_s=10.0, max_link_bins=100))


def test_a_run_too_large_for_max_memory_fails_before_the_network_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*_a: object, **_k: object) -> None:
        raise AssertionError("the network was built")

    monkeypatch.setattr(runner, "Network", no_network)
    s = line(40).override("run.max_memory=1MB")
    with pytest.raises(MemoryLimitError) as err:
        Simulation(s)
    msg = str(err.value)
    assert "more than run.max_memory = 1.0 MB" in msg and "raise run.max_memory" in msg
    assert "network" in msg and "(40 nodes, 78 links)" in msg and "run.bin" in msg
    assert isinstance(err.value, netlab.ConfigError)


def test_the_machine_is_the_default_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("netlab.experiment.memory.memory_limit", lambda _s: 10**6)
    with pytest.raises(MemoryLimitError, match=r"more than this machine's 1.0 MB of memory \(run.max_memory\)"):
        Simulation(line(3))


def test_the_estimate_counts_what_the_scenario_asks_for() -> None:
    base = estimate_memory(line(20), in_use=0)
    parts = {name: b for name, b, _ in base.parts}
    assert parts["routing trees"] == 2 * 20 * TREE_NODE_BYTES  # two hosts, twenty nodes
    assert parts["link statistics"] == 38 * 101 * BIN_ROW_BYTES  # 38 links, 100 s in 1 s bins
    wide = {n: b for n, b, _ in estimate_memory(line(20, bin_s=10.0), in_use=0).parts}
    assert wide["link statistics"] == 38 * 11 * BIN_ROW_BYTES
    capped = {n: b for n, b, _ in estimate_memory(line(20, max_link_bins=1000), in_use=0).parts}
    assert capped["link statistics"] == 1000 * BIN_ROW_BYTES
    records = {n: w for n, _, w in estimate_memory(line(20, record_packets=True), in_use=0).parts}
    assert records["packet records"] == "10,000 packets"  # 100 packet/s for 100 s
    assert base.total == sum(parts.values())


@pytest.mark.parametrize(("text", "error"), [("run.max_memory=2G", UnitError),
                                             ("run.max_memory=0B", netlab.ConfigError),
                                             ("run.max_link_bins=0", netlab.ConfigError)])  # fmt: skip
def test_bad_limits_are_refused(text: str, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"run\.max_(memory|link_bins)|size"):
        line(3).override(text)
