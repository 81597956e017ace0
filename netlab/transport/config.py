"""Transport parameters: one frozen value shared by the connections it is given to.

>>> TcpConfig().congestion, TcpConfig().window, TcpConfig().delays_acks, TcpConfig(min_rto_s=0.2).min_rto_s
(Cubic(c=0.4, beta=0.7, fast_convergence=True), 1048576, True, 0.2)
>>> c = TcpConfig(congestion="none"); c.congestion, c.window, c.delays_acks
(NoCongestionControl(), 65536, False)
>>> TcpConfig(delayed_ack_timeout_s=0.6)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
netlab.errors.ConfigError: TcpConfig.delayed_ack_timeout: expected 0 < timeout <= 500 ms (RFC 5681 §4.2: ...), got 0.6 s
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from netlab.errors import ConfigError
from netlab.options import Choice, key_aliases, option
from netlab.transport.congestion import CONGESTION, CongestionControl, NoCongestionControl, congestion_control

__all__ = ["DEFAULT_RWND_BYTES", "LEGACY_RWND_BYTES", "Recovery", "TcpConfig"]

#: The receive window with congestion control (bytes): 1 MiB, window scale 5. A 10 Mbit/s path with 100 ms of
#: round trip and a 1-BDP buffer (125 kB) can hold 250 kB in flight before it drops (BDP plus buffer), and a
#: Reno sawtooth peaks there, so a window of at least that size is needed for congestion control, not the
#: window, to decide the rate; 1 MiB leaves 4x that room (as Linux, whose tcp_rmem autotunes up to 6 MB) and
#: covers the bundled scenarios (their largest BDP, 100 Mbit/s x 20 ms, is 250 kB). The receiver's buffer is
#: unbounded in netlab, so a large window costs nothing until bytes arrive out of order.
DEFAULT_RWND_BYTES = 1 << 20
#: The window of ``congestion="none"`` (bytes): without congestion control the window is the only brake, so
#: it keeps the 64 KiB of netlab's transport before congestion control, and with it every figure of those runs.
LEGACY_RWND_BYTES = 65536


class Recovery(Choice):
    """How fast recovery with SACK sets the window (``transport: {recovery: ...}``)."""

    PRR = "prr"  # RFC 6937 Proportional Rate Reduction, Slow-Start Reduction Bound (Linux's and ns-3's)
    PRR_CRB = "prr_crb"  # RFC 6937 PRR with the Conservative Reduction Bound: never more than delivered
    CLASSIC = "classic"  # cwnd = ssthresh at once (RFC 6675 as written); with sack: false, RFC 6582's inflation


#: The on/off options and whether None (their default, decided by another option) is allowed.
_FLAGS = (("window_scaling", False), ("delayed_ack", True), ("sack", False), ("dsack", True), ("undo", True),
          ("trace", False))  # fmt: skip


@key_aliases
@dataclass(frozen=True, slots=True)
class TcpConfig:
    """Parameters of a TCP endpoint (sizes in bytes, times in seconds). A scenario's ``transport:`` section.

    With ``congestion="none"`` a sender keeps up to ``rwnd_bytes`` unacknowledged in flight, limited only by the
    receiver's window, and every data segment is acknowledged at once: netlab's transport before it had
    congestion control, exactly. With ``newreno`` or ``cubic`` the sender keeps ``min(rwnd, cwnd)`` in flight
    (see :mod:`netlab.transport.congestion`) and the receiver delays its ACKs. The receive window does not
    shrink while the application leaves data unread (the application's buffer is unbounded), so no
    zero-window probing is needed.

    Attributes
    ----------
    mss : int
        Maximum segment size (payload bytes per segment); a connection uses the smaller of both ends' MSS.
    rwnd_bytes : int
        Receive window advertised to the peer: the most bytes it may have unacknowledged in flight. Default
        :data:`DEFAULT_RWND_BYTES` (1 MiB) with congestion control, :data:`LEGACY_RWND_BYTES` (64 KiB) without.
    window_scaling : bool
        Offer RFC 7323 window scaling on the SYN. Both ends must offer it; otherwise every window is capped at
        65,535 bytes (the 16-bit field).
    congestion : CongestionControl or str
        ``"cubic"`` (the default, as in Linux and ns-3), ``"newreno"``, ``"none"`` or an algorithm object (read
        as one at construction).
    initial_window_segments : int
        RFC 6928 initial window, in segments (10): ``min(n*MSS, max(2*MSS, n*1460))`` bytes; 1 MSS after a
        retransmitted SYN (RFC 5681 §3.1). Also the restart window after an idle period (RFC 5681 §4.1).
    delayed_ack : bool
        Delay ACKs (RFC 1122 §4.2.3.2, RFC 5681 §4.2): one ACK for every second segment, or after
        ``delayed_ack_timeout_s``; at once for out-of-order data, a filled hole or a FIN. Default: on with
        congestion control, off with ``none``.
    delayed_ack_timeout_s : float
        Longest delay of an ACK (0.2 s, as Linux's and ns-3's; RFC 5681 caps it at 0.5 s).
    initial_rto_s, min_rto_s, max_rto_s, clock_granularity_s : float
        RFC 6298 retransmission timer: initial value (1 s), bounds (1 s, 60 s) and clock granularity G.
    dupack_threshold : int
        Duplicate ACKs that trigger a fast retransmit (3).
    sack : bool
        Send and use SACK blocks (RFC 2018, at most 3 per ACK).
    dsack : bool or None
        Report a duplicate segment as the first SACK block of the next ACK (RFC 2883 D-SACK), and count the
        retransmissions the peer's D-SACKs show were spurious. Default: on with ``sack``.
    undo : bool or None
        When D-SACKs show every retransmission of a loss episode was spurious, restore cwnd and ssthresh (and
        CUBIC's W_max and epoch) to their values before it (RFC 2883 §5, Linux's ``tcp_try_undo_dsack``).
        Default: on with ``dsack``.
    recovery : str or None
        How fast recovery sets cwnd: ``"prr"`` (RFC 6937 Proportional Rate Reduction with the Slow-Start
        Reduction Bound, as Linux and ns-3), ``"prr_crb"`` (PRR with the Conservative Reduction Bound) or
        ``"classic"`` (cwnd = ssthresh at once, RFC 6675; without SACK RFC 6582's window inflation). PRR spreads
        the window cut over the recovery's round trip, about ssthresh/FlightSize segments sent per segment
        delivered, and ends it with cwnd = ssthresh. It needs RFC 6675's pipe, so SACK. Default: ``"prr"`` with
        ``sack``, ``"classic"`` without.
    syn_retries : int
        SYN (and SYN-ACK) retransmissions before the attempt fails with ConnectionTimeout (Linux: 6).
    max_retries : int
        Consecutive retransmission timeouts of one segment before the connection fails (Linux: 15).
    time_wait_s : float
        How long the side that closes first stays in TIME_WAIT (real stacks: 2 MSL, 60 s; 0 here so that runs
        end when the transfers do).
    ttl : int
        TTL of every segment sent.
    trace : bool
        Record one row per change of cwnd, ssthresh or congestion state (the ``cwnd`` results table).
    """

    mss: int = option(1460, doc="maximum segment size (payload bytes)")
    rwnd_bytes: int | None = option(
        None, key="rwnd", unit="size", doc="receive window (default 1MiB with congestion control, 64KiB with none)"
    )
    window_scaling: bool = option(True, doc="offer RFC 7323 window scaling on SYNs")
    congestion: CongestionControl | str = option("cubic", doc="congestion control: none, newreno, cubic, or "
                                                 "module:Class(args)")  # fmt: skip
    initial_window_segments: int = option(10, key="initial_window", doc="initial window in segments (RFC 6928)")
    delayed_ack: bool | None = option(None, doc="delay ACKs (default: on with congestion control, off with none)")
    delayed_ack_timeout_s: float = option(0.2, key="delayed_ack_timeout", doc="longest ACK delay (<= 500ms)")
    initial_rto_s: float = option(1.0, key="initial_rto", doc="RFC 6298 initial retransmission timeout")
    min_rto_s: float = option(1.0, key="min_rto", doc="lower bound of the retransmission timeout")
    max_rto_s: float = option(60.0, key="max_rto", doc="upper bound of the retransmission timeout")
    clock_granularity_s: float = option(0.001, key="clock_granularity", doc="RFC 6298 clock granularity G")
    dupack_threshold: int = option(3, doc="duplicate ACKs that trigger a fast retransmit")
    sack: bool = option(True, doc="send and use SACK blocks (RFC 2018)")
    dsack: bool | None = option(None, doc="send and use D-SACK (RFC 2883; default: on with sack)")
    undo: bool | None = option(None, doc="undo a window cut every retransmission of which was D-SACKed")
    recovery: Recovery | str | None = option(None, doc="fast-recovery window: prr (RFC 6937), prr_crb or "
                                             "classic (cwnd = ssthresh at once); default prr with sack, classic "
                                             "without")  # fmt: skip
    syn_retries: int = option(6, doc="SYN retransmissions before the attempt fails")
    max_retries: int = option(15, doc="timeouts of one segment before the connection fails")
    time_wait_s: float = option(0.0, key="time_wait", doc="TIME_WAIT duration")
    ttl: int = option(64, doc="TTL of every segment")
    trace: bool = option(False, doc="record the cwnd trace (results table cwnd)")

    def __post_init__(self) -> None:
        for name, default_ok in _FLAGS:
            value = getattr(self, name)
            if not (isinstance(value, bool) or (default_ok and value is None)):
                # TcpConfig(dsack="no") would be truthy, so on: a flag must be a bool (None: its default)
                default = " (or None: the default)" if default_ok else ""
                raise ConfigError(f"TcpConfig.{name}: expected true or false{default}, got {value!r}")
        cc = congestion_control(self.congestion)
        object.__setattr__(self, "congestion", cc)
        if self.mss < 1:
            raise ConfigError(f"TcpConfig.mss: expected a positive number of bytes, got {self.mss}")
        rwnd = self.window
        if not isinstance(rwnd, int) or rwnd < 1 or rwnd >= 1 << 30:
            raise ConfigError(f"TcpConfig.rwnd_bytes: expected 1 .. 2**30 - 1 bytes, got {rwnd}")
        iw = self.initial_window_segments
        if isinstance(iw, bool) or not isinstance(iw, int) or iw < 1:
            raise ConfigError("TcpConfig.initial_window_segments (transport.initial_window): expected a whole "
                              f"number of segments >= 1, got {iw!r}")  # fmt: skip
        if not 0 < self.delayed_ack_timeout_s <= 0.5:
            raise ConfigError("TcpConfig.delayed_ack_timeout: expected 0 < timeout <= 500 ms (RFC 5681 §4.2: an ACK "
                              f"MUST NOT be delayed longer), got {self.delayed_ack_timeout_s!r} s")  # fmt: skip
        if not 0 < self.min_rto_s <= self.max_rto_s or not math.isfinite(self.max_rto_s):
            raise ConfigError(f"TcpConfig: expected 0 < min_rto_s <= max_rto_s < inf, got {self.min_rto_s}, "
                              f"{self.max_rto_s}")  # fmt: skip
        if self.initial_rto_s <= 0 or self.clock_granularity_s < 0 or self.time_wait_s < 0:
            raise ConfigError("TcpConfig: initial_rto_s must be > 0, clock_granularity_s and time_wait_s >= 0")
        if self.dupack_threshold < 1 or self.syn_retries < 0 or self.max_retries < 0 or self.ttl < 1:
            raise ConfigError("TcpConfig: dupack_threshold and ttl must be >= 1, syn_retries and max_retries >= 0")

        if self.recovery is not None:
            mode = Recovery.parse(self.recovery, "TcpConfig.recovery")
            object.__setattr__(self, "recovery", mode)
            if mode is not Recovery.CLASSIC and not self.sack:
                raise ConfigError(f"TcpConfig.recovery (transport.recovery): {mode.value} is paced by RFC "
                                  "6675's pipe, which needs SACK; got sack: false (use recovery: classic, RFC "
                                  "6582)")  # fmt: skip
        if self.dsack and not self.sack:
            raise ConfigError("TcpConfig.dsack (transport.dsack): D-SACK is a SACK block (RFC 2883), so it needs "
                              "sack: true; got dsack: true with sack: false")  # fmt: skip
        if self.undo and not self.uses_dsack:
            raise ConfigError("TcpConfig.undo (transport.undo): undo is decided by D-SACKs, so it needs dsack "
                              "(and sack) on; got undo: true with dsack or sack off")  # fmt: skip

    @property
    def recovery_mode(self) -> Recovery:
        """How fast recovery sets cwnd: ``recovery``, or PRR with SACK and classic without."""
        if self.recovery is None:
            return Recovery.PRR if self.sack else Recovery.CLASSIC
        return Recovery(self.recovery)

    @property
    def uses_dsack(self) -> bool:
        """Whether D-SACK is sent and read: ``dsack``, or ``sack``'s value."""
        return self.sack if self.dsack is None else self.dsack

    @property
    def undoes(self) -> bool:
        """Whether a spurious window cut is undone: ``undo``, or whether D-SACK is on."""
        return self.uses_dsack if self.undo is None else self.undo

    @property
    def window(self) -> int:
        """The receive window in bytes: ``rwnd_bytes``, or the default of the congestion control."""
        if self.rwnd_bytes is not None:
            return self.rwnd_bytes
        return LEGACY_RWND_BYTES if isinstance(self.congestion, NoCongestionControl) else DEFAULT_RWND_BYTES

    @property
    def delays_acks(self) -> bool:
        """Whether ACKs are delayed: ``delayed_ack``, or the default of the congestion control."""
        if self.delayed_ack is not None:
            return self.delayed_ack
        return not isinstance(self.congestion, NoCongestionControl)

    @property
    def congestion_control_name(self) -> str:
        """The registry name of the algorithm (``"cubic"``), or its repr for one of the user's own."""
        for name, cls in CONGESTION.items():
            if type(self.congestion) is cls:
                return name
        return repr(self.congestion)

    @property
    def congestion_control(self) -> CongestionControl:
        """The algorithm object (``congestion``, resolved)."""
        cc = self.congestion
        assert not isinstance(cc, str)  # resolved in __post_init__
        return cc
