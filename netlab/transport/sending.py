"""The sending side of a TCP connection (a mixin of :class:`~netlab.transport.connection.Connection`, as BSD
keeps ``tcp_output`` apart from ``tcp_input``): segments cut from the send buffer within the peer's window, the
SYN, and loss recovery - fast retransmit of SACK holes, and resending after a timeout.

Every method works on the connection's state (``self``); offsets are counted from the initial
sequence number, and only :meth:`_emit` and :meth:`_send_seg` turn them into 32-bit wire numbers.
"""

from __future__ import annotations

import math

from netlab.transport.segment import ACK, FIN, PSH, SEQ_MASK, SYN, Segment
from netlab.transport.tcb import Tcb

__all__ = ["Sending"]

_MASK = SEQ_MASK
_INF = math.inf


class Sending(Tcb):
    """Sending segments and recovering from loss; see the module docstring."""

    __slots__ = ()

    def _sack_option(self) -> tuple[tuple[int, int], ...] | None:
        """SACK blocks (32-bit sequence numbers) for what the reassembly buffer holds, or None."""
        if not self._sack_on:
            return None
        irs = self.irs
        return tuple(((irs + s) & _MASK, (irs + e) & _MASK) for s, e in self._reasm.sack_blocks(self._last_ooo))

    def _emit(self, seq_off: int, flags: int, data: bytes = b"") -> Segment:
        sack = self._sack_option() if self._reasm.bytes and flags & ACK else None
        seg = Segment(self.node, self.remote, self.env._now, self._peer, self.flow, self._ttl, self.lport, self.rport,
                      (self.iss + seq_off) & _MASK, (self.irs + self._rcv) & _MASK, flags, self._rwnd, data, sack)  # fmt: skip
        self._ack_owed = False  # every segment we send carries the current ACK
        self.segments_sent += 1
        self.node.inject(seg)
        return seg

    def _send_syn(self) -> None:
        """(Re)send our SYN (client) or SYN-ACK (server), offset 0."""
        if self._nxt == 0:
            self._nxt = 1
            self._rtt_end, self._rtt_t = 1, self.env._now
        else:
            self.retransmissions += 1
            self._syn_retransmitted = True
        seg = self._emit(0, SYN if self.role == "client" else SYN | ACK)
        seg.mss = self.cfg.mss

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
            if s < self._rtt_end:
                self._rtt_end = -1  # Karn: a retransmitted segment gives no RTT sample
        # _emit inlined: this is the per-data-segment path
        seg = Segment(self.node, self.remote, self.env._now, self._peer, self.flow, self._ttl, self.lport, self.rport,
                      (self.iss + s) & _MASK, (self.irs + self._rcv) & _MASK, flags, self._rwnd, data,
                      self._sack_option() if self._reasm.bytes else None)  # fmt: skip
        self._ack_owed = False
        self.segments_sent += 1
        self.node.inject(seg)
        return nxt

    def _output(self) -> None:
        """Send new data (and our FIN) as far as the peer's window allows."""
        una = self._una
        nxt = self._nxt
        limit = una + self._snd_wnd
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
                self._rtt_end, self._rtt_t = nxt + n, self.env._now
            end = nxt + n
            nxt = self._send_seg(nxt, end + 1 if end == fin else end, False)
        if nxt == fin:
            nxt = self._send_seg(fin, fin + 1, False)
        if nxt != start:
            self._nxt = nxt
            self.peak_unacked_bytes = max(self.peak_unacked_bytes, min(data_end, nxt) - una)
            if self._deadline == _INF:
                self._arm(self.env._now + self.rto.rto)

    # ------------------------------------------------------------------ loss recovery
    def _recovery_step(self, head: bool, rest: bool = True) -> None:
        """Retransmit what is now deemed lost: the segment at ``una`` (*head*, if not yet resent in this recovery)
        and (*rest*) with SACK every hole with more than (dupthresh - 1) * MSS bytes SACKed above it, or after a
        timeout every un-SACKed byte below the recovery point."""
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
