"""A scenario's ``mail:`` section checked against its topology, and the DNS zone the section makes.

:func:`validate_mail` runs when the scenario is built, so a bad file fails at load time with the key that is wrong;
:func:`zone_records` builds the zone the DNS server serves (and finds its faults, such as CNAME loops).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

from netlab.errors import ConfigError, TopologyError
from netlab.mail.config.servers import ServerRole

if TYPE_CHECKING:
    from netlab.mail.config.section import MailSpec
    from netlab.mail.dns.zone import Record, ZoneSet
    from netlab.topology.spec import Topology

__all__ = ["TimedRecord", "dns_change_times", "validate_mail", "zone_records"]


def _hosts(topology: Topology) -> dict[str, str]:
    return {n.name: n.role for n in topology.nodes}


def _known(name: str | None, hosts: Iterable[str], where: str) -> None:
    if name is not None and name not in hosts:
        from netlab._text import did_you_mean

        raise TopologyError(f"{where}: unknown host {name!r}" + did_you_mean(name, hosts))


def validate_mail(mail: MailSpec, topology: Topology) -> None:
    """Check *mail* against *topology*: hosts exist, addresses parse, domains are known, every user has a
    mailbox, MX records point at hosts that run an MTA, the DNS zone is consistent (no CNAME loops).

    Raises
    ------
    ConfigError
        (or TopologyError) naming the key at fault, e.g. ``mail.users[2].address``.
    """
    from netlab.mail.content.address import parse_address

    hosts = _hosts(topology)
    _known(mail.dns_server, hosts, "mail.dns_server")
    seen: set[str] = set()
    for i, s in enumerate(mail.servers):
        where = f"mail.servers[{i}]"
        _known(s.host, hosts, f"{where}.host")
        if s.host in seen:
            raise ConfigError(f"{where}.host: a second server on {s.host!r} (one per host)")
        seen.add(s.host)
        for key in ("domains", "relay_domains"):
            for j, d in enumerate(getattr(s, key)):
                if mail.domain(d) is None:
                    raise ConfigError(f"{where}.{key}[{j}]: unknown domain {d!r} (not in mail.domains)")
        if s.domains and s.role == ServerRole.RELAY:
            raise ConfigError(f"{where}.domains: a relay is final destination for nothing; use role mx")
        for j, t in enumerate(s.trusted):
            _known(t, hosts, f"{where}.trusted[{j}]")
        if s.dmarc != "off" and (s.spf == "off" or not s.dkim_verify):
            raise ConfigError(f"{where}.dmarc: DMARC is judged from SPF and DKIM; set spf (tag or reject) and "
                              "dkim_verify: true on this server")  # fmt: skip
        if s.smarthost is not None:
            _known(s.smarthost, hosts, f"{where}.smarthost")
            if s.smarthost not in {x.host for x in mail.servers}:
                raise ConfigError(f"{where}.smarthost: {s.smarthost!r} runs no mail server")
            if s.smarthost == s.host:
                raise ConfigError(f"{where}.smarthost: a server cannot relay through itself")
    _check_auth_records(mail)
    for i, bl in enumerate(mail.blocklists):
        for j, x in enumerate(bl.listed):
            if x not in hosts:
                try:
                    ipaddress.IPv4Address(x)
                except ValueError:
                    raise ConfigError(f"mail.blocklists[{i}].listed[{j}]: {x!r} is neither a node nor an IPv4 "
                                      "address") from None  # fmt: skip
    servers = {s.host for s in mail.servers}
    names = set()
    for i, d in enumerate(mail.domains):
        where = f"mail.domains[{i}]"
        try:
            parse_address(f"postmaster@{d.name}")
        except ConfigError as exc:
            raise ConfigError(f"{where}.name: malformed domain {d.name!r} ({exc})") from None
        if d.name.lower() in names:
            raise ConfigError(f"{where}.name: duplicate domain {d.name!r}")
        names.add(d.name.lower())
        for j, (_pref, host) in enumerate(d.mx):
            _known(host, hosts, f"{where}.mx[{j}]")
            if host not in servers:
                raise ConfigError(f"{where}.mx[{j}]: MX host {host!r} runs no mail server (MTA)")
            if mail.server(host).role == ServerRole.MSA:
                raise ConfigError(f"{where}.mx[{j}]: MX host {host!r} is an msa (port 587); an MX must listen on 25")
        if d.null_mx and d.mx:
            raise ConfigError(f"{where}: null_mx and mx records exclude each other")
    addrs: set[str] = set()
    for i, u in enumerate(mail.users):
        where = f"mail.users[{i}]"
        try:
            a = parse_address(u.address)
        except ConfigError as exc:
            raise ConfigError(f"{where}.address: malformed address {u.address!r} ({exc})") from None
        if not a.domain:
            raise ConfigError(f"{where}.address: expected user@domain, got {u.address!r}")
        if mail.domain(a.domain) is None:
            raise ConfigError(f"{where}.address: unknown domain {a.domain!r} (not in mail.domains)")
        if mail.mailbox_host(a.domain) is None:
            raise ConfigError(f"{where}.address: user {u.address!r} has no mailbox: no mx server lists "
                              f"{a.domain!r} in its domains")  # fmt: skip
        key = mail.user_key(str(a))
        if key in addrs:
            folded = " (local parts fold case: mail.fold_local_parts)" if mail.fold_local_parts else ""
            raise ConfigError(f"{where}.address: duplicate user {u.address!r}{folded}")
        addrs.add(key)
        _known(u.client, hosts, f"{where}.client")
        if u.fetch is not None and u.client is None:
            raise ConfigError(f"{where}.fetch: the mail program needs a client host (set client)")
        if u.client is not None:
            msa = mail.msa_for(u)
            # A mail program that only fetches (its domain has no MSA) is fine; one that sends needs an MSA.
            if msa is None and u.fetch is None:
                raise ConfigError(f"{where}: no msa serves {a.domain!r}; give the user an msa")
            if msa is not None and (msa not in servers or mail.server(msa).role != ServerRole.MSA):
                raise ConfigError(f"{where}.msa: {msa!r} is not an msa server")
        for j, other in enumerate(u.may_send_as):
            try:
                parse_address(other)
            except ConfigError as exc:
                raise ConfigError(f"{where}.may_send_as[{j}]: malformed address {other!r} ({exc})") from None
    for i, m in enumerate(mail.send):
        where = f"mail.send[{i}]"
        for key, value in [("from", m.sender), *((f"to[{j}]", t) for j, t in enumerate(m.to))]:
            try:
                parse_address(value, default_domain="localhost")
            except ConfigError as exc:
                raise ConfigError(f"{where}.{key}: malformed address {value!r} ({exc})") from None
        if not m.to:
            raise ConfigError(f"{where}.to: at least one recipient")
        user = mail.user(m.sender) if "@" in m.sender else None
        if user is None or user.client is None:
            raise ConfigError(f"{where}.from: {m.sender!r} is not a user with a client host")
        if mail.msa_for(user) is None:
            raise ConfigError(f"{where}.from: no msa serves {m.sender!r}; give the user an msa")
    if mail.workload is not None:
        w = mail.workload
        if w.forger is not None:
            _bot_host(w.forger, hosts, "mail.workload.forger")
        if w.listed_clients:
            _check_listed_clients(mail, topology)
        for key in ("senders", "recipients"):
            for j, addr in enumerate(getattr(w, key)):
                if mail.user(addr) is None:
                    raise ConfigError(f"mail.workload.{key}[{j}]: unknown user {addr!r}")
        senders = w.senders or mail.default_senders()
        for sender in senders:
            who = mail.user(sender)
            if who is None or who.client is None or mail.msa_for(who) is None:
                raise ConfigError(f"mail.workload.senders: {sender!r} cannot send: every sender needs a client host "
                                  "and an msa")  # fmt: skip
        if not senders or not (w.recipients or mail.users):
            raise ConfigError("mail.workload: needs at least one sender with a client and one recipient")
    for when in (0.0, *dns_change_times(mail)):  # builds and validates each zone (CNAME loops, MX targets without A)
        zone_records(mail, topology, at=when)
    signed = {d for s in mail.servers for d in s.dkim_sign}
    for i, r in enumerate(mail.dkim_rotations):
        if r.domain.lower() not in signed:
            raise ConfigError(f"mail.dkim_rotations[{i}].domain: no server signs for {r.domain!r} (dkim_sign)")


def _bot_host(name: str, hosts: dict[str, str], where: str) -> None:
    """*name* is a node of role host: a bot of the workload (the forger, a listed client) runs on one."""
    _known(name, hosts, where)
    if hosts[name] != "host":
        raise ConfigError(f"{where}: {name!r} is a {hosts[name]}; a bot runs on a host (role: host)")


def _check_listed_clients(mail: MailSpec, topology: Topology) -> None:
    """Each of the workload's ``listed_clients`` is a host that some blocklist of ``mail.blocklists`` lists (by
    name or address, at some time of the run): otherwise its mail would be "listed" in the results only."""
    from netlab.network.network import assign_ips

    assert mail.workload is not None
    hosts = _hosts(topology)
    ips = assign_ips(topology)  # the addresses the run gives the nodes (auto-assigned where not written)
    seen: set[str] = set()
    for j, host in enumerate(mail.workload.listed_clients):
        where = f"mail.workload.listed_clients[{j}]"
        _bot_host(host, hosts, where)
        if host in seen:  # it would be picked twice as often as the others, silently
            raise ConfigError(f"{where}: {host!r} is listed twice; name each client once")
        seen.add(host)
        if not any(host in b.listed or ips[host] in b.listed for b in mail.blocklists):
            raise ConfigError(f"{where}: no blocklist lists {host!r}: add it (or its address) to the listed hosts "
                              "of a mail.blocklists entry")  # fmt: skip


def _check_auth_records(mail: MailSpec) -> None:
    """Static SPF and DMARC records parse (the library's or RFC's error, naming the record)."""
    for i, r in enumerate(mail.records):
        if r.type.upper() != "TXT":
            continue
        text = r.value.strip()
        where = f"mail.records[{i}] ({r.name} TXT {r.value!r})"
        if r.name.lower().startswith("_dmarc.") and text.replace(" ", "").startswith("v=DMARC1"):
            from netlab.mail.mta.opendmarc import DmarcRecordError, parse_dmarc

            try:
                parse_dmarc(text)
            except DmarcRecordError as exc:
                raise ConfigError(f"{where}: {exc}") from None
        elif text.lower().startswith("v=spf1"):
            from netlab.mail.mta.policyd_spf import spf_syntax_error

            why = spf_syntax_error(r.name, text)
            if why:
                raise ConfigError(f"{where}: SPF record does not parse (pyspf): {why}")


TimedRecord = tuple["Record", float, "float | None"]
"""A record and the times (s) it exists from and until (None: to the end)."""


def dns_change_times(mail: MailSpec, extra: Iterable[TimedRecord] = ()) -> list[float]:
    """The times (s, > 0) at which the zone changes: the ``from`` and ``until`` of timed records, blocklists and
    *extra* (DKIM keys published or withdrawn)."""
    windows = [(r.from_s, r.until_s) for r in mail.records] + [(b.from_s, b.until_s) for b in mail.blocklists]
    times = {t for window in windows for t in window if t}
    times |= {t for _, start, end in extra for t in (start, end) if t}
    return sorted(times)


def zone_records(mail: MailSpec, topology: Topology, extra: Iterable[TimedRecord] = (), at: float = 0.0) -> ZoneSet:
    """The DNS zone of *mail* at time *at* (s): an A record per server (its fqdn), the domains' MX records, the extra
    records and *extra* (the DKIM keys the run made) that exist then; validated by
    :func:`netlab.mail.dns.build_zones`."""
    from netlab.mail.dns import Record, build_zones
    from netlab.network.network import assign_ips

    ips = assign_ips(topology)
    ttl = mail.dns_ttl_s
    recs = [Record(s.fqdn, "A", ips[s.host], ttl) for s in mail.servers]  # type: ignore[arg-type]
    for d in mail.domains:
        if d.null_mx:
            recs.append(Record(d.name, "MX", ".", ttl, 0))
        for pref, host in d.mx:
            recs.append(Record(d.name, "MX", mail.server(host).fqdn, ttl, pref))  # type: ignore[arg-type]

    def live(start: float, end: float | None) -> bool:
        return start <= at and (end is None or at < end)

    recs.extend(
        Record(r.name, r.type.upper(), r.value, r.ttl_s if r.ttl_s is not None else ttl, r.preference)
        for r in mail.records
        if live(r.from_s, r.until_s)
    )
    recs.extend(rec for rec, start, end in extra if live(start, end))
    for bl in (b for b in mail.blocklists if live(b.from_s, b.until_s)):
        bttl = bl.ttl_s if bl.ttl_s is not None else ttl
        # RFC 5782 §5: every list carries the test entry 127.0.0.2 (and never 127.0.0.1)
        for ip in dict.fromkeys(("127.0.0.2", *(ips.get(x, x) for x in bl.listed))):
            name = ".".join(reversed(ip.split("."))) + "." + bl.zone
            recs += [Record(name, "A", "127.0.0.2", bttl), Record(name, "TXT", bl.reason, bttl)]
    by_fqdn = {s.fqdn: s.host for s in mail.servers}
    by_ip = {ips[s.host] for s in mail.servers}
    for i, r in enumerate(mail.records):
        if r.type.upper() == "MX" and r.value not in (".", "") and r.value.lower().rstrip(".") not in by_fqdn:
            targets = [x for x in mail.records if x.type.upper() == "A" and x.name.lower() == r.value.lower()]
            if targets and not any(t.value in by_ip for t in targets):
                raise ConfigError(f"mail.records[{i}]: MX target {r.value!r} is a host that runs no mail server")
    try:
        return build_zones(recs)
    except ConfigError as exc:
        raise ConfigError(f"mail DNS zone: {exc}") from None
