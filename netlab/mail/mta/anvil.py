"""anvil: Postfix's per-client connection count and rate limits for smtpd.

``smtpd_client_connection_count_limit`` caps the simultaneous connections of one client address,
``smtpd_client_connection_rate_limit`` the connections it opens per ``anvil_rate_time_unit`` (60 s). As anvil does,
the rate is counted in fixed time units that start with a client's first connection after the last unit ended, and
every connection attempt counts, also a refused one. Over either limit smtpd answers the connection with ``421
4.7.0 <host> Error: too many connections from <ip>`` and closes it; the client retries later (a 421 greeting is a
temporary failure). Clients in ``trusted`` (``$mynetworks``, Postfix's ``smtpd_client_event_limit_exceptions``)
are exempt. A limit of 0 is no limit; Postfix's default count limit is 50, netlab's is 0 so that scenarios that do
not ask for anvil run as before.

>>> a = Anvil(count_limit=0, rate_limit=2)
>>> [a.connect("10.0.0.1", t) for t in (0.0, 1.0, 2.0, 61.0)]
[None, None, 'rate', None]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netlab.mail.smtp.reply import Reply

__all__ = ["Anvil", "too_many_connections"]


@dataclass(slots=True)
class Anvil:
    """The connection counts of one smtpd (limits 0 = none; *time_unit_s* in seconds)."""

    count_limit: int = 0
    rate_limit: int = 0
    time_unit_s: float = 60.0
    active: dict[str, int] = field(default_factory=dict)
    _rate: dict[str, tuple[float, int]] = field(default_factory=dict, repr=False)  # ip -> (unit start, count)
    refused: int = 0

    def connect(self, ip: str, now: float) -> str | None:
        """Count a connection of *ip* at *now*; ``"count"`` or ``"rate"`` if it is over a limit (then it is not
        counted as active), else None (it is active until :meth:`disconnect`)."""
        start, n = self._rate.get(ip, (now, 0))
        if now - start >= self.time_unit_s:
            start, n = now, 0
        self._rate[ip] = (start, n + 1)
        if self.rate_limit and n + 1 > self.rate_limit:
            self.refused += 1
            return "rate"
        if self.count_limit and self.active.get(ip, 0) + 1 > self.count_limit:
            self.refused += 1
            return "count"
        self.active[ip] = self.active.get(ip, 0) + 1
        return None

    def disconnect(self, ip: str) -> None:
        """A connection counted by :meth:`connect` ended."""
        left = self.active.get(ip, 0) - 1
        if left > 0:
            self.active[ip] = left
        else:
            self.active.pop(ip, None)

    def rate(self, ip: str) -> int:
        """Connections of *ip* in its current time unit."""
        return self._rate.get(ip, (0.0, 0))[1]


def too_many_connections(hostname: str, ip: str) -> Reply:
    """Postfix's reply to a client over a connection limit."""
    return Reply(421, f"{hostname} Error: too many connections from {ip}", "4.7.0")
