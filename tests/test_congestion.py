"""Congestion control, delayed ACKs and window scaling: configuration, scenario files and the rules of the RFCs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

import netlab
from netlab.scenario.document import scenario_from_data
from netlab.transport import TcpConfig
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
    ],
)
def test_bad_settings_are_clear_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(netlab.ConfigError, match=message):
        TcpConfig(**kwargs)  # type: ignore[arg-type]


def test_defaults_follow_the_congestion_control() -> None:
    legacy, cc = TcpConfig(), TcpConfig(congestion="newreno")
    assert (legacy.window, legacy.delays_acks) == (65536, False)  # none: the transport as it was
    assert (cc.window, cc.delays_acks) == (1 << 20, True)
    assert TcpConfig(congestion="cubic", delayed_ack=False, rwnd_bytes=5000).delays_acks is False


def test_initial_window_is_rfc_6928() -> None:
    assert [initial_window(10, m) for m in (536, 1460, 4000, 9000)] == [5360, 14600, 14600, 18000]


@pytest.mark.parametrize(
    "transport",
    [{"congestion": "newreno"}, {"congestion": "cubic(beta=0.8)", "initial_window": 4},
     {"congestion": "tests.test_congestion:Aimd(b=0.6)", "delayed_ack_timeout": "40ms"}, {"rwnd": "2MiB"}],
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
     ({"congestion": "netlab.routing.static:ShortestHops"}, "is not a congestion control")],
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
