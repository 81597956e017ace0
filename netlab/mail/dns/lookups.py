"""Synchronous DNS hooks of the field's libraries (pyspf, dkimpy), answered by the simulated resolver.

pyspf's ``DNSLookup`` and dkimpy's ``dnsfunc`` are plain functions that return an answer at once; a lookup in the
lab is a query over the simulated network that takes time. :func:`resolve_with` bridges the two by replay: the
library's check runs with an :class:`Answers` that holds what this check has been told so far; a name it does not
hold raises :class:`NeedLookup` out of the library, the resolver is asked (packets, time, the TTL cache, DNS
faults), and the check runs again from the start with one more answer. Libraries are deterministic given their
answers, so the last run sees exactly the answers a live run would have seen, in the same order, and the lookups
are made one after another as the library makes them (SPF's evaluation is sequential). A library that swallows
exceptions with a bare ``except:`` (pyspf around ``exp=``) cannot hide a miss: every miss is also noted, and a run
that ended while something was missing is run again once it is known.

The lab's zones hold A, MX, TXT and CNAME records only; questions of any other type (AAAA, PTR, the obsolete SPF
type 99) are answered "no data" at once, without a packet.

>>> answers = Answers()
>>> answers.learn("a.example", "TXT", ("v=spf1 -all",))
>>> answers.get("a.example", "TXT")
('v=spf1 -all',)
>>> answers.get("b.example", "TXT")
Traceback (most recent call last):
...
netlab.mail.dns.lookups.NeedLookup: b.example TXT
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar

from netlab.mail.dns.resolver import DnsNxDomain, DnsTempFail
from netlab.mail.dns.zone import RECORD_TYPES

if TYPE_CHECKING:
    import simpy

    from netlab.mail.dns.resolver import Resolver
    from netlab.mail.dns.zone import Record, ZoneSet

__all__ = ["Answers", "NeedLookup", "resolve_from_zones", "resolve_with"]

T = TypeVar("T")
Values = tuple[str, ...]
"""The values of an answer (addresses, TXT texts, MX hosts with ``preference``\\ s kept in the records)."""
_MAX_ROUNDS = 200  # a library asking more than this many names in one check is broken (SPF's limit is ~30)


class NeedLookup(Exception):
    """The check needs the answer for (*name*, *rtype*) that it has not been told yet."""

    def __init__(self, name: str, rtype: str) -> None:
        super().__init__(f"{name} {rtype}")
        self.name = name
        self.rtype = rtype


class Answers:
    """The DNS answers one check has been told, by (name, type).

    :meth:`get` returns the values (``()`` for no data), None for NXDOMAIN, raises the DnsTempFail the lookup ended
    with, or raises :class:`NeedLookup` (and notes the miss) for a question not yet asked.
    """

    __slots__ = ("_got", "_records", "missing", "queries")

    def __init__(self) -> None:
        self._got: dict[tuple[str, str], Values | DnsTempFail | None] = {}
        self._records: dict[tuple[str, str], tuple[Record, ...]] = {}
        self.missing: list[tuple[str, str]] = []  # misses of the current run, in order
        self.queries = 0  # lookups made through the resolver for this check

    def __repr__(self) -> str:
        return f"<Answers {len(self._got)} known, {self.queries} queried>"

    @staticmethod
    def key(name: str, rtype: str) -> tuple[str, str]:
        """The (name, type) key: lower case, no trailing dot."""
        return str(name).lower().removesuffix("."), rtype.upper()

    def learn(self, name: str, rtype: str, values: Values | DnsTempFail | None,
              records: tuple[Record, ...] = ()) -> None:  # fmt: skip
        """Note the answer for (*name*, *rtype*)."""
        key = self.key(name, rtype)
        self._got[key] = values
        if records:
            self._records[key] = records

    def get(self, name: str, rtype: str) -> Values | None:
        """The answer for (*name*, *rtype*) (see the class docstring)."""
        key = self.key(name, rtype)
        if key[1] not in RECORD_TYPES:
            return ()  # the lab serves no other types: "no data", without a packet
        if key not in self._got:
            self.missing.append(key)
            raise NeedLookup(*key)
        got = self._got[key]
        if isinstance(got, DnsTempFail):
            raise got
        return got

    def records(self, name: str, rtype: str) -> tuple[Record, ...]:
        """The records behind a known answer (MX preferences); ``()`` if none."""
        self.get(name, rtype)
        return self._records.get(self.key(name, rtype), ())


def _rounds(check: Callable[[Answers], T], answers: Answers) -> Generator[tuple[str, str], None, T]:
    """Run *check* until it needs no more answers: yields each ``(name, rtype)`` it lacks (the caller learns the
    answer into *answers* before the next), returns the check's value."""
    for _ in range(_MAX_ROUNDS):
        answers.missing.clear()
        try:
            result = check(answers)
        except NeedLookup:
            pass
        else:
            if not answers.missing:
                return result
        for name, rtype in dict.fromkeys(answers.missing):
            answers.queries += 1
            yield name, rtype
    raise RuntimeError(f"DNS check asked more than {_MAX_ROUNDS} rounds of lookups")  # pragma: no cover


def resolve_with(resolver: Resolver, check: Callable[[Answers], T],
                 answers: Answers | None = None) -> Generator[simpy.Event, Any, T]:  # fmt: skip
    """Run *check* (a synchronous function of an :class:`Answers`) until it needs no more answers; its value.

    Each answer it lacks is asked of *resolver* (a SimPy wait of one query, or none on a cache hit) and the check
    runs again. NXDOMAIN is told as None, a failed lookup (timeouts, SERVFAIL) as the DnsTempFail it raised.
    """
    answers = Answers() if answers is None else answers
    rounds = _rounds(check, answers)
    while True:
        try:
            name, rtype = next(rounds)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        try:
            records: tuple[Record, ...] = tuple((yield resolver.query(name, rtype)))
        except DnsNxDomain:
            answers.learn(name, rtype, None)
        except DnsTempFail as exc:
            answers.learn(name, rtype, exc)
        else:
            answers.learn(name, rtype, tuple(r.value for r in records), records)


def resolve_from_zones(zones: ZoneSet, check: Callable[[Answers], T], answers: Answers | None = None) -> T:
    """Run *check* as :func:`resolve_with` does, answered straight from *zones* (no network, no time).

    For tests and for checking a scenario's records at load time; the simulation uses :func:`resolve_with`.
    """
    answers = Answers() if answers is None else answers
    rounds = _rounds(check, answers)
    while True:
        try:
            name, rtype = next(rounds)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        got = zones.lookup(name, rtype)
        if got.rcode == "NXDOMAIN":
            answers.learn(name, rtype, None)
        else:
            records = tuple(r for r in got.answer if r.rtype == rtype)
            answers.learn(name, rtype, tuple(r.value for r in records), records)
