"""Transport parameters: one frozen value shared by the connections it is given to.

>>> TcpConfig().mss, TcpConfig().rwnd_bytes, TcpConfig(min_rto_s=0.2).min_rto_s
(1460, 65536, 0.2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from netlab.errors import ConfigError

__all__ = ["TcpConfig"]


@dataclass(frozen=True, slots=True)
class TcpConfig:
    """Parameters of a TCP endpoint (sizes in bytes, times in seconds).

    There is no congestion control: a sender keeps up to ``rwnd_bytes`` unacknowledged in flight, limited only
    by the receiver's fixed window. The receive window does not shrink while the application leaves data
    unread (the application's buffer is unbounded), so no zero-window probing is needed.

    Attributes
    ----------
    mss : int
        Maximum segment size (payload bytes per segment); a connection uses the smaller of both ends' MSS.
    rwnd_bytes : int
        Receive window advertised to the peer: the most bytes it may have unacknowledged in flight.
    initial_rto_s, min_rto_s, max_rto_s, clock_granularity_s : float
        RFC 6298 retransmission timer: initial value (1 s), bounds (1 s, 60 s) and clock granularity G.
    dupack_threshold : int
        Duplicate ACKs that trigger a fast retransmit (3).
    sack : bool
        Send and use SACK blocks (RFC 2018, at most 3 per ACK); without them recovery is NewReno-like.
    syn_retries : int
        SYN (and SYN-ACK) retransmissions before the attempt fails with ConnectionTimeout (Linux: 6).
    max_retries : int
        Consecutive retransmission timeouts of one segment before the connection fails (Linux: 15).
    time_wait_s : float
        How long the side that closes first stays in TIME_WAIT (real stacks: 2 MSL, 60 s; 0 here so that runs
        end when the transfers do).
    ttl : int
        TTL of every segment sent.
    """

    mss: int = 1460
    rwnd_bytes: int = 65536
    initial_rto_s: float = 1.0
    min_rto_s: float = 1.0
    max_rto_s: float = 60.0
    clock_granularity_s: float = 0.001
    dupack_threshold: int = 3
    sack: bool = True
    syn_retries: int = 6
    max_retries: int = 15
    time_wait_s: float = 0.0
    ttl: int = 64

    def __post_init__(self) -> None:
        if self.mss < 1:
            raise ConfigError(f"TcpConfig.mss: expected a positive number of bytes, got {self.mss}")
        if self.rwnd_bytes < 1 or self.rwnd_bytes >= 1 << 30:
            raise ConfigError(f"TcpConfig.rwnd_bytes: expected 1 .. 2**30 - 1 bytes, got {self.rwnd_bytes}")
        if not 0 < self.min_rto_s <= self.max_rto_s or not math.isfinite(self.max_rto_s):
            raise ConfigError(f"TcpConfig: expected 0 < min_rto_s <= max_rto_s < inf, got {self.min_rto_s}, "
                              f"{self.max_rto_s}")  # fmt: skip
        if self.initial_rto_s <= 0 or self.clock_granularity_s < 0 or self.time_wait_s < 0:
            raise ConfigError("TcpConfig: initial_rto_s must be > 0, clock_granularity_s and time_wait_s >= 0")
        if self.dupack_threshold < 1 or self.syn_retries < 0 or self.max_retries < 0 or self.ttl < 1:
            raise ConfigError("TcpConfig: dupack_threshold and ttl must be >= 1, syn_retries and max_retries >= 0")
