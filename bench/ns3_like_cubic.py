"""A netlab congestion control that behaves as ns-3.37's ``TcpCubic`` does, for ``bench/tcp.py --ns3-like-cubic``.

It exists to explain a measured gap, not as a netlab algorithm: at 1 % random loss netlab's RFC 9438 CUBIC gets
about 1.5x ns-3's goodput. ns-3.37's CUBIC differs from RFC 9438 (and from netlab's ``Cubic``) in four ways that
matter at small windows, all visible in its behaviour (its ``IncreaseWindow``/``Update``/``GetSsThresh``):

1. no Reno-friendly region: only the cubic curve raises the window;
2. whole segments: the window is counted in integer segments and the curve's offset ``C*(t-K)**3`` is truncated to
   an integer before the target is formed, so below W_max the target is rounded *up* towards W_max; cwnd grows by
   one segment once ``cnt = cwnd // (target - cwnd)`` segments have been acknowledged (at least 2, at most 20
   while W_max is 0);
3. after a retransmission timeout (ns-3's CA_LOSS) W_max is forgotten, so the next epoch starts at K = 0;
4. the curve is evaluated at ``t + min RTT`` (here the smallest smoothed RTT seen, an approximation).

Slow start grows by whole acknowledged segments (ns-3's ABC approximation of Linux's QUICKACK). ssthresh after a
loss is ``max(int(cwnd_segments*beta), 2)`` segments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from netlab.transport.congestion import CongestionState


class _Vars:
    __slots__ = ("cnt_acc", "delay_min", "epoch", "k", "last_max", "origin")

    def __init__(self) -> None:
        self.epoch = -1.0  # epoch start (s), -1 when none
        self.last_max = 0  # W_max in segments; 0 after an RTO
        self.origin = 0  # the curve's plateau (segments)
        self.k = 0.0  # seconds from the epoch start to the plateau
        self.cnt_acc = 0  # segments acknowledged since the last one-segment increase
        self.delay_min = math.nan  # smallest smoothed RTT seen (s)


@dataclass(frozen=True, slots=True)
class Ns3LikeCubic:
    """ns-3.37 ``TcpCubic`` behaviour as a netlab congestion control (C = 0.4, beta = 0.7, fast convergence).

    >>> Ns3LikeCubic()
    Ns3LikeCubic(c=0.4, beta=0.7, fast_convergence=True)
    """

    c: float = 0.4
    beta: float = 0.7
    fast_convergence: bool = True

    def init(self, w: CongestionState, now_s: float) -> None:
        w.ca = _Vars()

    def on_ack(self, w: CongestionState, acked_bytes: int, now_s: float) -> None:
        v: _Vars = w.ca
        if w.srtt_s == w.srtt_s and not v.delay_min <= w.srtt_s:  # NaN before the first sample
            v.delay_min = w.srtt_s
        segs = round(acked_bytes / w.mss)
        if w.cwnd < w.ssthresh:
            w.cwnd += segs * w.mss
            segs = 0
        if w.cwnd < w.ssthresh or segs == 0:
            return
        v.cnt_acc += segs
        seg_cwnd = int(w.cwnd // w.mss)
        if v.epoch < 0:
            v.epoch = now_s
            if v.last_max <= seg_cwnd:
                v.k, v.origin = 0.0, seg_cwnd
            else:
                v.k, v.origin = ((v.last_max - seg_cwnd) / self.c) ** (1 / 3), v.last_max
        t = now_s + (v.delay_min if v.delay_min == v.delay_min else 0.0) - v.epoch
        delta = int(self.c * abs(t - v.k) ** 3)  # truncated, as ns-3's integer target
        target = v.origin - delta if t < v.k else v.origin + delta
        cnt = seg_cwnd // (target - seg_cwnd) if target > seg_cwnd else 100 * seg_cwnd
        if v.last_max == 0:
            cnt = min(cnt, 20)
        cnt = max(cnt, 2)
        if v.cnt_acc >= cnt:
            w.cwnd += w.mss
            v.cnt_acc -= cnt

    def on_congestion(self, w: CongestionState, now_s: float) -> float:
        v: _Vars = w.ca
        seg = int(w.cwnd // w.mss)
        v.last_max = int(seg * (1 + self.beta) / 2) if self.fast_convergence and seg < v.last_max else seg
        v.epoch = -1.0
        return float(max(int(seg * self.beta), 2) * w.mss)

    def restart(self, w: CongestionState, now_s: float) -> None:
        v: _Vars = w.ca
        v.epoch = -1.0
        if w.cwnd <= w.mss:  # called after an RTO with the loss window: ns-3 forgets W_max (CA_LOSS)
            v.last_max, v.origin, v.k = 0, 0, 0.0
