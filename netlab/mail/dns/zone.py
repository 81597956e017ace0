"""DNS zone data: A, MX, TXT and CNAME records, validated once into a :class:`ZoneSet` that answers lookups.

Pure Python (no SimPy, no network, no dnspython): :class:`~netlab.mail.dns.server.DnsServer` puts these answers
on the wire. Names are case-insensitive and stored lower-case without the trailing dot; ``"."`` (the root) is
only allowed as the target of a null MX (RFC 7505). One authoritative data set serves every simulated domain,
so a name is *unknown* (NXDOMAIN) unless it owns a record or is an ancestor of a name that does (an "empty
non-terminal", which exists but has no data, RFC 8020).

>>> zones = build_zones([
...     Record("example.org", "MX", "mx1.example.org", 300, preference=10),
...     Record("mx1.example.org", "A", "10.0.0.2", 300),
...     Record("www.example.org", "CNAME", "mx1.example.org", 60),
... ])
>>> zones.lookup("WWW.example.org.", "A")
ZoneAnswer(rcode='NOERROR', answer=(Record('www.example.org', 'CNAME', 'mx1.example.org', 60), \
Record('mx1.example.org', 'A', '10.0.0.2', 300)), additional=())
>>> zones.lookup("nowhere.example.org", "A").rcode
'NXDOMAIN'
>>> build_zones([Record("a.org", "CNAME", "b.org", 60), Record("b.org", "CNAME", "a.org", 60)])
Traceback (most recent call last):
...
netlab.mail.dns.zone.ZoneError: records[0] (a.org 60 CNAME b.org): CNAME loop a.org -> b.org -> a.org
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from netlab.errors import ConfigError

__all__ = ["MAX_CNAME_CHAIN", "RECORD_TYPES", "Record", "ZoneAnswer", "ZoneError", "ZoneSet", "build_zones",
           "normalize_name"]  # fmt: skip

#: The record types the lab serves.
RECORD_TYPES = ("A", "MX", "TXT", "CNAME")
#: The longest CNAME chain followed in one answer (resolvers give up around here too).
MAX_CNAME_CHAIN = 8
#: The largest TTL (seconds) a record may have (RFC 2181 §8: 2**31 - 1).
MAX_TTL_S = 2**31 - 1

# LDH labels, plus "_" for service names such as _dmarc and _domainkey; no leading or trailing hyphen.
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)\Z")


class ZoneError(ConfigError):
    """DNS records that cannot be served as given; the message names the record (``records[i] (text)``)."""


def normalize_name(name: str) -> str:
    """*name* lower-cased without its trailing dot; ``"."`` stays the root. Raises ZoneError if malformed.

    >>> normalize_name("Mail.Example.ORG.")
    'mail.example.org'
    """
    if not isinstance(name, str):
        raise ZoneError(f"expected a domain name, got {name!r}")
    if name == ".":
        return name
    text = name.lower().removesuffix(".")
    if not text or len(text) > 253:
        raise ZoneError(f"malformed domain name {name!r}: expected 1 to 253 characters")
    for label in text.split("."):
        if not _LABEL.match(label):
            raise ZoneError(f"malformed domain name {name!r}: bad label {label!r} (letters, digits, '-', '_'; "
                            "1 to 63 characters, no leading or trailing '-')")  # fmt: skip
    return text


@dataclass(frozen=True, slots=True)
class Record:
    """One resource record: *name* owns *value* of type *rtype* for *ttl_s* seconds.

    Parameters
    ----------
    name : str
        Owner name (normalised: lower case, no trailing dot).
    rtype : {"A", "MX", "TXT", "CNAME"}
    value : str
        A: an IPv4 address; MX: the exchange host (``"."`` for a null MX); CNAME: the canonical name;
        TXT: the text (UTF-8 on the wire, cut into 255-byte strings).
    ttl_s : int or float
        Time to live in whole seconds, 0 to 2**31 - 1 (0: never cached); a float must have no fraction (``3600.0``
        from a scenario's time units), and is kept as an int.
    preference : int, optional
        MX only, 0 to 65535 (lower is preferred); must be None for other types.
    """

    name: str
    rtype: str
    value: str
    ttl_s: float = 3600  # an int after __post_init__
    preference: int | None = field(default=None)

    def __post_init__(self) -> None:
        rtype = str(self.rtype).upper()
        if rtype not in RECORD_TYPES:
            raise ZoneError(f"{self.name!r}: record type must be one of {', '.join(RECORD_TYPES)}, got {self.rtype!r}")
        object.__setattr__(self, "rtype", rtype)
        name = normalize_name(self.name)
        if name == ".":
            raise ZoneError(f"{self.name!r} {rtype}: the root cannot own records here")
        object.__setattr__(self, "name", name)
        ttl = self.ttl_s
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl != int(ttl) or not 0 <= ttl <= MAX_TTL_S:
            raise ZoneError(f"{name} {rtype}: ttl must be whole seconds in 0..{MAX_TTL_S}, got {ttl!r}")
        object.__setattr__(self, "ttl_s", int(ttl))
        pref = self.preference
        if rtype == "MX":
            if isinstance(pref, bool) or not isinstance(pref, int) or not 0 <= pref <= 65535:
                raise ZoneError(f"{name} MX: preference must be an integer in 0..65535, got {pref!r}")
        elif pref is not None:
            raise ZoneError(f"{name} {rtype}: only MX records have a preference, got {pref!r}")
        value = self.value
        if not isinstance(value, str):
            raise ZoneError(f"{name} {rtype}: value must be a string, got {value!r}")
        if rtype == "A":
            try:
                value = str(ipaddress.IPv4Address(value))
            except ValueError:
                raise ZoneError(f"{name} A: expected an IPv4 address, got {value!r}") from None
        elif rtype in ("MX", "CNAME"):
            value = normalize_name(value)
            if value == "." and rtype == "CNAME":
                raise ZoneError(f"{name} CNAME: the target cannot be the root")
        object.__setattr__(self, "value", value)

    def __str__(self) -> str:
        """Zone-file style: ``example.org 300 MX 10 mx1.example.org``."""
        data = f"{self.preference} {self.value}" if self.rtype == "MX" else self.value
        return f"{self.name} {self.ttl_s} {self.rtype} {data}"

    def __repr__(self) -> str:
        pref = "" if self.preference is None else f", preference={self.preference}"
        return f"Record({self.name!r}, {self.rtype!r}, {self.value!r}, {self.ttl_s}{pref})"

    @property
    def is_null_mx(self) -> bool:
        """True for ``MX 0 .``: the domain accepts no mail (RFC 7505)."""
        return self.rtype == "MX" and self.value == "."


@dataclass(frozen=True, slots=True)
class ZoneAnswer:
    """What the zones say to one question: ``rcode`` (``NOERROR`` or ``NXDOMAIN``), the answer records (the CNAME
    chain first, then the records of the type asked for) and additional records (A records of MX targets)."""

    rcode: str
    answer: tuple[Record, ...] = ()
    additional: tuple[Record, ...] = ()


class ZoneSet:
    """Validated records, indexed for lookups; build one with :func:`build_zones`."""

    __slots__ = ("_data", "_existing", "records")

    def __init__(self, records: tuple[Record, ...]) -> None:
        self.records = records
        self._data: dict[str, dict[str, tuple[Record, ...]]] = {}
        for rec in records:
            by_type = self._data.setdefault(rec.name, {})
            by_type[rec.rtype] = (*by_type.get(rec.rtype, ()), rec)
        self._existing = set(self._data)
        for name in self._data:
            parts = name.split(".")
            self._existing.update(".".join(parts[i:]) for i in range(1, len(parts)))
        if self._data:
            self._existing.add(".")

    def __repr__(self) -> str:
        return f"<ZoneSet {len(self.records)} records, {len(self._data)} names>"

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __contains__(self, name: object) -> bool:
        """Whether *name* exists (owns records or has descendants that do)."""
        return isinstance(name, str) and _lower(name) in self._existing

    def get(self, name: str, rtype: str) -> tuple[Record, ...]:
        """The records of type *rtype* owned by *name* itself (no CNAME following)."""
        return self._data.get(_lower(name), {}).get(rtype.upper(), ())

    def lookup(self, name: str, rtype: str) -> ZoneAnswer:
        """Answer the question (*name*, *rtype*) as an authoritative server does.

        Follows CNAMEs (unless *rtype* is CNAME) up to :data:`MAX_CNAME_CHAIN` links; the rcode is that of the
        last name in the chain (RFC 6604). An unknown *rtype* (``"AAAA"``) gets no data, not an error. For MX
        answers the A records of the targets go in ``additional``.
        """
        qname, rtype = _lower(name), rtype.upper()
        chain: list[Record] = []
        for _ in range(MAX_CNAME_CHAIN + 1):
            by_type = self._data.get(qname)
            if by_type is None:
                return ZoneAnswer("NOERROR" if qname in self._existing else "NXDOMAIN", tuple(chain))
            cname = by_type.get("CNAME")
            if cname and rtype != "CNAME":
                chain.append(cname[0])
                qname = cname[0].value
                continue
            found = by_type.get(rtype, ())
            extra: tuple[Record, ...] = ()
            if rtype == "MX":
                extra = tuple(a for mx in found for a in self.get(mx.value, "A"))
            return ZoneAnswer("NOERROR", (*chain, *found), extra)
        return ZoneAnswer("SERVFAIL", tuple(chain))  # unreachable for validated zones: loops are rejected


def build_zones(records: Iterable[Record]) -> ZoneSet:
    """Validate *records* and index them for lookups.

    Raises
    ------
    ZoneError
        Naming the record (``records[i] (text)``) for: a CNAME next to other data at its name or a second
        CNAME (RFC 2181 §10.1); a CNAME loop (``a -> b -> a``) or a chain longer than :data:`MAX_CNAME_CHAIN`;
        an MX target without an A record of its own, including one that is an alias (RFC 2181 §10.3); a null
        MX that is not ``MX 0 .`` alone (RFC 7505 §3); a duplicate record; records of one name and type with
        different TTLs (RFC 2181 §5.2); anything that is not a :class:`Record`.
    """
    recs = tuple(records)
    where: dict[Record, int] = {}
    first_of: dict[tuple[str, str], Record] = {}
    for i, rec in enumerate(recs):
        if not isinstance(rec, Record):
            raise ZoneError(f"records[{i}]: expected a Record, got {rec!r}")
        if rec in where:
            raise ZoneError(f"records[{i}] ({rec}): duplicate of records[{where[rec]}]")
        where[rec] = i
        twin = first_of.setdefault((rec.name, rec.rtype), rec)
        if twin.ttl_s != rec.ttl_s:
            raise ZoneError(f"records[{i}] ({rec}): TTL differs from records[{where[twin]}] ({twin}); "
                            "all records of one name and type share one TTL (RFC 2181 §5.2)")  # fmt: skip
    zones = ZoneSet(recs)

    def fail(rec: Record, why: str) -> ZoneError:
        return ZoneError(f"records[{where[rec]}] ({rec}): {why}")

    for name, by_type in zones._data.items():
        cnames = by_type.get("CNAME", ())
        if len(cnames) > 1:
            raise fail(cnames[1], f"{name} has more than one CNAME")
        if cnames and len(by_type) > 1:
            other = next(r for t, rs in by_type.items() if t != "CNAME" for r in rs)
            raise fail(cnames[0], f"a CNAME cannot sit alongside other data ({other}) (RFC 2181 §10.1)")
        mxs = by_type.get("MX", ())
        for mx in mxs:
            if mx.is_null_mx:
                if mx.preference != 0 or len(mxs) > 1:
                    raise fail(mx, "a null MX must be the only MX of its domain, with preference 0 (RFC 7505 §3)")
            elif zones.get(mx.value, "CNAME"):
                raise fail(mx, f"MX target {mx.value} is an alias (CNAME); it must name a host (RFC 2181 §10.3)")
            elif not zones.get(mx.value, "A"):
                raise fail(mx, f"MX target {mx.value} has no A record")
    for rec in recs:
        if rec.rtype == "CNAME":
            _check_chain(zones, rec, fail)
    return zones


def _check_chain(zones: ZoneSet, start: Record, fail: Callable[[Record, str], ZoneError]) -> None:
    path = [start.name]
    rec = start
    while True:
        path.append(rec.value)
        if rec.value in path[:-1]:
            raise fail(start, "CNAME loop " + " -> ".join(path))
        if len(path) > MAX_CNAME_CHAIN + 1:
            raise fail(start, f"CNAME chain longer than {MAX_CNAME_CHAIN}: " + " -> ".join(path))
        nxt = zones.get(rec.value, "CNAME")
        if not nxt:
            return
        rec = nxt[0]


def _lower(name: str) -> str:
    return name.lower().removesuffix(".") if name != "." else name
