"""DNS for mail: zone validation, the server's answers on the wire, the resolver's cache, retries and failures,
and MX selection per RFC 5321 §5.1 and RFC 7505, all on a small running network (mta -- r -- dns)."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Callable, Generator
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
import simpy

import netlab
from netlab.mail.dns import (
    DnsError,
    DnsNoAddress,
    DnsNxDomain,
    DnsPermFail,
    DnsServer,
    DnsTempFail,
    MxLoopsBack,
    MxTarget,
    NullMx,
    Record,
    Resolver,
    ZoneError,
    build_zones,
    mx_targets,
)
from netlab.network.network import Network
from netlab.transport import TransportStack

RECORDS = (
    Record("example.org", "MX", "mx1.example.org", 300, preference=10),
    Record("example.org", "MX", "mx2.example.org", 300, preference=10),
    Record("example.org", "MX", "mx3.example.org", 300, preference=20),
    Record("example.org", "MX", "mx4.example.org", 300, preference=20),
    Record("example.org", "TXT", "v=spf1 mx -all", 300),
    Record("mx1.example.org", "A", "192.0.2.1", 300),
    Record("mx2.example.org", "A", "192.0.2.2", 300),
    Record("mx3.example.org", "A", "192.0.2.3", 300),
    Record("mx4.example.org", "A", "192.0.2.4", 300),
    Record("www.example.org", "CNAME", "mx1.example.org", 60),
    Record("alias.example.org", "CNAME", "example.org", 30),
    Record("dangling.example.org", "CNAME", "gone.example.org", 60),
    Record("short.example.org", "A", "192.0.2.9", 5),
    Record("zero.example.org", "A", "192.0.2.10", 0),
    Record("a.only.test", "A", "198.51.100.7", 300),
    Record("only.test", "A", "198.51.100.1", 300),
    Record("nomail.test", "MX", ".", 300, preference=0),
    Record("txtonly.test", "TXT", "x" * 300, 300),
)


class Lab:
    """mta -- r -- dns, a DNS server on dns:53 and a resolver on mta; ``finish()`` runs and checks conservation."""

    def __init__(self, *, seed: int = 1, loss: float = 0.0, records: tuple[Record, ...] = RECORDS,
                 server: bool = True, **resolver_kw: Any) -> None:  # fmt: skip
        topo = netlab.Topology(
            (netlab.NodeSpec("mta", "host"), netlab.NodeSpec("r", "router"), netlab.NodeSpec("dns", "host")),
            (netlab.LinkSpec("mta", "r", rate_bps=10e6, delay_s=0.001),
             netlab.LinkSpec("r", "dns", rate_bps=10e6, delay_s=0.004, loss=loss)),
        )  # fmt: skip
        self.env = simpy.Environment()
        self.net = Network(self.env, topo, seed=seed)
        self.net.attach(netlab.ShortestHops())
        self.stack = TransportStack(self.net)
        self.server = DnsServer(self.stack, "dns", build_zones(records)) if server else None
        self.resolver = Resolver(self.stack, "mta", ("dns", 53), **resolver_kw)

    def run(self, gen: Callable[[], Generator[Any, Any, Any]], until: float | None = None) -> list[Any]:
        """Run *gen* as a process; return ``[value]`` or ``[exception]``."""
        out: list[Any] = []

        def wrapper() -> Generator[Any, Any, None]:
            try:
                out.append((yield from gen()))
            except DnsError as exc:
                out.append(exc)

        self.env.process(wrapper())
        self.finish(until)
        return out

    def lookup(self, name: str, rtype: str) -> Any:
        def gen() -> Generator[Any, Any, Any]:
            return (yield self.resolver.query(name, rtype))

        return self.run(gen)[0]

    def mx(self, domain: str, *, seed: int = 7, my_names: tuple[str, ...] = ()) -> Any:
        def gen() -> Generator[Any, Any, Any]:
            rng = random.Random(seed)
            return (yield mx_targets(self.resolver, domain, rng=rng, my_names=my_names))

        return self.run(gen)[0]

    def finish(self, until: float | None = None) -> None:
        self.env.run(until=until)
        self.net.check_conservation()


# ---------------------------------------------------------------------- zone validation
@pytest.mark.parametrize(("records", "fragment"), [
    ([Record("a.org", "CNAME", "b.org", 60), Record("b.org", "CNAME", "a.org", 60)],
     "records[0] (a.org 60 CNAME b.org): CNAME loop a.org -> b.org -> a.org"),
    ([Record("a.org", "CNAME", "b.org", 60), Record("b.org", "CNAME", "c.org", 60),
      Record("c.org", "CNAME", "b.org", 60)],
     "CNAME loop a.org -> b.org -> c.org -> b.org"),
    ([Record("a.org", "CNAME", "a.org", 60)], "CNAME loop a.org -> a.org"),
    ([Record("a.org", "CNAME", "b.org", 60), Record("a.org", "TXT", "hi", 60)],
     "records[0] (a.org 60 CNAME b.org): a CNAME cannot sit alongside other data (a.org 60 TXT hi)"),
    ([Record("a.org", "CNAME", "b.org", 60), Record("a.org", "CNAME", "c.org", 60)],
     "records[1] (a.org 60 CNAME c.org): a.org has more than one CNAME"),
    ([Record("a.org", "MX", "mx.a.org", 60, preference=10)],
     "records[0] (a.org 60 MX 10 mx.a.org): MX target mx.a.org has no A record"),
    ([Record("a.org", "MX", "mx.a.org", 60, preference=10), Record("mx.a.org", "CNAME", "h.a.org", 60),
      Record("h.a.org", "A", "192.0.2.1", 60)], "MX target mx.a.org is an alias"),
    ([Record("a.org", "MX", ".", 60, preference=10)], "a null MX must be the only MX of its domain, with preference 0"),
    ([Record("a.org", "MX", ".", 60, preference=0), Record("a.org", "MX", "h.a.org", 60, preference=10),
      Record("h.a.org", "A", "192.0.2.1", 60)], "records[0] (a.org 60 MX 0 .): a null MX must be the only MX"),
    ([Record("a.org", "A", "192.0.2.1", 60), Record("a.org", "A", "192.0.2.1", 60)],
     "records[1] (a.org 60 A 192.0.2.1): duplicate of records[0]"),
    ([Record("a.org", "A", "192.0.2.1", 60), Record("a.org", "A", "192.0.2.2", 30)], "TTL differs from records[0]"),
    (["a.org A 192.0.2.1"], "records[0]: expected a Record"),
])  # fmt: skip
def test_build_zones_rejects_and_names_the_record(records: list[Any], fragment: str) -> None:
    with pytest.raises(ZoneError) as info:
        build_zones(records)
    assert fragment in str(info.value)
    assert isinstance(info.value, netlab.ConfigError)


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"name": "bad..name.org", "rtype": "A", "value": "192.0.2.1"}, "malformed domain name 'bad..name.org'"),
    ({"name": "-bad.org", "rtype": "A", "value": "192.0.2.1"}, "bad label '-bad'"),
    ({"name": "a" * 64 + ".org", "rtype": "A", "value": "192.0.2.1"}, "malformed domain name"),
    ({"name": "sp ace.org", "rtype": "A", "value": "192.0.2.1"}, "bad label 'sp ace'"),
    ({"name": "a.org", "rtype": "A", "value": "300.1.1.1"}, "a.org A: expected an IPv4 address, got '300.1.1.1'"),
    ({"name": "a.org", "rtype": "A", "value": "10.0.0"}, "expected an IPv4 address"),
    ({"name": "a.org", "rtype": "AAAA", "value": "::1"}, "record type must be one of A, MX, TXT, CNAME"),
    ({"name": "a.org", "rtype": "A", "value": "192.0.2.1", "ttl_s": -1}, "ttl must be whole seconds"),
    ({"name": "a.org", "rtype": "A", "value": "192.0.2.1", "ttl_s": 1.5}, "ttl must be whole seconds"),
    ({"name": "a.org", "rtype": "MX", "value": "mx.a.org"}, "a.org MX: preference must be an integer"),
    ({"name": "a.org", "rtype": "MX", "value": "mx..a.org", "preference": 1}, "malformed domain name 'mx..a.org'"),
    ({"name": "a.org", "rtype": "A", "value": "192.0.2.1", "preference": 5}, "only MX records have a preference"),
    ({"name": "a.org", "rtype": "CNAME", "value": "."}, "the target cannot be the root"),
    ({"name": ".", "rtype": "TXT", "value": "x"}, "the root cannot own records"),
])  # fmt: skip
def test_malformed_records_are_rejected(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ZoneError) as info:
        Record(**kwargs)
    assert fragment in str(info.value)


def test_records_are_normalised() -> None:
    rec = Record("Mail.Example.ORG.", "mx", "MX1.example.org.", 60.0, preference=5)
    assert (rec.name, rec.rtype, rec.value, rec.ttl_s) == ("mail.example.org", "MX", "mx1.example.org", 60)
    assert str(rec) == "mail.example.org 60 MX 5 mx1.example.org"


@pytest.mark.parametrize(
    ("name", "rtype", "rcode", "answer"),
    [
        ("example.org", "TXT", "NOERROR", ["example.org 300 TXT v=spf1 mx -all"]),
        (
            "www.example.org",
            "A",
            "NOERROR",
            ["www.example.org 60 CNAME mx1.example.org", "mx1.example.org 300 A 192.0.2.1"],
        ),
        ("www.example.org", "CNAME", "NOERROR", ["www.example.org 60 CNAME mx1.example.org"]),
        ("dangling.example.org", "A", "NXDOMAIN", ["dangling.example.org 60 CNAME gone.example.org"]),
        ("example.org", "A", "NOERROR", []),
        ("mx1.example.org", "AAAA", "NOERROR", []),
        ("only.test", "MX", "NOERROR", []),
        ("test", "A", "NOERROR", []),  # empty non-terminal: exists, no data
        ("missing.example.org", "A", "NXDOMAIN", []),
    ],
)
def test_zone_lookup(name: str, rtype: str, rcode: str, answer: list[str]) -> None:
    result = build_zones(RECORDS).lookup(name, rtype)
    assert (result.rcode, [str(r) for r in result.answer]) == (rcode, answer)


# ---------------------------------------------------------------------- the server on the wire
def ask_server(lab: Lab, payload: bytes) -> dns.message.Message | None:
    sock = lab.stack.bind("mta")
    out: list[Any] = []

    def gen() -> Generator[Any, Any, None]:
        sock.sendto(payload, ("dns", 53))
        try:
            data, addr = yield sock.recvfrom(timeout=1.0)
        except netlab.transport.ReceiveTimeout:
            return
        assert addr == (lab.net.nodes["dns"].ip, 53)
        out.append(dns.message.from_wire(data))

    lab.env.process(gen())
    lab.finish()
    return out[0] if out else None


@pytest.mark.parametrize(("name", "rtype", "rcode", "answer", "additional"), [
    ("mx1.example.org", "A", "NOERROR", ["mx1.example.org. 300 IN A 192.0.2.1"], []),
    ("example.org", "MX", "NOERROR",
     ["\n".join(f"example.org. 300 IN MX {p} mx{i}.example.org." for p, i in ((10, 1), (10, 2), (20, 3), (20, 4)))],
     [f"mx{i}.example.org. 300 IN A 192.0.2.{i}" for i in (1, 2, 3, 4)]),
    ("alias.example.org", "TXT", "NOERROR",
     ["alias.example.org. 30 IN CNAME example.org.", 'example.org. 300 IN TXT "v=spf1 mx -all"'], []),
    ("nomail.test", "MX", "NOERROR", ["nomail.test. 300 IN MX 0 ."], []),
    ("example.org", "A", "NOERROR", [], []),
    ("nope.example.org", "MX", "NXDOMAIN", [], []),
])  # fmt: skip
def test_server_answers_real_dns_messages(name: str, rtype: str, rcode: str, answer: list[str],
                                          additional: list[str]) -> None:  # fmt: skip
    lab = Lab()
    query = dns.message.make_query(name, rtype, id=4242)
    response = ask_server(lab, query.to_wire())
    assert response is not None and query.is_response(response)
    assert dns.rcode.to_text(response.rcode()) == rcode
    assert response.flags & dns.flags.AA
    assert [str(rrset) for rrset in response.answer] == answer
    assert sorted(str(rrset) for rrset in response.additional) == additional
    assert lab.server is not None and lab.server.stats[rcode] == 1


def test_runs_leave_the_global_random_state_alone() -> None:
    state = random.getstate()
    Lab().mx("example.org")
    assert random.getstate() == state


def test_long_txt_is_split_into_255_byte_strings() -> None:
    response = ask_server(Lab(), dns.message.make_query("txtonly.test", "TXT").to_wire())
    assert response is not None
    assert [len(s) for s in response.answer[0][0].strings] == [255, 45]


def test_fail_switch_answers_servfail() -> None:
    lab = Lab()
    assert lab.server is not None
    lab.server.fail = True
    response = ask_server(lab, dns.message.make_query("mx1.example.org", "A", id=9).to_wire())
    assert response is not None and response.rcode() == dns.rcode.SERVFAIL and response.id == 9


@pytest.mark.parametrize(("payload", "rcode"), [
    (b"\x12\x34" + b"\x01\x00" + b"\x00\x01" + b"\x00" * 6 + b"\xff\xff garbage", dns.rcode.FORMERR),
    (b"\x12\x34\x01\x00" + b"\x00" * 8, dns.rcode.FORMERR),             # no question at all
    (b"\x12\x34\x28\x00" + b"\x00" * 8, dns.rcode.NOTIMP),              # opcode UPDATE
    (b"short", None),                                                   # not even a header: dropped
    (dns.message.make_response(dns.message.make_query("a.org", "A")).to_wire(), None),  # a response: dropped
])  # fmt: skip
def test_server_handles_garbage(payload: bytes, rcode: int | None) -> None:
    lab = Lab()
    response = ask_server(lab, payload)
    assert lab.server is not None
    if rcode is None:
        assert response is None and lab.server.stats["dropped"] == 1
    else:
        assert response is not None and response.rcode() == rcode and response.id == 0x1234


def test_server_survives_random_bytes() -> None:
    lab = Lab()
    rng = random.Random(5)
    sock = lab.stack.bind("mta")
    for _ in range(300):
        sock.sendto(rng.randbytes(rng.randrange(0, 80)), ("dns", 53))
    lab.finish()
    assert lab.server is not None and lab.server.stats["queries"] == 300
    assert lab.lookup("mx1.example.org", "A")[0].value == "192.0.2.1"  # still serving


def test_service_time_serialises_queries() -> None:
    lab = Lab()
    lab.server = DnsServer(lab.stack, "dns", build_zones(RECORDS), port=5353, service_time_s=0.5)
    sock = lab.stack.bind("mta")
    times: list[float] = []

    def gen() -> Generator[Any, Any, None]:
        for qid in (1, 2):
            sock.sendto(dns.message.make_query("mx1.example.org", "A", id=qid).to_wire(), ("dns", 5353))
        for _ in range(2):
            yield sock.recvfrom()
            times.append(lab.env.now)

    lab.env.process(gen())
    lab.finish()
    assert times[1] - times[0] == pytest.approx(0.5)


# ---------------------------------------------------------------------- the resolver
def test_query_returns_records_and_the_query_parses_on_the_wire() -> None:
    lab = Lab(server=False)
    fake = lab.stack.bind("dns", 53)
    seen: list[dns.message.Message] = []

    def authority() -> Generator[Any, Any, None]:
        data, addr = yield fake.recvfrom()
        query = dns.message.from_wire(data)
        seen.append(query)
        response = dns.message.make_response(query)
        response.answer.append(dns.rrset.from_text("h.test.", 120, "IN", "A", "192.0.2.77"))
        fake.sendto(response.to_wire(), addr)

    lab.env.process(authority())
    records = lab.lookup("H.test", "a")
    assert records == [Record("h.test", "A", "192.0.2.77", 120)]
    (query,) = seen
    assert not query.flags & dns.flags.QR and query.flags & dns.flags.RD
    assert [(str(q.name), q.rdtype) for q in query.question] == [("h.test.", dns.rdatatype.A)]
    assert query.id == lab.net.stream("dns", "mta", "qid", lab.resolver.socket.port).getrandbits(16)


def test_cache_hit_sends_no_packet_until_the_ttl_expires() -> None:
    lab = Lab()
    first = lab.lookup("short.example.org", "A")
    injected = lab.net.injected
    assert lab.lookup("short.example.org", "A") == first
    assert lab.net.injected == injected and lab.resolver.stats.cache_hits == 1
    lab.env.run(until=lab.env.now + 5.0)  # the 5 s TTL runs out
    assert lab.lookup("short.example.org", "A") == first
    assert lab.net.injected == injected + 2 and lab.resolver.stats.queries_sent == 2


@pytest.mark.parametrize(("name", "cache", "sent"), [
    ("zero.example.org", True, 2),                # TTL 0: never cached
    ("mx1.example.org", False, 2),                # cache off
    ("example.org", True, 2),                     # no data: not cached (RFC 2308 §5)
    ("www.example.org", True, 1),
])  # fmt: skip
def test_what_is_cached(name: str, cache: bool, sent: int) -> None:
    lab = Lab(cache=cache)
    lab.lookup(name, "A")
    lab.lookup(name, "A")
    assert lab.resolver.stats.queries_sent == sent


def test_cname_answer_is_followed_and_both_names_cached() -> None:
    lab = Lab()
    assert lab.lookup("www.example.org", "A") == [Record("mx1.example.org", "A", "192.0.2.1", 300)]
    assert lab.resolver.cached("mx1.example.org", "A") is not None
    assert lab.resolver.stats.queries_sent == 1


def test_concurrent_lookups_share_one_query() -> None:
    lab = Lab()

    def gen() -> Generator[Any, Any, Any]:
        a, b = lab.resolver.query("mx1.example.org", "A"), lab.resolver.query("mx1.example.org", "A")
        return ((yield a), (yield b))

    ((a, b),) = lab.run(gen)
    assert a == b and lab.resolver.stats.queries_sent == 1 and lab.resolver.stats.coalesced == 1


@pytest.mark.parametrize(("name", "error"), [
    ("missing.example.org", DnsNxDomain),
    ("dangling.example.org", DnsNxDomain),
    ("bad..name", DnsNxDomain),
])  # fmt: skip
def test_permanent_failures(name: str, error: type[DnsError]) -> None:
    lab = Lab()
    result = lab.lookup(name, "A")
    assert isinstance(result, error) and isinstance(result, DnsPermFail)
    assert type(result)(str(result)).args == result.args  # rebuilt from its message alone


def test_query_rejects_types_it_cannot_represent() -> None:
    with pytest.raises(netlab.ConfigError, match="type must be one of A, MX, TXT, CNAME, got 'AAAA'"):
        Lab().resolver.query("mx1.example.org", "AAAA")


def test_returned_lists_do_not_alias_the_cache() -> None:
    lab = Lab()
    lab.lookup("example.org", "MX").clear()
    assert len(lab.lookup("example.org", "MX")) == 4 and lab.resolver.stats.cache_hits == 1


def test_servfail_is_a_temporary_failure_without_retries() -> None:
    lab = Lab()
    assert lab.server is not None
    lab.server.fail = True
    result = lab.lookup("mx1.example.org", "A")
    assert isinstance(result, DnsTempFail) and "SERVFAIL" in str(result) and result.status == "4.4.3"
    assert lab.resolver.stats.queries_sent == 1


def test_server_down_gives_tempfail_after_every_retry() -> None:
    lab = Lab()
    lab.net.schedule_faults([netlab.FaultSpec(at_s=0.0, action="down", node="dns")])
    lab.finish()
    result = lab.lookup("mx1.example.org", "A")
    assert isinstance(result, DnsTempFail) and "after 3 tries of 2 s" in str(result)
    assert lab.resolver.stats.timeouts == lab.resolver.stats.queries_sent == 3
    assert lab.env.now == pytest.approx(6.0)
    assert lab.net.dropped["node_down"] + lab.net.dropped["no_route"] == 3


@pytest.mark.parametrize(("retries", "timeout_s"), [(0, 1.0), (4, 0.5)])
def test_retries_and_timeout_are_configurable(retries: int, timeout_s: float) -> None:
    lab = Lab(loss=1.0, retries=retries, timeout_s=timeout_s)
    assert isinstance(lab.lookup("mx1.example.org", "A"), DnsTempFail)
    assert lab.resolver.stats.queries_sent == retries + 1
    assert lab.env.now == pytest.approx((retries + 1) * timeout_s)


@pytest.mark.parametrize("seed", range(1, 13))
def test_lossy_link_retries_then_succeeds_or_tempfails(seed: int) -> None:
    lab = Lab(seed=seed, loss=0.6)
    result = lab.lookup("mx1.example.org", "A")
    stats = lab.resolver.stats
    if isinstance(result, DnsTempFail):
        assert stats.timeouts == stats.queries_sent == 3
    else:
        assert result == [Record("mx1.example.org", "A", "192.0.2.1", 300)]
        assert stats.timeouts == stats.queries_sent - 1


def test_lossy_link_outcomes_cover_retry_success_and_tempfail() -> None:
    outcomes = set()
    for seed in range(1, 13):
        lab = Lab(seed=seed, loss=0.6)
        result = lab.lookup("mx1.example.org", "A")
        outcomes.add("tempfail" if isinstance(result, DnsTempFail) else f"ok after {lab.resolver.stats.timeouts}")
    assert {"tempfail", "ok after 1"} <= outcomes


def test_late_answer_to_an_earlier_try_is_accepted_and_the_later_one_ignored() -> None:
    lab = Lab(server=False, timeout_s=2.0)
    slow = DnsServer(lab.stack, "dns", build_zones(RECORDS), service_time_s=3.0)
    result = lab.lookup("mx1.example.org", "A")
    assert result[0].value == "192.0.2.1"
    stats = lab.resolver.stats
    assert (stats.queries_sent, stats.timeouts, stats.answers, stats.ignored) == (2, 1, 1, 1)
    assert slow.stats["NOERROR"] == 2


# ---------------------------------------------------------------------- MX selection
def test_mx_sorted_by_preference_with_addresses_from_one_query() -> None:
    lab = Lab()
    targets = lab.mx("example.org")
    assert [t.preference for t in targets] == [10, 10, 20, 20]
    assert {t.host for t in targets[:2]} == {"mx1.example.org", "mx2.example.org"}
    assert all(t.ips == (f"192.0.2.{t.host[2]}",) for t in targets)
    assert lab.resolver.stats.queries_sent == 1  # A records came as additional data


def test_equal_preferences_shuffle_from_the_rng() -> None:
    orders = {seed: [t.host for t in Lab().mx("example.org", seed=seed)] for seed in range(12)}
    assert orders == {seed: [t.host for t in Lab().mx("example.org", seed=seed)] for seed in range(12)}
    assert len({tuple(o[:2]) for o in orders.values()}) == 2 and len({tuple(o[2:]) for o in orders.values()}) == 2


@pytest.mark.parametrize(("domain", "expected"), [
    ("only.test", [MxTarget(0, "only.test", ("198.51.100.1",))]),                 # implicit MX
    ("alias.example.org", None),                                                   # MX via CNAME
])  # fmt: skip
def test_implicit_mx_and_cname(domain: str, expected: list[MxTarget] | None) -> None:
    targets = Lab().mx(domain)
    if expected is None:
        assert [t.preference for t in targets] == [10, 10, 20, 20]
    else:
        assert targets == expected


@pytest.mark.parametrize(("domain", "my_names", "error", "fragment"), [
    ("nomail.test", (), NullMx, "publishes a null MX"),
    ("missing.test", (), DnsNxDomain, "NXDOMAIN"),
    ("test", (), DnsNoAddress, "no MX and no A record"),
    ("example.org", ("mx1.example.org",), MxLoopsBack, "loops back to myself"),
    ("example.org", ("192.0.2.2",), MxLoopsBack, "loops back to myself"),
    ("only.test", ("ONLY.test.",), MxLoopsBack, "loops back to myself"),
])  # fmt: skip
def test_mx_failures(domain: str, my_names: tuple[str, ...], error: type[DnsError], fragment: str) -> None:
    result = Lab().mx(domain, my_names=my_names)
    assert isinstance(result, error) and fragment in str(result)
    assert isinstance(result, DnsPermFail)


def test_null_mx_status_is_5_1_10() -> None:
    assert NullMx("x").status == "5.1.10" and MxLoopsBack("x").status == "5.4.6"


@pytest.mark.parametrize("me", ["mx3.example.org", "192.0.2.4"])
def test_relay_in_the_list_drops_its_preference_and_worse(me: str) -> None:
    targets = Lab().mx("example.org", my_names=(me,))
    assert [t.preference for t in targets] == [10, 10]


def test_mx_tempfail_when_server_down() -> None:
    lab = Lab()
    lab.net.schedule_faults([netlab.FaultSpec(at_s=0.0, action="down", node="dns")])
    assert isinstance(lab.mx("example.org"), DnsTempFail)


# ---------------------------------------------------------------------- layering
def test_import_netlab_does_not_load_dnspython() -> None:
    code = "import sys, netlab; print('dns' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_errors_form_one_tree() -> None:
    for cls in (DnsTempFail, DnsNxDomain, NullMx, MxLoopsBack, DnsNoAddress):
        assert issubclass(cls, netlab.NetlabError)
    assert issubclass(ZoneError, netlab.ConfigError)
