"""The retransmission timeout of RFC 6298, as a pure estimator (no clock, no events).

Feed it round-trip samples with :meth:`RtoEstimator.sample` and tell it of expirations with
:meth:`RtoEstimator.on_timeout`; read :attr:`RtoEstimator.rto`. The rules, by RFC 6298 section:

* (2.1) before any sample, RTO = ``initial_s`` (1 s);
* (2.2) first sample R: SRTT = R, RTTVAR = R/2;
* (2.3) later samples R': RTTVAR = (1 - beta) RTTVAR + beta |SRTT - R'| (with the *old* SRTT), then
  SRTT = (1 - alpha) SRTT + alpha R'; alpha = 1/8, beta = 1/4;
* RTO = SRTT + max(G, K RTTVAR), K = 4, G the clock granularity; (2.4) at least ``min_s`` (1 s); (2.5) at
  most ``max_s`` (60 s);
* (5.5) each expiration doubles RTO (up to ``max_s``); the next valid sample recomputes it from SRTT and RTTVAR,
  which ends the backoff;
* Karn's rule (section 3): a sample from a segment that was retransmitted is ambiguous and is ignored
  (``sample(r, retransmitted=True)``).

>>> est = RtoEstimator(min_s=0.2)
>>> est.rto
1.0
>>> est.sample(0.1)               # SRTT 0.1, RTTVAR 0.05: 0.1 + 4 * 0.05
0.30000000000000004
>>> est.on_timeout(), est.on_timeout()
(0.6000000000000001, 1.2000000000000002)
>>> est.sample(0.5, retransmitted=True)   # Karn: ignored, the backoff stays
1.2000000000000002
"""

from __future__ import annotations

from netlab.errors import ConfigError

__all__ = ["RtoEstimator"]


class RtoEstimator:
    """RFC 6298 smoothed RTT, RTT variation and retransmission timeout (all in seconds).

    Parameters
    ----------
    initial_s : float
        RTO before the first sample (RFC 6298: 1 s).
    min_s, max_s : float
        Bounds of the RTO (RFC 6298: at least 1 s; at least 60 s for the maximum).
    granularity_s : float
        Clock granularity G: the RTO is at least SRTT + G.
    alpha, beta, k : float
        Gains and variance factor (1/8, 1/4, 4).
    """

    __slots__ = ("alpha", "backoffs", "beta", "granularity_s", "k", "max_s", "min_s", "rto", "rttvar", "samples",
                 "srtt")  # fmt: skip

    def __init__(self, *, initial_s: float = 1.0, min_s: float = 1.0, max_s: float = 60.0, granularity_s: float = 0.001,
                 alpha: float = 0.125, beta: float = 0.25, k: float = 4.0) -> None:  # fmt: skip
        if not 0 < min_s <= max_s:
            raise ConfigError(f"RTO bounds: expected 0 < min <= max, got min {min_s} s, max {max_s} s")
        if granularity_s < 0 or initial_s <= 0:
            raise ConfigError(
                f"RTO: expected initial > 0 and granularity >= 0, got {initial_s} s and {granularity_s} s"
            )
        self.min_s = min_s
        self.max_s = max_s
        self.granularity_s = granularity_s
        self.alpha = alpha
        self.beta = beta
        self.k = k
        self.srtt: float | None = None
        self.rttvar: float | None = None
        self.rto = min(max(initial_s, min_s), max_s)
        self.samples = 0  # valid samples taken
        self.backoffs = 0  # consecutive expirations since the last valid sample

    def __repr__(self) -> str:
        return f"RtoEstimator(srtt={self.srtt}, rttvar={self.rttvar}, rto={self.rto}, backoffs={self.backoffs})"

    def sample(self, rtt_s: float, *, retransmitted: bool = False) -> float:
        """Take the round-trip sample *rtt_s* (ignored if it timed a *retransmitted* segment); return the RTO."""
        if retransmitted:
            return self.rto  # Karn: the ACK may answer either transmission
        srtt = self.srtt
        if srtt is None or self.rttvar is None:
            srtt = rtt_s
            self.rttvar = rtt_s / 2
        else:
            self.rttvar = (1 - self.beta) * self.rttvar + self.beta * abs(srtt - rtt_s)
            srtt = (1 - self.alpha) * srtt + self.alpha * rtt_s
        self.srtt = srtt
        self.samples += 1
        self.backoffs = 0
        rto = srtt + max(self.granularity_s, self.k * self.rttvar)
        self.rto = min(max(rto, self.min_s), self.max_s)
        return self.rto

    def on_timeout(self) -> float:
        """The retransmission timer expired: back off (double the RTO, up to ``max_s``); return the new RTO."""
        self.backoffs += 1
        self.rto = min(2 * self.rto, self.max_s)
        return self.rto

    def restart_at(self, rto_s: float) -> None:
        """Set the RTO to *rto_s* without a sample (RFC 6298 (5.7): 3 s after a SYN timed out)."""
        self.rto = min(max(rto_s, self.min_s), self.max_s)
