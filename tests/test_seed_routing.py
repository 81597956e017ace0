"""Routing matters on the bundled seed scenario (topologies/seed.yaml), as the README says.

Hop count sends alpha.example's mail for beta.example over the thin r-core -> r-beta line that the background
bulk flow keeps about 75 % busy; least-loaded routing (the oracle) takes the long, idle west path when the line is
backed up. Over a few replications on the same arrivals, least-loaded's p95 submission-to-mailbox latency of mail
must beat hop count's with the paired 95 % CI below zero, and hop count must run some link above 60 %.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import netlab

SEED = Path(__file__).parents[1] / "topologies" / "seed.yaml"
REPS = 6


@pytest.fixture(scope="module")
def comparison() -> netlab.Comparison:
    s = netlab.load_scenario(str(SEED))
    return netlab.compare(s, ["shortest_hops", "least_loaded"], replications=REPS, progress=False,
                          track_paths=False, max_delays=0, workers=2)  # fmt: skip


@pytest.mark.slow
def test_least_loaded_beats_hop_count_on_mail_p95(
    comparison: netlab.Comparison,
) -> None:
    p = comparison.paired.set_index(["strategy", "metric"]).loc[("least_loaded", "mail_delivery_p95_s")]
    assert p["n"] == REPS
    assert p["ci_high"] < 0, p
    runs = comparison.runs.pivot(index="replication", columns="strategy", values="mail_delivery_p95_s")
    assert (runs["least_loaded"] < runs["shortest_hops"]).all(), runs  # every replication, not only on average


@pytest.mark.slow
def test_hop_count_runs_a_link_above_60_percent(comparison: netlab.Comparison) -> None:
    s = comparison.summary.set_index(["strategy", "metric"])
    hop = comparison.runs[comparison.runs["strategy"] == "shortest_hops"]
    assert (hop["link_util_max"] > 0.6).all(), hop["link_util_max"]
    assert s.loc[("shortest_hops", "link_util_max"), "ci_low"] > 0.6
    links = comparison.links[comparison.links["strategy"] == "shortest_hops"]
    busiest = links.loc[links.groupby("replication")["utilisation"].idxmax()]
    assert set(busiest["link"]) == {"r-core->r-beta"}, busiest  # the thin line to beta's site
    # least-loaded moves load off it: its busiest link is clearly less busy
    assert s.loc[("least_loaded", "link_util_max"), "ci_high"] < s.loc[("shortest_hops", "link_util_max"), "ci_low"]


@pytest.mark.slow
def test_the_background_flows_gain_too(comparison: netlab.Comparison) -> None:
    p = comparison.paired.set_index(["strategy", "metric"]).loc[("least_loaded", "packet_delay_p95_s")]
    assert p["ci_high"] < 0, p
