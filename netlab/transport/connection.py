"""One TCP connection, the whole of it: the RFC 793 state machine, the sender (window, retransmission, fast
retransmit and SACK recovery), the receiver (handshake, cumulative and selective ACKs, reassembly, FIN and RST),
the application's reads and writes, and one timer (RFC 6298 retransmission timeout, TIME_WAIT, read deadlines).

It is one class, as BSD's ``tcp_input``, ``tcp_output`` and ``tcp_timer`` share one control block. What is a
concept of its own lives beside it: the segment and sequence arithmetic (:mod:`~netlab.transport.segment`), the
RTO estimator (:mod:`~netlab.transport.rto`), the sender's SACK scoreboard (:mod:`~netlab.transport.scoreboard`),
the receiver's reassembly buffer (:mod:`~netlab.transport.reassembly`), the parameters
(:mod:`~netlab.transport.config`), and ports, listeners and demultiplexing (:mod:`~netlab.transport.stack`,
which has a runnable example).

Sequence numbers on the wire are 32-bit and wrap; inside, both directions count plain integer *offsets* from
their initial sequence number (SYN = 0, first data byte = 1, FIN = one past the last data byte). Each arriving
``seq`` or ``ack`` is unwrapped once, relative to the next expected offset (``seq_diff`` arithmetic), so the
comparisons everywhere else are ordinary integer ones and wrap-around cannot be mishandled. Only
:meth:`Connection._emit` and :meth:`Connection._send_seg` turn offsets back into wire numbers.

Cost per segment is O(1) amortised with no SimPy process and no Timeout: a segment is one core packet; the
timer is one pending heap entry per connection whose deadline moves lazily (an entry that fires early re-pushes
itself; an entry replaced by an earlier one is recognised as stale and ignored). The per-segment paths read
SimPy's clock ``env._now`` directly and inline a few calls, as marked (see :mod:`netlab.simkit`).

The class reads top to bottom: state and construction; the application's side (send, close, abort, the reads);
the receiver (``_input`` and what it calls); the sender (``_output``, ``_send_seg``, ``_emit``); loss recovery;
the reads' bookkeeping; the timer and the end of the connection.

Where congestion control, delayed ACKs and SACK recovery live:

* *congestion control* (:mod:`~netlab.transport.congestion`; ``none`` bypasses all of it, ``_cc_on`` false): the
  send window is decided in one place, ``limit = una + min(snd_wnd, cwnd)`` in :meth:`_output` (with restart
  after idle there too); the algorithm hears new data acknowledged in :meth:`_on_ack`, and congestion events at
  the dupack threshold there and in :meth:`_timeout` (:meth:`_congestion_event`); fast recovery's window
  (RFC 6582 inflation without SACK; with it RFC 6937 PRR, ``cwnd = pipe + sndcnt`` per ACK in
  :meth:`_sack_recovery` and :meth:`_prr_sndcnt`, or ``cwnd = ssthresh`` with ``recovery: classic``) is the
  connection's own;
* *delayed ACKs*: the receiver only *owes* an ACK (``_ack_owed``, set in :meth:`_on_data` at once for
  out-of-order data, duplicates, filled holes and FIN, and for every second in-order segment); the owed ACK is
  sent at the end of :meth:`_input` and :meth:`_input_syn_sent`, and any segment we send carries it. A first
  in-order segment sets ``_delack_at``, a third deadline on the one timer beside ``_deadline`` and
  ``_read_deadline`` (:meth:`_wake_at`, :meth:`_on_timer`);
* *SACK loss recovery*: :meth:`_recovery_step` decides what to retransmit, from the scoreboard
  (``Scoreboard.lost_holes`` is RFC 6675's IsLost); with congestion control, :meth:`_sack_recovery` is the
  pipe-based loop (lost holes first, then new data through ``_sack_room``).
"""

from __future__ import annotations

import copy
import math
from enum import StrEnum
from heapq import heappush
from typing import TYPE_CHECKING, Literal

from netlab.errors import ConfigError
from netlab.simkit import NORMAL, Entry, event_heap
from netlab.transport.congestion import CongestionState, NoCongestionControl, initial_window
from netlab.transport.errors import (
    ConnectionClosed,
    ConnectionRefused,
    ConnectionReset,
    ConnectionTimeout,
    IncompleteRead,
    ReceiveTimeout,
    TransportError,
)
from netlab.transport.reassembly import Reassembly
from netlab.transport.rto import RtoEstimator
from netlab.transport.scoreboard import Scoreboard
from netlab.transport.segment import ACK, FIN, PSH, RST, SEQ_HALF, SEQ_MASK, SYN, Segment

if TYPE_CHECKING:
    import simpy

    from netlab.network.node import Node
    from netlab.transport.config import TcpConfig
    from netlab.transport.stack import HostStack, Listener
    from netlab.transport.stream import Stream

__all__ = ["STATES", "Connection", "Role", "TcpState"]


class TcpState(StrEnum):
    """Connection states, with RFC 793's names (a listening port is a :class:`~netlab.transport.stack.Listener`).

    The members are strings: ``conn.state == "ESTABLISHED"`` holds, and tables show the names.
    """

    CLOSED = "CLOSED"
    SYN_SENT = "SYN_SENT"
    SYN_RECEIVED = "SYN_RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN_WAIT_1"
    FIN_WAIT_2 = "FIN_WAIT_2"
    CLOSE_WAIT = "CLOSE_WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST_ACK"
    TIME_WAIT = "TIME_WAIT"


#: Every state, in RFC 793's order.
STATES: tuple[TcpState, ...] = tuple(TcpState)
#: Which end a connection is: the one that connected, or the one a listener accepted.
Role = Literal["client", "server"]

_MASK = SEQ_MASK
_HALF = SEQ_HALF
_INF = math.inf
# Module globals for the per-segment tests: reading an enum member off its class costs ten times more.
_HANDSHAKE = (TcpState.SYN_SENT, TcpState.SYN_RECEIVED)
_SENDING = (TcpState.ESTABLISHED, TcpState.CLOSE_WAIT)
# Kinds of read.
_RECV, _EXACT, _UNTIL = 0, 1, 2


def _wscale_for(window: int) -> int:
    """The RFC 7323 shift that makes *window* (bytes) fit the 16-bit field (at most 14)."""
    return min(14, max(0, window.bit_length() - 16))


class _Timer(Entry):
    """A heap entry of a connection's timer (a SimPy event that always succeeds; see netlab.simkit)."""

    __slots__ = ()


class _Read:
    """A waiting read: its kind, what it asks for (*n* bytes or a *delimiter*), its event and its deadline."""

    __slots__ = ("deadline", "delimiter", "event", "kind", "n", "scan", "timeout")

    def __init__(self, kind: int, n: int, delimiter: bytes, event: simpy.Event, timeout: float | None) -> None:
        self.kind = kind
        self.n = n  # most bytes (recv) or exactly these (recv_exactly)
        self.delimiter = delimiter  # recv_until
        self.event = event
        self.scan = 0  # recv_until: where the next search for the delimiter starts
        self.deadline = _INF
        self.timeout = timeout


def _inside(block: tuple[int, int], outer: tuple[int, int]) -> bool:
    """Whether SACK *block* lies within *outer* (32-bit sequence numbers, compared modulo 2**32)."""
    width = (outer[1] - outer[0]) & _MASK
    return ((block[0] - outer[0]) & _MASK) <= width and ((block[1] - outer[0]) & _MASK) <= width


class Connection:
    """One end of a TCP connection between ``(node, lport)`` and ``(remote, rport)``.

    Made by :meth:`TransportStack.connect <netlab.transport.stack.TransportStack.connect>` (the client side,
    returned at once; :attr:`connected` succeeds with it once the handshake completes) or by a
    :class:`~netlab.transport.stack.Listener` (the server side, handed out by ``accept()`` once established).
    The application uses :meth:`send`, :meth:`close`, :meth:`abort`, the reads (:meth:`recv`,
    :meth:`recv_exactly`, :meth:`recv_line`, :meth:`recv_until`) and the :attr:`closed` event; it is a
    :class:`~netlab.transport.stream.Stream`. Statistics are plain attributes (see
    :func:`netlab.transport.stats.connections_table`); ``states`` logs ``(time_s, state)`` pairs.

    Sender and receiver count offsets from their initial sequence numbers (``iss``, ``irs``); times are
    simulated seconds, sizes bytes. ``__slots__`` keeps a connection small and its attribute access fast.
    """

    __slots__ = (
        "_ack_owed", "_cc", "_cc_on", "_deadline", "_delack", "_delack_at", "_delack_n", "_dsack", "_dsack_on",
        "_dupacks", "_eid", "_entry", "_eof", "_episode", "_error", "_fin_off", "_heap", "_hi_rxt", "_last_ooo",
        "_last_send", "_mss", "_net", "_nxt", "_peer", "_prior", "_prr", "_prr_delivered", "_prr_fs", "_prr_out0",
        "_rbuf", "_rcv", "_read_deadline", "_reads", "_reasm", "_recover", "_recovery_t", "_retries", "_rfin",
        "_rto_recovery", "_rtt_end", "_rtt_t", "_rwnd", "_rxt", "_sack_on", "_sack_room", "_sb", "_sbase", "_sbuf",
        "_snd_wnd", "_syn_retransmitted", "_timer", "_timer_at", "_timer_cb", "_ttl", "_una", "_undo_on",
        "_undo_retrans", "_w", "_want", "_wscale", "acks_sent", "app_bytes_sent", "bytes_delivered", "bytes_received",
        "bytes_sent", "cfg", "closed", "closed_at", "congestion_events", "connected", "cwnd_trace",
        "data_segments_received", "data_segments_sent", "dup_acks_received", "duplicate_segments", "endpoint", "env",
        "error", "established_at", "fast_retransmits", "flow", "irs", "iss", "listener", "lport", "node", "opened_at",
        "out_of_order_segments", "peak_cwnd_bytes", "peak_unacked_bytes", "recovery_s", "remote", "retransmissions",
        "retransmitted_bytes", "role", "rport", "rto", "segments_received", "segments_sent", "spurious_retransmissions",
        "state", "states", "timeouts", "undone_recoveries", "window_scaled",
    )  # fmt: skip

    def __init__(self, endpoint: HostStack, lport: int, remote: Node, rport: int, cfg: TcpConfig, isn: int, *,
                 role: Role, listener: Listener | None = None) -> None:  # fmt: skip
        env = endpoint.stack.env
        # identity and state machine
        self.env = env
        self.endpoint = endpoint
        self.node = endpoint.node
        self.remote = remote
        self.lport = lport
        self.rport = rport
        self.cfg = cfg
        self.role = role
        self.listener = listener
        self._net = endpoint.stack.net  # told while a delayed ACK is owed (the run is not idle then)
        self._peer = endpoint.stack.host(remote)  # owner of what we send: the remote host demultiplexes it
        self.flow = f"tcp {self.node.name}:{lport}>{remote.name}:{rport}"
        self.state = TcpState.CLOSED
        self.states: list[tuple[float, TcpState]] = []
        self.rto = RtoEstimator(initial_s=cfg.initial_rto_s, min_s=cfg.min_rto_s, max_s=cfg.max_rto_s,
                                granularity_s=cfg.clock_granularity_s)  # fmt: skip
        self.connected = env.event()  # the client's handshake: succeeds with this connection
        self.closed = env.event()  # succeeds (value: the error or None) on reaching CLOSED
        self.error: TransportError | None = None
        # sender, offsets from iss
        self.iss = isn & _MASK
        self._una = 0  # oldest unacknowledged offset
        self._nxt = 0  # next offset to send
        self._sbuf = bytearray()  # unacknowledged and unsent bytes; _sbuf[0] is offset _sbase
        self._sbase = 1
        self._fin_off = -1  # offset of our FIN once the application closed, else -1
        self._snd_wnd = cfg.window  # the peer's advertised window (bytes)
        self._mss = cfg.mss
        # congestion control (netlab.transport.congestion): none bypasses all of it, so its runs are as before
        self._cc = cfg.congestion_control
        self._cc_on = not isinstance(self._cc, NoCongestionControl)
        self._w = CongestionState(cfg.mss, _INF)
        self._last_send = 0.0  # when data was last sent (RFC 5681 §4.1 restart after idle)
        self._recovery_t = -1.0  # when the current recovery began, else -1
        self._sack_room = 0  # in SACK fast recovery: bytes of new data the pipe leaves room for
        self._dupacks = 0
        self._recover = -1  # recovery point while recovering from a loss, else -1
        self._hi_rxt = 0  # retransmitted up to here in this recovery
        self._rto_recovery = False  # the recovery began with a timeout (not duplicate ACKs)
        self._sb = Scoreboard()
        # PRR (RFC 6937) in SACK fast recovery: 0 off (classic), 1 the slow-start reduction bound, 2 the conservative
        # one; bytes delivered to the receiver since recovery began (prr_delivered), RecoverFS (the FlightSize when
        # it began), and bytes_sent then (prr_out is bytes_sent minus it: no count on the per-segment path)
        mode = cfg.recovery_mode
        self._prr = 0 if mode == "classic" or not cfg.sack or not self._cc_on else 1 if mode == "prr" else 2
        self._prr_delivered = self._prr_fs = self._prr_out0 = 0
        # D-SACK (RFC 2883) and undo: the retransmissions sent {start: (end, episode)}, of the current loss episode
        # and the one before (a D-SACK often arrives after the recovery it belongs to ended); the episode's
        # retransmissions not yet D-SACKed, and the window before it (cwnd, ssthresh, the algorithm's own state)
        self._dsack_on = cfg.uses_dsack
        self._undo_on = cfg.undoes and self._cc_on
        self._rxt: dict[int, tuple[int, int, int]] = {}  # start: (end, episode, times sent)
        self._episode = 0
        self._undo_retrans = 0
        self._prior: tuple[float, float, object] | None = None
        self._rtt_end = -1  # a segment ending here is being timed (one at a time), else -1
        self._rtt_t = 0.0  # when it was sent
        self._retries = 0
        self._syn_retransmitted = False
        # receiver, offsets from irs
        self.irs = 0
        self._rcv = 0  # next offset expected
        self._rfin = -1  # offset of the peer's FIN once seen; -2 once consumed; else -1
        self._rwnd = cfg.window  # our advertised window (bytes); 65,535 at most unless both ends scale
        self._wscale = _wscale_for(cfg.window) if cfg.window_scaling else -1  # the shift our SYN offers, or -1
        self.window_scaled = False  # both SYNs offered window scaling (RFC 7323)
        self._ttl = cfg.ttl
        self._sack_on = cfg.sack
        self._reasm = Reassembly()
        self._last_ooo = 0  # start of the latest out-of-order block (reported first in SACK)
        self._dsack: tuple[int, int] | None = None  # a duplicate to report first in the next ACK (RFC 2883)
        self._ack_owed = False
        self._delack = cfg.delays_acks
        self._delack_n = 0  # in-order data segments not yet acknowledged (delayed ACKs)
        self._delack_at = _INF  # the delayed ACK is due then (a third deadline of the one timer)
        # the application's side of the receiver
        self._rbuf = bytearray()  # in-order bytes not yet read
        # waiting reads, served in order: a list, as there are seldom two (an empty deque costs 624 bytes, an empty
        # list 56, and every connection of a long mail run is kept for the results)
        self._reads: list[_Read] = []
        self._eof = False
        self._want = 1  # receive-buffer length at which the first waiting read may be satisfied
        self._error: TransportError | None = None
        # timer: one heap entry, moved lazily (see _on_timer)
        self._heap, self._eid = event_heap(env)
        self._timer: _Timer | None = None
        self._timer_at = _INF
        self._deadline = _INF  # retransmission or TIME_WAIT deadline, inf when none
        self._read_deadline = _INF  # no waiting read times out before this (may be stale-early)
        self._timer_cb = (self._on_timer,)
        self._entry = -1  # its place in the stack's list of connections (set by the stack)
        # statistics (see netlab.transport.stats.connections_table)
        self.opened_at = env.now
        self.established_at: float | None = None
        self.closed_at: float | None = None
        self.segments_sent = self.segments_received = self.data_segments_sent = self.data_segments_received = 0
        self.bytes_sent = self.bytes_received = self.bytes_delivered = self.app_bytes_sent = 0
        self.retransmissions = self.retransmitted_bytes = self.fast_retransmits = self.timeouts = 0
        self.dup_acks_received = self.duplicate_segments = self.out_of_order_segments = self.peak_unacked_bytes = 0
        self.acks_sent = self.congestion_events = self.peak_cwnd_bytes = 0
        self.recovery_s = 0.0
        self.spurious_retransmissions = self.undone_recoveries = 0
        #: With ``TcpConfig(trace=True)``: ``(time_s, cwnd_bytes, ssthresh_bytes, flight_bytes, state)`` per change.
        self.cwnd_trace: list[tuple[float, float, float, int, str]] | None = [] if cfg.trace else None

    def __repr__(self) -> str:
        return f"<Connection {self.flow} {self.state}>"

    # ------------------------------------------------------------------ addresses and statistics
    @property
    def local_address(self) -> tuple[str, int]:
        """``(ip, port)`` of this end."""
        return self.node.ip, self.lport

    @property
    def remote_address(self) -> tuple[str, int]:
        """``(ip, port)`` of the other end."""
        return self.remote.ip, self.rport

    @property
    def cwnd_bytes(self) -> float:
        """The congestion window (bytes; inf without congestion control)."""
        return self._w.cwnd if self._cc_on else _INF

    @property
    def ssthresh_bytes(self) -> float:
        """The slow-start threshold (bytes; inf until the first loss, and without congestion control)."""
        return self._w.ssthresh

    @property
    def peak_reassembly_bytes(self) -> int:
        """Most bytes held out of order at once (bytes)."""
        return self._reasm.peak_bytes

    @property
    def reassembly_bytes(self) -> int:
        """Bytes held out of order now, waiting for a gap below them to fill (bytes)."""
        return self._reasm.bytes

    # ------------------------------------------------------------------ opening (called by the stack)
    def _open_active(self) -> None:
        """Send our SYN (the client: :meth:`TransportStack.connect`)."""
        self._set_state(TcpState.SYN_SENT)
        self._send_syn()
        self._arm(self.env.now + self.rto.rto)

    def _open_passive(self, syn: Segment) -> None:
        """Answer the client's *syn* with our SYN-ACK (the server: a listener's new connection)."""
        self.irs = syn.seq
        self._rcv = 1
        self._mss = min(self.cfg.mss, getattr(syn, "mss", self.cfg.mss))
        self._snd_wnd = syn.wnd
        self._agree_window_scaling(syn)
        self.segments_received += 1
        self._set_state(TcpState.SYN_RECEIVED)
        self._send_syn()
        self._arm(self.env.now + self.rto.rto)

    # ------------------------------------------------------------------ the application's side
    def send(self, data: bytes) -> None:
        """Queue *data* (bytes) for sending; it goes out as the window allows. The send buffer is unbounded.

        Raises the connection's error (:class:`ConnectionReset`, ...) if it failed, and
        :class:`ConnectionClosed` after :meth:`close`.
        """
        if self._error is not None:
            raise _again(self._error)
        if self._fin_off >= 0 or self.state is TcpState.CLOSED:
            raise ConnectionClosed(f"{self.flow}: send after close")
        if not data:
            return
        self._sbuf += data
        self.app_bytes_sent += len(data)
        if self.state in _SENDING:
            self._output()

    def close(self) -> None:
        """Close our direction: a FIN follows the data already queued. Reading goes on until the peer's FIN.

        The connection reaches CLOSED (and :attr:`closed` succeeds) once both FINs are acknowledged.
        """
        st = self.state
        if self._fin_off >= 0 or st is TcpState.CLOSED:
            return
        if st in _HANDSHAKE:
            self._finish(ConnectionClosed(f"{self.flow}: closed before the connection was established"))
            return
        self._fin_off = self._sbase + len(self._sbuf)
        self._set_state(TcpState.FIN_WAIT_1 if st is TcpState.ESTABLISHED else TcpState.LAST_ACK)
        self._output()

    def abort(self) -> None:
        """Reset the connection now (send a RST); the peer sees :class:`ConnectionReset`.

        Aborting an attempt still in SYN_SENT just forgets it: :attr:`connected` then never fires.
        """
        if self.state is TcpState.CLOSED:
            return
        if self.state is not TcpState.SYN_SENT:
            self._emit(self._nxt, RST | ACK)
        self._finish(None)

    def recv(self, max_bytes: int = 65536, *, timeout: float | None = None) -> simpy.Event:
        """Event: the next 1 to *max_bytes* bytes in order, or ``b""`` once the peer has closed.

        Like every read, it fails with the connection's error, or with :class:`ReceiveTimeout` after *timeout*
        seconds of simulated time without what it waits for. Reads are served in the order they were made.
        """
        return self._read(_RECV, max_bytes, b"", timeout)

    def recv_exactly(self, n: int, *, timeout: float | None = None) -> simpy.Event:
        """Event: exactly *n* bytes; fails with :class:`IncompleteRead` if the peer closes first."""
        return self._read(_EXACT, n, b"", timeout)

    def recv_until(self, delimiter: bytes, *, timeout: float | None = None) -> simpy.Event:
        """Event: the bytes up to and including *delimiter* (or what is left, possibly ``b""``, at end of stream)."""
        if not delimiter:
            raise ValueError("recv_until: empty delimiter")
        return self._read(_UNTIL, 0, delimiter, timeout)

    def recv_line(self, *, timeout: float | None = None) -> simpy.Event:
        """Event: the next line, ending ``b"\\n"`` included (``b"\\r\\n"`` lines keep both); ``b""`` at the end."""
        return self._read(_UNTIL, 0, b"\n", timeout)

    # ------------------------------------------------------------------ receiving (BSD's tcp_input)
    def _input(self, seg: Segment) -> None:
        """A segment for this connection arrived (called by the host's demultiplexer)."""
        self.segments_received += 1
        flags = seg.flags
        # One test keeps the common case (an ACK, maybe with data or FIN, on a synchronised connection) fast.
        if (flags & (RST | SYN) or not flags & ACK or self.state in _HANDSHAKE) and not self._input_rare(seg, flags):
            return
        self._on_ack(seg)
        if seg.payload or flags & FIN:
            self._on_data(seg, flags)
        nxt = self._nxt
        if nxt < self._sbase + len(self._sbuf) or nxt == self._fin_off:
            self._output()
        if self._ack_owed:
            self._emit(self._nxt, ACK)

    def _input_rare(self, seg: Segment, flags: int) -> bool:
        """RST, SYN, segments without ACK and the handshake states; True if *seg* goes on to the common path."""
        st = self.state
        if flags & RST:
            self._on_rst(seg)
            return False
        if st is TcpState.SYN_SENT:
            self._input_syn_sent(seg)
            return False
        if flags & SYN:
            if st is TcpState.SYN_RECEIVED:
                if not flags & ACK:
                    self._send_syn()  # the client did not get our SYN-ACK and resent its SYN
            else:
                self._emit(self._nxt, ACK)  # a repeated SYN-ACK: our ACK of it was lost
            return False
        if not flags & ACK:
            return False
        if st is TcpState.SYN_RECEIVED:
            if self._unwrap_ack(seg.ack) != 1:
                return False
            self._una = 1
            if self._rtt_end == 1:
                self.rto.sample(self.env.now - self._rtt_t)
                self._rtt_end = -1
            self._snd_wnd = seg.wnd
            self._established()
            if self.state is TcpState.CLOSED:
                return False  # the listener was closed meanwhile and reset it
        return True

    def _unwrap_ack(self, ack: int) -> int:
        una = self._una
        return una + ((ack - self.iss - una + _HALF) & _MASK) - _HALF

    def _input_syn_sent(self, seg: Segment) -> None:
        flags = seg.flags
        if flags & ACK and self._unwrap_ack(seg.ack) != 1:
            return
        if not flags & SYN or not flags & ACK:
            return  # a bare SYN (simultaneous open) is not supported: the other side's SYN will time out
        self.irs = seg.seq
        self._rcv = 1
        self._una = 1
        self._mss = min(self.cfg.mss, getattr(seg, "mss", self.cfg.mss))
        self._snd_wnd = seg.wnd
        self._agree_window_scaling(seg)
        if self._rtt_end == 1:
            self.rto.sample(self.env.now - self._rtt_t)
            self._rtt_end = -1
        self._established()
        self._ack_owed = True
        self._output()
        if self._ack_owed:
            self._emit(self._nxt, ACK)

    def _agree_window_scaling(self, syn: Segment) -> None:
        """RFC 7323 §2.2: windows above 65,535 bytes only if both SYNs offered a window scale. (Segments carry
        windows in bytes, so the scale itself only shows in captures.)"""
        peer = getattr(syn, "wscale", -1)
        self.window_scaled = self._wscale >= 0 and peer >= 0
        if not self.window_scaled:
            self._wscale = -1  # a SYN-ACK offers a scale only in answer to one
            self._rwnd = min(self._rwnd, 65535)
            self._snd_wnd = min(self._snd_wnd, 65535)

    def _established(self) -> None:
        self._set_state(TcpState.ESTABLISHED)
        self.established_at = now = self.env.now
        self._retries = 0
        self._deadline = _INF
        if self._syn_retransmitted and self.rto.samples == 0 and self.rto.rto < 3.0:
            self.rto.restart_at(3.0)  # RFC 6298 (5.7)
        if self._cc_on:
            w = self._w
            w.mss = mss = self._mss
            # RFC 5681 §3.1: one segment if the SYN or SYN-ACK was lost, else RFC 6928's initial window.
            w.cwnd = mss if self._syn_retransmitted else initial_window(self.cfg.initial_window_segments, mss)
            w.ssthresh = _INF
            w.srtt_s = math.nan if self.rto.srtt is None else self.rto.srtt
            self._cc.init(w, now)
            self._last_send = now
            self._trace_cc()
        if self.role == "client":
            self.connected.succeed(self)
        elif self.listener is not None:
            self.listener._ready(self)

    def _on_ack(self, seg: Segment) -> None:
        """The ACK field and SACK blocks of *seg*: advance ``una``, time a round trip, count duplicates, and
        enter, continue or leave loss recovery."""
        una = self._una
        nxt = self._nxt
        self._snd_wnd = seg.wnd
        if una == nxt and seg.sack is None:
            return  # nothing outstanding (a receiver's usual case)
        a = una + ((seg.ack - self.iss - una + _HALF) & _MASK) - _HALF
        sack = seg.sack
        if sack is not None and self._dsack_on and a <= nxt:
            # RFC 2883 §4: a first block below the ACK, or inside the second block, is a D-SACK. Not "inside what
            # was SACKed already": a receiver repeats its latest block on every ACK until new data comes out of
            # order, and that block may hold a retransmission that was needed. Read even on an old ACK (one
            # overtaken by a later one on another path): the duplicate it reports still was one.
            iss = self.iss
            s = una + ((sack[0][0] - iss - una + _HALF) & _MASK) - _HALF
            e = una + ((sack[0][1] - iss - una + _HALF) & _MASK) - _HALF
            if s < e and (e <= a or (len(sack) > 1 and _inside(sack[0], sack[1]))):
                self._on_dsack(s, e)
                sack = sack[1:]
        if a > nxt or a < una:
            return  # acknowledges something never sent, or old: nothing more to learn
        # PRR's DeliveredData is the change in una plus the change in SACKed bytes: note what was SACKed before
        # (the scoreboard is empty but for a loss or reordering, so this is no cost on a clean path)
        sacked0 = self._sb.sacked_bytes() if self._prr and self._sb.intervals else 0
        if sack and self._sack_on:
            iss = self.iss
            for left, right in sack:
                s = una + ((left - iss - una + _HALF) & _MASK) - _HALF
                e = una + ((right - iss - una + _HALF) & _MASK) - _HALF
                if una < e <= nxt and s < e:
                    self._sb.add(max(s, una), e)
        if a > una:
            now = self.env._now  # per ACK: SimPy's clock read directly (see netlab.simkit)
            if 0 <= self._rtt_end <= a:
                self.rto.sample(now - self._rtt_t)
                self._rtt_end = -1
                self._w.srtt_s = self.rto.srtt  # type: ignore[assignment]  # a sample was just taken
            self._una = a
            base = self._sbase
            cut = min(base + len(self._sbuf), a) - base
            if cut > 0:
                del self._sbuf[:cut]  # O(1) amortised: bytearray drops its head by moving a pointer
                self._sbase = base + cut
            self._dupacks = 0
            self._retries = 0
            if self._sb.intervals:
                self._sb.trim(a)
            if a == nxt:
                self._deadline = _INF
            else:
                t = now + self.rto.rto  # RFC 6298 (5.3): restart on an ACK of new data
                if self._timer_at <= t:
                    self._deadline = t  # the pending entry fires first and moves on (see _on_timer)
                else:
                    self._arm(t)
            if self._recover >= 0:
                if a >= self._recover:
                    if self._cc_on:
                        self._recovered(a - una, a, now)
                    self._recover = -1
                    self._rto_recovery = False
                else:
                    if self._cc_on:
                        self._partial_ack(a - una, now)
                    delivered = 0
                    prr = self._prr and not self._rto_recovery
                    if prr:
                        delivered = a - una + self._sb.sacked_bytes() - sacked0
                        self._prr_delivered += delivered
                    # partial ACK: the next hole is lost too (with PRR it is resent as the reduction allows)
                    self._recovery_step(not prr, delivered=delivered)
            elif self._cc_on:
                w = self._w
                self._cc.on_ack(w, a - una, now)
                if self.cwnd_trace is not None:
                    self._trace_cc()
            fin = self._fin_off
            if fin >= 0 and una <= fin < a:
                self._fin_acked()
        elif a < nxt and not seg.payload and not seg.flags & (SYN | FIN):
            self.dup_acks_received += 1
            self._dupacks += 1
            if self._recover < 0:
                if self._dupacks == self.cfg.dupack_threshold:
                    self.fast_retransmits += 1
                    self._recover = nxt
                    self._rto_recovery = False
                    self._hi_rxt = una
                    if self._dsack_on:
                        self._new_episode(self._w)
                    delivered = 0
                    if self._cc_on:
                        # RFC 6582 step 2-3: ssthresh from the algorithm, cwnd = ssthresh + 3*SMSS (inflated by
                        # the three segments that left the network); RFC 6675: cwnd = ssthresh; PRR (RFC 6937):
                        # cwnd follows what is delivered from here on, starting with this ACK's DeliveredData
                        w = self._congestion_event(nxt - una)
                        if self._prr:
                            self._prr_fs = nxt - una  # RecoverFS
                            self._prr_out0 = self.bytes_sent
                            self._prr_delivered = delivered = self._sb.sacked_bytes() - sacked0
                        else:
                            w.cwnd = w.ssthresh if self._sack_on else w.ssthresh + 3 * w.mss  # RFC 6675 / 6582
                        self._trace_cc()
                    # RFC 6675: the first retransmission at once (PRR: as the first of sndcnt, which is >= 1 MSS)
                    self._recovery_step(not self._prr, delivered=delivered)
            elif self._cc_on:
                if self._sack_on:
                    # RFC 6675: the pipe may leave room for a lost segment or new data
                    delivered = 0
                    if self._prr and not self._rto_recovery:
                        delivered = self._sb.sacked_bytes() - sacked0
                        self._prr_delivered += delivered
                    self._recovery_step(False, delivered=delivered)
                elif not self._rto_recovery:
                    w = self._w
                    w.cwnd += w.mss  # RFC 6582 step 4: each further duplicate ACK is a segment that left
                    if self.cwnd_trace is not None:
                        self._trace_cc()
                elif self._sb.intervals:
                    self._recovery_step(False)
            elif self._sb.intervals:
                self._recovery_step(False)

    def _on_data(self, seg: Segment, flags: int) -> None:
        """The payload and FIN of *seg*: in order into the receive buffer, ahead of a gap into reassembly."""
        data = seg.payload
        rcv = self._rcv
        s = rcv + ((seg.seq - self.irs - rcv + _HALF) & _MASK) - _HALF
        n = len(data)
        e = s + n
        if n:
            self.data_segments_received += 1
            self.bytes_received += n
            reasm = self._reasm
            if s == rcv and not reasm.bytes:
                buf = self._rbuf  # _deliver inlined: the per-data-segment path
                buf += data
                self.bytes_delivered += n
                if len(buf) >= self._want and self._reads:
                    self._feed()
                rcv = e
                if not self._delack or self._delack_n:
                    self._ack_owed = True  # at once, or (delayed ACKs) for every second segment
                else:
                    # The first of two in-order segments: owe the ACK until the second, or the timer. The deadline
                    # is one more on the connection's one lazy timer entry (no SimPy event of its own).
                    self._delack_n = 1
                    self._net.owe()
                    self._delack_at = t = self.env._now + self.cfg.delayed_ack_timeout_s
                    self._wake_at(t)
            elif e <= rcv:
                self._ack_owed = True  # a duplicate: ACK at once (RFC 5681 §4.2, out-of-order data)
                self.duplicate_segments += 1
                if self._dsack_on:
                    self._dsack = (s, e)  # RFC 2883: below the cumulative ACK
            elif s > rcv:
                self._ack_owed = True  # out of order: a duplicate ACK at once (RFC 5681 §4.2)
                limit = rcv + self._rwnd
                if s >= limit:
                    return  # beyond the window we advertised: a well-behaved peer never sends it
                if e > limit:
                    data = data[: limit - s]
                if reasm.add(s, data):
                    self.out_of_order_segments += 1
                    self._last_ooo = s
                else:
                    self.duplicate_segments += 1
                    if self._dsack_on:
                        self._dsack = (s, e)  # RFC 2883: inside a block already SACKed
            else:  # starts before rcv, ends after it: keep the new part
                self._ack_owed = True
                self._deliver(data[rcv - s :])
                rcv = e
            if rcv != self._rcv and reasm.bytes:
                self._ack_owed = True  # it fills (part of) a hole: ACK at once (RFC 5681 §4.2)
                more, rcv = reasm.pop_ready(rcv)
                if more:
                    self._deliver(more)
            self._rcv = rcv
        if flags & FIN:
            self._ack_owed = True
            if self._rfin == -1:
                self._rfin = e
        if self._rfin == rcv:
            self._rcv = rcv + 1
            self._rfin = -2
            self._eof = True
            if self._reads:
                self._feed()
            st = self.state
            if st is TcpState.ESTABLISHED:
                self._set_state(TcpState.CLOSE_WAIT)
            elif st is TcpState.FIN_WAIT_1:
                self._set_state(TcpState.CLOSING)
            elif st is TcpState.FIN_WAIT_2:
                self._enter_time_wait()

    def _fin_acked(self) -> None:
        st = self.state
        if st is TcpState.FIN_WAIT_1:
            self._set_state(TcpState.FIN_WAIT_2)
        elif st is TcpState.CLOSING:
            self._enter_time_wait()
        elif st is TcpState.LAST_ACK:
            self._finish(None)

    def _enter_time_wait(self) -> None:
        self._set_state(TcpState.TIME_WAIT)
        self._arm(self.env.now + self.cfg.time_wait_s)  # the final ACK goes out before this fires

    def _on_rst(self, seg: Segment) -> None:
        st = self.state
        if st is TcpState.SYN_SENT:
            if seg.flags & ACK and self._unwrap_ack(seg.ack) == 1:
                self._finish(ConnectionRefused(f"{self.flow}: connection refused by {self.remote.name}"))
            return
        rcv = self._rcv
        s = rcv + ((seg.seq - self.irs - rcv + _HALF) & _MASK) - _HALF
        if not rcv <= s < rcv + self._rwnd:
            return  # not in our window: a stale or forged RST
        if st in (TcpState.SYN_RECEIVED, TcpState.CLOSING, TcpState.LAST_ACK, TcpState.TIME_WAIT):
            self._finish(None)
        else:
            self._finish(ConnectionReset(f"{self.flow}: connection reset by {self.remote.name}"))

    # ------------------------------------------------------------------ sending (BSD's tcp_output)
    def _sack_option(self) -> tuple[tuple[int, int], ...] | None:
        """SACK blocks (32-bit sequence numbers) for what the reassembly buffer holds, or None."""
        if not self._sack_on:
            return None
        irs = self.irs
        dup = self._dsack
        if dup is None:
            blocks = self._reasm.sack_blocks(self._last_ooo) if self._reasm.bytes else []
        else:
            # RFC 2883 §4: the duplicate first, once; one above the cumulative ACK is followed by the block that
            # holds it (how the sender tells it from a new block), then the usual blocks
            self._dsack = None
            latest = dup[0] if dup[0] >= self._rcv else self._last_ooo
            blocks = self._reasm.sack_blocks(latest) if self._reasm.bytes else []
            blocks.insert(0, dup)
        return tuple(((irs + s) & _MASK, (irs + e) & _MASK) for s, e in blocks)

    def _emit(self, seq_off: int, flags: int, data: bytes = b"") -> Segment:
        """Send one segment at offset *seq_off* carrying the current ACK (and SACK blocks); every segment that is
        not new or retransmitted data goes out here: SYNs, pure ACKs, RSTs."""
        sack = self._sack_option() if (self._reasm.bytes or self._dsack is not None) and flags & ACK else None
        seg = Segment(self.node, self.remote, self.env._now, self._peer, self.flow, self._ttl, self.lport, self.rport,
                      (self.iss + seq_off) & _MASK, (self.irs + self._rcv) & _MASK, flags, self._rwnd, data,
                      sack)  # fmt: skip
        self._ack_owed = False  # every segment we send carries the current ACK
        self.segments_sent += 1
        if flags == ACK and not data:
            self.acks_sent += 1
        self.node.inject(seg)
        if self._delack_n:  # after the inject: the network never looks idle in between
            self._delack_n = 0
            self._net.paid()
        return seg

    def _send_syn(self) -> None:
        """(Re)send our SYN (client) or SYN-ACK (server), offset 0."""
        if self._nxt == 0:
            self._nxt = 1
            self._rtt_end, self._rtt_t = 1, self.env.now
        else:
            self.retransmissions += 1
            self._syn_retransmitted = True
        seg = self._emit(0, SYN if self.role == "client" else SYN | ACK)
        seg.mss = self.cfg.mss
        if self._wscale >= 0:
            seg.wscale = self._wscale

    def _send_seg(self, s: int, end: int, retransmit: bool) -> int:
        """Send one segment of at most MSS bytes from offset *s*, not past *end* (with our FIN if it fits before
        *end*); return the offset after it."""
        base = self._sbase
        data_end = base + len(self._sbuf)
        stop = min(s + self._mss, end, data_end)
        if stop > s:
            data = bytes(self._sbuf[s - base : stop - base])
            flags = ACK | PSH if stop == data_end else ACK
            self.data_segments_sent += 1
            self.bytes_sent += stop - s
        else:
            data = b""
            flags = ACK
            stop = s
        nxt = stop
        if stop == self._fin_off and end > stop:
            flags |= FIN
            nxt = stop + 1
        if retransmit:
            self.retransmissions += 1
            self.retransmitted_bytes += stop - s
            if self._dsack_on and stop > s:
                old = self._rxt.get(s)
                n = old[2] + 1 if old is not None and old[0] == stop else 1  # resent again: a D-SACK each
                self._rxt[s] = (stop, self._episode, n)
                self._undo_retrans += 1
            if s < self._rtt_end:
                self._rtt_end = -1  # Karn: a retransmitted segment gives no RTT sample
        # _emit inlined, and SimPy's clock read directly: this is the per-data-segment path
        seg = Segment(self.node, self.remote, self.env._now, self._peer, self.flow, self._ttl, self.lport, self.rport,
                      (self.iss + s) & _MASK, (self.irs + self._rcv) & _MASK, flags, self._rwnd, data,
                      self._sack_option() if self._reasm.bytes or self._dsack is not None else None)  # fmt: skip
        self._ack_owed = False
        self.segments_sent += 1
        self.node.inject(seg)
        if self._delack_n:
            self._delack_n = 0
            self._net.paid()
        return nxt

    def _output(self) -> None:
        """Send new data (and our FIN) as far as the peer's window allows."""
        una = self._una
        nxt = self._nxt
        limit = una + self._snd_wnd  # the send window: the one place it is decided
        if self._cc_on:
            w = self._w
            if una == nxt and self.env._now - self._last_send > self.rto.rto:
                self._restart_after_idle(w)
            if self._recover >= 0 and self._sack_on and not self._rto_recovery:
                limit = min(limit, nxt + self._sack_room)  # the room RFC 6675's pipe left
                self._sack_room = 0
            elif w.cwnd < self._snd_wnd:
                limit = una + int(w.cwnd)
        data_end = self._sbase + len(self._sbuf)
        fin = self._fin_off
        mss = self._mss
        start = nxt
        while nxt < data_end:
            n = min(data_end - nxt, mss)
            room = limit - nxt
            if n > room:
                # Wait for ACKs rather than send a runt (silly-window avoidance), unless nothing is in flight.
                if nxt != una or room <= 0:
                    break
                n = room
            if self._rtt_end < 0:
                self._rtt_end, self._rtt_t = nxt + n, self.env._now  # per segment: the clock itself (simkit)
            end = nxt + n
            nxt = self._send_seg(nxt, end + 1 if end == fin else end, False)
        if nxt == fin:
            nxt = self._send_seg(fin, fin + 1, False)
        if nxt != start:
            self._nxt = nxt
            self._last_send = self.env._now
            self.peak_unacked_bytes = max(self.peak_unacked_bytes, min(data_end, nxt) - una)
            if self._deadline == _INF:
                self._arm(self.env.now + self.rto.rto)

    # ------------------------------------------------------------------ congestion control (with an algorithm)
    def _congestion_event(self, flight: int) -> CongestionState:
        """A loss was detected with *flight* bytes outstanding: the algorithm's new ssthresh; count it and note
        when the recovery began."""
        w = self._w
        w.flight = flight
        ssthresh = self._cc.on_congestion(w, self.env.now)
        if not 0 < ssthresh < _INF:  # NaN too: a user's algorithm, said here rather than as int(inf) later
            raise ConfigError(f"TcpConfig.congestion: {self._cc!r}.on_congestion returned {ssthresh!r}; expected "
                              "the new ssthresh in bytes, a finite number > 0")  # fmt: skip
        w.ssthresh = ssthresh
        self.congestion_events += 1
        if self._recovery_t < 0:
            self._recovery_t = self.env.now
        return w

    def _new_episode(self, w: CongestionState) -> None:
        """A loss episode begins: remember the window before it (for undo) and forget the retransmissions of
        episodes older than the last one."""
        self._episode = ep = self._episode + 1
        self._rxt = {k: v for k, v in self._rxt.items() if v[1] == ep - 1}
        self._undo_retrans = 0
        self._prior = (w.cwnd, w.ssthresh, copy.copy(w.ca)) if self._undo_on else None

    def _on_dsack(self, s: int, e: int) -> None:
        """The peer reports ``[s, e)`` arrived twice (RFC 2883): each retransmission inside it was spurious. Once
        every retransmission of the current episode is, undo its window cut (RFC 2883 §5; Linux's
        ``tcp_try_undo_dsack`` restores ``max(cwnd, prior_cwnd)`` and ``max(ssthresh, prior_ssthresh)``)."""
        rxt = self._rxt
        hit = [k for k, (end, _, _) in rxt.items() if s <= k and end <= e]
        if not hit:
            return  # a duplicate the network made, or a retransmission forgotten with its episode
        ep = self._episode
        for k in hit:
            end, episode, n = rxt.pop(k)
            if n > 1:
                rxt[k] = (end, episode, n - 1)
            if episode == ep:
                self._undo_retrans -= 1
            self.spurious_retransmissions += 1
        prior = self._prior
        if prior is None or self._undo_retrans > 0:
            return
        self._prior = None
        w = self._w
        cwnd, ssthresh, ca = prior
        w.cwnd = max(w.cwnd, cwnd)
        w.ssthresh = max(w.ssthresh, ssthresh)
        w.ca = ca
        self.undone_recoveries += 1
        if self._recover >= 0:  # still recovering: the recovery was never needed, so it ends here
            self._recover = -1
            self._rto_recovery = False
            self._sack_room = 0
            self.recovery_s += self.env.now - self._recovery_t
            self._recovery_t = -1.0
        self._trace_cc()

    def _partial_ack(self, acked: int, now: float) -> None:
        """An ACK below the recovery point (RFC 6582 step 5): after a timeout the window slow-starts; in fast
        recovery it deflates by what was acknowledged and grows by one segment if that was a segment or more."""
        w = self._w
        if self._rto_recovery:
            self._cc.on_ack(w, acked, now)
        elif not self._sack_on:
            w.cwnd = max(w.cwnd - acked + (w.mss if acked >= w.mss else 0), float(w.mss))
        if self.cwnd_trace is not None:
            self._trace_cc()

    def _recovered(self, acked: int, a: int, now: float) -> None:
        """The ACK covered the recovery point: fast recovery ends with cwnd = min(ssthresh, max(FlightSize,
        SMSS) + SMSS) (RFC 6582 step 6, option 1), or with PRR cwnd = ssthresh (RFC 6937); a timeout's recovery
        just goes on slow-starting."""
        w = self._w
        if self._rto_recovery:
            self._cc.on_ack(w, acked, now)
        elif self._prr:
            w.cwnd = w.ssthresh  # RFC 6937: the reduction ends at the window congestion control chose
        else:
            w.cwnd = min(w.ssthresh, max(self._nxt - a, w.mss) + w.mss)
        self.recovery_s += now - self._recovery_t
        self._recovery_t = -1.0
        if self.cwnd_trace is not None:
            self._trace_cc(a)

    def _trace_cc(self, una: int = -1) -> None:
        """Note the window (its peak, and a trace row with ``TcpConfig(trace=True)``)."""
        w = self._w
        if not w.cwnd <= self.peak_cwnd_bytes:  # a new peak, or NaN: one comparison on this per-ACK path either way
            if not w.cwnd < _INF:
                raise ConfigError(f"TcpConfig.congestion: {self._cc!r} set cwnd to {w.cwnd!r}; expected a finite "
                                  "window in bytes")  # fmt: skip
            self.peak_cwnd_bytes = int(w.cwnd)
        trace = self.cwnd_trace
        if trace is None:
            return
        if self._recover >= 0 and una < 0:
            state = "loss" if self._rto_recovery else "recovery"
        else:
            state = "slow_start" if w.cwnd < w.ssthresh else "avoidance"
        flight = self._nxt - (self._una if una < 0 else una)
        trace.append((self.env.now, w.cwnd, w.ssthresh, flight, state))

    def _sack_recovery(self, delivered: int) -> None:
        """RFC 6675 in brief: pipe = outstanding - SACKed - lost and not yet retransmitted; while pipe < cwnd,
        retransmit the next lost hole (IsLost: more than (DupThresh - 1) * MSS SACKed above it), then leave the
        rest of the room to new data (``_sack_room``, used by :meth:`_output`). With PRR, cwnd is first set to
        pipe + sndcnt (RFC 6937 §3; *delivered* is this ACK's DeliveredData, bytes), and a segment at ``una``
        not yet resent (after a partial ACK) counts as lost, to be resent first as sndcnt allows."""
        sb = self._sb
        una, nxt, mss = self._una, self._nxt, self._mss
        lost = sb.lost_holes(max(self._hi_rxt, una), (self.cfg.dupack_threshold - 1) * mss) if sb else []
        if self._prr and self._hi_rxt == una and (not lost or lost[0][0] != una):
            first = sb.holes(una, self._recover) if sb else []
            lost.insert(0, (una, min(una + mss, first[0][1] if first else self._recover)))
        pipe = nxt - una - sb.sacked_bytes() - sum(e - s for s, e in lost)
        w = self._w
        if self._prr:
            w.cwnd = float(pipe + self._prr_sndcnt(pipe, delivered))
            if self.cwnd_trace is not None:
                self._trace_cc()
        cw = int(w.cwnd)
        for hs, he in lost:
            s = hs
            while s < he and pipe < cw:
                e = self._send_seg(s, he, True)
                pipe += e - s
                s = e
            self._hi_rxt = s
            if s < he:
                break
        self._sack_room = max(0, cw - pipe)

    def _prr_sndcnt(self, pipe: int, delivered: int) -> int:
        """RFC 6937 §3: how many bytes this ACK lets the sender send (whole segments, rounded up: the sender sends
        segments, and ``prr_out`` keeps the sum right), from ``prr_delivered``, ``prr_out``, RecoverFS, ssthresh
        and *pipe* (bytes); *delivered* is this ACK's DeliveredData."""
        ssthresh = self._w.ssthresh
        out = self.bytes_sent - self._prr_out0  # prr_out
        prr_delivered = self._prr_delivered
        if pipe > ssthresh:
            # proportional: ssthresh/RecoverFS of what was delivered (0.5 for NewReno, beta = 0.7 for CUBIC)
            sndcnt = -(-prr_delivered * int(ssthresh) // self._prr_fs) - out
        else:
            # the window has fallen below ssthresh (heavy loss): grow back to it, at most as fast as the bound
            limit = prr_delivered - out  # conservative: packet conservation, one sent per one delivered
            if self._prr == 1:
                limit = max(limit, delivered) + self._mss  # slow-start: one more per ACK
            sndcnt = int(min(ssthresh - pipe, limit))
        mss = self._mss
        if out == 0:
            sndcnt = max(sndcnt, mss)  # the fast retransmit goes at once, whatever the first ACK delivered (Linux)
        if sndcnt <= 0:
            return 0
        return -(-sndcnt // mss) * mss

    def _restart_after_idle(self, w: CongestionState) -> None:
        """RFC 5681 §4.1: after more than an RTO without sending, cwnd restarts from min(IW, cwnd)."""
        rw = initial_window(self.cfg.initial_window_segments, w.mss)
        if w.cwnd > rw:
            w.cwnd = rw
            self._cc.restart(w, self.env.now)
            self._trace_cc()

    # ------------------------------------------------------------------ loss recovery
    def _recovery_step(self, head: bool, rest: bool = True, delivered: int = 0) -> None:
        """Retransmit what is now deemed lost: the segment at ``una`` (*head*, if not yet resent in this recovery)
        and (*rest*) with SACK every hole with more than (dupthresh - 1) * MSS bytes SACKed above it, or after a
        timeout every un-SACKed byte below the recovery point. *delivered* is the ACK's DeliveredData (PRR)."""
        una = self._una
        self._hi_rxt = max(self._hi_rxt, una)
        sb = self._sb
        recover = self._recover
        if head and self._hi_rxt == una:
            end = recover
            if sb:
                first = sb.holes(una, recover)  # the hole at una ends where the first SACKed block starts
                end = first[0][1] if first else una
            if end > una:
                self._hi_rxt = self._send_seg(una, end, True)
        if not rest:
            return
        if self._cc_on:
            # With congestion control: with SACK, fast recovery sends while the pipe is below cwnd, lost segments
            # first (RFC 6675); without, it retransmits one segment per (partial) ACK (RFC 6582). After a timeout,
            # what is not SACKed below the recovery point goes out as the window allows.
            if not self._rto_recovery:
                if self._sack_on:
                    self._sack_recovery(delivered)
                return
            limit = una + int(self._w.cwnd)
            for hs, he in sb.holes(self._hi_rxt, recover) if sb else [(self._hi_rxt, recover)]:
                s = hs
                while s < he and s < limit:
                    s = self._send_seg(s, he, True)
                self._hi_rxt = s
                if s < he:
                    return
            return
        if self._rto_recovery:
            holes = sb.holes(self._hi_rxt, recover) if sb else [(self._hi_rxt, recover)]
        elif sb:
            holes = sb.lost_holes(self._hi_rxt, (self.cfg.dupack_threshold - 1) * self._mss)
        else:
            return
        for hs, he in holes:
            s = hs
            while s < he:
                s = self._send_seg(s, he, True)
            self._hi_rxt = he

    # ------------------------------------------------------------------ the reads' bookkeeping
    # A read is queued until the bytes it needs are there (or the stream ends, or it fails); only the first read
    # in line is tried when data arrives, and only once enough bytes for it could be there (``_want``), so a large
    # ``recv_exactly`` costs one check per arriving segment. A read's timeout is a deadline on the connection's
    # one timer, not a SimPy timeout of its own: a session issuing thousands of reads with a 300 s timeout keeps
    # one heap entry alive instead of thousands.
    def _read(self, kind: int, n: int, delimiter: bytes, timeout: float | None) -> simpy.Event:
        ev = self.env.event()
        req = _Read(kind, n, delimiter, ev, timeout)
        if self._error is not None:
            ev.fail(_again(self._error))
            return ev
        if not self._reads:
            if self._try(req):
                return ev
            self._want = n if kind == _EXACT else len(self._rbuf) + 1
        if self.state is TcpState.CLOSED and not self._eof:
            ev.fail(ConnectionClosed(f"{self.flow}: read on a closed connection"))
            return ev
        self._reads.append(req)
        if timeout is not None:
            req.deadline = deadline = self.env.now + timeout
            if deadline < self._read_deadline:
                self._read_deadline = deadline
                self._wake_at(deadline)
        return ev

    def _expire_reads(self, now: float) -> None:
        """Fail the waiting reads whose deadline has come (in the order they were made); note the next deadline."""
        reads = self._reads
        expired = [req for req in reads if req.deadline <= now]
        for req in expired:
            reads.remove(req)
            req.event.fail(ReceiveTimeout(f"{self.flow}: nothing to read within {req.timeout:g} s"))
        if expired and reads:
            self._feed()  # the next read is now first in line
        self._read_deadline = min((req.deadline for req in reads), default=_INF)

    def _deliver(self, data: bytes) -> None:
        """In-order bytes for the application."""
        buf = self._rbuf
        buf += data
        self.bytes_delivered += len(data)
        if len(buf) >= self._want and self._reads:
            self._feed()

    def _feed(self) -> None:
        """Serve the waiting reads in order, as far as the receive buffer allows."""
        reads = self._reads
        while reads and self._try(reads[0]):
            del reads[0]
        if reads:
            # What the waiting read needs before it is worth trying again: its length, or some new bytes.
            head = reads[0]
            self._want = head.n if head.kind == _EXACT else len(self._rbuf) + 1

    def _take(self, n: int) -> bytes:
        buf = self._rbuf
        out = bytes(buf[:n])
        del buf[:n]
        return out

    def _try(self, req: _Read) -> bool:
        """Satisfy the read *req* from the receive buffer if possible (succeeding or failing its event)."""
        kind, ev = req.kind, req.event
        buf = self._rbuf
        if kind == _RECV:
            if buf or self._eof:
                ev.succeed(self._take(min(req.n, len(buf))))
                return True
        elif kind == _EXACT:
            n = req.n
            if len(buf) >= n:
                ev.succeed(self._take(n))
                return True
            if self._eof:
                part = self._take(len(buf))
                ev.fail(IncompleteRead(f"{self.flow}: stream ended after {len(part)} of {n} bytes", part))
                return True
        else:
            delimiter = req.delimiter
            i = buf.find(delimiter, req.scan)
            if i >= 0:
                ev.succeed(self._take(i + len(delimiter)))
                return True
            if self._eof:
                ev.succeed(self._take(len(buf)))
                return True
            req.scan = max(0, len(buf) - len(delimiter) + 1)  # search only new bytes next time
        return False

    # ------------------------------------------------------------------ state, timer (one heap entry, moved lazily)
    def _set_state(self, state: TcpState) -> None:
        self.state = state
        self.states.append((self.env.now, state))

    def _arm(self, t: float) -> None:
        """Set the transport deadline (retransmission, TIME_WAIT) to simulated time *t*."""
        self._deadline = t
        self._wake_at(t)

    def _wake_at(self, t: float) -> None:
        """Have the timer fire by simulated time *t*."""
        if self._timer_at > t:  # the pending entry (if any) would fire too late: push an earlier one
            tm = _Timer()
            tm.callbacks = self._timer_cb
            self._timer = tm
            self._timer_at = t
            heappush(self._heap, (t, NORMAL, next(self._eid), tm))

    def _on_timer(self, tm: _Timer) -> None:
        """The one timer entry fired: expire reads and the transport deadline that are due, then move on."""
        if tm is not self._timer:
            return  # superseded by an earlier entry
        self._timer = None
        self._timer_at = _INF
        now = self.env.now
        if self._read_deadline <= now:
            self._expire_reads(now)
        if self._delack_at <= now:
            self._delack_at = _INF
            if self._delack_n and self.state is not TcpState.CLOSED:
                self._emit(self._nxt, ACK)  # the delayed ACK's time is up
        if self._deadline <= now:
            self._deadline = _INF
            if self.state is TcpState.TIME_WAIT:
                self._finish(None)
            else:
                self._timeout()
        t = min(self._read_deadline, self._deadline, self._delack_at)
        if t < _INF:
            self._wake_at(t)  # a deadline moved later since this entry was pushed (or a new one is set)

    def _timeout(self) -> None:
        """The retransmission timer expired: resend the SYN, or the first unacknowledged segment."""
        st = self.state
        self.timeouts += 1
        self._retries += 1
        self.rto.on_timeout()
        self._rtt_end = -1  # Karn
        if st in _HANDSHAKE:
            if self._retries > self.cfg.syn_retries:
                self._finish(ConnectionTimeout(f"{self.flow}: no answer to SYN after {self._retries} tries")
                             if st is TcpState.SYN_SENT else None)  # fmt: skip
                return
            self._send_syn()
        else:
            if self._una >= self._nxt:
                return
            if self._retries > self.cfg.max_retries:
                self._finish(ConnectionTimeout(f"{self.flow}: data unacknowledged after {self._retries - 1} "
                                               "retransmissions"))  # fmt: skip
                return
            # Timeout recovery: resend the first unacknowledged segment now; the rest of what is outstanding and
            # not SACKed follows once an ACK shows the path works again (all of it at once without congestion
            # control; with it, as the window slow-starting from one segment allows).
            if self._dsack_on and self._retries == 1:
                self._new_episode(self._w)
            if self._cc_on:
                if self._retries == 1:  # RFC 5681 (4): not again for a retransmission that is lost too
                    self._congestion_event(self._nxt - self._una)
                elif self._recovery_t < 0:
                    self._recovery_t = self.env.now
                self._w.cwnd = self._w.mss  # the loss window, RFC 5681 §3.1
                self._cc.restart(self._w, self.env.now)
            self._recover = self._nxt
            self._rto_recovery = True
            self._dupacks = 0
            self._hi_rxt = self._una
            self._recovery_step(True, rest=False)
            if self._cc_on:
                self._trace_cc()
        self._arm(self.env.now + self.rto.rto)

    def _finish(self, error: TransportError | None) -> None:
        """Reach CLOSED: fail (with *error*) or end the waiting reads, and succeed :attr:`closed`."""
        if self.state is TcpState.CLOSED:
            return
        was = self.state
        self._set_state(TcpState.CLOSED)
        self._deadline = _INF
        if self._delack_n:
            self._delack_n = 0
            self._net.paid()
        self.closed_at = self.env.now
        self.endpoint._forget(self)
        if error is not None:
            self.error = self._error = error
            if was is TcpState.SYN_SENT:
                self.connected.fail(error)
            reads, self._reads = self._reads, []
            for req in reads:
                req.event.fail(_again(error))
        else:
            self._eof = True
            if self._reads:
                self._feed()
        self.endpoint.stack._closed(self)  # its statistics are final now (out of the demultiplexer, no timer)
        self.closed.succeed(error)


def _again(error: TransportError) -> TransportError:
    """A fresh copy of *error* (an exception instance is raised once per failure site)."""
    return type(error)(*error.args)


if TYPE_CHECKING:

    def _a_connection_is_a_stream(conn: Connection) -> Stream:  # checked by mypy (``make check``), never run
        return conn
