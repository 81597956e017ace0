"""The Stream seam: a TCP connection is a :class:`netlab.transport.Stream`, at run time and for the type checker.

Mail sessions are written against the Protocol, so a Connection must keep satisfying it member for member
(same names, same parameters, same defaults), and mypy must accept ``_: Stream = conn``.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator
from pathlib import Path

import pytest
import simpy

import netlab
from netlab.network.network import Network
from netlab.testing import FakeStream
from netlab.transport import Connection, Stream, TransportStack

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = ("abort", "close", "recv", "recv_line", "remote_address", "send")


def _as_stream(conn: Connection) -> Stream:
    """What mypy is asked to accept (see test_mypy_accepts_a_connection_as_a_stream)."""
    _: Stream = conn
    return _


def _fake_as_stream(fake: FakeStream) -> Stream:
    """netlab.testing's fake stands in for a connection: mypy checks it too."""
    _: Stream = fake
    return _


def test_the_protocol_is_the_members_the_mail_layer_uses() -> None:
    declared = sorted(n for n in vars(Stream) if not n.startswith("_") and n not in ("register",))
    assert tuple(declared) == MEMBERS


@pytest.mark.parametrize("name", [m for m in MEMBERS if m != "remote_address"])
def test_connection_methods_have_the_protocols_signatures(name: str) -> None:
    assert inspect.signature(getattr(Connection, name)) == inspect.signature(getattr(Stream, name))


def test_a_live_connection_is_a_stream() -> None:
    topo = netlab.Topology((netlab.NodeSpec("a", "host"), netlab.NodeSpec("b", "host")),
                           (netlab.LinkSpec("a", "b", rate_bps=1e6, delay_s=0.001),))  # fmt: skip
    env = simpy.Environment()
    net = Network(env, topo)
    net.attach(netlab.ShortestHops())
    stack = TransportStack(net)
    listener = stack.listen("b", 25)
    got: list[object] = []

    def client() -> Generator[simpy.Event, object, None]:
        conn = stack.connect("a", ("b", 25))
        assert isinstance(conn, Stream) and _as_stream(conn) is conn  # a Stream from the start (SYN_SENT)
        got.append((yield conn.connected))
        assert conn.remote_address == ("10.0.0.2", 25)
        conn.close()

    def server() -> Generator[simpy.Event, object, None]:
        conn = yield listener.accept()
        assert isinstance(conn, Stream)
        got.append((yield conn.recv()))

    env.process(client())
    env.process(server())
    env.run()
    assert isinstance(got[0], Connection) and got[1] == b""


def test_mypy_accepts_a_connection_as_a_stream(tmp_path: Path) -> None:
    """mypy (the project's --strict settings) checks this file, whose ``_as_stream`` assigns a Connection to a
    Stream (and ``_fake_as_stream`` netlab.testing's FakeStream); the same check on a class missing a member must
    fail, or the first result would mean nothing."""
    api = pytest.importorskip("mypy.api")
    out, err, status = api.run(["--follow-imports=silent", str(Path(__file__))])
    assert status == 0, out + err
    bad = tmp_path / "not_a_stream.py"
    bad.write_text(
        "from netlab.transport import Stream\n"
        "class Half:\n"
        "    def send(self, data: bytes) -> None: ...\n"
        "def f(x: Half) -> Stream:\n"
        "    return x\n"
    )
    out, err, status = api.run(["--follow-imports=silent", str(bad)])
    assert status == 1 and 'Incompatible return value type (got "Half", expected "Stream")' in out, out
