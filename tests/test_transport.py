"""Transport end to end: connections over the packet network carry the exact bytes through loss, reordering and
link failures; handshake, tear-down, refusal, timeouts, window, reading API, datagrams, cost and determinism.

Every run ends with ``net.check_conservation()``.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any

import pytest
import simpy

import netlab
from netlab.network.link import Link
from netlab.network.network import Network
from netlab.routing.static import compute_tables
from netlab.testing import Tap, line3, make_network
from netlab.transport import (
    ConnectionRefused,
    ConnectionReset,
    ConnectionTimeout,
    IncompleteRead,
    ReceiveTimeout,
    TcpConfig,
    TransportError,
    TransportStack,
    connections_table,
)
from netlab.transport.segment import ACK, SEQ_MOD, SYN, Segment
from netlab.transport.stats import CONNECTION_COLUMNS

MB = 1_000_000


# ------------------------------------------------------------------------------------------------------------ helpers
def topo(names: str, *links: tuple[Any, ...]) -> netlab.Topology:
    """Nodes (names starting with 'r', 's', 'x', 'y', 'd' are routers) and links ``(a, b, rate, delay, loss)``."""
    nodes = tuple(netlab.NodeSpec(n, "host" if n in ("a", "b", "c") else "router") for n in names.split())
    specs = tuple(netlab.LinkSpec(a, b, rate_bps=rate, delay_s=delay, loss=loss) for a, b, rate, delay, loss in links)
    return netlab.Topology(nodes, specs)


def line(loss: float = 0.0, rate: float = 10e6, delay: float = 0.005) -> netlab.Topology:
    """a -- r -- b; the loss is on r -- b (both directions, so ACKs are lost too)."""
    return line3(rate, delay, loss=loss)


def network(t: netlab.Topology, *, seed: int = 1, routing: Any = None, faults: tuple[Any, ...] = (),
            config: TcpConfig | None = None,
            link_class: type[Link] = Link) -> tuple[simpy.Environment, Network, TransportStack]:  # fmt: skip
    net = make_network(t, routing, seed=seed, link_class=link_class)
    net.schedule_faults(faults)
    return net.env, net, TransportStack(net, config)


def payload(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def transfer(stack: TransportStack, data: bytes, *, src: str = "a", dst: str = "b", port: int = 80,
             until: float | None = None, listen_kw: dict[str, Any] | None = None, exact: bool = False,
             **connect_kw: Any) -> dict[str, Any]:  # fmt: skip
    """Send *data* from *src* to *dst* and close; the server reads to the end and closes. Returns what happened.

    *listen_kw* goes to ``stack.listen`` (the server's ISN or TcpConfig), *connect_kw* to ``stack.connect``;
    *exact* reads the data with one ``recv_exactly`` (one application event) instead of ``recv`` until EOF.
    """
    env = stack.env
    out: dict[str, Any] = {"received": None}
    listener = stack.listen(dst, port, **(listen_kw or {}))

    def server() -> Generator[Any, Any, None]:
        conn = yield listener.accept()
        out["server"] = conn
        chunks = [(yield conn.recv_exactly(len(data)))] if exact else []
        while True:
            chunk = yield conn.recv(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        out["received"] = b"".join(chunks)
        conn.close()

    def client() -> Generator[Any, Any, None]:
        conn = yield stack.connect(src, (dst, port), **connect_kw).connected
        out["client"] = conn
        conn.send(data)
        conn.close()
        yield conn.closed
        out["done_at"] = env.now

    env.process(server())
    env.process(client())
    env.run(until=until)
    stack.net.check_conservation()
    return out


# ----------------------------------------------------------------------------------------------------------- delivery
@pytest.mark.parametrize("size", [0, 1, 1459, 1460, 1461, 100_000])
def test_clean_path_delivers_every_byte(size: int) -> None:
    _env, _net, stack = network(line())
    data = payload(size, seed=size)
    out = transfer(stack, data)
    assert out["received"] == data
    c, s = out["client"], out["server"]
    assert (c.state, s.state) == ("CLOSED", "CLOSED")
    assert c.retransmissions == 0 and s.duplicate_segments == 0 and s.out_of_order_segments == 0
    assert c.data_segments_sent == -(-size // 1460)
    assert c.bytes_sent == size == s.bytes_delivered


@pytest.mark.parametrize("loss", [0.01, 0.10, 0.30])
@pytest.mark.parametrize("seed", [1, 2])
def test_lossy_path_delivers_every_byte(loss: float, seed: int) -> None:
    _env, net, stack = network(line(loss), seed=seed, config=TcpConfig(min_rto_s=0.2))
    data = payload(200_000, seed=seed)
    out = transfer(stack, data)
    assert out["received"] == data
    c, s = out["client"], out["server"]
    assert c.state == s.state == "CLOSED"
    assert net.dropped["loss"] > 0
    assert c.retransmissions > 0
    assert c.bytes_sent == len(data) + c.retransmitted_bytes
    # The receiver counts whatever arrived: new in-order, kept out-of-order, or duplicate.
    assert s.data_segments_received == c.data_segments_sent - _data_lost(net, c.flow)


def _data_lost(net: Network, flow: str) -> int:
    assert net.drop_records is not None
    return sum(1 for _t, _r, _w, f, _s, size in net.drop_records if f == flow and size > 40)


@pytest.mark.slow
def test_one_megabyte_at_thirty_percent_loss() -> None:
    _env, _net, stack = network(line(0.30), seed=5, config=TcpConfig(min_rto_s=0.2))
    data = payload(MB, seed=5)
    out = transfer(stack, data)
    assert out["received"] == data
    assert out["client"].timeouts > 0 and out["client"].fast_retransmits > 0


class Alternate:
    """Test-only routing: at node s, packets toward b alternate between the fast (via x) and the slow (via y) path."""

    detection_delay_s = 0.0

    def attach(self, net: Network) -> None:
        self.tables = compute_tables(net, lambda link: None)
        self.turn = 0
        self.s, self.b = net.nodes["s"], net.nodes["b"]
        self.paths = (net.link_between("s", "x"), net.link_between("s", "y"))

    def topology_changed(self, net: Network) -> None:
        self.tables = compute_tables(net, lambda link: None)

    def next_link(self, node: Any, packet: Any) -> Any:
        if node is self.s and packet.dst is self.b:
            self.turn ^= 1
            return self.paths[self.turn]
        return self.tables[node].get(packet.dst)


def two_paths() -> netlab.Topology:
    return topo("a s x y d b", ("a", "s", 100e6, 0.001, 0.0), ("s", "x", 100e6, 0.001, 0.0),
                ("x", "d", 100e6, 0.001, 0.0), ("s", "y", 100e6, 0.004, 0.0), ("y", "d", 100e6, 0.004, 0.0),
                ("d", "b", 100e6, 0.001, 0.0))  # fmt: skip


@pytest.mark.parametrize("size", [50_000, 300_000])
def test_reordering_over_two_paths_keeps_the_stream_intact(size: int) -> None:
    _env, net, stack = network(two_paths(), routing=Alternate())
    data = payload(size, seed=3)
    out = transfer(stack, data)
    assert out["received"] == data
    s = out["server"]
    assert s.out_of_order_segments > 0 and s.peak_reassembly_bytes > 0
    assert net.dropped["loss"] == 0


def test_reordering_triggers_fast_retransmit_and_duplicates_are_counted() -> None:
    # Three segments overtake each one on the slow path: spurious fast retransmits, seen as duplicates.
    _env, _net, stack = network(two_paths(), routing=Alternate())
    data = payload(300_000, seed=4)
    out = transfer(stack, data)
    c, s = out["client"], out["server"]
    assert out["received"] == data
    assert c.fast_retransmits > 0 and c.retransmissions > 0
    assert s.duplicate_segments > 0


def detour() -> netlab.Topology:
    """a - r1 - r2 - b, with a longer way r1 - r3 - r2 around the r1 - r2 link."""
    return topo("a r1 r2 r3 b", ("a", "r1", 10e6, 0.002, 0.0), ("r1", "r2", 10e6, 0.002, 0.0),
                ("r2", "b", 10e6, 0.002, 0.0), ("r1", "r3", 10e6, 0.01, 0.0),
                ("r3", "r2", 10e6, 0.01, 0.0))  # fmt: skip


@pytest.mark.parametrize("reroute", [True, False])
def test_link_down_mid_transfer_completes_after_recovery(reroute: bool) -> None:
    faults = (netlab.FaultSpec(0.3, "down", link=("r1", "r2")), netlab.FaultSpec(4.0, "up", link=("r1", "r2")))
    t = (
        detour()
        if reroute
        else topo("a r1 r2 b", *((lk.a, lk.b, lk.rate_bps, lk.delay_s, 0.0) for lk in detour().links[:3]))
    )
    _env, net, stack = network(t, routing=netlab.ShortestHops(detection_delay_s=0.2), faults=faults)
    data = payload(MB, seed=7)
    out = transfer(stack, data)
    assert out["received"] == data
    c = out["client"]
    assert net.dropped["link_down"] + net.dropped["no_route"] > 0
    # Rerouted, later segments arrive around the hole: SACK recovery may repair it before the RTO fires.
    assert c.timeouts > 0 or (reroute and c.fast_retransmits > 0)
    if reroute:
        assert out["done_at"] < 4.0  # went around while r1 - r2 was down
    else:
        assert out["done_at"] > 4.0  # waited for the link, retrying with backoff
    # Karn: the RTT estimate never took a sample spanning the outage.
    assert c.rto.srtt is not None and c.rto.srtt < 0.2


# ----------------------------------------------------------------------------------------------------- sequence space
@pytest.mark.parametrize("isn", [SEQ_MOD - 1, SEQ_MOD - 700, SEQ_MOD - 50_000, 0])
def test_sequence_numbers_wrap(isn: int) -> None:
    tap = Tap()
    _env, _net, stack = network(line(0.05), seed=3, config=TcpConfig(min_rto_s=0.2), link_class=tap.link_class)
    data = payload(120_000, seed=9)
    out = transfer(stack, data, listen_kw={"isn": isn}, isn=isn)
    assert out["received"] == data
    seen = [p.seq for p in tap.sent("a->r") if isinstance(p, Segment) and p.payload]
    assert out["client"].iss == isn and out["server"].iss == isn
    # Every data segment (retransmissions too) starts at ISN + 1 + k * MSS, modulo 2**32.
    assert set(seen) == {(isn + 1 + k) % SEQ_MOD for k in range(0, len(data), 1460)}


# ----------------------------------------------------------------------------------------------- set-up and tear-down
def test_handshake_and_fin_both_ways_state_sequence() -> None:
    _env, _net, stack = network(line())
    out = transfer(stack, b"x" * 3000)
    c, s = out["client"], out["server"]
    assert [st for _t, st in c.states] == ["SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT",
                                           "CLOSED"]  # fmt: skip
    assert [st for _t, st in s.states] == ["SYN_RECEIVED", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED"]
    # One RTT of 2 * (5 ms + 5 ms) plus two 40-byte serialisations per hop for the handshake.
    assert c.established_at == pytest.approx(0.020 + 4 * 40 * 8 / 10e6, abs=1e-12)
    row = connections_table(stack).set_index("role").loc["client"]
    assert row["handshake_s"] == pytest.approx(c.established_at) and row["completion_s"] == c.closed_at
    assert c.iss != s.iss


def test_segment_sizes_and_pure_acks_are_forty_bytes() -> None:
    tap = Tap()
    _env, _net, stack = network(line(), link_class=tap.link_class)
    data = payload(5000)
    transfer(stack, data)
    sizes = {end: [(p.size, p.flags) for p in tap.sent(link) if isinstance(p, Segment)]
             for end, link in (("a", "a->r"), ("b", "b->r"))}  # fmt: skip
    a = sizes["a"]
    assert a[0] == (40, SYN)
    data_sizes = [size for size, flags in a if size > 40]
    assert data_sizes == [1500, 1500, 1500, 40 + 5000 - 3 * 1460]
    assert all(size == 40 for size, flags in sizes["b"])  # the server sends no data: SYN-ACK, ACKs, FIN
    assert sum(1 for size, flags in sizes["b"] if flags == ACK) >= 2  # delayed: one for every second segment


def test_mss_is_the_smaller_of_both_ends() -> None:
    env, _net, stack = network(line())
    stack.config = TcpConfig(mss=536)
    listener = stack.listen("b", 80)
    got: list[Any] = []

    def server() -> Generator[Any, Any, None]:
        conn = yield listener.accept()
        got.append((yield conn.recv_exactly(2000)))

    def client() -> Generator[Any, Any, None]:
        conn = yield stack.connect("a", ("b", 80), config=TcpConfig(mss=1000)).connected
        conn.send(bytes(2000))
        got.append(conn)

    env.process(server())
    env.process(client())
    env.run()
    assert got[1] == bytes(2000) and got[0].data_segments_sent == 4  # 536 + 536 + 536 + 392


def test_refused_connection_to_a_closed_port() -> None:
    env, net, stack = network(line())
    caught: list[Exception] = []

    def client() -> Generator[Any, Any, None]:
        try:
            yield stack.connect("a", ("10.0.0.3", 25)).connected  # b by address; nothing listens on 25
        except ConnectionRefused as exc:
            caught.append((env.now, exc))

    env.process(client())
    env.run()
    net.check_conservation()
    assert len(caught) == 1
    t, exc = caught[0]
    assert isinstance(exc, ConnectionRefusedError) and isinstance(exc, TransportError)
    assert t == pytest.approx(0.020 + 4 * 40 * 8 / 10e6)  # one round trip: SYN out, RST back
    assert stack.host("b").resets_sent == 1 and stack.connections[0].state == "CLOSED"


@pytest.mark.parametrize("how", ["node_down", "no_route"])
def test_syn_timeout_to_an_unreachable_host(how: str) -> None:
    if how == "node_down":
        env, net, stack = network(line(), faults=(netlab.FaultSpec(0.0, "down", node="b"),))
    else:
        env, net, stack = network(topo("a r b", ("a", "r", 1e7, 0.001, 0.0)))  # b has no link at all
    caught: list[Any] = []

    def client() -> Generator[Any, Any, None]:
        try:
            yield stack.connect("a", ("b", 25), config=TcpConfig(syn_retries=3)).connected
        except ConnectionTimeout as exc:
            caught.append((env.now, exc))

    env.process(client())
    env.run()
    net.check_conservation()
    assert len(caught) == 1
    assert caught[0][0] == pytest.approx(1 + 2 + 4 + 8)  # RTO 1 s doubling: three retries, then give up
    c = stack.connections[0]
    assert c.retransmissions == 3 and c.timeouts == 4 and sum(net.dropped.values()) == 4


def test_syn_ack_lost_then_handshake_recovers_with_rto_of_three_seconds() -> None:
    # The b -> r direction is down for the first 2.5 s: SYN-ACKs are lost, the client's SYN retries get through.
    faults = (netlab.FaultSpec(0.0, "down", link=("r", "b")), netlab.FaultSpec(2.5, "up", link=("r", "b")))
    _env, _net, stack = network(line(), faults=faults)
    out = transfer(stack, b"hello")
    assert out["received"] == b"hello"
    c = out["client"]
    assert c.established_at == pytest.approx(3.0 + 0.020 + 4 * 40 * 8 / 10e6)  # SYN at 0, 1, 3 s
    assert c.rto.samples >= 1  # (the 3 s restart of RFC 6298 5.7 is then replaced by real samples)


def test_reset_by_peer_surfaces_as_connection_reset() -> None:
    env, net, stack = network(line())
    listener = stack.listen("b", 80)
    caught: list[Any] = []

    def server() -> Generator[Any, Any, None]:
        conn = yield listener.accept()
        yield conn.recv_exactly(10)
        conn.abort()

    def client() -> Generator[Any, Any, None]:
        conn = yield stack.connect("a", ("b", 80)).connected
        conn.send(b"0123456789")
        try:
            yield conn.recv_line()
        except ConnectionReset as exc:
            caught.append(exc)
        with pytest.raises(ConnectionResetError):
            conn.send(b"more")

    env.process(server())
    env.process(client())
    env.run()
    net.check_conservation()
    assert len(caught) == 1 and stack.connections[0].error is not None


def test_data_timeout_when_the_peer_vanishes() -> None:
    faults = (netlab.FaultSpec(0.5, "down", node="b"),)
    env, net, stack = network(line(), faults=faults, config=TcpConfig(max_retries=4))
    listener = stack.listen("b", 80)
    caught: list[Any] = []

    def server() -> Generator[Any, Any, None]:
        yield listener.accept()

    def client() -> Generator[Any, Any, None]:
        conn = yield stack.connect("a", ("b", 80)).connected
        conn.send(payload(MB))
        try:
            yield conn.recv()
        except ConnectionTimeout:
            caught.append(env.now)

    env.process(server())
    env.process(client())
    env.run()
    net.check_conservation()
    assert len(caught) == 1 and stack.connections[0].timeouts == 5


# ------------------------------------------------------------------------------------------------------------- window
@pytest.mark.parametrize("rwnd", [4000, 16384, 65536])
def test_receive_window_bounds_unacknowledged_bytes(rwnd: int) -> None:
    """Seen from outside: at every data segment a sends, its end minus the highest ACK that reached a <= rwnd."""
    tap = Tap()
    # Without congestion control the window alone limits the flight (with it, slow start would come first).
    _env, _net, stack = network(line(rate=100e6, delay=0.02), link_class=tap.link_class,
                                config=TcpConfig(congestion="none"))  # fmt: skip
    data = payload(400_000)
    out = transfer(stack, data, listen_kw={"config": TcpConfig(congestion="none", rwnd_bytes=rwnd)})
    assert out["received"] == data
    iss = out["client"].iss
    state = {"ack": 0, "peak": 0}
    for r in tap.records:  # in event order: an ACK counts from the instant it reaches a
        pkt = r.packet
        if not isinstance(pkt, Segment):
            continue
        if r.event == "send" and r.link == "a->r" and pkt.payload:
            end = (pkt.seq - iss) % SEQ_MOD + len(pkt.payload)
            state["peak"] = max(state["peak"], end - state["ack"])
        elif r.event == "arrive" and r.link == "r->a" and pkt.flags & ACK:
            state["ack"] = max(state["ack"], (pkt.ack - iss) % SEQ_MOD)
    assert 0 < state["peak"] <= rwnd and out["client"].peak_unacked_bytes <= rwnd
    assert state["peak"] > rwnd - 1460  # and the window is actually used
    # Window-limited: one window of whole segments per 80 ms round trip, plus the handshake and the FINs.
    window = max(1, rwnd // 1460) * 1460
    rtt = 0.080
    assert out["client"].closed_at == pytest.approx(rtt * (1.5 + len(data) / window), rel=0.1)


# -------------------------------------------------------------------------------------------------------- reading API
def test_recv_line_across_segment_boundaries() -> None:
    lines = [b"x" * n + b"\r\n" for n in (1, 1500, 3000, 0, 10, 2919, 70)]
    env, net, stack = network(line(0.1), seed=2, config=TcpConfig(mss=1000, min_rto_s=0.2))
    listener = stack.listen("b", 25)
    got: list[bytes] = []

    def server() -> Generator[Any, Any, None]:
        conn = yield listener.accept()
        while True:
            ln = yield conn.recv_line()
            if not ln:
                break
            got.append(ln)
        conn.close()

    def client() -> Generator[Any, Any, None]:
        conn = yield stack.connect("a", ("b", 25)).connected
        for ln in lines:
            conn.send(ln)
        conn.send(b"tail without newline")
        conn.close()

    env.process(server())
    env.process(client())
    env.run()
    net.check_conservation()
    assert got == [*lines, b"tail without newline"]


def test_recv_until_exactly_and_incomplete_read() -> None:
    env, net, stack = network(line())
    listener = stack.listen("b", 25)
    got: list[Any] = []

    def server() -> Generator[Any, Any, None]:
        conn = yield listener.accept()
        got.append((yield conn.recv_until(b"\r\n.\r\n")))
        got.append((yield conn.recv_exactly(4)))
        try:
            yield conn.recv_exactly(100)
        except IncompleteRead as exc:
            got.append(exc.partial)
        got.append((yield conn.recv()))
        conn.close()

    def client() -> Generator[Any, Any, None]:
        conn = yield stack.connect("a", ("b", 25)).connected
        conn.send(b"Subject: hi\r\n\r\nbody\r\n.\r\nQUITrest")
        conn.close()

    env.process(server())
    env.process(client())
    env.run()
    net.check_conservation()
    assert got == [b"Subject: hi\r\n\r\nbody\r\n.\r\n", b"QUIT", b"rest", b""]


def test_recv_timeout() -> None:
    env, net, stack = network(line())
    listener = stack.listen("b", 25)
    got: list[Any] = []

    def server() -> Generator[Any, Any, None]:
        conn = yield listener.accept()
        try:
            yield conn.recv_line(timeout=2.0)
        except ReceiveTimeout:
            got.append(env.now)
        got.append((yield conn.recv_line(timeout=10.0)))
        conn.close()

    def client() -> Generator[Any, Any, None]:
        conn = yield stack.connect("a", ("b", 25)).connected
        yield env.timeout(3.0)
        conn.send(b"late\n")
        conn.close()

    env.process(server())
    env.process(client())
    env.run()
    net.check_conservation()
    # The server has the connection once the client's ACK arrived (1.5 round trips), then waits 2 s.
    assert got[0] == pytest.approx(0.030 + 6 * 40 * 8 / 10e6 + 2.0) and got[1] == b"late\n"


def test_queued_reads_time_out_by_their_own_deadlines() -> None:
    """A later read with a shorter timeout expires first; the read ahead of it keeps waiting for its own."""
    env, net, stack = network(line())
    listener = stack.listen("b", 25)
    got: list[tuple[str, float]] = []

    def waiter(conn: Any, name: str, timeout: float) -> Generator[Any, Any, None]:
        try:
            yield conn.recv_line(timeout=timeout)
            got.append((name, -1.0))
        except ReceiveTimeout:
            got.append((name, env.now))

    def server() -> Generator[Any, Any, None]:
        conn = yield listener.accept()
        t0 = env.now
        env.process(waiter(conn, "long", 5.0))
        env.process(waiter(conn, "short", 1.0))
        yield env.timeout(10.0)
        got.append(("t0", t0))
        conn.close()

    def client() -> Generator[Any, Any, None]:
        conn = yield stack.connect("a", ("b", 25)).connected
        yield env.timeout(12.0)
        conn.close()

    env.process(server())
    env.process(client())
    env.run()
    net.check_conservation()
    t0 = dict(got)["t0"]
    assert got[:2] == [("short", pytest.approx(t0 + 1.0)), ("long", pytest.approx(t0 + 5.0))]


def test_answered_reads_leave_no_pending_timers() -> None:
    """Reads answered long before their timeout leave nothing in the event queue (one timer per connection)."""
    env, net, stack = network(line())
    listener = stack.listen("b", 25)
    lines: list[bytes] = []
    peak: list[int] = []

    def server() -> Generator[Any, Any, None]:
        conn = yield listener.accept()
        while line_ := (yield conn.recv_line(timeout=300.0)):
            lines.append(line_)
            peak.append(len(env._queue))
        conn.close()

    def client() -> Generator[Any, Any, None]:
        conn = yield stack.connect("a", ("b", 25)).connected
        for i in range(500):
            conn.send(b"line %d\n" % i)
            yield env.timeout(0.05)
        conn.close()

    env.process(server())
    env.process(client())
    env.run()
    net.check_conservation()
    assert len(lines) == 500 and max(peak) < 20


def test_concurrent_connections_to_one_listener() -> None:
    t = topo("a c r b", ("a", "r", 10e6, 0.002, 0.0), ("c", "r", 10e6, 0.003, 0.0), ("r", "b", 10e6, 0.001, 0.01))
    env, net, stack = network(t, config=TcpConfig(min_rto_s=0.2))
    listener = stack.listen("b", 80)
    got: dict[tuple[str, int], bytes] = {}
    sent: dict[tuple[str, int], bytes] = {}

    def handle(conn: Any) -> Generator[Any, Any, None]:
        n = int((yield conn.recv_line()))
        got[conn.remote_address] = yield conn.recv_exactly(n)
        conn.send(b"ok\n")
        conn.close()

    def server() -> Generator[Any, Any, None]:
        while True:
            conn = yield listener.accept()
            env.process(handle(conn))

    def client(host: str, i: int) -> Generator[Any, Any, None]:
        conn = yield stack.connect(host, ("b", 80)).connected
        data = payload(20_000 + 1000 * i, seed=i)
        sent[conn.local_address] = data
        conn.send(b"%d\n" % len(data) + data)
        assert (yield conn.recv_line()) == b"ok\n"
        conn.close()

    env.process(server())
    for i in range(6):
        env.process(client("a" if i % 2 else "c", i))
    env.run()
    net.check_conservation()
    assert got == sent and len(got) == 6


# ---------------------------------------------------------------------------------------------------------- datagrams
@pytest.mark.parametrize("loss", [0.0, 0.5])
def test_datagram_request_response_with_application_timeout(loss: float) -> None:
    env, net, stack = network(line(loss), seed=4)
    server = stack.bind("b", 53)
    client = stack.bind("a")
    answers: list[Any] = []

    def serve() -> Generator[Any, Any, None]:
        while True:
            query, addr = yield server.recvfrom()
            server.sendto(b"A 10.0.0.3 for " + query, addr)

    def ask() -> Generator[Any, Any, None]:
        for i in range(20):
            q = b"q%d" % i
            for _attempt in range(4):
                client.sendto(q, ("b", 53))
                try:
                    data, addr = yield client.recvfrom(timeout=0.1)
                except ReceiveTimeout:
                    continue
                if data.endswith(q):
                    answers.append((data, addr))
                    break

    env.process(serve())
    env.process(ask())
    env.run(until=60)
    net.check_conservation()
    assert all(addr == ("10.0.0.3", 53) for _d, addr in answers)
    if loss == 0:
        assert [d for d, _a in answers] == [b"A 10.0.0.3 for q%d" % i for i in range(20)]
        assert client.sent == 20 and net.delivered == 40
    else:
        assert 5 < len(answers) < 20 and client.sent > 20  # some asked again, some gave up after four tries


def test_datagram_sizes() -> None:
    tap = Tap()
    env, net, stack = network(line(), link_class=tap.link_class)
    stack.bind("b", 53)
    stack.bind("a").sendto(b"x" * 100, ("b", 53))
    stack.bind("a").sendto(b"", ("b", 9))  # nobody listens: discarded and counted
    env.run()
    net.check_conservation()
    assert [p.size for p in tap.sent()] == [128, 28, 128, 28] and stack.host("b").udp_input.unreachable == 1


# ----------------------------------------------------------------------------------------------- cost and determinism
@pytest.mark.parametrize("loss", [0.0, 0.05])
def test_one_megabyte_costs_a_constant_number_of_events_per_segment(loss: float) -> None:
    env, net, stack = network(line(loss), config=TcpConfig(min_rto_s=0.2))
    data = payload(MB)
    before = next(env._eid)
    out = transfer(stack, data, listen_kw={"config": TcpConfig(rwnd_bytes=65536)}, exact=True)
    events = next(env._eid) - before
    segments = sum(c.segments_sent for c in stack.connections)
    hops = sum(link.packets for link in net.links)
    assert out["received"] == data
    assert hops <= 2 * segments  # two hops each (or one, if lost on the second)
    # One event per hop; besides, a few per connection (timer re-pushes, the application's events) and, with
    # delayed ACKs, at most two timer entries per 200 ms delay period (a lazily moved deadline, not one per segment).
    assert events < hops + 0.05 * segments + 50 + 2 * env.now / 0.2
    if loss == 0:  # with delayed ACKs, about 1.5 segments per data segment (a pure ACK for every second one)
        assert segments < 1.55 * MB / 1460


def test_same_seed_same_statistics() -> None:
    def run(seed: int) -> Any:
        _env, _net, stack = network(line(0.05), seed=seed, config=TcpConfig(min_rto_s=0.2))
        transfer(stack, payload(150_000))
        return connections_table(stack)

    a, b, c = run(11), run(11), run(12)
    assert a.equals(b)
    assert not a.equals(c)
    assert a.loc[0, "retransmissions"] > 0


def test_connections_table_columns() -> None:
    _env, _net, stack = network(line())
    transfer(stack, payload(10_000))
    df = connections_table(stack)
    assert list(df["role"]) == ["client", "server"]
    assert df.loc[0, "app_bytes_sent"] == 10_000 == df.loc[1, "bytes_delivered"]
    assert df.loc[0, "segments_sent"] == df.loc[1, "segments_received"]  # nothing lost
    assert (df["handshake_s"] > 0).all() and (df["completion_s"] >= df["handshake_s"]).all()


def test_every_connections_column_holds_the_attribute_of_its_name() -> None:
    """Rows are positional (tuples, for memory): each column named like a connection attribute holds it, so a key
    added to the row in another place than the column list cannot shift the columns after it."""
    _env, _net, stack = network(line(0.05), seed=11, config=TcpConfig(min_rto_s=0.2))
    transfer(stack, payload(150_000))
    df = connections_table(stack)
    checked = 0
    for i, conn in enumerate(stack.connections):
        for name in CONNECTION_COLUMNS:
            value = getattr(conn, name, None)
            if isinstance(value, int | str) and not isinstance(value, bool):
                assert df.loc[i, name] == value, name
                checked += 1
    assert checked > 40 and df.loc[0, "retransmissions"] > 0


def test_send_after_close_and_errors_are_netlab_errors() -> None:
    env, net, stack = network(line())
    listener = stack.listen("b", 80)
    caught: list[Any] = []

    def client() -> Generator[Any, Any, None]:
        conn = yield stack.connect("a", ("b", 80)).connected
        conn.close()
        try:
            conn.send(b"x")
        except netlab.NetlabError as exc:
            caught.append(type(exc).__name__)

    def server() -> Generator[Any, Any, None]:
        conn = yield listener.accept()
        assert (yield conn.recv()) == b""
        conn.close()

    env.process(server())
    env.process(client())
    env.run()
    net.check_conservation()
    assert caught == ["ConnectionClosed"]


def test_half_close_request_then_response() -> None:
    """The client sends its request and closes its direction; the server reads to the end, then answers from
    CLOSE_WAIT and closes (HTTP/1.0 style)."""
    env, net, stack = network(line(0.05), seed=6, config=TcpConfig(min_rto_s=0.2))
    listener = stack.listen("b", 80)
    request, response = payload(30_000, seed=1), payload(50_000, seed=2)
    got: dict[str, bytes] = {}

    def server() -> Generator[Any, Any, None]:
        conn = yield listener.accept()
        chunks = []
        while chunk := (yield conn.recv()):
            chunks.append(chunk)
        got["request"] = b"".join(chunks)
        assert conn.state == "CLOSE_WAIT"
        conn.send(response)
        conn.close()

    def client() -> Generator[Any, Any, None]:
        conn = yield stack.connect("a", ("b", 80)).connected
        conn.send(request)
        conn.close()
        got["response"] = yield conn.recv_exactly(len(response))
        assert (yield conn.recv()) == b""
        yield conn.closed

    env.process(server())
    env.process(client())
    env.run()
    net.check_conservation()
    assert got == {"request": request, "response": response}
    assert [c.state for c in stack.connections] == ["CLOSED", "CLOSED"]
