"""Mail end to end over the simulated network: each rule of issue 4 a test; messages parsed back with email."""

from __future__ import annotations

import email.utils
from email import policy
from email.parser import BytesParser

import pytest
from mail_helpers import mailbox, raw_session, run, send

import netlab


def parse(raw: bytes):  # type: ignore[no-untyped-def]
    return BytesParser(policy=policy.default).parsebytes(raw)


def status(res: netlab.Results, rcpt: str = "bob@b.test", kind: str = "mail") -> list[str]:
    m = res.messages
    return m[(m.rcpt_to == rcpt) & (m.kind == kind)].status.tolist()


def test_submission_relay_mx_mailbox_with_dns() -> None:
    res, system = run({"send": [send(["bob@b.test", "carol@b.test"], headers=False)]})
    assert status(res) == ["delivered"] and status(res, "carol@b.test") == ["delivered"]
    # Both recipients at one destination went in one transaction (msa -> mx1).
    hops = res.mail_hops
    assert hops[(hops.client == "msa")].n_recipients.tolist() == [2]
    (raw,) = mailbox(system, "mx1", "bob")
    msg = parse(raw)
    assert msg["Message-ID"] and email.utils.parsedate_to_datetime(msg["Date"])  # added by the MSA
    assert res.summary["mail"]["messages"] == {"delivered": 2}
    assert "relay=mx1.a.test[" in "\n".join(res.maillog.line)


def test_received_lines_one_per_mta_newest_first_and_one_return_path() -> None:
    res, system = run({"send": [send(["bob@b.test"])]})
    msg = parse(mailbox(system, "mx1", "bob")[0])
    received = msg.get_all("Received")
    assert len(received) == res.messages.mail_hops[0] == 2
    assert "by mx1.a.test" in received[0] and "by msa.a.test" in received[1]  # newest first
    times = [email.utils.parsedate_to_datetime(r.split(";")[-1].strip()) for r in received]
    assert times[0] >= times[1]
    assert msg.get_all("Return-Path") == ["<alice@a.test>"]


@pytest.mark.parametrize(("password", "code"), [("none", "5.7.0"), ("wrong", "5.7.8")])
def test_auth_required_and_bad_credentials(password: str, code: str) -> None:
    res, _ = run({"send": [send(["bob@b.test"], password=password)]})
    row = res.messages.iloc[0]
    assert row.status == "rejected" and row.dsn == code


def test_sender_not_owned_is_refused() -> None:
    res, _ = run(
        {
            "users": [
                {"address": "alice@a.test", "password": "pw", "client": "pc"},
                {"address": "bob@b.test"},
                {"address": "mallory@a.test", "password": "pw", "client": "pc"},
            ],
            "send": [{"at": 0, "from": "mallory@a.test", "to": ["bob@b.test"], "password": "pw"}],
        }
    )
    assert res.messages.iloc[0].status == "delivered"  # her own address is fine
    lines = raw_session(
        {"users": [{"address": "alice@a.test", "password": "pw", "client": "pc"}, {"address": "bob@b.test"}]},
        "msa",
        587,
        [b"EHLO pc\r\n", b"AUTH PLAIN AGFsaWNlQGEudGVzdABwdw==\r\n", b"MAIL FROM:<bob@b.test>\r\n"],
    )
    assert lines[-1].startswith(b"550 5.7.1")


def test_size_limit() -> None:
    mail = {
        "servers": [
            {"host": "msa", "role": "msa", "domains": ["a.test"], "size_limit": "10KB"},
            {"host": "mx1", "role": "mx", "domains": ["a.test", "b.test"]},
        ],
        "domains": [{"name": "a.test", "mx": [[10, "mx1"]]}, {"name": "b.test", "mx": [[10, "mx1"]]}],
        "send": [send(["bob@b.test"], attachment="20KB"), send(["carol@b.test"], attachment="2KB")],
    }
    res, _ = run(mail)
    assert status(res) == ["rejected"] and res.messages.iloc[0].dsn == "5.3.4"
    assert status(res, "carol@b.test") == ["delivered"]


def test_gtube_rejected_outbound_tagged_inbound_and_ham_passes() -> None:
    from netlab.mail.content.spam import GTUBE

    res, system = run({"send": [send(["bob@b.test"], body=f"hi\n{GTUBE}\n"), send(["carol@b.test"])]})
    assert status(res) == ["rejected"] and res.messages.iloc[0].dsn == "5.7.1"
    ham = parse(mailbox(system, "mx1", "carol")[0])
    assert ham["X-Spam-Status"].startswith("No")
    # Without the outbound check the inbound MX tags it (spam_action: tag) and delivers.
    res, system = run(
        {
            "servers": [
                {"host": "msa", "role": "msa", "domains": ["a.test"], "spam_action": "off"},
                {"host": "mx1", "role": "mx", "domains": ["a.test", "b.test"], "spam_action": "tag"},
                {"host": "mx2", "role": "relay", "relay_domains": ["b.test"]},
            ],
            "send": [send(["bob@b.test"], body=f"hi\n{GTUBE}\n")],
        }
    )
    tagged = parse(mailbox(system, "mx1", "bob")[0])
    assert tagged["X-Spam-Status"].startswith("Yes, score=1") and "GTUBE" in tagged["X-Spam-Status"]


def test_relay_refused_for_unauthenticated_clients() -> None:
    lines = raw_session(
        {"send": []},
        "mx1",
        25,
        [b"EHLO pc\r\n", b"MAIL FROM:<x@pc.test>\r\n", b"RCPT TO:<someone@far.test>\r\n", b"RCPT TO:<bob@b.test>\r\n"],
    )
    assert lines[-2].startswith(b"554 5.7.1 <someone@far.test>: Relay access denied")
    assert lines[-1].startswith(b"250")  # its own domain is fine


def test_runtime_bad_input_gets_replies_not_crashes() -> None:
    lines = raw_session({}, "mx1", 25, [b"EHLO pc\r\n", b"FROB\r\n", b"MAIL FROM:<x@pc.test> SIZE=99999999\r\n",
                                        b"MAIL FROM:<x@pc.test>\r\n", b"RCPT TO:<nobody@b.test>\r\n",
                                        b"RCPT TO:<bad address>\r\n"])  # fmt: skip
    codes = [line[:3] for line in lines[-5:]]
    assert codes == [b"500", b"552", b"250", b"550", b"501"]
    assert b"5.1.1" in lines[-2]


def test_local_delivery_needs_no_dns() -> None:
    res, system = run({"send": [send(["alice@a.test"])]})
    assert status(res, "alice@a.test") == ["delivered"]
    assert system.resolver("mx1").stats.lookups == 0
    assert "relay=local" in "\n".join(res.maillog.line)


def test_mx_fallback_and_backup_mx_relays_to_the_primary() -> None:
    faults = [{"at": "0.01s", "node": "mx1", "action": "down"}, {"at": "200s", "node": "mx1", "action": "up"}]
    mail = {"queue": {"connect_timeout": "5s"}, "send": [send(["bob@b.test"], at=1.0)]}
    res, system = run(mail, faults=faults)
    row = res.messages.iloc[0]
    assert row.status == "delivered" and row.hop_hosts == "msa mx2 mx1"
    assert row.delivered_s >= 300  # mx2 queued it and retried at its first deferred scan after mx1 came back
    log = "\n".join(res.maillog.line)
    assert "relay=mx2.b.test[" in log and "status=deferred" in log
    assert parse(mailbox(system, "mx1", "bob")[0]).get_all("Received")[0].count("by mx1") == 1


def test_null_mx_bounces_with_a_dsn() -> None:
    mail = {
        "domains": [
            {"name": "a.test", "mx": [[10, "mx1"]]},
            {"name": "b.test", "mx": [[10, "mx1"]]},
            {"name": "nomail.test", "null_mx": True},
        ],
        "send": [send(["x@nomail.test"])],
    }
    res, system = run(mail)
    assert status(res, "x@nomail.test") == ["bounced"] and res.messages.iloc[0].dsn == "5.1.10"
    dsn = parse(mailbox(system, "mx1", "alice")[0])
    assert dsn.get_content_type() == "multipart/report"


def deferring(extra: dict | None = None) -> dict:  # type: ignore[type-arg]
    """The MSA relays through a relay that does not trust it and defers foreign mail (454 4.7.1)."""
    mail = {
        "servers": [
            {"host": "msa", "role": "msa", "domains": ["a.test"], "smarthost": "relay"},
            {"host": "relay", "role": "relay", "relay_refusal": "defer", "relay_domains": ["a.test"]},
            {"host": "mx1", "role": "mx", "domains": ["a.test", "b.test"]},
        ],
        "domains": [{"name": "a.test", "mx": [[10, "mx1"]]}, {"name": "b.test", "mx": [[10, "mx1"]]}],
        "send": [send(["bob@b.test"])],
    }
    mail.update(extra or {})
    return mail


def test_retry_times_follow_the_postfix_schedule_after_4xx() -> None:
    res, _ = run(deferring(), run={"until": "3h", "bin": "1h"})
    tries = res.mail_hops[res.mail_hops.client == "msa"].start_s.round().astype(int).tolist()
    assert tries == [0, 300, 600, 1200, 2400, 4800, 9000]
    assert status(res) == ["queued"]  # still queued at `until`, and reported so
    assert res.summary["mail"]["queued_messages"] == 1


def test_queue_lifetime_bounces_a_dsn_that_email_parses() -> None:
    res, system = run(deferring({"queue": {"maximal_queue_lifetime": "1h"}}), run={"bin": "1h"})
    assert status(res) == ["bounced"] and res.messages.iloc[0].dsn == "4.4.7"
    assert status(res, "alice@a.test", kind="dsn") == ["delivered"]
    dsn = parse(mailbox(system, "mx1", "alice")[0])
    assert dsn.get_content_type() == "multipart/report" and dsn.get_param("report-type") == "delivery-status"
    assert dsn["To"] == "alice@a.test" and dsn.get_all("Return-Path") == ["<>"]
    report = next(p for p in dsn.walk() if p.get_content_type() == "message/delivery-status")
    blocks = report.get_payload()
    assert blocks[1]["Action"] == "failed" and blocks[1]["Status"] == "4.4.7"
    assert "expired, returned to sender" in "\n".join(res.maillog.line)


def test_loop_bounces_at_the_hop_limit() -> None:
    mail = {
        "servers": [
            {"host": "msa", "role": "msa", "domains": ["a.test"], "smarthost": "relay"},
            {"host": "relay", "role": "relay", "trusted": ["msa", "relay2"], "smarthost": "relay2"},
            {"host": "relay2", "role": "relay", "trusted": ["relay"], "smarthost": "relay"},
            {"host": "mx1", "role": "mx", "domains": ["a.test", "b.test"]},
        ],
        "domains": [{"name": "a.test", "mx": [[10, "mx1"]]}, {"name": "b.test", "mx": [[10, "mx1"]]}],
        "send": [send(["bob@b.test"])],
    }
    res, _ = run(mail)
    row = res.messages[res.messages.kind == "mail"].iloc[0]
    assert row.status == "bounced" and row.dsn == "5.4.0" and row.mail_hops == 50
    assert "too many hops" in row.reason
    # The DSN takes the same looping smarthost route, hits the limit too, and is dropped: never bounce a bounce.
    assert status(res, "alice@a.test", kind="dsn") == ["discarded"]
    assert (res.messages.kind == "dsn").sum() == 1


def test_crashed_mta_delivers_its_queue_after_restart() -> None:
    mail = {"queue": {"connect_timeout": "5s"}, "send": [send(["bob@b.test"], at=1.0)]}
    faults = [
        {"at": "0.01s", "node": "mx1", "action": "down"},
        {"at": "50s", "node": "mx2", "action": "down"},
        {"at": "100s", "node": "mx1", "action": "up"},
        {"at": "1000s", "node": "mx2", "action": "up"},
    ]
    res, _ = run(mail, faults=faults)
    row = res.messages.iloc[0]
    assert row.status == "delivered" and row.hop_hosts == "msa mx2 mx1"
    assert row.delivered_s >= 1000  # held in mx2's queue through its crash
    assert "queue manager resumes" in "\n".join(res.maillog.line)


def test_dead_destination_defers_mail_without_connecting_and_delivers_later() -> None:
    """Both MX hosts down: the first window of 5 deliveries times out, 4 failures make b.test dead, and the
    queue manager defers the other 7 at once (no connection); once the hosts are back everything arrives."""
    faults = [{"at": at, "node": node, "action": action} for at, action in (("0.01s", "down"), ("400s", "up"))
              for node in ("mx1", "mx2")]  # fmt: skip
    mail = {"queue": {"connect_timeout": "5s"}, "send": [send(["bob@b.test"], at=1.0 + i / 10) for i in range(12)]}
    res, _ = run(mail, faults=faults)
    assert status(res) == ["delivered"] * 12
    hops = res.mail_hops
    first_try = hops[(hops.client == "msa") & (hops.start_s < 100)]
    assert len(first_try) == 2 * 5  # 5 deliveries, each trying mx1 then mx2
    suspended = [line for line in res.maillog.line if "delivery temporarily suspended" in line]
    assert len(suspended) == 7 and all("postfix/qmgr[" in line and "relay=none" in line for line in suspended)


def test_body_size_generates_a_text_body_of_that_size() -> None:
    """``body_size`` (what a trace of submissions gives) becomes that many characters of text, deterministically."""
    mail = {"send": [send(["bob@b.test"], at=1.0, body_size="5KB", subject="sized")]}
    (res, system), (res2, _) = run(mail), run(mail)
    body = parse(mailbox(system, "mx1", "bob")[0]).get_body(("plain",)).get_content()
    assert len(body.replace("\r\n", "").replace("\n", "")) == 5000 and status(res) == ["delivered"]
    assert res.maillog.line.tolist() == res2.maillog.line.tolist()


def test_loss_causes_retransmissions_and_intact_delivery() -> None:
    links = [
        ["pc", "r1"],
        ["msa", "r1"],
        ["relay", "r1"],
        ["relay2", "r1"],
        {"a": "r1", "b": "r2", "loss": 0.05},
        ["mx1", "r2"],
        ["mx2", "r2"],
        ["dns", "r2"],
    ]
    res, system = run({"send": [send(["bob@b.test"], attachment="200KB")]}, links=links)
    row = res.messages.iloc[0]
    assert row.status == "delivered" and row.retransmissions > 0
    msg = parse(mailbox(system, "mx1", "bob")[0])
    att = next(p for p in msg.walk() if p.get_filename() == "attachment.bin")
    assert len(att.get_content()) == 200_000


def test_same_seed_same_maillog_and_workload() -> None:
    mail = {"workload": {"count": 20, "mean_interval": "10s", "attachment_probability": 0.3}}
    a, _ = run(mail)
    b, _ = run(mail)
    assert a.maillog.line.tolist() == b.maillog.line.tolist() and len(a.maillog) > 50
    assert (a.messages.status == "delivered").sum() >= 15
    c, _ = run(mail, seed=2)
    assert c.maillog.line.tolist() != a.maillog.line.tolist()


def test_results_save_and_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    res, _ = run({"send": [send(["bob@b.test"])]})
    res.save(tmp_path)
    back = netlab.load_results(tmp_path)
    assert back.messages.status.tolist() == ["delivered"] and len(back.maillog) == len(res.maillog)


def test_msa_qualifies_bare_addresses_and_port_25_refuses_them() -> None:
    """RFC 6409 §4.2: the MSA makes envelope addresses fully qualified (with its domain); a relay does not."""
    users = {"users": [{"address": "alice@a.test", "password": "pw", "client": "pc"}, {"address": "bob@b.test"}]}
    auth = b"AUTH PLAIN AGFsaWNlQGEudGVzdABwdw==\r\n"  # alice@a.test / pw
    lines = raw_session(
        users, "msa", 587, [b"EHLO pc\r\n", auth, b"MAIL FROM:<alice>\r\n", b"RCPT TO:<bob@b.test>\r\n"]
    )
    assert lines[-2].startswith(b"250") and lines[-1].startswith(b"250")  # alice -> alice@a.test, her own
    lines = raw_session(users, "mx1", 25, [b"EHLO pc\r\n", b"MAIL FROM:<alice>\r\n"])
    assert lines[-1].startswith(b"501")
