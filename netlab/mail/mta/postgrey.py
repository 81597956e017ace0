"""postgrey: greylisting (RFC 6647) with postgrey's defaults, as Postfix asks it at RCPT time.

The key is the triplet (client network, envelope sender, envelope recipient), the client's /24 as postgrey's
default ``--lookup-by-subnet``. A triplet seen for the first time is deferred (``450 4.2.0 ... Greylisted``); so is
any retry sooner than ``delay`` (300 s) after the first attempt. The first retry after the delay passes, and the
triplet passes from then on until it has not been seen for ``max_age`` (35 days). A retry that comes only after
``retry_window`` (2 days) counts as a first attempt again. A client whose triplets have passed ``awl`` times (5,
postgrey's ``--auto-whitelist-clients``) is no longer greylisted at all.

The deferral is the sending MTA's problem: its queue retries on its own schedule (Postfix: the next deferred-queue
scan at least ``minimal_backoff`` later), so greylisted mail arrives after about ``delay`` plus the wait for that
scan; a bot that never retries never delivers. State lives in the server's memory for the run (postgrey's DB).

>>> g = Postgrey()
>>> g.check("10.0.0.7", "a@a.test", "b@b.test", now=0.0).action  # same /24 as 10.0.0.9: one triplet
'greylist'
>>> g.check("10.0.0.9", "a@a.test", "b@b.test", now=100.0)
GreyDecision(action='greylist', reason='early-retry', delay_s=None)
>>> g.check("10.0.0.7", "a@a.test", "b@b.test", now=301.0)
GreyDecision(action='pass', reason='triplet found', delay_s=301.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netlab.mail.smtp.reply import Reply

__all__ = ["GreyDecision", "Postgrey", "greylisted_reply"]


@dataclass(frozen=True, slots=True)
class GreyDecision:
    """What postgrey says: *action* ``greylist`` or ``pass``, its *reason* (postgrey's words) and, for a triplet
    that passes the first time, how long it was held (seconds since its first attempt)."""

    action: str
    reason: str
    delay_s: float | None = None


@dataclass(slots=True)
class _Triplet:
    first_s: float
    last_s: float
    passed: bool = False


@dataclass(slots=True)
class Postgrey:
    """The greylisting state of one server (times in seconds)."""

    delay_s: float = 300.0
    retry_window_s: float = 2 * 86400.0
    max_age_s: float = 35 * 86400.0
    awl: int = 5  # 0: no auto-whitelisting
    _triplets: dict[tuple[str, str, str], _Triplet] = field(default_factory=dict, repr=False)
    _clients: dict[str, int] = field(default_factory=dict, repr=False)  # passes per client network
    greylisted: int = 0
    passed: int = 0

    @staticmethod
    def network(ip: str) -> str:
        """The client's /24 (postgrey's ``--lookup-by-subnet``)."""
        return ip.rpartition(".")[0] + ".0/24" if ip.count(".") == 3 else ip

    def check(self, client_ip: str, sender: str, rcpt: str, now: float) -> GreyDecision:
        """Decide for one RCPT at time *now*."""
        net = self.network(client_ip)
        if self.awl and self._clients.get(net, 0) >= self.awl:
            self.passed += 1
            return GreyDecision("pass", "client AWL")
        key = (net, sender.lower(), rcpt.lower())
        t = self._triplets.get(key)
        if t is not None and now - t.last_s > self.max_age_s:
            t = None  # forgotten (postgrey's --max-age)
        if t is None or (not t.passed and now - t.first_s > self.retry_window_s):
            self._triplets[key] = _Triplet(now, now)
            self.greylisted += 1
            return GreyDecision("greylist", "new")
        if not t.passed and now - t.first_s < self.delay_s:
            t.last_s = now
            self.greylisted += 1
            return GreyDecision("greylist", "early-retry")
        first_pass = not t.passed
        t.passed, t.last_s = True, now
        self._clients[net] = self._clients.get(net, 0) + 1
        self.passed += 1
        return GreyDecision("pass", "triplet found", now - t.first_s if first_pass else None)


def greylisted_reply(rcpt: str, domain: str) -> Reply:
    """Postfix's reply for postgrey's ``DEFER_IF_PERMIT`` (postgrey's default text)."""
    return Reply(450, f"<{rcpt}>: Recipient address rejected: Greylisted, see "
                 f"http://postgrey.schweikert.ch/help/{domain}.html", "4.2.0")  # fmt: skip
