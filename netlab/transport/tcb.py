"""The transmission control block (RFC 793 §3.2): the state one TCP connection keeps, declared once for the
parts that make up :class:`~netlab.transport.connection.Connection`: its sending side
(:mod:`~netlab.transport.sending`), its receiving side (:mod:`~netlab.transport.receiving`), the application's
reads (:mod:`~netlab.transport.reading`) and the connection itself (state machine, timer, application calls).

Sender and receiver count plain integer *offsets* from their initial sequence numbers (``iss``, ``irs``: SYN = 0,
first data byte = 1); times are simulated seconds; sizes are bytes. ``__slots__`` keeps a connection small and
its attribute access fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections import deque

    import simpy

    from netlab.network.node import Node
    from netlab.transport.config import TcpConfig
    from netlab.transport.errors import TransportError
    from netlab.transport.reassembly import Reassembly
    from netlab.transport.rto import RtoEstimator
    from netlab.transport.scoreboard import Scoreboard
    from netlab.transport.segment import Segment
    from netlab.transport.stack import HostStack, Listener

__all__ = ["Tcb"]


class Tcb:
    """The state of one TCP connection (see the module docstring); set by ``Connection.__init__``."""

    __slots__ = (
        "_ack_owed", "_deadline", "_dupacks", "_eof", "_error", "_fin_off", "_hi_rxt", "_last_ooo", "_mss",
        "_nxt", "_peer", "_queue", "_rbuf", "_rcv", "_read_deadline", "_reads", "_reasm", "_recover",
        "_retries", "_rfin", "_rto_recovery", "_rtt_end", "_rtt_t", "_rwnd", "_sack_on", "_sb", "_sbase",
        "_sbuf", "_snd_wnd", "_syn_retransmitted", "_timer", "_timer_at", "_timer_cb", "_ttl", "_una", "_want",
        "app_bytes_sent", "bytes_delivered", "bytes_received", "bytes_sent", "cfg", "closed", "closed_at",
        "connected", "data_segments_received", "data_segments_sent", "dup_acks_received", "duplicate_segments",
        "endpoint", "env", "error", "established_at", "fast_retransmits", "flow", "irs", "iss", "listener",
        "lport", "node", "opened_at", "out_of_order_segments", "peak_unacked_bytes", "remote",
        "retransmissions", "retransmitted_bytes", "role", "rport", "rto", "segments_received", "segments_sent",
        "state", "states", "timeouts",
    )  # fmt: skip

    # identity and state machine
    env: simpy.Environment
    _queue: list[Any]  # the environment's event heap (timer entries are pushed directly)
    endpoint: HostStack
    node: Node
    remote: Node
    lport: int
    rport: int
    cfg: TcpConfig
    role: str  # "client" or "server"
    listener: Listener | None
    _peer: HostStack  # the remote host's stack: it demultiplexes what we send
    flow: str
    state: str
    states: list[tuple[float, str]]
    connected: simpy.Event
    closed: simpy.Event
    error: TransportError | None
    rto: RtoEstimator
    # sender
    iss: int
    _una: int  # oldest unacknowledged offset
    _nxt: int  # next offset to send
    _sbuf: bytearray  # unacknowledged and unsent bytes; _sbuf[0] is offset _sbase
    _sbase: int
    _fin_off: int  # offset of our FIN once the application closed, else -1
    _snd_wnd: int  # the peer's advertised window (bytes)
    _mss: int
    _dupacks: int
    _recover: int  # recovery point while recovering from a loss, else -1
    _hi_rxt: int  # retransmitted up to here in this recovery
    _rto_recovery: bool
    _sb: Scoreboard
    _rtt_end: int  # a segment ending here is being timed (one at a time), else -1
    _rtt_t: float  # when it was sent
    _retries: int
    _syn_retransmitted: bool
    # receiver
    irs: int
    _rcv: int  # next offset expected
    _rfin: int  # offset of the peer's FIN once seen; -2 once consumed; else -1
    _rwnd: int  # our advertised window (bytes)
    _ttl: int
    _sack_on: bool
    _reasm: Reassembly
    _last_ooo: int  # start of the latest out-of-order block (reported first in SACK)
    _ack_owed: bool
    # the application's side of the receiver (see netlab.transport.reading)
    _rbuf: bytearray  # in-order bytes not yet read
    _reads: deque[list[Any]]  # waiting reads: [kind, argument, event, search offset, deadline, timeout]
    _want: int  # receive-buffer length at which the first waiting read may be satisfied
    _read_deadline: float  # no waiting read times out before this (may be stale-early)
    _eof: bool
    _error: TransportError | None
    bytes_delivered: int
    # timer: one heap entry, moved lazily (see Connection._on_timer)
    _timer: Any
    _timer_at: float
    _deadline: float  # retransmission or TIME_WAIT deadline, inf when none
    _timer_cb: tuple[Any, ...]
    # statistics (see netlab.transport.stats.connections_table)
    opened_at: float
    established_at: float | None
    closed_at: float | None
    segments_sent: int
    segments_received: int
    data_segments_sent: int
    data_segments_received: int
    bytes_sent: int
    bytes_received: int
    app_bytes_sent: int
    retransmissions: int
    retransmitted_bytes: int
    fast_retransmits: int
    timeouts: int
    dup_acks_received: int
    duplicate_segments: int
    out_of_order_segments: int
    peak_unacked_bytes: int

    if TYPE_CHECKING:  # what the parts call on each other, implemented in the part named; for the type checker

        def _arm(self, t: float) -> None: ...  # connection: set the transport deadline

        def _wake_at(self, t: float) -> None: ...  # connection: have the timer fire by t

        def _finish(self, error: TransportError | None) -> None: ...  # connection: reach CLOSED

        def _set_state(self, state: str) -> None: ...  # connection

        def _emit(self, seq_off: int, flags: int, data: bytes = b"") -> Segment: ...  # sending

        def _send_syn(self) -> None: ...  # sending

        def _output(self) -> None: ...  # sending

        def _recovery_step(self, head: bool, rest: bool = True) -> None: ...  # sending

        def _deliver(self, data: bytes) -> None: ...  # reading: in-order bytes for the application

        def _feed(self) -> None: ...  # reading: try the waiting reads
