"""The stub resolver (TTL cache, query ids, timeouts and retries) and the MX target selection of RFC 5321 §5.1.

A :class:`Resolver` sends real DNS queries (``dns.message.make_query(...).to_wire()``) as datagrams to one
server and reads the answers; a lookup is an event whose value is a list of
:class:`~netlab.mail.dns.zone.Record`. Failures are exceptions an MTA maps onto its queue::

    NetlabError
    └── DnsError
        ├── DnsTempFail       no answer after every retry, SERVFAIL or another server error: try later (4.4.3)
        └── DnsPermFail       permanent: bounce
            ├── DnsNxDomain   the name does not exist (NXDOMAIN, or a malformed name) (5.4.4)
            ├── DnsNoAddress  no MX and no A record, or no MX host has an address (5.4.4)
            ├── NullMx        the domain publishes ``MX 0 .``: it accepts no mail (RFC 7505; 556 5.1.10)
            └── MxLoopsBack   every MX left is this host or worse than it (RFC 5321 §5.1) (5.4.6)

Each class carries ``status``, its enhanced status code (RFC 3463) as Postfix reports it. Answers are cached
under (name, type) until ``now + ttl`` (the smallest TTL along a CNAME chain); "no data" and NXDOMAIN answers
are not cached, as RFC 2308 §5 says for answers without an SOA (the lab's server sends none). A records that
come as additional data of an MX answer are cached too, so the MX hosts' addresses usually cost no query.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from netlab.errors import ConfigError, NetlabError
from netlab.mail.dns.zone import RECORD_TYPES, Record, ZoneError, normalize_name

if TYPE_CHECKING:
    import random
    from collections.abc import Callable, Generator, Iterable

    import dns.rrset
    import simpy

    from netlab.transport.stack import TransportStack

__all__ = ["DnsError", "DnsNoAddress", "DnsNxDomain", "DnsPermFail", "DnsTempFail", "MxLoopsBack", "MxTarget",
           "NullMx", "Resolver", "ResolverStats", "mx_targets"]  # fmt: skip

Key = tuple[str, str]


class DnsError(NetlabError):
    """A DNS lookup failed; ``status`` is the enhanced status code a mail system reports for it."""

    status = "4.4.3"

    def __init__(self, message: str, *, name: str = "", rtype: str = "") -> None:
        super().__init__(message)
        self.name = name
        self.rtype = rtype


class DnsTempFail(DnsError):
    """No usable answer now (every try timed out, SERVFAIL, REFUSED, ...): queue the mail and try later."""

    status = "4.4.3"


class DnsPermFail(DnsError):
    """The answer is final and says the mail cannot be routed: return it to the sender."""

    status = "5.4.4"


class DnsNxDomain(DnsPermFail):
    """The name does not exist (NXDOMAIN), or is not a well-formed domain name."""


class DnsNoAddress(DnsPermFail):
    """The domain has neither MX nor A records, or none of its MX hosts has an address."""


class NullMx(DnsPermFail):
    """The domain publishes a null MX (``MX 0 .``, RFC 7505): it accepts no mail (556 5.1.10)."""

    status = "5.1.10"


class MxLoopsBack(DnsPermFail):
    """This host is the best MX left for the domain, so relaying would loop (RFC 5321 §5.1)."""

    status = "5.4.6"


@dataclass(frozen=True, slots=True)
class MxTarget:
    """One host to try for a domain, in order: its MX *preference*, its name and its IPv4 addresses."""

    preference: int
    host: str
    ips: tuple[str, ...]


@dataclass(slots=True)
class ResolverStats:
    """Counts of one resolver: lookups asked, answered from the cache, joined to one already in flight, queries
    sent (retries included), answers accepted, tries that timed out, NXDOMAIN answers, other error rcodes, and
    datagrams ignored (late, unknown id, wrong source or question, unparsable)."""

    lookups: int = 0
    cache_hits: int = 0
    coalesced: int = 0
    queries_sent: int = 0
    answers: int = 0
    timeouts: int = 0
    nxdomain: int = 0
    errors: int = 0
    ignored: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain dict."""
        return asdict(self)


class Resolver:
    """A stub resolver on *host* asking the DNS server at ``server = (host, port)``.

    Parameters
    ----------
    stack : TransportStack
    host : str
        The node (name or IPv4 address) the resolver runs on; it binds one ephemeral datagram port there.
    server : (str, int)
        The DNS server's node and port.
    timeout_s : float
        Seconds to wait for each answer (default 2).
    retries : int
        Queries sent again after a timeout (default 2, so 3 tries and 6 s before :class:`DnsTempFail`).
    cache : bool
        Keep answers until their TTL runs out (default True).

    Query ids come from the seeded stream ``dns/<host>/qid/<port>``, a fresh one per try; an answer to any try
    of a lookup is accepted. Concurrent lookups of the same (name, type) share one query.
    """

    def __init__(self, stack: TransportStack, host: str, server: tuple[str, int], *, timeout_s: float = 2.0,
                 retries: int = 2, cache: bool = True) -> None:  # fmt: skip
        if not timeout_s > 0:
            raise ConfigError(f"Resolver: timeout_s must be > 0, got {timeout_s!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError(f"Resolver: retries must be an integer >= 0, got {retries!r}")
        self.env = stack.env
        self.socket = stack.bind(host)
        self.server = (stack.node(server[0]).ip, int(server[1]))
        self.timeout_s = float(timeout_s)
        self.retries = retries
        self.cache = cache
        self.stats = ResolverStats()
        self._ids = stack.net.stream("dns", self.socket.endpoint.node.name, "qid", self.socket.port)
        self._cache: dict[Key, tuple[float, tuple[Record, ...]]] = {}
        self._pending: dict[int, tuple[simpy.Event, dns.message.Message]] = {}
        self._inflight: dict[Key, simpy.Process] = {}
        self.process: simpy.Process = self.env.process(self._receive())

    def __repr__(self) -> str:
        node = self.socket.endpoint.node.name
        return f"<Resolver {node}:{self.socket.port} -> {self.server[0]}:{self.server[1]}>"

    def query(self, name: str, rtype: str) -> simpy.Event:
        """Event: the records of type *rtype* for *name* (CNAMEs followed; ``[]`` if the name has none).

        Fails with :class:`DnsNxDomain` or :class:`DnsTempFail`. Raises ConfigError at once for a type other
        than A, MX, TXT or CNAME.
        """
        rtype = rtype.upper()
        if rtype not in RECORD_TYPES:
            raise ConfigError(f"Resolver.query: type must be one of {', '.join(RECORD_TYPES)}, got {rtype!r}")
        self.stats.lookups += 1
        try:
            key = (normalize_name(name), rtype)
        except ZoneError as exc:
            return self.env.event().fail(DnsNxDomain(f"{name!r} {rtype}: {exc}", name=str(name), rtype=rtype))
        hit = self._cache.get(key)
        if hit is not None and self.env.now < hit[0]:
            self.stats.cache_hits += 1
            return self.env.event().succeed(list(hit[1]))
        proc = self._inflight.get(key)
        if proc is not None:
            self.stats.coalesced += 1
            return proc
        proc = self._inflight[key] = self.env.process(self._lookup(key))
        proc.callbacks.append(lambda _ev: self._done(key))
        return proc

    def _done(self, key: Key) -> None:
        self._inflight.pop(key, None)

    def cached(self, name: str, rtype: str) -> list[Record] | None:
        """The unexpired cached answer for (*name*, *rtype*), or None; sends nothing."""
        hit = self._cache.get((normalize_name(name), rtype.upper()))
        return list(hit[1]) if hit is not None and self.env.now < hit[0] else None

    def flush(self) -> None:
        """Forget every cached answer."""
        self._cache.clear()

    # ------------------------------------------------------------------ one lookup
    def _lookup(self, key: Key) -> Generator[simpy.Event, Any, list[Record]]:
        name, rtype = key
        reply = self.env.event()
        sent: list[int] = []
        try:
            for _ in range(1 + self.retries):
                qid = self._new_id()
                query = dns.message.make_query(name, rtype, id=qid, use_edns=False)
                self._pending[qid] = (reply, query)
                sent.append(qid)
                self.socket.sendto(query.to_wire(), self.server)
                self.stats.queries_sent += 1
                yield reply | self.env.timeout(self.timeout_s)
                if reply.triggered:
                    break
                self.stats.timeouts += 1
        finally:
            for qid in sent:
                self._pending.pop(qid, None)
        if not reply.triggered:
            raise DnsTempFail(f"{name} {rtype}: no answer from {self.server[0]}:{self.server[1]} after {len(sent)} "
                              f"tries of {self.timeout_s:g} s", name=name, rtype=rtype)  # fmt: skip
        msg = reply.value
        assert isinstance(msg, dns.message.Message)
        rcode = msg.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            self.stats.nxdomain += 1
            raise DnsNxDomain(f"{name} {rtype}: no such domain (NXDOMAIN)", name=name, rtype=rtype)
        if rcode != dns.rcode.NOERROR:
            self.stats.errors += 1
            raise DnsTempFail(f"{name} {rtype}: server answered {dns.rcode.to_text(rcode)}", name=name, rtype=rtype)
        return self._accept(name, rtype, msg)

    def _accept(self, name: str, rtype: str, msg: dns.message.Message) -> list[Record]:
        """The records of a NOERROR answer, following its CNAME chain from *name*; caches what it may."""
        by_key = {(rrset.name.to_text(omit_final_dot=True).lower(), dns.rdatatype.to_text(rrset.rdtype)): rrset
                  for rrset in msg.answer}  # fmt: skip
        current, ttl = name, None
        for _ in range(len(msg.answer)):
            alias = by_key.get((current, "CNAME")) if rtype != "CNAME" else None
            if alias is None:
                break
            ttl = alias.ttl if ttl is None else min(ttl, alias.ttl)
            current = normalize_name(alias[0].target.to_text())
        final = by_key.get((current, rtype))
        if final is None:
            return []  # no data: not cached (RFC 2308 §5, no SOA)
        records = tuple(_records(final))
        now = self.env.now
        if self.cache:
            self._store((name, rtype), now, final.ttl if ttl is None else min(ttl, final.ttl), records)
            if current != name:
                self._store((current, rtype), now, final.ttl, records)
            if rtype == "MX":
                targets = {rec.value for rec in records}
                for extra in msg.additional:
                    host = extra.name.to_text(omit_final_dot=True).lower()
                    if extra.rdtype == dns.rdatatype.A and host in targets:
                        self._store((host, "A"), now, extra.ttl, tuple(_records(extra)))
        return list(records)

    def _store(self, key: Key, now: float, ttl: int, records: tuple[Record, ...]) -> None:
        if ttl > 0:
            self._cache[key] = (now + ttl, records)

    def _new_id(self) -> int:
        while True:
            qid = self._ids.getrandbits(16)
            if qid not in self._pending:
                return qid

    # ------------------------------------------------------------------ the receiving side
    def _receive(self) -> Generator[simpy.Event, Any, None]:
        """Hand each answer to the lookup waiting for its id; ignore everything else."""
        while True:
            data, addr = yield self.socket.recvfrom()
            if addr != self.server:
                self.stats.ignored += 1
                continue
            try:
                msg = dns.message.from_wire(data)
            except (dns.exception.DNSException, ValueError):
                self.stats.ignored += 1
                continue
            waiting = self._pending.get(msg.id)
            if waiting is None or waiting[0].triggered or not waiting[1].is_response(msg):
                self.stats.ignored += 1
                continue
            self.stats.answers += 1
            waiting[0].succeed(msg)


def _records(rrset: dns.rrset.RRset) -> list[Record]:
    """dnspython RRset -> list of Record."""
    name, ttl, kind = rrset.name.to_text(), rrset.ttl, dns.rdatatype.to_text(rrset.rdtype)
    if kind == "A":
        return [Record(name, "A", rd.address, ttl) for rd in rrset]
    if kind == "MX":
        return [Record(name, "MX", rd.exchange.to_text(), ttl, preference=rd.preference) for rd in rrset]
    if kind == "CNAME":
        return [Record(name, "CNAME", rd.target.to_text(), ttl) for rd in rrset]
    if kind == "TXT":
        return [Record(name, "TXT", b"".join(rd.strings).decode("utf-8", "replace"), ttl) for rd in rrset]
    return []


# ---------------------------------------------------------------------- MX selection
def mx_targets(resolver: Resolver, domain: str, *, rng: random.Random, my_names: Iterable[str] = ()) -> simpy.Event:
    """Event: the hosts to try for mail to *domain*, best first, as a list of :class:`MxTarget` (RFC 5321 §5.1).

    MX records are sorted by preference, lower first, and hosts of equal preference shuffled with *rng* (pass a
    seeded stream such as ``net.stream("mail", host, "mx")``). With no MX record the domain's own A record is
    an implicit MX of preference 0. If one of *my_names* (host names or IPv4 addresses of the calling MTA) is in
    the list, that preference and every worse one are dropped. Each host's A record is looked up (usually from
    the cache, filled by the MX answer's additional data); hosts without an address are left out.

    Fails with :class:`DnsNxDomain` (no such domain), :class:`NullMx` (``MX 0 .``), :class:`MxLoopsBack`
    (nothing better than this host), :class:`DnsNoAddress` (no address to try) or :class:`DnsTempFail`
    (a lookup failed for now and no host has an address).
    """
    return resolver.env.process(_mx_targets(resolver, domain, rng, my_names))


def _mx_targets(resolver: Resolver, domain: str, rng: random.Random,
                my_names: Iterable[str]) -> Generator[simpy.Event, Any, list[MxTarget]]:  # fmt: skip
    mine = {name.lower().removesuffix(".") for name in my_names}
    mxs: list[Record] = yield resolver.query(domain, "MX")
    domain = normalize_name(domain)
    if any(mx.is_null_mx for mx in mxs):
        raise NullMx(f"{domain} publishes a null MX (RFC 7505): it accepts no mail", name=domain, rtype="MX")
    candidates: list[tuple[int, str]] = []
    if not mxs:
        candidates.append((0, domain))  # implicit MX
    for pref in sorted({mx.preference for mx in mxs if mx.preference is not None}):
        hosts = sorted({mx.value for mx in mxs if mx.preference == pref} - {h for _, h in candidates})
        rng.shuffle(hosts)
        candidates.extend((pref, host) for host in hosts)
    candidates = _below_self(domain, candidates, lambda h: h in mine)
    resolved: list[tuple[int, str, tuple[str, ...]]] = []
    temp: DnsTempFail | None = None
    for pref, host in candidates:
        try:
            addresses: list[Record] = yield resolver.query(host, "A")
        except DnsPermFail:
            addresses = []
        except DnsTempFail as exc:
            addresses, temp = [], exc
        resolved.append((pref, host, tuple(rec.value for rec in addresses)))
    ips_of = {host: ips for _, host, ips in resolved}
    kept = _below_self(domain, [(p, h) for p, h, _ in resolved], lambda h: not mine.isdisjoint(ips_of[h]))
    targets = [MxTarget(p, h, ips) for p, h, ips in resolved if (p, h) in kept and ips]
    if targets:
        return targets
    if temp is not None:
        raise DnsTempFail(f"{domain}: no MX host has an address for now ({temp})", name=domain, rtype="A")
    what = "no MX and no A record" if not mxs else "no MX host has an address"
    raise DnsNoAddress(f"{domain}: {what}", name=domain, rtype="A")


def _below_self(domain: str, candidates: list[tuple[int, str]],
                is_me: Callable[[str], bool]) -> list[tuple[int, str]]:  # fmt: skip
    """RFC 5321 §5.1: drop this host's preference and every worse one; an empty result is an error."""
    own = [pref for pref, host in candidates if is_me(host)]
    if not own:
        return candidates
    kept = [(pref, host) for pref, host in candidates if pref < min(own)]
    if not kept:
        raise MxLoopsBack(f"mail for {domain} loops back to myself (best MX preference {min(own)})",
                          name=domain, rtype="MX")  # fmt: skip
    return kept
