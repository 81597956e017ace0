"""Long TCP flows as a run extension (netlab.transport.bulk): backlogged flows fill the path, on-off flows
pause between bursts (the idle gaps flowlet switching needs), bad flows are refused naming the key."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

import netlab
from netlab.experiment.runner import Simulation
from netlab.testing import Tap, parallel_paths
from netlab.transport.bulk import TcpFlow, TcpTraffic

RATE = 10e6
PAYLOAD = 1460 / 1500  # a full segment's payload share of its bytes on the wire


def one_link(q: int = 50) -> netlab.Topology:
    N, L = netlab.NodeSpec, netlab.LinkSpec
    link = L("a", "b", rate_bps=RATE, delay_s=0.005, queue_packets=q)
    return netlab.Topology((N("a", "host"), N("b", "host")), (link,))


def run(flows: list[TcpFlow], topo: netlab.Topology | None = None, until: float = 20.0, warmup: float = 5.0,
        **kw: Any) -> netlab.Results:  # fmt: skip
    s = netlab.Scenario(topo or one_link(), run=netlab.RunSpec(until_s=until, warmup_s=warmup), **kw)
    return Simulation(s, extensions=[TcpTraffic(flows)]).execute()


def test_a_backlogged_flow_fills_its_link() -> None:
    res = run([TcpFlow("bulk", "a", "b")])
    row = res.tcp_flows.iloc[0]
    assert row.bursts == 0 and row.connection == res.connections.flow[0]
    assert 0.95 * RATE * PAYLOAD <= row.goodput_bps <= RATE * PAYLOAD * 1.001
    assert res.summary["stop_reason"] == "until"  # the flow never ends: the run stops at run.until


def test_backlogged_flows_share_a_link_and_report_their_connections() -> None:
    res = run([TcpFlow(f"f{i}", "a", "b") for i in range(3)], transport=netlab.TcpConfig(trace=True))
    assert len(res.connections) == 6 and set(res.connections.role) == {"client", "server"}
    assert 0.95 * RATE * PAYLOAD <= res.tcp_flows.goodput_bps.sum() <= RATE * PAYLOAD * 1.001
    assert set(res.cwnd.connection) == set(res.tcp_flows.connection)  # transport.trace: the senders' windows


@pytest.mark.parametrize("off_s", [0.2, 0.5])
def test_an_on_off_flow_is_silent_for_off_s_between_bursts(off_s: float) -> None:
    burst = 100_000
    tap = Tap()
    s = netlab.Scenario(one_link(q=1000), run=netlab.RunSpec(until_s=10.0))  # no loss: no timeout pauses it
    ext = TcpTraffic([TcpFlow("oo", "a", "b", burst_bytes=burst, off_s=off_s, exponential=False)])
    res = Simulation(s, extensions=[ext], link_class=tap.link_class).execute()
    times = [r.time_s for r in tap.records if r.event == "send" and r.link == "a->b" and r.packet.size > 40]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    bursts = int(res.tcp_flows.bursts[0])
    assert res.connections.timeouts.sum() == 0
    # every burst but the last was read in full before the next began; between bursts the sender sent no data for
    # off_s plus at least the one-way delay (the receiver read the last byte 5 ms after it left)
    assert res.tcp_flows.bytes_delivered[0] >= (bursts - 1) * burst
    assert sum(g >= off_s + 0.005 for g in gaps) == bursts - 1
    assert all(g < off_s for g in gaps if g < off_s + 0.005)  # and no other pause as long
    cycle = off_s + burst * 8 / (RATE * PAYLOAD)  # silence plus the burst at line rate, at least
    assert bursts <= 10.0 / cycle + 1


def test_on_off_runs_are_the_same_for_the_same_seed_and_differ_for_another() -> None:
    flows = [TcpFlow(f"f{i}", "s", "d", burst_bytes=50_000, off_s=0.1) for i in range(2)]
    a, b = (run(flows, parallel_paths(2), until=5.0, warmup=1.0, seed=7) for _ in range(2))
    assert a.tcp_flows.equals(b.tcp_flows)
    other = run(flows, parallel_paths(2), until=5.0, warmup=1.0, seed=8)
    assert not other.tcp_flows.bytes_delivered.equals(a.tcp_flows.bytes_delivered)


def test_flowlet_moves_on_off_flows_between_paths_but_not_backlogged_ones() -> None:
    def paths(flow: TcpFlow) -> set[str]:
        s = netlab.Scenario(parallel_paths(2), routing=netlab.PathTracker(netlab.Flowlet(gap_s=0.05)),
                            run=netlab.RunSpec(until_s=10.0))  # fmt: skip
        sim = Simulation(s, extensions=[TcpTraffic([flow])])
        sim.execute()
        p = sim.strategy.paths_frame()  # type: ignore[attr-defined]
        return set(p[p.path.str.startswith("s-")].path)

    assert len(paths(TcpFlow("bulk", "s", "d"))) == 1
    assert paths(TcpFlow("oo", "s", "d", burst_bytes=50_000, off_s=0.2)) == {"s-p1-d", "s-p2-d"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"burst_bytes": 0}, "burst_bytes"), ({"burst_bytes": 1.5}, "burst_bytes"), ({"burst_bytes": True}, "burst_bytes"),
     ({"burst_bytes": 10, "off_s": -1}, "off_s"), ({"burst_bytes": 10, "off_s": float("inf")}, "off_s"),
     ({"off_s": 0.1}, "needs burst_bytes"), ({"start_s": -1}, "start_s"), ({"dst": "a"}, "src and dst"),
     ({"burst_bytes": 10, "exponential": "no"}, "exponential"),
     ({"burst_bytes": 10**12}, r"burst_bytes must be a whole number of bytes from 1 to 1,073,741,824"),
     ({"name": ""}, "name must be a non-empty string"), ({"src": None}, "src must be a node name")],
)  # fmt: skip
def test_bad_flows_are_refused_naming_the_key(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(netlab.ConfigError, match=match):
        TcpFlow(**{"name": "f", "src": "a", "dst": "b", **kwargs})


def test_unknown_nodes_duplicates_and_endless_runs_are_refused() -> None:
    with pytest.raises(netlab.TopologyError, match="dst: unknown node 'c'"):
        run([TcpFlow("f", "a", "c")])
    with pytest.raises(netlab.ConfigError, match="duplicate flow name 'f'"):
        TcpTraffic([TcpFlow("f", "a", "b"), TcpFlow("f", "b", "a")])
    with pytest.raises(netlab.ConfigError, match=r"set run\.until"):
        Simulation(netlab.Scenario(one_link()), extensions=[TcpTraffic([TcpFlow("f", "a", "b")])]).execute()


def test_a_scenario_with_mail_is_refused() -> None:
    mail = netlab.load_scenario(str(Path(__file__).parents[1] / "topologies" / "seed.yaml")).override("run.until=1s")
    host = next(n.name for n in mail.topology.nodes if n.role == "host")
    other = next(n.name for n in mail.topology.nodes if n.role == "host" and n.name != host)
    with pytest.raises(netlab.ConfigError, match="mail section"):
        Simulation(mail, extensions=[TcpTraffic([TcpFlow("f", host, other)])]).execute()
