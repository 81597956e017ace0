"""The receiving side of a TCP connection (a mixin of :class:`~netlab.transport.connection.Connection`, BSD's
``tcp_input``): each arriving segment unwrapped once into offsets, the handshake, cumulative and selective ACKs
(with duplicate-ACK counting and fast retransmit), in-order data into the receive buffer (out-of-order data into
reassembly), FIN and RST and the state changes they cause.

Every method works on the connection's state (``self``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

from netlab.transport.errors import ConnectionRefused, ConnectionReset
from netlab.transport.segment import ACK, FIN, RST, SEQ_HALF, SEQ_MASK, SYN, Segment
from netlab.transport.tcb import Tcb

if TYPE_CHECKING:
    from netlab.transport.connection import Connection

__all__ = ["Receiving"]

_MASK = SEQ_MASK
_HALF = SEQ_HALF
_INF = math.inf


class Receiving(Tcb):
    """Segments arriving for a connection; see the module docstring."""

    __slots__ = ()

    def _input(self, seg: Segment) -> None:
        """A segment for this connection arrived (called by the host's demultiplexer)."""
        self.segments_received += 1
        flags = seg.flags
        # One test keeps the common case (an ACK, maybe with data or FIN, on a synchronised connection) fast.
        if (flags & (RST | SYN) or not flags & ACK or self.state in ("SYN_SENT", "SYN_RECEIVED")) and not (
            self._input_rare(seg, flags)
        ):
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
        if st == "SYN_SENT":
            self._input_syn_sent(seg)
            return False
        if flags & SYN:
            if st == "SYN_RECEIVED":
                if not flags & ACK:
                    self._send_syn()  # the client did not get our SYN-ACK and resent its SYN
            else:
                self._emit(self._nxt, ACK)  # a repeated SYN-ACK: our ACK of it was lost
            return False
        if not flags & ACK:
            return False
        if st == "SYN_RECEIVED":
            if self._unwrap_ack(seg.ack) != 1:
                return False
            self._una = 1
            if self._rtt_end == 1:
                self.rto.sample(self.env._now - self._rtt_t)
                self._rtt_end = -1
            self._snd_wnd = seg.wnd
            self._established()
            if self.state == "CLOSED":
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
        if self._rtt_end == 1:
            self.rto.sample(self.env._now - self._rtt_t)
            self._rtt_end = -1
        self._established()
        self._ack_owed = True
        self._output()
        if self._ack_owed:
            self._emit(self._nxt, ACK)

    def _established(self) -> None:
        self._set_state("ESTABLISHED")
        self.established_at = self.env._now
        self._retries = 0
        self._deadline = _INF
        if self._syn_retransmitted and self.rto.samples == 0 and self.rto.rto < 3.0:
            self.rto.restart_at(3.0)  # RFC 6298 (5.7)
        if self.role == "client":
            self.connected.succeed(self)
        elif self.listener is not None:
            self.listener._ready(cast("Connection", self))  # only a Connection is made of these parts

    def _on_ack(self, seg: Segment) -> None:
        una = self._una
        nxt = self._nxt
        self._snd_wnd = seg.wnd
        if una == nxt and seg.sack is None:
            return  # nothing outstanding (a receiver's usual case)
        a = una + ((seg.ack - self.iss - una + _HALF) & _MASK) - _HALF
        if a > nxt or a < una:
            return  # acknowledges something never sent, or old: nothing to learn
        sack = seg.sack
        if sack is not None and self._sack_on:
            iss = self.iss
            for left, right in sack:
                s = una + ((left - iss - una + _HALF) & _MASK) - _HALF
                e = una + ((right - iss - una + _HALF) & _MASK) - _HALF
                if una < e <= nxt and s < e:
                    self._sb.add(max(s, una), e)
        if a > una:
            now = self.env._now
            if 0 <= self._rtt_end <= a:
                self.rto.sample(now - self._rtt_t)
                self._rtt_end = -1
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
                    self._recover = -1
                    self._rto_recovery = False
                else:
                    self._recovery_step(True)  # partial ACK: the next hole is lost too
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
                    self._recovery_step(True)
            elif self._sb.intervals:
                self._recovery_step(False)

    def _on_data(self, seg: Segment, flags: int) -> None:
        data = seg.payload
        rcv = self._rcv
        s = rcv + ((seg.seq - self.irs - rcv + _HALF) & _MASK) - _HALF
        n = len(data)
        e = s + n
        if n:
            self.data_segments_received += 1
            self.bytes_received += n
            self._ack_owed = True  # every data segment is acknowledged at once (no delayed ACK)
            reasm = self._reasm
            if s == rcv and not reasm.bytes:
                buf = self._rbuf  # _deliver inlined: the per-data-segment path
                buf += data
                self.bytes_delivered += n
                if len(buf) >= self._want and self._reads:
                    self._feed()
                rcv = e
            elif e <= rcv:
                self.duplicate_segments += 1
            elif s > rcv:
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
            else:  # starts before rcv, ends after it: keep the new part
                self._deliver(data[rcv - s :])
                rcv = e
            if rcv != self._rcv and reasm.bytes:
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
            if st == "ESTABLISHED":
                self._set_state("CLOSE_WAIT")
            elif st == "FIN_WAIT_1":
                self._set_state("CLOSING")
            elif st == "FIN_WAIT_2":
                self._enter_time_wait()

    def _fin_acked(self) -> None:
        st = self.state
        if st == "FIN_WAIT_1":
            self._set_state("FIN_WAIT_2")
        elif st == "CLOSING":
            self._enter_time_wait()
        elif st == "LAST_ACK":
            self._finish(None)

    def _enter_time_wait(self) -> None:
        self._set_state("TIME_WAIT")
        self._arm(self.env._now + self.cfg.time_wait_s)  # the final ACK goes out before this fires

    def _on_rst(self, seg: Segment) -> None:
        st = self.state
        if st == "SYN_SENT":
            if seg.flags & ACK and self._unwrap_ack(seg.ack) == 1:
                self._finish(ConnectionRefused(f"{self.flow}: connection refused by {self.remote.name}"))
            return
        rcv = self._rcv
        s = rcv + ((seg.seq - self.irs - rcv + _HALF) & _MASK) - _HALF
        if not rcv <= s < rcv + self._rwnd:
            return  # not in our window: a stale or forged RST
        if st in ("SYN_RECEIVED", "CLOSING", "LAST_ACK", "TIME_WAIT"):
            self._finish(None)
        else:
            self._finish(ConnectionReset(f"{self.flow}: connection reset by {self.remote.name}"))
