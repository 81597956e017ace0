"""DMARC (RFC 7489): record syntax (§6.3), alignment (§3.1), policy discovery (§6.6.3), pct (§6.6.4), and
OpenDMARC at the receiving MX (reject 550 5.7.1, quarantine, the aggregate counts); bad records refused at load."""

from __future__ import annotations

import random
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest
from mail_helpers import mailbox, raw_session, run, scenario, send

from netlab.errors import ConfigError
from netlab.mail.dns.lookups import resolve_from_zones
from netlab.mail.dns.zone import Record, build_zones
from netlab.mail.mta.opendkim import DkimResult
from netlab.mail.mta.opendmarc import DmarcRecordError, aligned, evaluate_dmarc, org_domain, parse_dmarc
from netlab.mail.mta.policyd_spf import SpfVerdict


@pytest.mark.parametrize(
    "text",
    ["p=reject", "v=DMARC1", "v=DMARC1; p=block", "v=DMARC1; p=none; pct=150", "v=DMARC1; p=none; adkim=x",
     "v=DMARC1; p"],
)  # fmt: skip
def test_malformed_records(text: str) -> None:
    with pytest.raises(DmarcRecordError):
        parse_dmarc(text)


@pytest.mark.parametrize(
    ("ident", "from_domain", "relaxed", "strict"),
    # RFC 7489 §3.1.1 / §3.1.2 examples: a subdomain aligns in relaxed mode only; another org never
    [("example.com", "example.com", True, True), ("mail.example.com", "example.com", True, False),
     ("example.com", "news.example.com", True, False), ("example.net", "example.com", False, False)],
)  # fmt: skip
def test_alignment_examples(ident: str, from_domain: str, relaxed: bool, strict: bool) -> None:
    assert aligned(ident, from_domain, "r") is relaxed and aligned(ident, from_domain, "s") is strict


@pytest.mark.parametrize(
    ("domain", "org"),
    # RFC 7489 §3.2 by the Public Suffix List: co.uk is a two-label suffix; a TLD the list lacks (.test, .example)
    # falls under the default rule "*" (one label), so the lab's domains keep their organizational domain
    [("mail.example.co.uk", "example.co.uk"), ("example.co.uk", "example.co.uk"),
     ("a.b.example.co.uk", "example.co.uk"), ("mail.a.test", "a.test"), ("a.test", "a.test"),
     ("msa.alpha.example", "alpha.example"), ("x.y.a.test", "a.test"), ("www.example.com", "example.com"),
     ("co.uk", "co.uk")],
)  # fmt: skip
def test_organizational_domain_by_the_public_suffix_list(domain: str, org: str) -> None:
    assert org_domain(domain) == org


@pytest.mark.parametrize(
    ("ident", "from_domain", "relaxed"),
    [("a.example.co.uk", "b.example.co.uk", True), ("example.co.uk", "mail.example.co.uk", True),
     ("x.co.uk", "y.co.uk", False),  # two organizations under one public suffix: last-two-labels said aligned
     ("mail.a.test", "news.a.test", True), ("a.test", "b.test", False)],
)  # fmt: skip
def test_relaxed_alignment_across_a_multi_label_public_suffix(ident: str, from_domain: str, relaxed: bool) -> None:
    assert aligned(ident, from_domain, "r") is relaxed and not aligned(ident, from_domain, "s")


def _spf(result: str, sender: str = "u@a.test") -> SpfVerdict:
    return SpfVerdict("mailfrom", result, sender, "10.0.0.1", "h", "", 0)


def _judge(records: list[tuple[str, str]], from_domain: str, spf: SpfVerdict | None,
           dkim: tuple[DkimResult, ...] = (), rng: random.Random | None = None) -> Any:  # fmt: skip
    zones = build_zones([Record(n, "TXT", v, 300) for n, v in records])
    rng = rng or random.Random(1)
    return resolve_from_zones(zones, lambda a: evaluate_dmarc(a, from_domain=from_domain, spf=spf, dkim=dkim, rng=rng))


REJECT = [("_dmarc.a.test", "v=DMARC1; p=reject; sp=quarantine")]


@pytest.mark.parametrize(
    ("spf", "dkim", "result"),
    [(_spf("pass"), (), "pass"),  # aligned SPF alone suffices
     (_spf("pass", "u@other.test"), (), "fail"),  # SPF passed for another domain: not aligned
     (_spf("fail"), (DkimResult("pass", "a.test"),), "pass"),  # aligned DKIM alone suffices
     (_spf("fail"), (DkimResult("pass", "other.test"),), "fail"),
     (_spf("softfail"), (DkimResult("fail", "a.test"),), "fail")],
)  # fmt: skip
def test_pass_needs_an_aligned_pass(spf: SpfVerdict, dkim: tuple[DkimResult, ...], result: str) -> None:
    v = _judge(REJECT, "a.test", spf, dkim)
    assert (v.result, v.policy) == (result, "reject")
    assert v.disposition == ("reject" if result == "fail" else "none")


def test_subdomain_uses_the_org_record_and_its_sp() -> None:
    v = _judge(REJECT, "news.a.test", _spf("fail"))
    assert (v.result, v.policy, v.disposition) == ("fail", "quarantine", "quarantine")
    assert _judge(REJECT, "b.test", _spf("fail")).result == "none"  # no record anywhere


def test_pct_samples_the_policy() -> None:
    # §6.6.4: with pct=30 about 30 % of failing mail gets p=reject, the rest the next milder policy
    rng = random.Random(5)
    recs = [("_dmarc.a.test", "v=DMARC1; p=reject; pct=30")]
    got = [_judge(recs, "a.test", _spf("fail"), rng=rng).disposition for _ in range(2000)]
    assert set(got) == {"reject", "quarantine"}
    assert abs(got.count("reject") / 2000 - 0.30) < 0.04  # 4 sigma of a binomial(2000, 0.3) proportion


def test_two_dmarc_records_mean_no_policy() -> None:
    recs = [("_dmarc.a.test", "v=DMARC1; p=reject"), ("_dmarc.a.test", "v=DMARC1; p=none")]
    assert _judge(recs, "a.test", _spf("fail")).result == "none"


# -------------------------------------------------------------------- in the simulation


def _mail(p: str, *, sign: bool = True, extra: list[dict[str, str]] | None = None) -> dict[str, Any]:
    msa: dict[str, Any] = {"host": "msa", "role": "msa", "domains": ["a.test"]}
    if sign:
        msa["dkim_sign"] = ["a.test"]
    return {
        "records": [{"name": "a.test", "type": "TXT", "value": "v=spf1 ip4:192.0.2.1 -all"},  # not the msa
                    {"name": "_dmarc.a.test", "type": "TXT", "value": f"v=DMARC1; p={p}"}, *(extra or [])],
        "servers": [msa, {"host": "mx1", "role": "mx", "domains": ["a.test", "b.test"], "spam_action": "tag",
                          "spf": "tag", "dkim_verify": True, "dmarc": "enforce"},
                    {"host": "mx2", "role": "relay", "relay_domains": ["b.test"]}],
    }  # fmt: skip


def test_signed_mail_passes_dmarc_by_dkim_though_spf_fails() -> None:
    res, system = run({**_mail("reject"), "send": [send(["bob@b.test"])]})
    m = res.messages
    assert m[["status", "spf", "dkim", "dmarc"]].values.tolist() == [["delivered", "fail", "pass", "pass"]]
    msg = BytesParser(policy=policy.default).parsebytes(mailbox(system, "mx1", "bob")[0])
    assert "dmarc=pass (p=reject dis=none) header.from=a.test" in str(msg["Authentication-Results"])
    report = res.dmarc_reports
    assert report[["reporter", "header_from", "count", "disposition", "dkim", "spf", "dmarc"]].values.tolist() == [
        ["mx1", "a.test", 1, "none", "pass", "fail", "pass"]]  # fmt: skip


@pytest.mark.parametrize(("p", "status", "flag"), [("reject", "bounced", None), ("quarantine", "delivered", "YES"),
                                                   ("none", "delivered", None)])  # fmt: skip
def test_unsigned_mail_of_a_signing_domain_gets_the_policy(p: str, status: str, flag: str | None) -> None:
    res, system = run({**_mail(p, sign=False), "send": [send(["bob@b.test"])]})
    m = res.messages[res.messages.kind == "mail"]
    assert m.status.tolist() == [status]
    if status == "bounced":
        assert m.dsn.tolist() == ["5.7.1"] and "rejected per DMARC policy for a.test" in m.reason.iloc[0]
    else:  # quarantined mail is filed into Junk (with the flag), the rest into INBOX
        folder = "Junk" if p == "quarantine" else "INBOX"
        assert m.folder.tolist() == [folder]
        msg = BytesParser(policy=policy.default).parsebytes(mailbox(system, "mx1", "bob", folder)[0])
        assert msg["X-Spam-Flag"] == flag
    report = res.dmarc_reports
    assert report[report.header_from == "a.test"].disposition.tolist() == [p]
    if p == "reject":  # the DSN of msa.a.test (unsigned, no SPF record) falls under a.test's sp= too
        assert m.dmarc.tolist() == ["fail"]
        assert report[report.header_from == "msa.a.test"].disposition.tolist() == ["reject"]
    # conservation: every (message, recipient) is accounted
    assert sum(res.summary["mail"]["messages"].values()) == 1


def test_forged_from_over_port_25_is_rejected() -> None:
    lines = raw_session(_mail("reject"), "mx1", 25, [
        b"EHLO pc.far.test\r\n", b"MAIL FROM:<x@far.test>\r\n", b"RCPT TO:<bob@b.test>\r\n", b"DATA\r\n",
        b"From: boss@a.test\r\nTo: bob@b.test\r\nSubject: pay\r\n\r\nplease\r\n.\r\n"])  # fmt: skip
    assert lines[-1].startswith(b"550 5.7.1 Email rejected per DMARC policy for a.test")


def test_bad_record_and_bad_setup_refused_at_load() -> None:
    bad = {"name": "_dmarc.b.test", "type": "TXT", "value": "v=DMARC1; p=maybe"}
    with pytest.raises(ConfigError, match=r"mail.records\[2\] \(_dmarc.b.test TXT .*p= must be none"):
        scenario(_mail("reject", extra=[bad]))
    bad_spf = {"name": "b.test", "type": "TXT", "value": "v=spf1 ip4:10.0.0.300 -all"}
    with pytest.raises(ConfigError, match=r"mail.records\[2\].*Invalid IP4 address"):
        scenario(_mail("reject", extra=[bad_spf]))
    setup = _mail("reject")
    setup["servers"][1]["dkim_verify"] = False
    with pytest.raises(ConfigError, match=r"mail.servers\[1\].dmarc: DMARC is judged from SPF and DKIM"):
        scenario(setup)
    setup["servers"][1]["dmarc"] = "sometimes"
    with pytest.raises(ConfigError, match=r"servers\[1\].dmarc: expected one of off, monitor, enforce, got 'sometim"):
        scenario(setup)


def _quarantined() -> tuple[Any, Any]:
    """One unsigned message of a.test (p=quarantine) to bob, who can log in to mx1 by POP3 and IMAP."""
    users = [{"address": "alice@a.test", "password": "pw", "client": "pc"}, {"address": "bob@b.test", "password": "pw"},
             {"address": "carol@b.test"}]  # fmt: skip
    return run({**_mail("quarantine", sign=False), "users": users, "send": [send(["bob@b.test"])]})


def _talk(session: Any, commands: list[bytes]) -> bytes:
    return b"".join(session.feed_line(c + b"\r\n") for c in commands)


def test_quarantined_mail_is_in_junk_not_inbox_by_pop3_and_imap() -> None:
    from netlab.mail.imap import ImapServerSession
    from netlab.mail.pop3 import Pop3ServerSession

    res, system = _quarantined()
    store = system.stores["mx1"]
    m = res.messages[res.messages.kind == "mail"]
    assert m[["status", "dmarc", "folder"]].values.tolist() == [["delivered", "fail", "Junk"]]
    # POP3 sees INBOX only (as Dovecot): an empty maildrop
    pop = _talk(Pop3ServerSession(store), [b"USER bob@b.test", b"PASS pw", b"STAT", b"QUIT"])
    assert b"+OK 0 0" in pop
    # IMAP: INBOX empty, SELECT Junk shows the message with its flag and the DMARC verdict
    imap = ImapServerSession(store)
    imap.greeting()
    out = _talk(imap, [b"a LOGIN bob@b.test pw", b"b SELECT INBOX"])
    assert b"* 0 EXISTS" in out
    out = _talk(imap, [b"c SELECT Junk", b"d FETCH 1 (BODY.PEEK[HEADER.FIELDS (X-SPAM-FLAG)])"])
    assert b"* 1 EXISTS" in out and b"X-Spam-Flag: YES" in out and b"d OK" in out
    # the maillog says where local filed it; conservation found it in Junk
    lines = res.maillog[(res.maillog.host == "mx1") & (res.maillog.program == "local")].text.tolist()
    assert len(lines) == 1 and "status=sent (delivered to mailbox Junk as UID 1)" in lines[0]
    assert res.summary["mail"]["messages"] == {"delivered": 1} and system.counts["in_mailboxes"] == 1
    assert res.mailboxes[["user", "mailbox"]].values.tolist() == [["bob@b.test", "Junk"]]


def test_junk_mail_deleted_over_imap_is_accounted() -> None:
    """Conservation reads every folder: a quarantined copy expunged from Junk is deleted, not lost."""
    from netlab.mail.imap import ImapServerSession

    _, system = _quarantined()
    imap = ImapServerSession(system.stores["mx1"])
    imap.greeting()
    out = _talk(imap, [b"a LOGIN bob@b.test pw", b"b SELECT Junk", b"c STORE 1 +FLAGS (\\Deleted)", b"d EXPUNGE"])
    assert b"* 1 EXPUNGE" in out
    system.check(None)
    assert system.counts["in_mailboxes"] == 0 and system.counts["deleted_unread"] == 1
