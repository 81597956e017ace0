"""Congestion control, delayed ACKs and window scaling: configuration, scenario files and the rules of the RFCs."""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tcp_helpers import dumbbell

import netlab
from netlab.scenario.document import scenario_from_data
from netlab.testing import line3, make_network
from netlab.transport import Connection, TcpConfig, TransportStack
from netlab.transport.congestion import (
    CongestionControl,
    CongestionState,
    Cubic,
    NewReno,
    NoCongestionControl,
    initial_window,
)

TWO = {"nodes": ["a", "b"], "links": [["a", "b"]]}


# ------------------------------------------------------------------------------------------------- configuration
@pytest.mark.parametrize(("name", "cls"), [("none", NoCongestionControl), ("newreno", NewReno), ("cubic", Cubic)])
def test_names_resolve_to_algorithms_with_readable_reprs(name: str, cls: type) -> None:
    cc = TcpConfig(congestion=name).congestion
    assert type(cc) is cls and isinstance(cc, CongestionControl)
    assert repr(cc).startswith(cls.__name__ + "(")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"congestion": "cubc"}, "did you mean 'cubic'"),
        ({"congestion": object()}, "is not a congestion control"),
        ({"initial_window_segments": 0}, "initial_window"),
        ({"initial_window_segments": -3}, "initial_window"),
        ({"delayed_ack_timeout_s": 0.501}, "500 ms"),
        ({"delayed_ack_timeout_s": 0.0}, "500 ms"),
        # a flag from Python that is not a bool: "no" is truthy, so it switched the option on
        ({"dsack": "no"}, r"TcpConfig.dsack: expected true or false \(or None"),
        ({"undo": 1}, "TcpConfig.undo: expected true or false"),
        ({"sack": "false"}, "TcpConfig.sack: expected true or false, got 'false'"),
        ({"delayed_ack": "off"}, "TcpConfig.delayed_ack: expected true or false"),
        ({"window_scaling": None}, "TcpConfig.window_scaling: expected true or false, got None"),
        (
            {"recovery": "prr-crb"},
            "TcpConfig.recovery must be one of prr, prr_crb, classic, got 'prr-crb'; did you mean 'prr_crb'",
        ),
        ({"recovery": "prr_crb", "sack": False}, "TcpConfig.recovery .*needs SACK; got sack: false"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(netlab.ConfigError, match=message):
        TcpConfig(**kwargs)  # type: ignore[arg-type]


def test_defaults_follow_the_congestion_control() -> None:
    assert TcpConfig().congestion == Cubic()  # the default, as Linux's and ns-3's
    legacy, cc = TcpConfig(congestion="none"), TcpConfig(congestion="newreno")
    assert (legacy.window, legacy.delays_acks) == (65536, False)  # none: the transport as it was
    assert (cc.window, cc.delays_acks) == (1 << 20, True)
    assert TcpConfig(congestion="cubic", delayed_ack=False, rwnd_bytes=5000).delays_acks is False


@pytest.mark.parametrize(
    ("kwargs", "mode"),
    [({}, "prr"), ({"sack": False}, "classic"), ({"recovery": "prr_crb"}, "prr_crb"),
     ({"recovery": "classic"}, "classic")],
)  # fmt: skip
def test_recovery_defaults_to_prr_with_sack(kwargs: dict[str, object], mode: str) -> None:
    # RFC 6937 PRR is Linux's and ns-3's default; without SACK there is no pipe, so RFC 6582's window inflation
    assert TcpConfig(**kwargs).recovery_mode == mode  # type: ignore[arg-type]


def test_initial_window_is_rfc_6928() -> None:
    assert [initial_window(10, m) for m in (536, 1460, 4000, 9000)] == [5360, 14600, 14600, 18000]


@pytest.mark.parametrize(
    "transport",
    [{"congestion": "newreno"}, {"congestion": "cubic(beta=0.8)", "initial_window": 4},
     {"congestion": "tests.test_congestion:Aimd(b=0.6)", "delayed_ack_timeout": "40ms"}, {"rwnd": "2MiB"},
     {"recovery": "prr_crb"}, {"recovery": "classic", "sack": False}],
)  # fmt: skip
def test_transport_section_round_trips(transport: dict[str, object], tmp_path: Path) -> None:
    s = scenario_from_data({**TWO, "transport": transport}, where="x.yaml")
    p = tmp_path / "s.yaml"
    p.write_text(s.to_yaml())
    assert netlab.load_scenario(str(p)) == s


@pytest.mark.parametrize(
    ("transport", "message"),
    [({"congestion": "renoo"}, r"x.yaml: transport.congestion: unknown congestion control 'renoo'"),
     ({"delayed_ack_timeout": "1s"}, r"x.yaml: transport: .*500 ms"),
     ({"initial_window": 0}, r"transport.initial_window"),
     ({"congestoin": "cubic"}, r"transport.congestoin: unknown key; did you mean 'congestion'"),
     ({"congestion": "netlab.routing.static:ShortestHops"}, "is not a congestion control"),
     ({"recovery": "rate_halving"},
      r"x.yaml: transport.recovery: expected one of prr, prr_crb, classic, got 'rate_halving'"),
     ({"recovery": "prr", "sack": False}, r"x.yaml: transport: .*transport.recovery\): prr is paced .* needs SACK")],
)  # fmt: skip
def test_transport_section_errors_name_the_key(transport: dict[str, object], message: str) -> None:
    with pytest.raises(netlab.ConfigError, match=message):
        scenario_from_data({**TWO, "transport": transport}, where="x.yaml")


def test_override_switches_the_algorithm() -> None:
    s = scenario_from_data(TWO, where="x.yaml")
    assert s.override("transport.congestion=newreno").transport == TcpConfig(congestion="newreno")


@dataclass(frozen=True)
class Aimd:
    """A user's own algorithm: additive increase, multiplicative decrease by *b* (the Protocol's docstring)."""

    b: float = 0.5

    def init(self, w: CongestionState, now_s: float) -> None:
        pass

    def restart(self, w: CongestionState, now_s: float) -> None:
        pass

    def on_ack(self, w: CongestionState, acked_bytes: int, now_s: float) -> None:
        w.cwnd += w.mss * w.mss / w.cwnd

    def on_congestion(self, w: CongestionState, now_s: float) -> float:
        return max(w.flight * self.b, 2.0 * w.mss)


@dataclass(frozen=True)
class Broken(Aimd):
    """A user's algorithm with a bug: the ssthresh it returns (or the window it grows to) is not a window."""

    ssthresh: float = math.inf
    grow_to: float = 0.0

    def on_ack(self, w: CongestionState, acked_bytes: int, now_s: float) -> None:
        w.cwnd = self.grow_to or w.cwnd + w.mss

    def on_congestion(self, w: CongestionState, now_s: float) -> float:
        return self.ssthresh


@pytest.mark.parametrize(
    ("algorithm", "message"),
    [(Broken(), r"Broken\(b=0.5, ssthresh=inf, grow_to=0.0\).on_congestion returned inf; expected the new ssthresh"),
     (Broken(ssthresh=math.nan), r"on_congestion returned nan; expected the new ssthresh in bytes"),
     (Broken(ssthresh=0.0), r"on_congestion returned 0.0; expected the new ssthresh in bytes, a finite number > 0"),
     (Broken(ssthresh=3000.0, grow_to=math.inf), r"Broken\(.*\) set cwnd to inf; expected a finite window"),
     (Broken(ssthresh=3000.0, grow_to=math.nan), r"Broken\(.*\) set cwnd to nan; expected a finite window")],
)  # fmt: skip
def test_a_users_algorithm_returning_no_window_is_named(algorithm: Broken, message: str) -> None:
    """It crashed deep in the trace code (int(inf)); now the error names the algorithm and what was expected."""
    with pytest.raises(netlab.ConfigError, match=message):
        lossy_transfer(TcpConfig(congestion=algorithm))


# ------------------------------------------------------------------------------------------- rules of the RFCs
def lossy_transfer(cfg: TcpConfig, seed: int = 3) -> tuple[Connection, Connection]:
    # data lost on the way (2 %), ACKs never: every ACK the receiver sends is counted by the sender
    net = make_network(dumbbell(1, rate_bps=10e6, delay_s=0.005, queue_packets=None, loss=0.02), seed=seed)
    stack = TransportStack(net, cfg)
    lst = stack.listen("d0", 80)
    out: dict[str, Connection] = {}

    def server() -> Generator[Any, Any, None]:
        out["server"] = conn = yield lst.accept()
        while (yield conn.recv()):
            pass
        conn.close()

    def client() -> Generator[Any, Any, None]:
        out["client"] = conn = yield stack.connect("s0", ("d0", 80)).connected
        conn.send(bytes(400_000))
        conn.close()

    net.env.process(server())
    net.env.process(client())
    net.env.run()
    net.check_conservation()
    return out["client"], out["server"]


@pytest.mark.parametrize("delayed", [False, True])
@pytest.mark.parametrize("cc", ["newreno", "cubic"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_out_of_order_data_is_acknowledged_at_once(cc: str, seed: int, delayed: bool) -> None:
    c, s = lossy_transfer(TcpConfig(congestion=cc, min_rto_s=0.2, delayed_ack=delayed), seed)
    assert s.bytes_delivered == 400_000 and c.state == s.state == "CLOSED"
    assert s.out_of_order_segments > 10
    # Every segment that arrives ahead of a gap, and every duplicate, is answered at once (RFC 5681 §4.2): a
    # duplicate ACK at the sender. With delayed ACKs the first such answer after a lost segment may instead
    # acknowledge the in-order segment whose ACK was being delayed (new data, not a duplicate): one per hole.
    answered = s.out_of_order_segments + s.duplicate_segments
    if delayed:
        assert 0 <= answered - c.dup_acks_received <= c.retransmissions
        assert s.acks_sent < 0.75 * s.data_segments_received
    else:
        assert c.dup_acks_received == answered
    assert c.congestion_events >= 1 and c.recovery_s > 0


def test_restart_after_idle_returns_to_the_initial_window() -> None:
    net = make_network(line3(10e6, 0.005))
    stack = TransportStack(net, TcpConfig(congestion="newreno", trace=True))
    lst = stack.listen("b", 80)
    conns: list[Connection] = []

    def server() -> Generator[Any, Any, None]:
        conn = yield lst.accept()
        while (yield conn.recv()):
            pass

    def client() -> Generator[Any, Any, None]:
        conn = yield stack.connect("a", ("b", 80)).connected
        conns.append(conn)
        conn.send(bytes(300_000))  # slow start opens the window well past IW
        yield net.env.timeout(0.5)
        conns.append(conn)
        conn.send(bytes(50_000))  # idle 0.4 s < RTO (1 s): the window stays open
        yield net.env.timeout(3.0)
        conn.send(bytes(50_000))  # idle ~3 s > RTO: RFC 5681 §4.1 restart window

    net.env.process(server())
    net.env.process(client())
    net.env.run(until=1.0)
    c = conns[0]
    opened = c.cwnd_bytes
    assert opened > 10 * initial_window(10, 1460)
    net.env.run(until=3.6)  # just after the third send's first flight left
    trace = c.cwnd_trace
    assert trace is not None
    after = [row for row in trace if 3.5 <= row[0] <= 3.6]
    assert after and after[0][1] == initial_window(10, 1460)  # the restart row, before any ACK came back
