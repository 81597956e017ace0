"""Transport pieces on their own: sequence arithmetic, the RFC 6298 estimator (and a connection driven by a
scripted RTT sequence), the reassembly buffer, the SACK scoreboard, configuration and errors."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Generator
from typing import Any

import pytest
import simpy

import netlab
from netlab.network.network import Network
from netlab.transport import (
    ConnectionRefused,
    ConnectionReset,
    ConnectionTimeout,
    IncompleteRead,
    RtoEstimator,
    TcpConfig,
    TransportError,
    TransportStack,
)
from netlab.transport.reassembly import Reassembly
from netlab.transport.scoreboard import Scoreboard
from netlab.transport.segment import SEQ_MOD, seq_add, seq_diff, seq_le, seq_lt


# ------------------------------------------------------------------------------------------------- sequence space
@pytest.mark.parametrize(("a", "b", "lt"), [(0, 1, True), (1, 0, False), (SEQ_MOD - 1, 0, True),
                                            (0, SEQ_MOD - 1, False), (SEQ_MOD - 10, 10, True), (5, 5, False),
                                            (0, 2**31 - 1, True)])  # fmt: skip
def test_seq_compare_mod_2_32(a: int, b: int, lt: bool) -> None:
    assert seq_lt(a, b) is lt
    assert seq_le(a, b) is (lt or a == b)
    assert seq_diff(b, a) == (b - a) % SEQ_MOD if lt else True


def test_seq_add_and_diff_wrap() -> None:
    assert seq_add(SEQ_MOD - 1, 1) == 0
    assert seq_diff(3, SEQ_MOD - 3) == 6 and seq_diff(SEQ_MOD - 3, 3) == -6
    rng = random.Random(1)
    for _ in range(1000):
        a, n = rng.randrange(SEQ_MOD), rng.randrange(-(2**31), 2**31)
        assert seq_diff(seq_add(a, n), a) == n


# ---------------------------------------------------------------------------------------------------- RFC 6298
def test_rto_scripted_sequence_by_hand() -> None:
    est = RtoEstimator(min_s=0.01, granularity_s=0.0)
    assert est.rto == 1.0 and est.srtt is None  # (2.1)
    assert est.sample(0.1) == pytest.approx(0.1 + 4 * 0.05)  # (2.2): SRTT = R, RTTVAR = R/2
    # (2.3): RTTVAR uses the old SRTT: 0.75 * 0.05 + 0.25 * |0.1 - 0.2| = 0.0625; SRTT = 0.1125
    assert est.sample(0.2) == pytest.approx(0.1125 + 4 * 0.0625)
    assert (est.srtt, est.rttvar) == pytest.approx((0.1125, 0.0625))
    assert est.on_timeout() == pytest.approx(0.725)  # (5.5) backoff
    assert est.on_timeout() == pytest.approx(1.45)
    assert est.sample(0.05, retransmitted=True) == pytest.approx(1.45)  # Karn: ignored, backoff kept
    assert est.backoffs == 2 and est.samples == 2
    # The next valid sample ends the backoff: RTTVAR = 0.75 * 0.0625 + 0.25 * 0.0125 = 0.05, SRTT = 0.1109375
    assert est.sample(0.1) == pytest.approx(0.1109375 + 4 * 0.05)
    assert est.backoffs == 0


def test_rto_bounds_and_granularity() -> None:
    est = RtoEstimator()  # min 1 s, max 60 s, G = 1 ms
    assert est.sample(0.01) == 1.0  # (2.4) rounded up to the minimum
    for _ in range(10):
        est.on_timeout()
    assert est.rto == 60.0  # (2.5) capped
    flat = RtoEstimator(min_s=1e-6, granularity_s=0.001)
    for _ in range(200):
        flat.sample(0.02)
    assert flat.rttvar is not None and flat.rttvar < 1e-9
    assert flat.rto == pytest.approx(0.02 + 0.001)  # RTO = SRTT + max(G, K * RTTVAR)
    assert RtoEstimator(initial_s=0.5, min_s=0.2).rto == 0.5


def test_rto_against_a_reference_on_random_samples() -> None:
    rng = random.Random(3)
    est = RtoEstimator(min_s=1e-3, max_s=1e9, granularity_s=0.0)
    srtt = rttvar = None
    for _ in range(500):
        r = rng.uniform(0.001, 0.5)
        if srtt is None or rttvar is None:
            srtt, rttvar = r, r / 2
        else:
            rttvar = 0.75 * rttvar + 0.25 * abs(srtt - r)
            srtt = 0.875 * srtt + 0.125 * r
        assert est.sample(r) == pytest.approx(srtt + 4 * rttvar, rel=1e-12)


def test_rto_config_errors() -> None:
    with pytest.raises(netlab.ConfigError):
        RtoEstimator(min_s=2.0, max_s=1.0)
    with pytest.raises(netlab.ConfigError):
        TcpConfig(min_rto_s=0.0)
    with pytest.raises(netlab.ConfigError):
        TcpConfig(mss=0)


def test_connection_rto_follows_rfc6298_on_scripted_round_trips() -> None:
    """Ping-pong through a router r whose forwarding delay the script sets before each message (links are pure
    zero delays), so every data segment is timed alone and its round trip is exactly the scripted one: the
    connection's estimator must equal a reference fed the same RTTs. One round loses its ACK (the r -> a link
    is down for half an RTO): the segment is retransmitted, its ACK gives no sample (Karn) and the backoff stays."""
    rtts = [0.040, 0.060, 0.050, 0.030, None, 0.050, 0.080, 0.070, 0.020, 0.025]  # None: this ACK is lost once
    t = netlab.Topology((netlab.NodeSpec("a", "host"), netlab.NodeSpec("r"), netlab.NodeSpec("b", "host")),
                        (netlab.LinkSpec("a", "r", rate_bps=math.inf),
                         netlab.LinkSpec("r", "b", rate_bps=math.inf)))  # fmt: skip
    env = simpy.Environment()
    net = Network(env, t, seed=1)
    net.attach(netlab.ShortestHops())
    cfg = TcpConfig(min_rto_s=0.01)
    stack = TransportStack(net, cfg)
    router, back = net.nodes["r"], net.link_between("r", "a")
    assert back is not None
    listener = stack.listen("b", 7)
    ref = RtoEstimator(initial_s=cfg.initial_rto_s, min_s=cfg.min_rto_s, max_s=cfg.max_rto_s,
                       granularity_s=cfg.clock_granularity_s)  # fmt: skip
    seen: list[tuple[float, float]] = []

    def server() -> Generator[Any, Any, None]:
        conn = yield listener.accept()
        while True:
            msg = yield conn.recv_line()
            if not msg:
                break
            conn.send(b"ok\n")
        conn.close()

    def client() -> Generator[Any, Any, None]:
        router.forwarding_delay_s = 0.01
        conn = yield stack.connect("a", ("b", 7)).connected
        ref.sample(0.02)  # the SYN's round trip
        for rtt in rtts:
            if rtt is None:
                back.set_up(False)  # the ACK (and the reply) are lost until the link is back
                env.process(_up_again(env, back, 0.5 * conn.rto.rto))
                ref.on_timeout()
            else:
                assert ref.rto > rtt  # the script causes no spurious timeout
                router.forwarding_delay_s = rtt / 2
                ref.sample(rtt)
            conn.send(b"ping\n")
            assert (yield conn.recv_line()) == b"ok\n"
            seen.append((conn.rto.rto, ref.rto))
        conn.close()

    env.process(server())
    env.process(client())
    env.run()
    net.check_conservation()
    assert [a for a, _ in seen] == pytest.approx([b for _, b in seen], rel=1e-12)
    karn = rtts.index(None)
    assert seen[karn][0] == pytest.approx(2 * seen[karn - 1][0])  # backed off, and no sample taken
    client_conn = stack.connections[0]
    assert client_conn.timeouts == 1 and client_conn.retransmissions == 1 and client_conn.rto.samples == len(rtts)


def _up_again(env: simpy.Environment, link: Any, after: float) -> Generator[Any, Any, None]:
    yield env.timeout(after)
    link.set_up(True)


def test_syn_timeout_sets_rto_to_three_seconds_when_data_begins() -> None:
    """RFC 6298 (5.7): the SYN timed out and no sample was taken (Karn), so RTO restarts at 3 s."""
    t = netlab.Topology((netlab.NodeSpec("a", "host"), netlab.NodeSpec("b", "host")),
                        (netlab.LinkSpec("a", "b", rate_bps=1e7, delay_s=0.01),))  # fmt: skip
    env = simpy.Environment()
    net = Network(env, t, seed=1)
    net.attach(netlab.ShortestHops())
    net.schedule_faults((netlab.FaultSpec(0.0, "down", link=("a", "b")), netlab.FaultSpec(0.5, "up", link=("a", "b"))))
    stack = TransportStack(net)
    stack.listen("b", 7)
    got: list[float] = []

    def client() -> Generator[Any, Any, None]:
        conn = yield stack.connect("a", ("b", 7)).connected
        got.append(conn.rto.rto)

    env.process(client())
    env.run()
    assert got == [3.0]


# ---------------------------------------------------------------------------------------------------- buffers
def test_reassembly_random_segments_give_back_the_stream() -> None:
    rng = random.Random(7)
    data = rng.randbytes(20_000)
    cuts = sorted({0, len(data), *(rng.randrange(len(data)) for _ in range(40))})
    pieces = [(a, data[a:b]) for a, b in itertools.pairwise(cuts)]
    # Duplicates and overlapping re-cuts, in random order.
    pieces += [(a, data[a : a + 700]) for a in rng.sample(range(len(data)), 30)]
    rng.shuffle(pieces)
    r = Reassembly()
    rcv, out = 0, []
    for start, chunk in pieces:
        end = start + len(chunk)
        if start <= rcv < end:
            out.append(chunk[rcv - start :])
            rcv = end
            more, rcv = r.pop_ready(rcv)
            out.append(more)
        elif start > rcv:
            r.add(start, chunk)
        assert r.bytes == sum(len(p) for p in r.pieces.values())
        assert all(iv[0] > rcv for iv in r.intervals)
    assert b"".join(out) == data and r.bytes == 0 and not r.intervals
    assert r.peak_bytes > 0


def test_reassembly_sack_blocks_most_recent_first() -> None:
    r = Reassembly()
    for s in (10, 30, 50, 70):
        r.add(s, b"x" * 5)
    assert r.sack_blocks(30) == [(30, 35), (70, 75), (50, 55)]
    assert r.add(12, b"y" * 30) == 15 + 7  # fills 15..30 and 35..42 around the held 10..15 and 30..35
    assert r.intervals == [[10, 42], [50, 55], [70, 75]]


def test_scoreboard_holes_and_lost_rule() -> None:
    sb = Scoreboard()
    for s, e in [(5000, 6000), (2000, 3000), (2500, 4000), (8000, 9000)]:
        sb.add(s, e)
    assert sb.intervals == [[2000, 4000], [5000, 6000], [8000, 9000]]
    assert sb.holes(1000, 10000) == [(1000, 2000), (4000, 5000), (6000, 8000), (9000, 10000)]
    # Sacked bytes above each hole below the highest block: 4000, 2000 and 1000.
    assert sb.lost_holes(1000, threshold=1500) == [(1000, 2000), (4000, 5000)]
    assert sb.covered(2500) == 4000 and sb.covered(4500) == 4500 and sb.high == 9000
    sb.trim(5500)
    assert sb.intervals == [[5500, 6000], [8000, 9000]]


# ---------------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("cls", "builtin"), [(ConnectionRefused, ConnectionRefusedError),
                                              (ConnectionReset, ConnectionResetError),
                                              (ConnectionTimeout, TimeoutError)])  # fmt: skip
def test_errors_are_netlab_and_builtin_errors(cls: type[Exception], builtin: type[Exception]) -> None:
    exc = cls("x")
    assert isinstance(exc, TransportError) and isinstance(exc, netlab.NetlabError) and isinstance(exc, builtin)
    assert type(exc)(*exc.args).args == exc.args  # rebuilt from its args, as SimPy does on a crash


def test_incomplete_read_keeps_the_partial_bytes() -> None:
    exc = IncompleteRead("short", b"abc")
    again = type(exc)(*exc.args)
    assert again.partial == b"abc" and str(again) == "short"
