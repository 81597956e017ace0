"""Congestion control against theory: slow start, buffer sizing, the Mathis and Padhye models, fairness, the
CUBIC curve, delayed ACKs and window scaling. Each simulated run is small (seconds of wall time)."""

from __future__ import annotations

import bisect
import math
from collections.abc import Generator
from typing import Any

import pytest
from tcp_helpers import bulk

import netlab
from netlab.testing import line3, make_network
from netlab.transport import RtoEstimator, TcpConfig, TransportStack
from netlab.transport.congestion import Cubic

MSS = 1460
#: Payload share of the bottleneck: a full segment is 1460 payload bytes in 1500 on the wire.
PAYLOAD = MSS / (MSS + 40)


def cwnd_at(trace: list[tuple[float, float, float, int, str]], t: float) -> float:
    """The window in force at time *t* (the last trace row at or before it)."""
    i = bisect.bisect_right([row[0] for row in trace], t) - 1
    return trace[i][1]


@pytest.mark.parametrize("cc", ["newreno", "cubic"])
def test_slow_start_doubles_cwnd_each_rtt_on_a_clean_path(cc: str) -> None:
    # 100 Mbit/s keeps each round's burst (160 segments: 19 ms) well inside the 100 ms round trip.
    r = bulk(1, TcpConfig(congestion=cc, trace=True), rate_bps=100e6, delay_s=0.05, until_s=0.8, warmup_s=0.1)
    trace = r.clients[0].cwnd_trace
    assert trace is not None
    t0 = trace[0][0]  # established: the initial window
    rounds = [cwnd_at(trace, t0 + (k + 0.5) * 0.1) / MSS for k in range(5)]
    assert rounds == [10, 20, 40, 80, 160]  # IW10 (RFC 6928), doubling with delayed ACKs (RFC 3465, L = 2)
    assert r.clients[0].retransmissions == 0


def reno_utilisation(beta: float) -> float:
    """Link utilisation of one long Reno flow whose buffer is *beta* bandwidth-delay products (beta <= 1).

    The window saws between W = (1 + beta)/2 and 1 + beta BDPs. Below one BDP the round trip is the base one, so
    the window grows at a constant rate and the throughput is W/BDP of the link; above it the queue fills, the
    link is busy, and the window grows as 1/W. Time below: (1 - beta)/2 at mean (3 + beta)/4; time above:
    ((1 + beta)**2 - 1)/2 at 1. beta = 0 gives the classic 75 %, beta = 1 full use.
    """
    below = (1 - beta) / 2
    above = ((1 + beta) ** 2 - 1) / 2
    return (below * (3 + beta) / 4 + above) / (below + above)


@pytest.mark.parametrize("beta", [0.25, 0.5, 1.0])
def test_one_newreno_flow_fills_the_link_as_the_buffer_allows(beta: float) -> None:
    bdp_packets = 10e6 * 0.1 / (1500 * 8)  # 83.3 packets of 1500 bytes
    r = bulk(1, TcpConfig(congestion="newreno"), queue_packets=round(beta * bdp_packets) + 1, until_s=60,
             warmup_s=10)  # fmt: skip
    utilisation = r.goodput_bps[0] / (10e6 * PAYLOAD)
    if beta >= 1:
        assert utilisation >= 0.95
    assert utilisation == pytest.approx(reno_utilisation(beta), abs=0.04), utilisation


def mathis_bps(p: float, rtt_s: float, b: int = 2) -> float:
    """Mathis et al. (1997): MSS/RTT * sqrt(3/(2bp)), in bit/s."""
    return MSS * 8 / rtt_s * math.sqrt(3 / (2 * b * p))


def padhye_bps(p: float, rtt_s: float, t0_s: float, b: int = 2) -> float:
    """Padhye, Firoiu, Towsley, Kurose (1998), the full model with timeouts (window limit not reached), bit/s."""
    seconds = rtt_s * math.sqrt(2 * b * p / 3) + t0_s * min(1.0, 3 * math.sqrt(3 * b * p / 8)) * p * (1 + 32 * p * p)
    return MSS * 8 / seconds


@pytest.mark.parametrize(
    ("p", "seconds", "seeds", "mathis_range"),
    [(0.001, 200, 4, (0.85, 1.1)), (0.01, 100, 3, (0.7, 0.95)), (0.03, 100, 3, (0.45, 0.75))],
)
def test_newreno_under_random_loss_matches_padhye(p: float, seconds: float, seeds: int,
                                                   mathis_range: tuple[float, float]) -> None:  # fmt: skip
    goodput = [bulk(1, TcpConfig(congestion="newreno"), loss=p, until_s=seconds, warmup_s=5, seed=s).goodput_bps[0]
               for s in range(1, seeds + 1)]  # fmt: skip
    mean = sum(goodput) / len(goodput)
    rtt = 0.1 + 2 * 1500 * 8 / 10e6 / 2 + 40 * 8 / 10e6  # propagation, one data serialisation, one ACK's
    # T0 is the RTO: its 1 s floor (RFC 6298) is far above SRTT + 4 RTTVAR here.
    assert mean / padhye_bps(p, rtt, 1.0) == pytest.approx(1.0, abs=0.25)
    lo, hi = mathis_range  # Mathis ignores timeouts, so it overestimates more as p grows
    assert lo <= mean / mathis_bps(p, rtt) <= hi


def jain(xs: list[float]) -> float:
    return sum(xs) ** 2 / (len(xs) * sum(x * x for x in xs))


@pytest.mark.parametrize("cc", ["newreno", "cubic"])
@pytest.mark.parametrize("n", [2, 4, 8])
def test_competing_flows_share_fairly(cc: str, n: int) -> None:
    # A long run: drop-tail losses hit the flows unevenly over any one sawtooth (8 NewReno flows measure 0.949
    # over 80 s, 0.984 over 170 s); fairness is a long-run property.
    r = bulk(n, TcpConfig(congestion=cc), queue_packets=85, until_s=60 + 15 * n, warmup_s=10,
             starts_s=tuple(0.5 * i for i in range(n)))  # fmt: skip
    assert jain(r.goodput_bps) >= 0.95, r.goodput_bps
    assert sum(r.goodput_bps) >= 0.95 * 10e6 * PAYLOAD


def test_cubic_window_follows_the_cubic_curve() -> None:
    c = 0.4
    r = bulk(1, TcpConfig(congestion=Cubic(fast_convergence=False), trace=True), queue_packets=85, until_s=25,
             warmup_s=1)  # fmt: skip
    trace = r.clients[0].cwnd_trace
    assert trace is not None
    events = [i for i in range(1, len(trace)) if trace[i][4] == "recovery" and trace[i - 1][4] != "recovery"]
    assert len(events) >= 4
    for j in range(1, len(events) - 1):  # whole epochs after the first (slow start's) loss
        w_max = trace[events[j] - 1][1] / MSS  # the window when the loss was detected
        start = next(i for i in range(events[j], len(trace)) if trace[i][4] == "avoidance")
        t0, w0 = trace[start][0], trace[start][1] / MSS
        assert w0 == pytest.approx(0.7 * w_max, rel=0.02)  # beta_cubic
        k = math.cbrt((w_max - w0) / c)
        for t, cwnd, *_ in trace[start + 1 : events[j + 1] - 1]:
            w = c * (t - t0 - k) ** 3 + w_max
            assert cwnd / MSS == pytest.approx(w, rel=0.05), (t, cwnd / MSS, w)


@pytest.mark.parametrize("cc", ["newreno", "cubic"])
def test_delayed_acks_halve_the_ack_count(cc: str) -> None:
    counts = {}
    for delayed in (False, True):
        r = bulk(1, TcpConfig(congestion=cc, delayed_ack=delayed), until_s=10, warmup_s=1)
        s = r.servers[0]
        counts[delayed] = s.acks_sent / s.data_segments_received
    assert counts[False] == pytest.approx(1.0, abs=0.01)
    assert counts[True] == pytest.approx(0.5, rel=0.05)


@pytest.mark.parametrize("timeout", [0.04, 0.2, 0.5])
def test_a_lone_segment_is_acknowledged_when_the_timer_expires(timeout: float) -> None:
    net = make_network(line3(10e6, 0.005))
    stack = TransportStack(net, TcpConfig(congestion="newreno", delayed_ack_timeout_s=timeout))
    lst = stack.listen("b", 80)
    out: dict[str, Any] = {}

    def server() -> Generator[Any, Any, None]:
        conn = yield lst.accept()
        while (yield conn.recv()):
            pass

    samples: list[float] = []

    class Recording(RtoEstimator):
        def sample(self, rtt_s: float) -> None:
            samples.append(rtt_s)
            super().sample(rtt_s)

    def client() -> Generator[Any, Any, None]:
        conn = yield stack.connect("a", ("b", 80)).connected
        conn.rto = Recording()  # every RTT sample from here on: one per segment (each is ACKed alone)
        for _ in range(20):  # one small segment a second: each ACK waits for the timer, no longer
            conn.send(b"x" * 100)
            yield net.env.timeout(1.0)
        out["client"] = conn

    net.env.process(server())
    net.env.process(client())
    net.env.run(until=25)
    base = 4 * 0.005 + 2 * 8 * (140 + 40) / 10e6  # 2 links each way, the segment and its ACK serialised
    assert len(samples) == 20
    assert samples == pytest.approx([base + timeout] * 20, abs=1e-4)


@pytest.mark.parametrize(("scaling", "capped"), [(True, False), (False, True)])
def test_window_scaling_decides_whether_the_window_passes_64k(scaling: bool, capped: bool) -> None:
    # 100 Mbit/s, 20 ms: a BDP of 250 kB, four times what 64 KiB covers
    r = bulk(1, TcpConfig(congestion="newreno", window_scaling=scaling), rate_bps=100e6, delay_s=0.01, until_s=5,
             warmup_s=1)  # fmt: skip
    c = r.clients[0]
    assert c.window_scaled is scaling
    if capped:  # RFC 7323: without both SYNs offering a scale the window is 65,535 bytes at most
        assert c.peak_unacked_bytes <= 65535
        assert r.goodput_bps[0] <= 65535 * 8 / 0.02
    else:
        assert c.peak_unacked_bytes > 4 * 65535
        assert r.goodput_bps[0] >= 0.9 * 100e6 * PAYLOAD


def sprayed_transfer(cfg: TcpConfig, size: int = 4_000_000, skew_s: float = 0.01) -> tuple[Any, Any, float]:
    """*size* bytes s -> d over two 10 Mbit/s paths, one *skew_s* longer, sprayed per packet (reordering, no loss):
    the client, the server and when the last byte was delivered."""
    from netlab.routing.multipath import Spray

    nodes = tuple(netlab.NodeSpec(n, "host" if n in "sd" else "router") for n in ("s", "d", "r1", "r2", "m1", "m2"))
    links = (netlab.LinkSpec("s", "r1", rate_bps=1e9), netlab.LinkSpec("r2", "d", rate_bps=1e9),
             netlab.LinkSpec("r1", "m1", rate_bps=10e6, delay_s=0.01),
             netlab.LinkSpec("m1", "r2", rate_bps=10e6, delay_s=0.01),
             netlab.LinkSpec("r1", "m2", rate_bps=10e6, delay_s=0.01 + skew_s),
             netlab.LinkSpec("m2", "r2", rate_bps=10e6, delay_s=0.01))  # fmt: skip
    net = make_network(netlab.Topology(nodes, links), Spray())
    stack = TransportStack(net, cfg)
    lst = stack.listen("d", 80)
    out: dict[str, Any] = {}

    def server() -> Generator[Any, Any, None]:
        out["s"] = conn = yield lst.accept()
        while (yield conn.recv(1 << 20)):
            pass

    def client() -> Generator[Any, Any, None]:
        out["c"] = conn = yield stack.connect("s", ("d", 80)).connected
        conn.send(bytes(size))
        while out.get("s") is None or out["s"].bytes_delivered < size:
            yield net.env.timeout(0.001)
        out["t"] = net.env.now

    net.env.process(server())
    net.env.process(client())
    net.env.run(until=60)
    return out["c"], out["s"], out["t"]


@pytest.mark.parametrize("cc", ["newreno", "cubic"])
@pytest.mark.parametrize("undo", [False, True])
def test_dsack_marks_every_spurious_retransmission_under_reordering(cc: str, undo: bool) -> None:
    c, s, _ = sprayed_transfer(TcpConfig(congestion=cc, undo=undo))
    assert c.timeouts == 0 and c.fast_retransmits > 0  # reordering alone set off fast retransmits
    # No loss and no duplication on the paths: every segment the receiver got twice is a retransmission whose
    # original had arrived (counted at the receiver), and each must be D-SACKed back to the sender (RFC 2883).
    assert s.duplicate_segments == c.retransmissions
    assert c.spurious_retransmissions == s.duplicate_segments
    assert (c.undone_recoveries > 0) is undo


@pytest.mark.parametrize("cc", ["newreno", "cubic"])
def test_undo_recovers_throughput_under_reordering(cc: str) -> None:
    # measured (4 MB, 10 ms skew): NewReno 18.45 s -> 15.57 s, CUBIC 17.13 s -> 13.83 s
    t = {undo: sprayed_transfer(TcpConfig(congestion=cc, undo=undo))[2] for undo in (False, True)}
    assert t[True] <= 0.9 * t[False], t


@pytest.mark.parametrize("cc", ["newreno", "cubic"])
def test_a_real_loss_is_never_undone(cc: str) -> None:
    r = bulk(1, TcpConfig(congestion=cc), loss=0.01, until_s=20, warmup_s=1)
    c = r.clients[0]
    assert c.fast_retransmits > 0
    assert c.spurious_retransmissions == 0
    assert c.undone_recoveries == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"sack": False, "dsack": True}, "dsack"), ({"dsack": False, "undo": True}, "undo"),
     ({"sack": False, "undo": True}, "undo")],
)  # fmt: skip
def test_contradictory_dsack_options_are_refused(kwargs: dict[str, Any], match: str) -> None:
    from netlab.errors import ConfigError

    with pytest.raises(ConfigError, match=match):
        TcpConfig(**kwargs)


@pytest.mark.parametrize("cc", ["newreno", "cubic"])
@pytest.mark.parametrize(("holes", "lost_again"), [((12, 15, 18), (12, 15)), ((12, 18, 21), (12, 18))])
def test_a_needed_retransmission_is_not_read_as_a_dsack(cc: str, holes: tuple[int, ...],
                                                        lost_again: tuple[int, ...]) -> None:  # fmt: skip
    # Three segments lost, and the first retransmissions of the lower two lost too: the third's retransmission
    # arrives first and joins the blocks around it; the receiver then repeats that block first on each ACK until
    # new data comes out of order. Only a first block below the ACK, or inside the second block, is a D-SACK
    # (RFC 2883 §4); the block the sender had SACKed already is not: it held a retransmission that was needed.
    from netlab.testing import ScriptedLoss
    from netlab.transport.segment import Segment

    first = {1 + h * 1460 for h in holes}
    second = {1 + h * 1460 for h in lost_again}
    sent: dict[int, int] = {}

    def rule(p: Any) -> bool:
        if not isinstance(p, Segment) or not p.payload:
            return False
        n = sent[p.seq] = sent.get(p.seq, 0) + 1
        return (n == 1 and p.seq in first) or (n == 2 and p.seq in second)

    script = ScriptedLoss({"a->r": rule})
    net = make_network(line3(), link_class=script.link_class)
    stack = TransportStack(net, TcpConfig(congestion=cc, min_rto_s=0.2))
    lst = stack.listen("b", 80)
    size, out = 30 * 1460, {}

    def server() -> Generator[Any, Any, None]:
        out["s"] = conn = yield lst.accept()
        yield conn.recv_exactly(size)

    def client() -> Generator[Any, Any, None]:
        out["c"] = conn = yield stack.connect("a", ("b", 80), isn=0).connected
        conn.send(bytes(size))

    net.env.process(server())
    net.env.process(client())
    net.env.run(until=30)
    c, s = out["c"], out["s"]
    assert len(script.lost) == 5 and s.bytes_delivered == size
    assert s.duplicate_segments == 0  # no segment arrived twice, so no retransmission was spurious
    assert (c.spurious_retransmissions, c.undone_recoveries) == (0, 0)
