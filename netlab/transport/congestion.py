"""Congestion control behind one small Protocol: ``none``, ``newreno`` (RFC 5681, RFC 6582) and ``cubic``
(RFC 9438).

The split follows Linux's ``tcp_congestion_ops``: the connection owns the mechanics every algorithm shares
(the send limit ``una + min(rwnd, cwnd)``, the initial window, fast retransmit, fast recovery (RFC 6937 PRR with
SACK, RFC 6582 window inflation and partial ACKs without), the RTO's loss window, restart after idle), and an
algorithm only decides how the window grows on an ACK and where ``ssthresh`` goes on a congestion event. Its
per-connection state is a :class:`CongestionState`, which the connection makes and the algorithm changes; the
algorithm object itself is a frozen value shared by every connection of a
:class:`~netlab.transport.config.TcpConfig`.

A user's own algorithm is any object with the four methods of :class:`CongestionControl`::

    @dataclass(frozen=True)
    class Aimd:                              # additive increase a MSS per RTT, multiplicative decrease b
        a: float = 1.0
        b: float = 0.5
        def init(self, w, now_s): pass
        def restart(self, w, now_s): pass
        def on_ack(self, w, acked_bytes, now_s):
            if w.cwnd < w.ssthresh:
                w.cwnd += min(acked_bytes, 2 * w.mss)            # slow start (RFC 3465, L = 2)
            else:
                w.cwnd += self.a * w.mss * w.mss / w.cwnd        # per ACK: a MSS per window of ACKs
        def on_congestion(self, w, now_s):
            return max(w.flight * self.b, 2 * w.mss)             # the new ssthresh (bytes)

and a scenario names it ``transport: {congestion: mypkg.cc:Aimd(b=0.7)}``.

Sizes are bytes (``cwnd`` a float, so that the per-ACK increase of congestion avoidance does not round away),
times simulated seconds.

>>> newreno = congestion_control("newreno"); newreno
NewReno()
>>> w = CongestionState(1460, 14600.0)
>>> newreno.on_ack(w, 2920, 0.0); w.cwnd                  # slow start: one ACK for two segments adds two
17520.0
>>> w.flight = 20000; newreno.on_congestion(w, 1.0)       # RFC 5681 (4): half the flight, at least 2 MSS
10000.0
>>> congestion_control("cubc")
Traceback (most recent call last):
...
netlab.errors.ConfigError: TcpConfig.congestion: unknown congestion control 'cubc'; did you mean 'cubic'?
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from netlab._text import did_you_mean
from netlab.errors import ConfigError

__all__ = [
    "CONGESTION",
    "CongestionControl",
    "CongestionState",
    "Cubic",
    "NewReno",
    "NoCongestionControl",
    "congestion_control",
    "initial_window",
]

_INF = math.inf


class CongestionState:
    """One connection's congestion window and slow-start threshold, and what the algorithm keeps of its own.

    The connection sets ``flight`` (bytes sent and not yet acknowledged) before it asks for a new ``ssthresh``
    and ``srtt_s`` (smoothed RTT, NaN before the first sample) whenever it takes an RTT sample; an algorithm
    reads them and changes ``cwnd`` and ``ssthresh``. ``ca`` is the algorithm's own (CUBIC's epoch, say).
    """

    __slots__ = ("ca", "cwnd", "flight", "mss", "srtt_s", "ssthresh")

    def __init__(self, mss: int, cwnd: float, ssthresh: float = _INF) -> None:
        self.mss = mss
        self.cwnd = cwnd
        self.ssthresh = ssthresh
        self.flight = 0
        self.srtt_s = math.nan
        self.ca: Any = None

    def __repr__(self) -> str:
        return f"<CongestionState cwnd={self.cwnd:.0f} ssthresh={self.ssthresh:.0f} mss={self.mss}>"


@runtime_checkable
class CongestionControl(Protocol):
    """What a connection asks of its congestion control (every method gets the connection's state *w*)."""

    def init(self, w: CongestionState, now_s: float) -> None:
        """The connection is established; ``w.cwnd`` holds the initial window, ``w.ssthresh`` infinity."""

    def on_ack(self, w: CongestionState, acked_bytes: int, now_s: float) -> None:
        """An ACK took *acked_bytes* new bytes off the flight, outside fast recovery: grow ``w.cwnd``."""

    def on_congestion(self, w: CongestionState, now_s: float) -> float:
        """A congestion event (fast retransmit, or the first timeout of a segment): return the new ssthresh
        (bytes). The connection then sets cwnd itself (in fast recovery PRR's pipe + sndcnt with SACK, ssthresh +
        3 MSS without; 1 MSS after an RTO)."""
        ...

    def restart(self, w: CongestionState, now_s: float) -> None:
        """The connection was idle longer than an RTO and has cut ``w.cwnd`` to the restart window (RFC 5681
        §4.1): forget what depended on the window before."""


def initial_window(segments: int, mss: int) -> int:
    """RFC 6928's initial window in bytes, ``min(n*MSS, max(2*MSS, n*1460))`` (n = 10: 14,600 bytes for a
    1460-byte MSS, two segments of 9000 bytes); RFC 5681's ``min(4*MSS, max(2*MSS, 4380))`` with n = 3 is the
    same rule.

    >>> initial_window(10, 1460), initial_window(10, 9000), initial_window(10, 536)
    (14600, 18000, 5360)
    """
    return min(segments * mss, max(2 * mss, segments * 1460))


def _slow_start(w: CongestionState, acked_bytes: int) -> None:
    # RFC 3465 appropriate byte counting with L = 2*SMSS (RFC 5681 allows it): a delayed ACK covering two
    # segments grows the window by two, so slow start doubles cwnd each RTT with delayed ACKs as without.
    w.cwnd = min(w.cwnd + min(acked_bytes, 2 * w.mss), max(w.ssthresh, w.cwnd))


@dataclass(frozen=True, slots=True)
class NoCongestionControl:
    """No congestion control: netlab's transport before it had any. The window is the receiver's alone; a loss
    changes nothing but what is retransmitted. The connection bypasses the window logic altogether, so runs
    with ``none`` are exactly as they were (kept for the regression and for teaching)."""

    def init(self, w: CongestionState, now_s: float) -> None:
        w.cwnd = _INF

    def on_ack(self, w: CongestionState, acked_bytes: int, now_s: float) -> None:
        pass

    def on_congestion(self, w: CongestionState, now_s: float) -> float:
        return _INF

    def restart(self, w: CongestionState, now_s: float) -> None:
        w.cwnd = _INF


@dataclass(frozen=True, slots=True)
class NewReno:
    """RFC 5681 slow start and congestion avoidance; fast recovery (RFC 6582) is the connection's.

    Slow start adds ``min(acked, 2*MSS)`` per ACK (RFC 3465 with L = 2) up to ssthresh; congestion avoidance
    adds ``MSS*MSS/cwnd`` per ACK (RFC 5681 (3)): one MSS per RTT when every segment is acknowledged, half that
    with delayed ACKs (the ``b = 2`` of Mathis et al.'s formula). A congestion event sets ssthresh to
    ``max(FlightSize/2, 2*MSS)`` (RFC 5681 (4)).
    """

    def init(self, w: CongestionState, now_s: float) -> None:
        pass

    def on_ack(self, w: CongestionState, acked_bytes: int, now_s: float) -> None:
        if w.cwnd < w.ssthresh:
            _slow_start(w, acked_bytes)
        else:
            w.cwnd += w.mss * w.mss / w.cwnd

    def on_congestion(self, w: CongestionState, now_s: float) -> float:
        return max(w.flight / 2, 2.0 * w.mss)

    def restart(self, w: CongestionState, now_s: float) -> None:
        pass


class _CubicVars:
    """CUBIC's per-connection variables (RFC 9438 §4.1), windows in segments."""

    __slots__ = ("cwnd_epoch", "k", "t_epoch", "w_est", "w_max")

    def __init__(self) -> None:
        self.w_max = 0.0  # window just before the last reduction (segments)
        self.k = 0.0  # time from the epoch's start until W_cubic reaches w_max (s)
        self.t_epoch = -1.0  # start of the congestion-avoidance epoch, -1 when none
        self.cwnd_epoch = 0.0
        self.w_est = 0.0  # the Reno-friendly estimate (segments)


@dataclass(frozen=True, slots=True)
class Cubic:
    """RFC 9438 CUBIC: ``W_cubic(t) = C*(t - K)**3 + W_max`` segments, t seconds since the congestion-avoidance
    epoch began, ``K = cbrt((W_max - cwnd_epoch)/C)``.

    Per ACK in congestion avoidance, cwnd moves towards ``target = W_cubic(t + RTT)`` (clamped to
    ``[cwnd, 1.5*cwnd]``) by ``(target - cwnd)/cwnd`` per acknowledged segment (as Linux counts, so delayed ACKs
    do not halve the growth), unless the Reno-friendly estimate ``W_est`` (grown by
    ``alpha = 3*(1-beta)/(1+beta)`` segments per window of acknowledged segments) is above ``W_cubic(t)``: then
    cwnd is ``W_est`` (the TCP-friendly region). A congestion event sets ``W_max`` to cwnd (or, with fast
    convergence, to ``cwnd*(1+beta)/2`` when cwnd is below the previous ``W_max``) and ssthresh to
    ``max(cwnd*beta, 2*MSS)``. Slow start is :class:`NewReno`'s.

    >>> Cubic()
    Cubic(c=0.4, beta=0.7, fast_convergence=True)
    >>> round(Cubic().k_for(100.0), 3)               # K = cbrt(W_max*(1-beta)/C) after a reduction
    4.217
    """

    c: float = 0.4
    beta: float = 0.7
    fast_convergence: bool = True

    def __post_init__(self) -> None:
        if not (self.c > 0 and math.isfinite(self.c)):
            raise ConfigError(f"Cubic.c: expected a positive number (RFC 9438: 0.4), got {self.c!r}")
        if not 0 < self.beta < 1:
            raise ConfigError(f"Cubic.beta: expected 0 < beta < 1 (RFC 9438: 0.7), got {self.beta!r}")

    def k_for(self, w_max: float) -> float:
        """K (seconds) for a window reduced from *w_max* segments to ``beta*w_max``."""
        return float(math.cbrt(w_max * (1 - self.beta) / self.c))

    def w_cubic(self, t_s: float, w_max: float, k_s: float) -> float:
        """W_cubic(t) in segments (RFC 9438 (1))."""
        return self.c * (t_s - k_s) ** 3 + w_max

    def init(self, w: CongestionState, now_s: float) -> None:
        w.ca = _CubicVars()

    def on_ack(self, w: CongestionState, acked_bytes: int, now_s: float) -> None:
        if w.cwnd < w.ssthresh:
            _slow_start(w, acked_bytes)
            return
        v: _CubicVars = w.ca
        mss = w.mss
        cwnd = w.cwnd / mss
        if v.t_epoch < 0:  # a new epoch (RFC 9438 §4.2)
            v.t_epoch = now_s
            v.cwnd_epoch = v.w_est = cwnd
            if cwnd < v.w_max:
                v.k = math.cbrt((v.w_max - cwnd) / self.c)
            else:
                v.k = 0.0
                v.w_max = cwnd
        t = now_s - v.t_epoch
        rtt = w.srtt_s if w.srtt_s == w.srtt_s else 0.0  # NaN before the first sample
        acked = acked_bytes / mss
        b = self.beta
        v.w_est += 3 * (1 - b) / (1 + b) * acked / cwnd  # RFC 9438 (4)
        if self.w_cubic(t, v.w_max, v.k) < v.w_est:
            w.cwnd = v.w_est * mss  # Reno-friendly region
            return
        target = min(max(self.w_cubic(t + rtt, v.w_max, v.k), cwnd), 1.5 * cwnd)
        w.cwnd = (cwnd + (target - cwnd) / cwnd * acked) * mss

    def on_congestion(self, w: CongestionState, now_s: float) -> float:
        v: _CubicVars = w.ca
        cwnd = w.cwnd / w.mss
        v.t_epoch = -1.0
        if self.fast_convergence and cwnd < v.w_max:
            v.w_max = cwnd * (1 + self.beta) / 2  # RFC 9438 §4.7: release bandwidth to newer flows
        else:
            v.w_max = cwnd
        return max(w.cwnd * self.beta, 2.0 * w.mss)

    def restart(self, w: CongestionState, now_s: float) -> None:
        w.ca.t_epoch = -1.0  # the cubic curve starts again from the restart window


#: Congestion-control names (``TcpConfig(congestion=...)``, a scenario's ``transport.congestion``) -> class.
CONGESTION: dict[str, type] = {"none": NoCongestionControl, "newreno": NewReno, "cubic": Cubic}


def congestion_control(value: CongestionControl | str) -> CongestionControl:
    """The algorithm *value* names (``"newreno"``), or *value* itself if it already is one."""
    if isinstance(value, str):
        cls = CONGESTION.get(value)
        if cls is None:
            raise ConfigError(f"TcpConfig.congestion: unknown congestion control {value!r}"
                              + did_you_mean(value, CONGESTION))  # fmt: skip
        cc: CongestionControl = cls()
        return cc
    if not isinstance(value, CongestionControl):
        missing = [m for m in ("init", "on_ack", "on_congestion", "restart") if not callable(getattr(value, m, None))]
        raise ConfigError(f"TcpConfig.congestion: {value!r:.60} is not a congestion control: it has no "
                          f"{missing[0]}()")  # fmt: skip
    return value
