"""compare() on a scenario with mail: delivery latency of mail and TCP retransmissions become metrics."""

from __future__ import annotations

import math

from mail_helpers import scenario, send

import netlab
from netlab.experiment.comparison import format_comparison


def test_mail_metrics_in_a_comparison() -> None:
    s = scenario({"send": [send(["bob@b.test", "carol@b.test"], at=t) for t in (0.0, 1.0, 2.0)]})
    c = netlab.compare(s, ["shortest_hops", "shortest_delay"], replications=2, workers=1, progress=False)
    table = c.summary.set_index(["strategy", "metric"])["mean"]
    assert table[("shortest_hops", "mail_delivered")] == 6
    p95 = table[("shortest_hops", "mail_delivery_p95_s")]
    assert 0 < p95 < 5  # seconds from submission to the mailbox on a 100 Mbit/s, few-ms network
    assert table[("shortest_hops", "retransmissions")] == 0  # a clean network: TCP sessions, none resent
    text = format_comparison(c)
    assert "mail_delivery_p95" in text and "retransmissions" in text


def test_packet_only_comparisons_leave_mail_metrics_out(two_hosts: netlab.Topology) -> None:
    flow = netlab.FlowSpec("f", "a", "b", arrivals=netlab.Constant(100.0), count=20)
    s = netlab.Scenario(two_hosts, flows=(flow,), run=netlab.RunSpec(record_packets=True))
    c = netlab.compare(s, ["shortest_hops"], replications=2, workers=1, progress=False)
    table = c.summary.set_index(["strategy", "metric"])["mean"]
    assert math.isnan(table[("shortest_hops", "mail_delivery_p95_s")])
    assert "mail_delivery" not in format_comparison(c) and "retransmissions" not in format_comparison(c)
