"""The recipients' mail programs fetching over the network: IDLE against polling, POP3 keep and delete, IMAP
delete, the fetched message against the submitted one, and mail conservation down to the mailboxes."""

from __future__ import annotations

from email import policy
from email.parser import BytesHeaderParser

import pytest
from mail_helpers import mailbox, run, scenario, send, users

from netlab.errors import ConfigError
from netlab.mail.tracker import MailConservationError
from netlab.mail.workload import compose

IDLE = {"protocol": "imap", "idle": True}
POLL60 = {"protocol": "pop3", "interval": "60s"}


def _waits(res: object, rcpt: str) -> list[float]:
    m = res.messages  # type: ignore[attr-defined]
    mine = m[m.rcpt_to == rcpt]
    return (mine.retrieved_s - mine.mailbox_s).tolist()


def test_idle_pushes_new_mail_faster_than_polling() -> None:
    arrivals = [send(["bob@b.test", "carol@b.test"], at=t, subject=f"m{t}") for t in (70, 150, 260, 400, 480)]
    res, _ = run({"users": users(bob=IDLE, carol=POLL60), "send": arrivals})
    idle, poll = _waits(res, "bob@b.test"), _waits(res, "carol@b.test")
    assert len(idle) == len(poll) == 5 and all(w >= 0 for w in idle + poll)
    # IDLE (logged in within the first 60 s): a push and a fetch over 2-ms links; polling: wherever the arrival
    # fell in the 60 s interval
    assert max(idle) < 0.1 < sorted(poll)[2]
    assert max(poll) < 60.0
    f = res.fetch_sessions
    assert set(f[f.user == "bob@b.test"].fetch_mode) == {"idle"} and len(f[f.user == "bob@b.test"]) == 1


def test_fetched_message_is_the_submitted_one_plus_trace_headers() -> None:
    body = "Dear Bob,\n.a line that starts with a dot\n..and two\nbye\n"
    res, system = run(
        {
            "users": users(bob={"protocol": "pop3", "interval": "30s"}, carol=IDLE),
            "send": [send(["bob@b.test", "carol@b.test"], subject="Report", body=body, headers=False)],
        }
    )
    submitted = compose(sender="alice@a.test", to=["bob@b.test", "carol@b.test"], subject="Report", body=body)
    head, _, sent_body = submitted.partition(b"\r\n\r\n")
    sent = BytesHeaderParser(policy=policy.default).parsebytes(head + b"\r\n\r\n")
    added = {"received", "return-path", "delivered-to", "date", "message-id", "x-spam-status"}
    for user in ("bob@b.test", "carol@b.test"):
        ((_, fetched),) = system.fetchers[user].fetched
        fetched_head, _, fetched_body = fetched.raw.partition(b"\r\n\r\n")
        got = BytesHeaderParser(policy=policy.default).parsebytes(fetched_head + b"\r\n\r\n")
        assert fetched_body == sent_body  # byte for byte, through dot-stuffing on SMTP and POP3 / a literal on IMAP
        assert [(k, str(v)) for k, v in got.items() if k.lower() not in added] == [(k, str(v)) for k, v in sent.items()]
        assert (got["Subject"], got["From"], got["To"]) == ("Report", "alice@a.test", "bob@b.test, carol@b.test")
        assert len(got.get_all("Received")) == 2 and got["Return-Path"] == "<alice@a.test>"
        assert got["Delivered-To"] == user and "@msa.a.test>" in got["Message-ID"] and got["Date"]
        assert fetched.raw == mailbox(system, "mx1", user)[0]
    row = res.messages.iloc[0]
    assert row.submitted_s < row.mailbox_s <= row.retrieved_s


def test_pop3_keep_and_delete_and_conservation_ends_in_mailboxes() -> None:
    arrivals = [send(["bob@b.test", "carol@b.test"], at=t) for t in (0, 40, 80)]
    keep, delete = {"protocol": "pop3", "interval": "30s"}, {"protocol": "pop3", "interval": "30s", "delete": True}
    res, system = run({"users": users(bob=delete, carol=keep), "send": arrivals})
    assert mailbox(system, "mx1", "bob@b.test") == [] and len(mailbox(system, "mx1", "carol@b.test")) == 3
    assert res.messages.retrieved_s.notna().all()
    carol = system.fetchers["carol@b.test"]
    assert len(carol.fetched) == len({m.uid for _, m in carol.fetched}) == 3  # left on the server, fetched once
    ends = res.summary["mail"]["delivered_ends"]
    assert ends == {"in_mailboxes": 3, "retrieved_and_deleted": 3, "deleted_unread": 0}
    f = res.fetch_sessions
    assert (f.protocol == "pop3").all() and (f.commands >= 4).all() and (f.bytes_received > 0).all()
    assert f.messages.sum() == 6 and (f.end_s >= f.start_s).all() and (f.error == "").all()
    # Mail that vanishes from a mailbox without a POP3/IMAP session deleting it breaks conservation.
    system.stores["mx1"].mailbox("carol@b.test").entries.pop()
    with pytest.raises(MailConservationError, match="neither in its mailbox"):
        system.check(None)


def test_imap_polling_client_deletes_with_expunge() -> None:
    res, system = run({"users": users(bob={"protocol": "imap", "interval": "20s", "delete": True}),
                       "send": [send(["bob@b.test"], at=t) for t in (0, 30)]})  # fmt: skip
    assert mailbox(system, "mx1", "bob@b.test") == []
    assert system.stores["mx1"].mailbox("bob@b.test").expunged == [1, 2]
    assert res.summary["mail"]["delivered_ends"]["retrieved_and_deleted"] == 2


@pytest.mark.parametrize(("fetch", "client", "match"), [
    ({"protocol": "pop3", "idle": True}, "pc", "IDLE is an IMAP extension"),
    ({"protocol": "smtp"}, "pc", r"fetch.protocol: expected one of pop3, imap, got 'smtp'"),
    ({"protocol": "imap"}, None, "needs a client host"),
])  # fmt: skip
def test_fetch_config_errors(fetch: dict[str, object], client: str | None, match: str) -> None:
    bob = {"address": "bob@b.test", "fetch": fetch, **({"client": client} if client else {})}
    with pytest.raises(ConfigError, match=match):
        scenario({"users": [{"address": "alice@a.test", "password": "pw", "client": "pc"}, bob]})


def test_run_summary_splits_the_time_to_the_screen_by_stage() -> None:
    from netlab._run_cli import format_mail_summary

    res, _ = run({"users": users(bob=IDLE, carol=POLL60),
                  "send": [send(["bob@b.test", "carol@b.test"], at=t) for t in (70, 130)]})  # fmt: skip
    text = "\n".join(format_mail_summary(res))
    for stage in (
        "submission (MUA -> MSA queued)",
        "transfer (MSA -> final MX)",
        "delivery (final MX -> mailbox)",
        "waiting (mailbox -> fetched)",
        "end to end (to the screen)",
        "imap idle (2)",
        "pop3 poll 60 s (2)",
    ):
        assert stage in text
    assert "time to the screen (s), 4 pairs" in text and "fetch sessions: IMAP 1" in text


def test_a_fetch_client_keeps_only_the_newest_messages_it_retrieved(monkeypatch: pytest.MonkeyPatch) -> None:
    """A day of mail must not keep every downloaded message in memory: ``fetched`` is bounded, ``retrieved``
    counts all of them, and the tracker still has every pair's retrieval."""
    import netlab.mail.clients.fetch as fetch

    monkeypatch.setattr(fetch, "FETCHED_KEPT", 2)
    sends = [send(["bob@b.test"], subject=f"m{i}", at=i) for i in range(5)]
    res, system = run({"send": sends, "users": [
        {"address": "alice@a.test", "password": "pw", "client": "pc"},
        {"address": "bob@b.test", "password": "bpw", "client": "pc", "fetch": {"protocol": "pop3", "interval": "10s"}},
    ]})  # fmt: skip
    bob = system.fetchers["bob@b.test"]
    assert bob.retrieved == 5 and len(bob.fetched) == 2
    subjects = [BytesHeaderParser(policy=policy.default).parsebytes(m.raw)["Subject"] for _, m in bob.fetched]
    assert subjects == ["m3", "m4"]
    assert res.messages["retrieved_s"].notna().sum() == 5
