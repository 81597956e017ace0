"""The inbox server on the network: MDA into the message store, POP3 on 110 and IMAP on 143 as scripted sessions
from the pc over the simulated transport (the sans-IO sessions' every command is covered in test_pop3/test_imap)."""

from __future__ import annotations

import pickle
from collections.abc import Generator
from typing import Any

import pytest
import simpy
from mail_helpers import imap, mailbox, pop3, run, scripted, send, users

from netlab.mail.content.message import parse
from netlab.mail.mailbox import read_mailbox
from netlab.mail.mailbox.inbox import IMAP_PORT, POP3_PORT

TWO = {"users": users(), "send": [send(["bob@b.test"], subject="one"), send(["bob@b.test"], subject="two")]}


def _connect(env: simpy.Environment, system: Any, port: int, at: float = 5.0) -> Generator[simpy.Event, Any, Any]:
    yield env.timeout(max(0.0, at - env.now))
    return (yield system.stack.connect("pc", ("mx1", port)).connected)


def test_pop3_session_over_the_network_answers_every_command() -> None:
    def script(env: simpy.Environment, system: Any) -> Generator[simpy.Event, Any, list[bytes]]:
        conn = yield from _connect(env, system, POP3_PORT)
        out = [(yield from pop3(conn, b""))]  # the greeting
        for cmd, multi in [(b"USER bob@b.test", False), (b"PASS bob-pw", False), (b"STAT", False),
                           (b"LIST", True), (b"UIDL", True), (b"TOP 1 0", True), (b"RETR 2", True),
                           (b"DELE 1", False), (b"STAT", False), (b"RSET", False), (b"NOOP", False),
                           (b"RETR 9", True), (b"QUIT", False)]:  # fmt: skip
            out.append((yield from pop3(conn, cmd, multiline=multi)))
        conn.close()
        return out

    _, system, out = scripted(TWO, script)
    raws = mailbox(system, "mx1", "bob@b.test")
    sizes = [len(r) for r in raws]
    assert out[0].startswith(b"+OK") and b"POP3 server ready" in out[0]
    assert out[3] == f"+OK 2 {sum(sizes)}\r\n".encode()
    assert out[4] == f"+OK 2 messages\r\n1 {sizes[0]}\r\n2 {sizes[1]}\r\n.\r\n".encode()
    uidl = out[5].split(b"\r\n")[1:3]
    assert [u.split()[1].split(b".")[1] for u in uidl] == [b"1", b"2"]  # UIDVALIDITY.UID
    assert out[6].endswith(b"\r\n\r\n.\r\n") and b"Subject: one" in out[6]  # TOP 1 0: headers and the blank line
    body = out[7].split(b"\r\n", 1)[1][: -len(b".\r\n")]
    assert body == raws[1]  # RETR: the stored bytes, un-stuffed (nothing to stuff here)
    assert out[9] == f"+OK 1 {sizes[1]}\r\n".encode() and out[10].startswith(b"+OK")
    assert out[12].startswith(b"-ERR no such message")
    assert out[13].startswith(b"+OK") and b"0 messages deleted" in out[13]  # RSET undid the DELE
    assert len(raws) == 2


def test_pop3_deletes_only_after_quit_over_the_network() -> None:
    def script(env: simpy.Environment, system: Any) -> Generator[simpy.Event, Any, list[int]]:
        counts = []
        conn = yield from _connect(env, system, POP3_PORT)
        for cmd in [b"", b"USER bob@b.test", b"PASS bob-pw", b"DELE 1", b"DELE 2"]:
            yield from pop3(conn, cmd)
        conn.close()  # no QUIT: the session never reaches UPDATE
        yield env.timeout(1.0)
        counts.append(len(_bob(system)))
        conn = yield from _connect(env, system, POP3_PORT, at=env.now)
        for cmd in [b"", b"USER bob@b.test", b"PASS bob-pw", b"DELE 1"]:
            reply = yield from pop3(conn, cmd)
            assert reply.startswith(b"+OK"), reply  # the lock was released when the first session dropped
        counts.append(len(_bob(system)))  # marked, not yet removed
        yield from pop3(conn, b"QUIT")
        counts.append(len(_bob(system)))
        conn.close()
        return counts

    _, _, counts = scripted(TWO, script)
    assert counts == [2, 2, 1]


def _bob(system: Any) -> Any:
    """bob's INBOX on mx1."""
    return system.stores["mx1"].mailbox("bob@b.test")


def test_imap_seen_rules_over_the_network() -> None:
    def script(env: simpy.Environment, system: Any) -> Generator[simpy.Event, Any, list[Any]]:
        def flags() -> list[set[str]]:
            return [set(e.flags) for e in _bob(system).entries]

        conn = yield from _connect(env, system, IMAP_PORT)
        seen = [(yield conn.recv_line())]
        yield from imap(conn, "a1", b'LOGIN "bob@b.test" "bob-pw"')
        yield from imap(conn, "a2", b"EXAMINE INBOX")
        seen.append((yield from imap(conn, "a3", b"FETCH 1 (BODY[])")))
        seen.append(flags())  # EXAMINE is read-only: no \Seen from BODY[]
        yield from imap(conn, "a4", b"SELECT INBOX")
        yield from imap(conn, "a5", b"FETCH 1 (BODY.PEEK[])")
        seen.append(flags())  # PEEK never sets \Seen
        yield from imap(conn, "a6", b"FETCH 2 (RFC822)")
        seen.append(flags())  # RFC822 (like BODY[]) sets \Seen
        seen.append((yield from imap(conn, "a7", b"SEARCH UNSEEN")))
        yield from imap(conn, "a8", b"LOGOUT")
        conn.close()
        return seen

    _, system, seen = scripted(TWO, script)
    assert seen[0].startswith(b"* OK [CAPABILITY IMAP4rev1 IDLE")
    raw = mailbox(system, "mx1", "bob@b.test")[0]
    assert f"BODY[] {{{len(raw)}}}\r\n".encode() + raw in seen[1]  # the literal, read with recv_exactly
    assert seen[2] == [set(), set()] and seen[3] == [set(), set()] and seen[4] == [set(), {"\\Seen"}]
    assert seen[5].startswith(b"* SEARCH 1\r\n")


def test_imap_idle_push_over_the_network() -> None:
    mail = {"users": users(), "send": [send(["bob@b.test"], subject="early"),
                                       send(["bob@b.test"], at=30.0, subject="late")]}  # fmt: skip

    def script(env: simpy.Environment, system: Any) -> Generator[simpy.Event, Any, tuple[float, bytes]]:
        conn = yield from _connect(env, system, IMAP_PORT)
        yield conn.recv_line()
        yield from imap(conn, "a1", b'LOGIN "bob@b.test" "bob-pw"')
        yield from imap(conn, "a2", b"SELECT INBOX")
        conn.send(b"a3 IDLE\r\n")
        assert (yield conn.recv_line()).startswith(b"+ ")
        pushed = yield conn.recv_line()
        when = env.now
        conn.send(b"DONE\r\n")
        while not (yield conn.recv_line()).startswith(b"a3 OK"):
            pass
        yield from imap(conn, "a4", b"LOGOUT")
        return when, pushed

    res, _, (when, pushed) = scripted(mail, script)
    assert pushed == b"* 2 EXISTS\r\n"
    late = res.messages[res.messages.message_id.str.contains("9001")].iloc[0]
    assert 0 <= when - late.mailbox_s < 0.05  # one trip over the 2-ms links, not a polling interval


def test_unknown_recipient_at_the_inbox_bounces_550_511_dsn_that_alice_fetches() -> None:
    res, system = run({"users": users(alice={"protocol": "imap", "idle": True}),
                       "send": [send(["nobody@b.test", "bob@b.test"])]})  # fmt: skip
    m = res.messages
    row = m[m.rcpt_to == "nobody@b.test"].iloc[0]
    assert (row.status, row.dsn) == ("bounced", "5.1.1") and "550" in row.reason
    dsn_row = m[m.kind == "dsn"].iloc[0]
    assert dsn_row.status == "delivered" and dsn_row.retrieved_s >= dsn_row.mailbox_s
    ((_, fetched),) = system.fetchers["alice@a.test"].fetched
    report = parse(fetched.raw)
    assert report.get_content_type() == "multipart/report" and report["Delivered-To"] == "alice@a.test"
    status = next(p for p in report.walk() if p.get_content_type() == "message/delivery-status")
    assert "Status: 5.1.1" in status.as_string()


@pytest.mark.parametrize(("action", "status", "code"), [("bounce", "bounced", "5.2.2"), ("defer", "queued", "")])
def test_quota(action: str, status: str, code: str) -> None:
    mail = {
        "users": users(),
        "servers": [
            {"host": "msa", "role": "msa", "domains": ["a.test"]},
            {"host": "mx1", "role": "mx", "domains": ["a.test", "b.test"], "quota": "3KB", "quota_action": action},
        ],
        "domains": [{"name": "a.test", "mx": [[10, "mx1"]]}, {"name": "b.test", "mx": [[10, "mx1"]]}],
        "send": [send(["bob@b.test"], subject="fits"), send(["bob@b.test"], attachment="4KB", at=1.0)],
    }
    res, system = run(mail, run={"until": "200s", "bin": "1000s"})
    rows = res.messages[res.messages.kind == "mail"]
    assert rows.status.tolist() == ["delivered", status]
    assert len(mailbox(system, "mx1", "bob@b.test")) == 1
    if action == "bounce":
        assert rows.dsn.tolist()[1] == code
    else:
        assert "dsn=4.2.2" in "\n".join(res.maillog.line)  # 452 4.2.2: retried from the queue


def test_mailboxes_table_reads_back_as_email_messages_after_pickling_and_saving(tmp_path: Any) -> None:
    from netlab.results import load_results

    res, _ = run(TWO)
    again = pickle.loads(pickle.dumps(res))
    messages = read_mailbox(again, "bob@b.test")
    assert [m["Subject"] for m in messages] == ["one", "two"]
    assert all(m["Delivered-To"] == "bob@b.test" and m["Return-Path"] == "<alice@a.test>" for m in messages)
    loaded = load_results(res.save(tmp_path / "r"))
    assert [m.as_bytes() for m in read_mailbox(loaded, "bob@b.test")] == [m.as_bytes() for m in messages]


def test_imap_uid_store_expunge_over_the_network() -> None:
    def script(env: simpy.Environment, system: Any) -> Generator[simpy.Event, Any, list[bytes]]:
        conn = yield from _connect(env, system, IMAP_PORT)
        yield conn.recv_line()
        out = []
        for tag, cmd in [
            ("a1", b"CAPABILITY"),
            ("a2", b"LOGIN bob@b.test wrong"),
            ("a3", b'LOGIN "bob@b.test" "bob-pw"'),
            ("a4", b"SELECT INBOX"),
            ("a5", b"UID SEARCH ALL"),
            ("a6", b"UID FETCH 2 (UID RFC822.SIZE)"),
            ("a7", b"UID STORE 1 +FLAGS (\\Deleted)"),
            ("a8", b"NOOP"),
            ("a9", b"EXPUNGE"),
            ("b1", b"FETCH 1 (UID)"),
            ("b2", b"LOGOUT"),
        ]:
            out.append((yield from imap(conn, tag, cmd)))
        return out

    _, system, out = scripted(TWO, script)
    size = len(mailbox(system, "mx1", "bob@b.test")[0])
    assert out[0].startswith(b"* CAPABILITY IMAP4rev1 IDLE") and out[0].endswith(b"a1 OK CAPABILITY completed\r\n")
    assert out[1] == b"a2 NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
    assert b"* 2 EXISTS" in out[3] and b"[UIDVALIDITY " in out[3]
    assert out[3].endswith(b"a4 OK [READ-WRITE] SELECT completed\r\n")
    assert out[4].startswith(b"* SEARCH 1 2\r\n")
    assert f"* 2 FETCH (UID 2 RFC822.SIZE {size})".encode() in out[5]
    assert (
        out[6] == b"* 1 FETCH (UID 1 FLAGS (\\Deleted \\Recent))\r\na7 OK STORE completed\r\n"
    )  # UID STORE names the UID
    assert out[8].startswith(b"* 1 EXPUNGE\r\n")
    assert out[9].startswith(b"* 1 FETCH (UID 2)")  # sequence numbers shift, UIDs do not
    assert out[10].startswith(b"* BYE") and system.stores["mx1"].mailbox("bob@b.test").expunged == [1]
