"""One TCP connection: the RFC 793 state machine, its timer (RFC 6298 retransmission timeout, TIME_WAIT, read
deadlines) and the application's side (send, close, abort). The sender (window, fast retransmit, SACK recovery)
is :mod:`~netlab.transport.sending`, the receiver (handshake, ACKs, reassembly, FIN and RST) is
:mod:`~netlab.transport.receiving`, the reads are :mod:`~netlab.transport.reading`: mixins sharing this state.

Sequence numbers on the wire are 32-bit and wrap; inside, both directions count plain integer *offsets* from
their initial sequence number (SYN = 0, first data byte = 1, FIN = one past the last data byte). Each arriving
``seq`` or ``ack`` is unwrapped once, relative to the next expected offset (``seq_diff`` arithmetic), so the
comparisons everywhere else are ordinary integer ones and wrap-around cannot be mishandled.

Cost per segment is O(1) amortised with no SimPy process and no Timeout: a segment is one core packet; the
retransmission timer is one pending heap entry per connection whose deadline moves lazily (an entry that fires
early re-pushes itself; an entry replaced by an earlier one is recognised as stale and ignored).
"""

from __future__ import annotations

import math
from collections import deque
from heapq import heappush
from typing import TYPE_CHECKING, Any

from netlab.transport.errors import ConnectionClosed, ConnectionTimeout, TransportError
from netlab.transport.reading import StreamReading, _again
from netlab.transport.reassembly import Reassembly
from netlab.transport.receiving import Receiving
from netlab.transport.rto import RtoEstimator
from netlab.transport.scoreboard import Scoreboard
from netlab.transport.segment import ACK, RST, SEQ_MASK
from netlab.transport.sending import Sending

if TYPE_CHECKING:
    import simpy

    from netlab.network.node import Node
    from netlab.transport.config import TcpConfig
    from netlab.transport.stack import HostStack, Listener

__all__ = ["STATES", "Connection"]

#: Connection states (RFC 793 names). A listening port is a :class:`~netlab.transport.stack.Listener`.
STATES = ("CLOSED", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING",
          "LAST_ACK", "TIME_WAIT")  # fmt: skip
_MASK = SEQ_MASK
_INF = math.inf


class _Timer:
    """A heap entry of a connection's timer (a SimPy event that always succeeds; see netlab.network.packet)."""

    __slots__ = ("callbacks",)
    _ok = True
    callbacks: tuple[Any, ...]


class Connection(Sending, Receiving, StreamReading):
    """One end of a TCP connection between ``(node, lport)`` and ``(remote, rport)``.

    Made by :meth:`TransportStack.connect` (the client side) or a :class:`Listener` (the server side). The
    application uses :meth:`send`, :meth:`close`, :meth:`abort`, the :attr:`closed` event and the reads of
    :class:`~netlab.transport.reading.StreamReading` (``recv``, ``recv_exactly``, ``recv_line``,
    ``recv_until``). Statistics are plain attributes (see :func:`netlab.transport.stats.connections_table`);
    ``states`` logs ``(time_s, state)`` pairs.
    """

    __slots__ = ()

    def __init__(self, endpoint: HostStack, lport: int, remote: Node, rport: int, cfg: TcpConfig, isn: int, *,
                 role: str, listener: Listener | None = None) -> None:  # fmt: skip
        env = endpoint.stack.env
        self.env = env
        self._queue: list[Any] = env._queue
        self.endpoint = endpoint
        self.node = endpoint.node
        self.remote = remote
        self.lport = lport
        self.rport = rport
        self.cfg = cfg
        self.role = role
        self.listener = listener
        self._peer = endpoint.stack.host(remote)  # owner of what we send: the remote host demultiplexes it
        self.flow = f"tcp {self.node.name}:{lport}>{remote.name}:{rport}"
        self.state = "CLOSED"
        self.states: list[tuple[float, str]] = []
        self.rto = RtoEstimator(initial_s=cfg.initial_rto_s, min_s=cfg.min_rto_s, max_s=cfg.max_rto_s,
                                granularity_s=cfg.clock_granularity_s)  # fmt: skip
        self.connected: simpy.Event = env.event()  # the client's connect() result
        self.closed: simpy.Event = env.event()  # succeeds (value: the error or None) on reaching CLOSED
        self.error: TransportError | None = None
        # sender, offsets from iss
        self.iss = isn & _MASK
        self._una = 0
        self._nxt = 0
        self._sbuf = bytearray()  # unacknowledged and unsent bytes; _sbuf[0] is offset _sbase
        self._sbase = 1
        self._fin_off = -1  # offset of our FIN once the application closed
        self._snd_wnd = cfg.rwnd_bytes
        self._mss = cfg.mss
        self._dupacks = 0
        self._recover = -1  # recovery point while recovering from a loss, else -1
        self._hi_rxt = 0  # retransmitted up to here in this recovery
        self._rto_recovery = False
        self._sb = Scoreboard()
        self._rtt_end = -1  # a segment ending here is being timed (one at a time), sent at _rtt_t
        self._rtt_t = 0.0
        self._retries = 0
        self._syn_retransmitted = False
        # receiver, offsets from irs
        self.irs = 0
        self._rcv = 0
        self._rfin = -1  # offset of the peer's FIN once seen; -2 once consumed
        self._rwnd = cfg.rwnd_bytes
        self._ttl = cfg.ttl
        self._sack_on = cfg.sack
        self._reasm = Reassembly()
        self._last_ooo = 0
        self._ack_owed = False
        self._rbuf = bytearray()
        self._reads: deque[list[Any]] = deque()
        self._eof = False
        self._want = 1  # receive-buffer length at which the first waiting read may be satisfied
        self._error: TransportError | None = None
        # timer
        self._timer: _Timer | None = None
        self._timer_at = _INF
        self._deadline = _INF
        self._read_deadline = _INF
        self._timer_cb = (self._on_timer,)
        # statistics
        self.opened_at = env._now
        self.established_at: float | None = None
        self.closed_at: float | None = None
        self.segments_sent = self.segments_received = self.data_segments_sent = self.data_segments_received = 0
        self.bytes_sent = self.bytes_received = self.bytes_delivered = self.app_bytes_sent = 0
        self.retransmissions = self.retransmitted_bytes = self.fast_retransmits = self.timeouts = 0
        self.dup_acks_received = self.duplicate_segments = self.out_of_order_segments = self.peak_unacked_bytes = 0

    def __repr__(self) -> str:
        return f"<Connection {self.flow} {self.state}>"

    # ------------------------------------------------------------------ addresses and state
    @property
    def local_address(self) -> tuple[str, int]:
        """``(ip, port)`` of this end."""
        return self.node.ip, self.lport

    @property
    def remote_address(self) -> tuple[str, int]:
        """``(ip, port)`` of the other end."""
        return self.remote.ip, self.rport

    @property
    def peak_reassembly_bytes(self) -> int:
        """Most bytes held out of order at once (bytes)."""
        return self._reasm.peak_bytes

    def _set_state(self, state: str) -> None:
        self.state = state
        self.states.append((self.env._now, state))

    # ------------------------------------------------------------------ timer (one heap entry, moved lazily)
    def _arm(self, t: float) -> None:
        """Set the transport deadline (retransmission, TIME_WAIT) to simulated time *t*."""
        self._deadline = t
        self._wake_at(t)

    def _wake_at(self, t: float) -> None:
        if self._timer_at > t:  # the pending entry (if any) would fire too late: push an earlier one
            tm = _Timer()
            tm.callbacks = self._timer_cb
            self._timer = tm
            self._timer_at = t
            env = self.env
            heappush(self._queue, (t, 1, next(env._eid), tm))

    def _on_timer(self, tm: _Timer) -> None:
        """The one timer entry fired: expire reads and the transport deadline that are due, then move on."""
        if tm is not self._timer:
            return  # superseded by an earlier entry
        self._timer = None
        self._timer_at = _INF
        now = self.env._now
        if self._read_deadline <= now:
            self._expire_reads(now)
        if self._deadline <= now:
            self._deadline = _INF
            if self.state == "TIME_WAIT":
                self._finish(None)
            else:
                self._timeout()
        t = min(self._read_deadline, self._deadline)
        if t < _INF:
            self._wake_at(t)  # a deadline moved later since this entry was pushed (or a new one is set)

    def _timeout(self) -> None:
        st = self.state
        self.timeouts += 1
        self._retries += 1
        self.rto.on_timeout()
        self._rtt_end = -1  # Karn
        if st in ("SYN_SENT", "SYN_RECEIVED"):
            if self._retries > self.cfg.syn_retries:
                self._finish(ConnectionTimeout(f"{self.flow}: no answer to SYN after {self._retries} tries")
                             if st == "SYN_SENT" else None)  # fmt: skip
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
            # not SACKed follows once an ACK shows the path works again (no congestion window to grow here).
            self._recover = self._nxt
            self._rto_recovery = True
            self._dupacks = 0
            self._hi_rxt = self._una
            self._recovery_step(True, rest=False)
        self._arm(self.env._now + self.rto.rto)

    def _finish(self, error: TransportError | None) -> None:
        if self.state == "CLOSED":
            return
        was = self.state
        self._set_state("CLOSED")
        self._deadline = _INF
        self.closed_at = self.env._now
        self.endpoint._forget(self)
        if error is not None:
            self.error = self._error = error
            if was == "SYN_SENT":
                self.connected.fail(error)
            reads, self._reads = self._reads, deque()
            for req in reads:
                req[2].fail(_again(error))
        else:
            self._eof = True
            if self._reads:
                self._feed()
        self.closed.succeed(error)

    # ------------------------------------------------------------------ the application's side
    def send(self, data: bytes) -> None:
        """Queue *data* (bytes) for sending; it goes out as the window allows. The send buffer is unbounded.

        Raises the connection's error (:class:`ConnectionReset`, ...) if it failed, and
        :class:`ConnectionClosed` after :meth:`close`.
        """
        if self._error is not None:
            raise _again(self._error)
        if self._fin_off >= 0 or self.state == "CLOSED":
            raise ConnectionClosed(f"{self.flow}: send after close")
        if not data:
            return
        self._sbuf += data
        self.app_bytes_sent += len(data)
        if self.state in ("ESTABLISHED", "CLOSE_WAIT"):
            self._output()

    def close(self) -> None:
        """Close our direction: a FIN follows the data already queued. Reading goes on until the peer's FIN.

        The connection reaches CLOSED (and :attr:`closed` succeeds) once both FINs are acknowledged.
        """
        st = self.state
        if self._fin_off >= 0 or st == "CLOSED":
            return
        if st in ("SYN_SENT", "SYN_RECEIVED"):
            self._finish(ConnectionClosed(f"{self.flow}: closed before the connection was established"))
            return
        self._fin_off = self._sbase + len(self._sbuf)
        self._set_state("FIN_WAIT_1" if st == "ESTABLISHED" else "LAST_ACK")
        self._output()

    def abort(self) -> None:
        """Reset the connection now (send a RST); the peer sees :class:`ConnectionReset`."""
        if self.state == "CLOSED":
            return
        if self.state != "SYN_SENT":
            self._emit(self._nxt, RST | ACK)
        self._finish(None)
