"""trivial-rewrite of one MTA: the class of a recipient address and where it goes next.

Postfix's trivial-rewrite resolves every recipient to an address class and a next hop. Here a domain the server
is final destination for (an mx's ``domains``) is *local*: delivered to the host's mailboxes, with no DNS lookup.
Every other domain goes to the ``smarthost`` when there is one, else to the domain's MX hosts; a
``relay_domains`` domain is one this server relays for anyone (a backup MX). An MSA completes bare names with its
own domain (``myorigin``; RFC 6409 §4.2).

>>> r = TrivialRewrite(local_domains={"B.test"}, relay_domains={"c.test"})
>>> r.next_hop("bob@b.TEST"), r.next_hop("eve@Far.test"), r.is_local("bob@b.test"), r.is_relay_domain("x@C.test")
('local', 'far.test', True, True)
>>> TrivialRewrite(smarthost="relay").next_hop("eve@far.test")
'[relay]'
"""

from __future__ import annotations

from collections.abc import Iterable

from netlab.mail.content.address import Address

__all__ = ["LOCAL", "TrivialRewrite"]

LOCAL = "local"
"""The next hop of a local recipient (its delivery agent is ``local``)."""


class TrivialRewrite:
    """Address classes and next hops of one MTA (see the module docstring).

    Parameters
    ----------
    local_domains
        Domains delivered here (case-insensitive).
    relay_domains
        Domains relayed for any client (case-insensitive).
    smarthost
        Host that takes all non-local mail, or None to look up each domain's MX.
    myorigin
        Domain that completes bare names (an MSA's), or None to refuse them.
    """

    __slots__ = ("local_domains", "myorigin", "relay_domains", "smarthost")

    def __init__(self, *, local_domains: Iterable[str] = (), relay_domains: Iterable[str] = (),
                 smarthost: str | None = None, myorigin: str | None = None) -> None:  # fmt: skip
        self.local_domains = frozenset(d.lower() for d in local_domains)
        self.relay_domains = frozenset(d.lower() for d in relay_domains)
        self.smarthost = smarthost
        self.myorigin = myorigin

    def __repr__(self) -> str:
        return (f"TrivialRewrite(local_domains={sorted(self.local_domains)}, relay_domains="
                f"{sorted(self.relay_domains)}, smarthost={self.smarthost!r}, myorigin={self.myorigin!r})")  # fmt: skip

    def is_local(self, rcpt: str) -> bool:
        """True if this server is final destination for *rcpt*'s domain (local delivery, no DNS)."""
        return Address.split(rcpt).domain in self.local_domains

    def is_relay_domain(self, rcpt: str) -> bool:
        """True if *rcpt*'s domain is relayed for anyone (``relay_domains``)."""
        return Address.split(rcpt).domain in self.relay_domains

    def next_hop(self, rcpt: str) -> str:
        """The next-hop group of *rcpt*: ``local``, ``[smarthost]`` or the recipient's domain (lower case)."""
        domain = Address.split(rcpt).domain
        if domain in self.local_domains:
            return LOCAL
        if self.smarthost is not None:
            return f"[{self.smarthost}]"
        return domain
