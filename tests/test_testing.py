"""netlab.testing: the fakes users test their own strategies, links and sessions with (and netlab's tests use)."""

from __future__ import annotations

from collections.abc import Generator

import pandas as pd
import pytest
import simpy

import netlab
import netlab.testing as t
from netlab.errors import SimulationError
from netlab.network.drops import DropReason
from netlab.network.link import Link
from netlab.network.network import Network
from netlab.network.packet import Packet
from netlab.transport import (
    ConnectionReset,
    IncompleteRead,
    ReceiveTimeout,
    Stream,
    TcpConfig,
    TransportStack,
    connections_table,
)
from netlab.transport.segment import Segment

EXPECTED = sorted(
    ["FakeDeliverer", "FakeStream", "LeakyLink", "LinkTuple", "RecordingPolicy", "RecordingSink",
     "ScriptedLoss", "Tap", "TapRecord", "bottleneck", "diamond", "line3", "load", "make_network", "packet",
     "parallel_paths", "path_of", "stream_pair", "tiny_topology", "triangle", "two_hosts"]
)  # fmt: skip


def test_the_public_list_is_exact_and_documented() -> None:
    assert t.__all__ == EXPECTED
    for name in t.__all__:
        assert getattr(t, name).__doc__, name


def _transfer(net: Network, size: int, **connect: object) -> tuple[bytes, pd.DataFrame]:
    """a sends *size* bytes to b and closes; returns what b read and the connections table."""
    stack = TransportStack(net, TcpConfig(min_rto_s=0.2))
    listener = stack.listen("b", 80)
    data = bytes(i % 251 for i in range(size))
    got: list[bytes] = []

    def server() -> Generator[simpy.Event, bytes, None]:
        conn = yield listener.accept()
        got.append((yield conn.recv_exactly(size)))
        conn.close()

    def client() -> Generator[simpy.Event, object, None]:
        conn = stack.connect("a", ("b", 80), **connect)  # type: ignore[arg-type]
        yield conn.connected
        conn.send(data)
        conn.close()

    net.env.process(server())
    net.env.process(client())
    net.env.run()
    net.check_conservation()
    assert got == [data]
    return got[0], connections_table(stack)


# ---------------------------------------------------------------------------------------------------- tap
def test_a_tapped_network_runs_exactly_as_an_untapped_one() -> None:
    """The tap copies Link._arrive to record between the loss draw and the hand-over: it must stay faithful."""
    tables = []
    for link_class in (Link, t.Tap().link_class, t.Tap(t.ScriptedLoss({}).link_class).link_class):
        net = t.make_network(t.line3(loss=0.05), seed=4, link_class=link_class)
        _, table = _transfer(net, 200_000)
        tables.append((table, net.dropped, [link.packets for link in net.links]))
    assert tables[0][0]["retransmissions"].sum() > 0  # the loss did happen
    for table, dropped, packets in tables[1:]:
        pd.testing.assert_frame_equal(table, tables[0][0])
        assert (dropped, packets) == tables[0][1:]


def test_tap_records_every_hop_in_event_order() -> None:
    tap = t.Tap()
    net = t.make_network(t.line3(), link_class=tap.link_class)
    net.nodes["a"].inject(t.packet(net, "a", "b"))
    net.env.run()
    assert [(r.event, r.link) for r in tap.records] == [("send", "a->r"), ("arrive", "a->r"), ("send", "r->b"),
                                                        ("arrive", "r->b")]  # fmt: skip
    times = [r.time_s for r in tap.records]
    tx = 1000 * 8 / 10e6
    assert times == pytest.approx([0.0, tx + 0.005, tx + 0.005, 2 * (tx + 0.005)], abs=1e-12)
    assert tap.sent("r->b") == tap.arrived("r->b") == [tap.records[0].packet]


# ---------------------------------------------------------------------------------------------------- scripted loss
def test_one_scripted_loss_is_one_fast_retransmit_and_no_timeout() -> None:
    """RFC 5681: a single lost segment with three or more behind it is repaired by fast retransmit after three
    duplicate ACKs, before the retransmission timer (200 ms here) could fire."""
    first = 1 + 3 * 1460  # the fourth data segment (ISN 0: data starts at sequence number 1)

    def first_sending(p: Packet) -> bool:  # its first transmission only, not the retransmission
        return isinstance(p, Segment) and p.seq == first and not script.lost

    script = t.ScriptedLoss({"a->r": first_sending})
    net = t.make_network(t.line3(), link_class=script.link_class)
    _, table = _transfer(net, 30 * 1460, isn=0)
    client = table.set_index("role").loc["client"]
    assert [(link, p.seq) for link, p in script.lost] == [("a->r", first)]
    assert (client["fast_retransmits"], client["retransmissions"], client["timeouts"]) == (1, 1, 0)
    assert client["dup_acks_received"] >= 3


def test_scripted_loss_by_number_counts_arrivals_per_link() -> None:
    script = t.ScriptedLoss({"a->b": {1, 3}})
    sink = t.RecordingSink()
    net = t.make_network(t.two_hosts(), link_class=script.link_class)
    for i in range(4):
        net.nodes["a"].inject(t.packet(net, "a", "b", seq=i, owner=sink))
    net.env.run()
    assert [p.seq for _t, p in sink.delivered] == [1, 3]
    assert [(r, p.seq) for _t, p, r in sink.dropped] == [(DropReason.LOSS, 0), (DropReason.LOSS, 2)]
    assert net.dropped["loss"] == 2 and net.check_conservation()["in_flight"] == 0


@pytest.mark.parametrize("order", ["tap over script", "script over tap"])
def test_a_tap_and_a_script_nest_either_way(order: str) -> None:
    """Tap(ScriptedLoss(...).link_class) loses what the script names (it lost nothing before: the Tap's own
    _arrive bypassed the script's), and records only the packets that arrived."""
    if order == "tap over script":
        script = t.ScriptedLoss({"a->b": {2}})
        tap = t.Tap(script.link_class)
        link_class = tap.link_class
    else:
        tap = t.Tap()
        script = t.ScriptedLoss({"a->b": {2}}, base=tap.link_class)
        link_class = script.link_class
    sink = t.RecordingSink()
    net = t.make_network(t.two_hosts(), link_class=link_class)
    for i in range(3):
        net.nodes["a"].inject(t.packet(net, "a", "b", seq=i, owner=sink))
    net.env.run()
    assert [p.seq for _t, p in sink.delivered] == [0, 2]
    assert [p.seq for p in tap.sent("a->b")] == [0, 1, 2] and [p.seq for p in tap.arrived("a->b")] == [0, 2]
    assert [(link, p.seq) for link, p in script.lost] == [("a->b", 1)]


def test_a_tap_refuses_a_link_class_whose_arrival_it_would_bypass() -> None:
    with pytest.raises(TypeError, match=r"Tap\(base=LeakyLink\): LeakyLink changes Link._arrive"):
        t.Tap(t.LeakyLink)


# ---------------------------------------------------------------------------------------------------- sink, leak, paths
def test_recording_sink_hears_every_drop_reason_it_meets() -> None:
    sink = t.RecordingSink()
    topo = netlab.Topology(
        (netlab.NodeSpec("a", "host"), netlab.NodeSpec("b", "host"), netlab.NodeSpec("island", "host")),
        (netlab.LinkSpec("a", "b", rate_bps=8e3, delay_s=0.0, queue_packets=1),),
    )
    net = t.make_network(topo)
    for i in range(2):
        net.nodes["a"].inject(t.packet(net, "a", "b", seq=i, owner=sink))  # the second finds the queue full
    net.nodes["a"].inject(t.packet(net, "a", "island", seq=2, owner=sink))
    net.env.run()
    assert [(p.seq, r) for _t, p, r in sink.dropped] == [(1, "queue_full"), (2, "no_route")]
    assert [(when, p.seq) for when, p in sink.delivered] == [(1.0, 0)]


def test_leaky_link_is_caught_by_the_conservation_check() -> None:
    net = t.make_network(t.two_hosts(), link_class=t.LeakyLink)
    for i in range(6):
        net.nodes["a"].inject(t.packet(net, "a", "b", seq=i))
    net.env.run()
    with pytest.raises(netlab.ConservationError, match=r"injected 6 != delivered 4 \+ dropped 0 \+ in flight 0"):
        net.check_conservation()


@pytest.mark.parametrize("strategy", [netlab.ShortestHops(), netlab.Ecmp(), netlab.LeastLoaded()])
def test_path_of_walks_the_path_a_run_takes(strategy: netlab.RoutingStrategy) -> None:
    tap = t.Tap()
    net = t.make_network(t.diamond(lower_delay_s=0.0005), strategy, link_class=tap.link_class)
    dry = t.path_of(net, t.packet(net, "s", "d", flow="x"))
    net.nodes["s"].inject(t.packet(net, "s", "d", flow="x"))
    net.env.run()
    assert dry == ["s", *(r.link.split("->")[1] for r in tap.records if r.event == "send")]
    assert len(dry) == 3


def test_no_strategy_attached_is_an_error_not_a_crash() -> None:
    net = Network(simpy.Environment(), t.two_hosts())
    with pytest.raises(SimulationError, match="no routing strategy attached"):
        net.nodes["a"].inject(t.packet(net, "a", "b"))


def test_tiny_topologies() -> None:
    assert [n.name for n in t.diamond().nodes] == ["s", "a", "d", "b"]
    assert [(lk.a, lk.b, lk.loss) for lk in t.line3(loss=0.1).links] == [("a", "r", 0.0), ("r", "b", 0.1)]
    assert {n.role for n in t.two_hosts().nodes} == {"host"}


# ---------------------------------------------------------------------------------------------------- fake streams
def test_a_fake_stream_is_a_stream() -> None:
    a, b = t.stream_pair(simpy.Environment())
    assert isinstance(a, Stream) and isinstance(b, Stream)
    assert a.remote_address == b.local_address == ("10.0.0.2", 25)


def test_fake_stream_order_delay_fin_and_timeout() -> None:
    env = simpy.Environment()
    a, b = t.stream_pair(env, delay_s=0.5)
    out: list[object] = []

    def reader() -> Generator[simpy.Event, bytes, None]:
        try:
            yield b.recv(timeout=0.2)
        except ReceiveTimeout:
            out.append(("timeout", env.now))
        out.append(((yield b.recv_line()), env.now))
        out.append(((yield b.recv(3)), env.now))
        out.append(((yield b.recv()), env.now))
        out.append(((yield b.recv()), env.now))

    a.send(b"one\ntwo")
    a.close()
    env.process(reader())
    env.run()
    assert out == [("timeout", 0.2), (b"one\n", 0.5), (b"two", 0.5), (b"", 0.5), (b"", 0.5)]


@pytest.mark.parametrize(
    ("sent", "want", "expected"),
    [
        ([b"{5}", b"hel", b"lo rest"], 5, b"hello"),  # waits across arrivals, leaves the rest
        ([b"abc"], 3, b"abc"),
        ([b"ab"], 3, IncompleteRead),  # the peer's FIN comes first: the partial bytes ride on the error
    ],
)
def test_fake_stream_recv_exactly(sent: list[bytes], want: int, expected: object) -> None:
    """What an IMAP literal needs (MailStream.recv_exactly): exactly n bytes, or IncompleteRead at the peer's FIN."""
    env = simpy.Environment()
    a, b = t.stream_pair(env, delay_s=0.1)
    got: list[object] = []

    def reader() -> Generator[simpy.Event, bytes, None]:
        if sent[0].startswith(b"{"):
            yield b.recv_exactly(3)
        try:
            got.append((yield b.recv_exactly(want)))
        except IncompleteRead as e:
            got.append((IncompleteRead, e.partial))

    for chunk in sent:
        a.send(chunk)
    a.close()
    env.process(reader())
    env.run()
    assert got == [(IncompleteRead, b"ab")] if expected is IncompleteRead else got == [expected]


def test_fake_stream_abort_resets_the_peer() -> None:
    env = simpy.Environment()
    a, b = t.stream_pair(env, delay_s=0.1)
    caught: list[object] = []

    def reader() -> Generator[simpy.Event, bytes, None]:
        try:
            yield b.recv()
        except ConnectionReset:
            caught.append(env.now)
        with pytest.raises(ConnectionReset):
            b.send(b"x")

    env.process(reader())
    a.abort()
    env.run()
    assert caught == [0.1]
