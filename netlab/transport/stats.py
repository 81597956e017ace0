"""Per-connection statistics as a pandas table (pandas is imported only when a table is asked for).

>>> import simpy, netlab
>>> from netlab.network.network import Network
>>> from netlab.transport import TransportStack
>>> topo = netlab.Topology((netlab.NodeSpec("a", "host"), netlab.NodeSpec("b", "host")),
...                        (netlab.LinkSpec("a", "b", rate_bps=10e6, delay_s=0.001),))
>>> env = simpy.Environment(); net = Network(env, topo); net.attach(netlab.ShortestHops())
>>> stack = TransportStack(net); lst = stack.listen("b", 80)
>>> def srv():
...     c = yield lst.accept(); _ = yield c.recv_exactly(5000); c.close()
>>> def cli():
...     c = stack.connect("a", ("b", 80)); yield c.connected; c.send(bytes(5000)); c.close()
>>> _ = env.process(srv()); _ = env.process(cli()); env.run()
>>> connections_table(stack)[["role", "state", "data_segments_sent", "bytes_sent", "bytes_delivered"]]
     role   state  data_segments_sent  bytes_sent  bytes_delivered
0  client  CLOSED                   4        5000                0
1  server  CLOSED                   0           0             5000
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    import pandas as pd

    from netlab.transport.connection import Connection
    from netlab.transport.errors import TransportError
    from netlab.transport.stack import TransportStack

T = TypeVar("T")

__all__ = ["CONNECTION_COLUMNS", "CWND_COLUMNS", "ClosedConnection", "connection_record", "connections_table",
           "cwnd_table"]  # fmt: skip

#: Columns of :func:`connections_table`, with their meaning. Segments count every TCP segment (SYN, FIN and pure
#: ACKs included); ``data_`` columns only those carrying payload; bytes are payload bytes (headers excluded).
CONNECTION_COLUMNS = {
    "flow": "connection direction label, 'tcp <node>:<port>><node>:<port>' (as in drop records)",
    "role": "client (connected) or server (accepted)",
    "local": "local node name", "lport": "local port", "remote": "remote node name", "rport": "remote port",
    "isn": "initial sequence number sent", "state": "state at the end", "error": "failure class name, '' if none",
    "segments_sent": "segments sent, retransmissions and pure ACKs included",
    "data_segments_sent": "segments sent carrying payload",
    "bytes_sent": "payload bytes sent, retransmissions included",
    "app_bytes_sent": "bytes the application queued",
    "segments_received": "segments that arrived",
    "data_segments_received": "segments that arrived carrying payload",
    "bytes_received": "payload bytes that arrived, duplicates included",
    "bytes_delivered": "bytes delivered in order to the application",
    "retransmissions": "segments retransmitted (timeout, fast retransmit, recovery; SYN and FIN included)",
    "retransmitted_bytes": "payload bytes retransmitted",
    "fast_retransmits": "fast retransmits (recoveries entered on duplicate ACKs)",
    "timeouts": "retransmission timer expirations",
    "spurious_retransmissions": "retransmissions the peer's D-SACKs showed were not needed (RFC 2883)",
    "undone_recoveries": "window cuts undone because every retransmission of the episode was D-SACKed",
    "dup_acks_received": "duplicate ACKs received",
    "duplicate_segments": "data segments that arrived holding nothing new",
    "out_of_order_segments": "data segments that arrived ahead of a gap (and were kept)",
    "peak_reassembly_bytes": "most bytes held out of order at once",
    "peak_unacked_bytes": "most payload bytes unacknowledged in flight at once (the peak flight)",
    "acks_sent": "pure ACKs sent (no payload, no SYN/FIN/RST)",
    "congestion": "congestion control ('none', 'NewReno()', 'Cubic(...)')",
    "congestion_events": "fast retransmits and first timeouts that cut the window (0 with none)",
    "recovery_s": "time spent in loss recovery, fast or after a timeout (0 with none)",
    "cwnd_bytes": "congestion window at the end (inf with none)",
    "ssthresh_bytes": "slow-start threshold at the end (inf until the first loss)",
    "peak_cwnd_bytes": "largest congestion window (0 with none)",
    "window_scaled": "both SYNs offered RFC 7323 window scaling",
    "srtt_s": "smoothed round-trip time at the end (NaN without a sample)",
    "rto_s": "retransmission timeout at the end",
    "opened_s": "when the connection was opened (SYN sent or received)",
    "established_s": "when the handshake completed (NaN if never)",
    "closed_s": "when it reached CLOSED (NaN if not yet)",
    "handshake_s": "established - opened",
    "completion_s": "closed - opened: the whole life of the connection",
}  # fmt: skip


def _nan(x: float | None) -> float:
    return float("nan") if x is None else float(x)


def connection_record(c: Connection | ClosedConnection) -> dict[str, object]:
    """One row of :func:`connections_table` as a dict."""
    return dict(zip(CONNECTION_COLUMNS, _row(c), strict=True))


def _row(c: Connection | ClosedConnection) -> tuple[object, ...]:
    """One row of :func:`connections_table`, its values in the order of :data:`CONNECTION_COLUMNS`."""
    if isinstance(c, ClosedConnection):
        return c.row
    opened = c.opened_at
    row: tuple[object, ...] = _IN_COLUMN_ORDER({
        "flow": c.flow, "role": c.role, "local": c.node.name, "lport": c.lport, "remote": c.remote.name,
        "rport": c.rport, "isn": c.iss, "state": c.state, "error": type(c.error).__name__ if c.error else "",
        "segments_sent": c.segments_sent, "data_segments_sent": c.data_segments_sent, "bytes_sent": c.bytes_sent,
        "app_bytes_sent": c.app_bytes_sent, "segments_received": c.segments_received,
        "data_segments_received": c.data_segments_received, "bytes_received": c.bytes_received,
        "bytes_delivered": c.bytes_delivered, "retransmissions": c.retransmissions,
        "retransmitted_bytes": c.retransmitted_bytes, "fast_retransmits": c.fast_retransmits, "timeouts": c.timeouts,
        "spurious_retransmissions": c.spurious_retransmissions, "undone_recoveries": c.undone_recoveries,
        "dup_acks_received": c.dup_acks_received, "duplicate_segments": c.duplicate_segments,
        "out_of_order_segments": c.out_of_order_segments, "peak_reassembly_bytes": c.peak_reassembly_bytes,
        "peak_unacked_bytes": c.peak_unacked_bytes, "acks_sent": c.acks_sent, "congestion": _cc_name(c),
        "congestion_events": c.congestion_events, "recovery_s": c.recovery_s, "cwnd_bytes": c.cwnd_bytes,
        "ssthresh_bytes": c.ssthresh_bytes, "peak_cwnd_bytes": c.peak_cwnd_bytes, "window_scaled": c.window_scaled,
        "srtt_s": _nan(c.rto.srtt), "rto_s": c.rto.rto,
        "opened_s": opened, "established_s": _nan(c.established_at), "closed_s": _nan(c.closed_at),
        "handshake_s": _nan(None if c.established_at is None else c.established_at - opened),
        "completion_s": _nan(None if c.closed_at is None else c.closed_at - opened),
    })  # fmt: skip
    return row


#: A row's values by column name, in the order of CONNECTION_COLUMNS (not the dict literal's: a key added in
#: another place would otherwise shift every column after it silently).
_IN_COLUMN_ORDER = itemgetter(*CONNECTION_COLUMNS)
_INDEX = {name: i for i, name in enumerate(CONNECTION_COLUMNS)}


class _Column(Generic[T]):
    """A :class:`ClosedConnection` attribute read from its row (as the live :class:`Connection`'s of that name)."""

    __slots__ = ("i", "kind")

    def __init__(self, name: str, kind: type[T]) -> None:
        self.i = _INDEX[name]
        self.kind = kind

    def __get__(self, obj: ClosedConnection, owner: object = None) -> T:
        value = obj.row[self.i]
        assert isinstance(value, self.kind)  # the column's type
        return value


@dataclass(frozen=True, slots=True, eq=False)
class ClosedConnection:
    """What is kept of a connection once it reached CLOSED, when its stack keeps no closed connections
    (``TransportStack(keep_closed=False)``, as a mail run's does): its row of :func:`connections_table`, taken as it
    closed (nothing in it changes after CLOSED: the connection is out of the demultiplexer and its timers are off),
    its error and its window trace. About 1 KB instead of the connection's 3 KB or more (buffers, scoreboard,
    reassembly, RTO and congestion state), so a day of mail, half a million connection ends, keeps its table and not
    its connections. The counters a transaction's row reads are attributes, as on a :class:`Connection`."""

    row: tuple[object, ...]
    error: TransportError | None
    cwnd_trace: list[tuple[float, float, float, int, str]] | None

    @classmethod
    def of(cls, c: Connection) -> ClosedConnection:
        """The record of *c* (a connection in CLOSED)."""
        return cls(_row(c), c.error, c.cwnd_trace)

    def __repr__(self) -> str:
        return f"<ClosedConnection {self.flow} {self.state}>"

    #: The statistics a transaction's row and the tables read, as on a live connection.
    flow = _Column("flow", str)  # the label, ``tcp <node>:<port>><node>:<port>``
    state = _Column("state", str)  # ``CLOSED``
    segments_sent = _Column("segments_sent", int)  # retransmissions and pure ACKs included
    segments_received = _Column("segments_received", int)
    data_segments_sent = _Column("data_segments_sent", int)  # carrying payload
    retransmissions = _Column("retransmissions", int)
    timeouts = _Column("timeouts", int)  # retransmission timer expirations


def _cc_name(c: Connection) -> str:
    cc = c.cfg.congestion_control
    return "none" if type(cc).__name__ == "NoCongestionControl" else repr(cc)


#: Columns of :func:`cwnd_table`.
CWND_COLUMNS = {
    "time_s": "when the window or the state changed",
    "connection": "the connection's flow label ('tcp <node>:<port>><node>:<port>')",
    "cwnd_bytes": "congestion window",
    "ssthresh_bytes": "slow-start threshold (inf before the first loss)",
    "flight_bytes": "bytes sent and not yet acknowledged",
    "state": "slow_start, avoidance, recovery (fast recovery) or loss (after a timeout)",
}


def cwnd_table(stack: TransportStack) -> pd.DataFrame:
    """One row per change of cwnd, ssthresh or state of every connection of *stack* opened with
    ``TcpConfig(trace=True)`` that sent data (ns-3's CongestionWindow trace), in time order within each
    connection."""
    import pandas as pd

    rows = [(t, c.flow, cw, ss, fl, st) for c in stack.connections if c.cwnd_trace and c.data_segments_sent
            for t, cw, ss, fl, st in c.cwnd_trace]  # fmt: skip
    return pd.DataFrame(rows, columns=list(CWND_COLUMNS))


def connections_table(stack: TransportStack) -> pd.DataFrame:
    """One row per connection end of *stack*, in the order they were opened; columns in
    :data:`CONNECTION_COLUMNS` (times in seconds, sizes in bytes)."""
    import pandas as pd  # here, not at module level: ``import netlab`` stays fast

    # Rows as tuples, not dicts: half a million dicts of 44 keys would be a gigabyte for a moment (pandas infers each
    # column's type from the same values either way).
    return pd.DataFrame([_row(c) for c in stack.connections], columns=list(CONNECTION_COLUMNS))
