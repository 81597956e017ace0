"""SPF (RFC 7208) with pyspf, its DNS answered by the lab: the RFC's rules on zone data, and smtpd's policyd-spf
over the simulated network (Received-SPF, 550 5.7.23, the maillog, the lookups as real DNS queries)."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import pytest
from mail_helpers import mailbox, raw_session, run, send

from netlab.errors import ConfigError
from netlab.mail.config import ServerSpec
from netlab.mail.dns.lookups import Answers, resolve_from_zones
from netlab.mail.dns.zone import Record, build_zones
from netlab.mail.mta.policyd_spf import SpfVerdict, check_spf


def spf(records: list[tuple[str, str, str]], ip: str, sender: str = "u@a.example",
        helo: str = "h.a.example") -> tuple[SpfVerdict, Answers]:  # fmt: skip
    zones = build_zones([Record(n, t, v, 300) for n, t, v in records])
    answers = Answers()
    v = resolve_from_zones(zones, lambda a: check_spf(a, client_ip=ip, sender=sender, helo=helo), answers)
    return v, answers


@pytest.mark.parametrize(
    ("all_", "result"), [("-all", "fail"), ("~all", "softfail"), ("?all", "neutral"), ("+all", "pass")]
)
def test_all_qualifiers(all_: str, result: str) -> None:
    # RFC 7208 §4.6.2: the qualifier of the matching mechanism is the result; ip4 does not match 10.0.0.9
    v, answers = spf([("a.example", "TXT", f"v=spf1 ip4:10.0.0.1 {all_}")], "10.0.0.9")
    assert v.result == result and answers.queries == 1
    assert spf([("a.example", "TXT", f"v=spf1 ip4:10.0.0.0/24 {all_}")], "10.0.0.9")[0].result == "pass"


def test_no_record_is_none_and_unknown_domain_is_none() -> None:
    # §4.5: no SPF record -> none; §4.3: a domain that does not exist -> none
    assert spf([("a.example", "TXT", "some other text")], "10.0.0.1")[0].result == "none"
    assert spf([("b.example", "TXT", "v=spf1 -all")], "10.0.0.1")[0].result == "none"


def test_a_mx_include_match_through_lookups() -> None:
    records = [("a.example", "TXT", "v=spf1 mx include:b.example -all"), ("a.example", "MX", "mx.a.example"),
               ("mx.a.example", "A", "10.0.0.7"), ("b.example", "TXT", "v=spf1 a:out.b.example -all"),
               ("out.b.example", "A", "10.0.0.5")]  # fmt: skip
    zones = build_zones([Record(n, t, v, 300, preference=10 if t == "MX" else None) for n, t, v in records])

    def verdict(ip: str) -> SpfVerdict:
        return resolve_from_zones(zones, lambda a: check_spf(a, client_ip=ip, sender="u@a.example", helo="h"))

    assert verdict("10.0.0.7").result == "pass"  # mx
    assert verdict("10.0.0.5").result == "pass"  # include -> a
    # include's -all does not end the outer evaluation: it is a non-match, then the outer -all fails (§5.2)
    assert verdict("10.0.0.9").result == "fail"


def _chain(n: int) -> list[tuple[str, str, str]]:
    """a.example includes d1, d1 includes d2, ... d<n> ends in ip4 of 10.0.0.1: n DNS-querying terms."""
    recs = [("a.example", "TXT", "v=spf1 include:d1.example -all")]
    recs += [(f"d{i}.example", "TXT", f"v=spf1 include:d{i + 1}.example -all") for i in range(1, n)]
    recs.append((f"d{n}.example", "TXT", "v=spf1 ip4:10.0.0.1 -all"))
    return recs


@pytest.mark.parametrize(("terms", "result"), [(10, "pass"), (11, "permerror")])
def test_ten_lookup_limit(terms: int, result: str) -> None:
    # RFC 7208 §4.6.4: more than 10 DNS-querying mechanisms/modifiers -> permerror
    v, _ = spf(_chain(terms), "10.0.0.1")
    assert v.result == result
    assert v.lookups == min(terms, 11)


@pytest.mark.parametrize(("void", "result"), [(2, "fail"), (3, "permerror")])
def test_two_void_lookup_limit(void: int, result: str) -> None:
    # RFC 7208 §4.6.4: more than 2 lookups that return no data or NXDOMAIN -> permerror
    terms = " ".join(f"a:gone{i}.example" for i in range(void))
    v, _ = spf([("a.example", "TXT", f"v=spf1 {terms} -all")], "10.0.0.1")
    assert v.result == result


def test_two_spf_records_is_permerror() -> None:
    # §4.5: more than one v=spf1 record -> permerror
    zones = build_zones(
        [Record("a.example", "TXT", "v=spf1 -all", 300), Record("a.example", "TXT", "v=spf1 +all", 300)]
    )
    v = resolve_from_zones(zones, lambda a: check_spf(a, client_ip="10.0.0.1", sender="u@a.example", helo="h"))
    assert v.result == "permerror"


def test_null_sender_checks_postmaster_at_helo() -> None:
    # §2.4: MAIL FROM:<> is checked as postmaster@<helo>
    v, _ = spf([("h.a.example", "TXT", "v=spf1 ip4:10.0.0.1 -all")], "10.0.0.1", sender="", helo="h.a.example")
    assert (v.result, v.sender) == ("pass", "postmaster@h.a.example")


def test_bad_action_refused() -> None:
    with pytest.raises(ConfigError, match="server mx1: spf must be one of off, tag, reject, got 'maybe'"):
        ServerSpec("mx1", domains=("b.test",), spf="maybe")


# -------------------------------------------------------------------- in the simulation

SPF_A = {"name": "a.test", "type": "TXT", "value": "v=spf1 a:msa.a.test -all"}


def _parse(raw: bytes):  # type: ignore[no-untyped-def]
    return BytesParser(policy=policy.default).parsebytes(raw)


def _mail(action: str, record: dict[str, str] = SPF_A) -> dict[str, object]:
    return {"records": [record], "servers": [{"host": "msa", "role": "msa", "domains": ["a.test"]},
            {"host": "mx1", "role": "mx", "domains": ["a.test", "b.test"], "spam_action": "tag", "spf": action},
            {"host": "mx2", "role": "relay", "relay_domains": ["b.test"]}]}  # fmt: skip


def test_authorised_msa_passes_with_received_spf_and_policyd_log_line() -> None:
    res, system = run({**_mail("reject"), "send": [send(["bob@b.test"])]})
    assert res.messages.status.tolist() == ["delivered"]
    msg = _parse(mailbox(system, "mx1", "bob")[0])
    header = msg["Received-SPF"]
    msa_ip = system.ctx.ip_of("msa")
    assert header.startswith("Pass (mailfrom) identity=mailfrom;")
    assert f"client-ip={msa_ip};" in header and "envelope-from=alice@a.test;" in header
    log = res.maillog
    lines = log[log.program == "policyd-spf"].text.tolist()
    assert lines == [f"prepend Received-SPF: {header}"]
    # the lookups were DNS queries from mx1 over the network: a.test TXT, msa.a.test A, and the HELO name
    assert system.ctx.resolver("mx1").stats.queries_sent >= 2


def test_unlisted_sender_is_rejected_550_5_7_23_and_bounced() -> None:
    # the record names some other host: the MSA is not authorised
    record = {"name": "a.test", "type": "TXT", "value": "v=spf1 ip4:192.0.2.1 -all"}
    res, _ = run({**_mail("reject", record), "send": [send(["bob@b.test"])]})
    m = res.messages
    assert m[m.kind == "mail"].status.tolist() == ["bounced"]
    assert m[m.kind == "mail"].dsn.tolist() == ["5.7.23"]
    text = "\n".join(res.maillog.text)
    assert "NOQUEUE: reject: RCPT from msa[" in text and "550 5.7.23 <bob@b.test>: Recipient address rejected" in text


def test_tag_accepts_a_fail_with_the_header() -> None:
    record = {"name": "a.test", "type": "TXT", "value": "v=spf1 ip4:192.0.2.1 ~all"}
    res, system = run({**_mail("tag", record), "send": [send(["bob@b.test"])]})
    assert res.messages.status.tolist() == ["delivered"]
    assert _parse(mailbox(system, "mx1", "bob")[0])["Received-SPF"].startswith("Softfail (mailfrom)")


def test_forged_sender_from_an_outside_host_refused_at_rcpt() -> None:
    # pc speaks SMTP to mx1 directly with a.test's name: a.test's SPF names only the MSA
    lines = raw_session(_mail("reject"), "mx1", 25, [b"EHLO pc.far.test\r\n", b"MAIL FROM:<boss@a.test>\r\n",
                                                     b"RCPT TO:<bob@b.test>\r\n"])  # fmt: skip
    assert lines[-2].startswith(b"250 2.1.0")
    assert lines[-1].startswith(b"550 5.7.23 <bob@b.test>: Recipient address rejected: Message rejected due to:")


def test_spf_off_changes_nothing() -> None:
    on, _ = run({**_mail("off"), "send": [send(["bob@b.test"])]})
    off, _ = run({"records": [SPF_A], "send": [send(["bob@b.test"])]})
    assert on.maillog.text.tolist() == off.maillog.text.tolist()


def test_lookups_cost_simulated_time_and_are_cached() -> None:
    two = [send(["bob@b.test"]), send(["carol@b.test"], at=5.0)]
    on, system = run({**_mail("tag"), "send": two})
    off, _ = run({**_mail("off"), "send": two})
    first_on, first_off = on.messages.delivered_s.iloc[0], off.messages.delivered_s.iloc[0]
    assert first_on > first_off  # the client waited for the policy's DNS round trips before its RCPT reply
    stats = system.ctx.resolver("mx1").stats
    assert stats.cache_hits >= 2  # the second message's a.test TXT and msa.a.test A came from the TTL cache


class _SuspendingPolicy:
    """Suspends each RCPT check once, then accepts."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def authenticate(self, user: str, password: str) -> bool:
        return False

    def check_mail(self, session: object, sender: str, size: int | None) -> None:
        return None

    def check_rcpt(self, session: object, rcpt: str) -> None:
        from netlab.mail.smtp.server import Suspend

        self.asked.append(rcpt)
        if self.asked.count(rcpt) == 1:
            raise Suspend(("wait for", rcpt))

    def end_of_data(self, session: object, envelope: object, data: bytes) -> object:
        from netlab.mail.smtp.reply import Reply

        return Reply(250, "Ok", "2.0.0")


def test_a_suspended_check_holds_the_pipeline_and_resumes_in_order() -> None:
    from netlab.mail.smtp.server import SmtpServerSession

    pol = _SuspendingPolicy()
    s = SmtpServerSession(pol, hostname="mx", peer_ip="10.0.0.1")  # type: ignore[arg-type]
    got = s.feed(b"EHLO c\r\nMAIL FROM:<a@a.test>\r\nRCPT TO:<b@b.test>\r\nRCPT TO:<c@b.test>\r\nDATA\r\n")
    assert [r.code for r in got] == [250, 250] and s.pending == ("wait for", "b@b.test")
    assert s.feed(b"x\r\n") == []  # held while waiting
    assert [r.code for r in s.resume()] == [250] and s.pending == ("wait for", "c@b.test")
    assert [r.code for r in s.resume()] == [250, 354]
    assert [r.code for r in s.feed(b".\r\n")] == [250]
    assert pol.asked == ["b@b.test", "b@b.test", "c@b.test", "c@b.test"]
