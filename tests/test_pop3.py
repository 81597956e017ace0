"""POP3 (RFC 1939): scripted server sessions, the fetching client, and Python's poplib over loopback TCP."""

from __future__ import annotations

import poplib

import pytest
from loopback import TIMEOUT_S, loopback

from netlab.mail.content.message import build_message, parse, to_bytes
from netlab.mail.mailbox.store import MessageStore
from netlab.mail.pop3 import Pop3Client, Pop3ServerSession


def _raw(subject: str, body: str = "Hello\n") -> bytes:
    return to_bytes(build_message(sender="alice@a.test", to="bob@b.test", subject=subject, body=body))


@pytest.fixture
def store() -> MessageStore:
    store = MessageStore({"bob": "pw", "carol": "pw2"}, domain="b.test")
    store.deliver("bob", _raw("one", "first\n.starts with a dot\n"), 1.0)
    store.deliver("bob", _raw("two", "l1\nl2\nl3\n"), 2.0)
    return store


def _session(store: MessageStore, *commands: bytes) -> tuple[Pop3ServerSession, list[bytes]]:
    pop = Pop3ServerSession(store)
    return pop, [pop.feed_line(c + b"\r\n") for c in commands]


def _login(store: MessageStore, *commands: bytes) -> tuple[Pop3ServerSession, list[bytes]]:
    pop, out = _session(store, b"USER bob", b"PASS pw", *commands)
    assert out[1].startswith(b"+OK maildrop has 2 messages")
    return pop, out[2:]


def test_greeting_and_authorization(store: MessageStore) -> None:
    pop = Pop3ServerSession(store, hostname="mx.b.test")
    assert pop.greeting().startswith(b"+OK mx.b.test POP3") and pop.greeting().endswith(b"\r\n")
    assert pop.feed_line(b"PASS pw\r\n").startswith(b"-ERR")  # PASS without USER
    assert pop.feed_line(b"STAT\r\n").startswith(b"-ERR")  # not in TRANSACTION yet
    assert pop.feed_line(b"USER bob\r\n") == b"+OK\r\n"
    assert pop.feed_line(b"PASS nope\r\n").startswith(b"-ERR [AUTH]")
    assert pop.state == "AUTHORIZATION"
    assert pop.feed_line(b"USER bob\r\n") == b"+OK\r\n"
    assert pop.feed_line(b"PASS pw\r\n").startswith(b"+OK")
    assert pop.state == "TRANSACTION"
    assert pop.feed_line(b"USER bob\r\n").startswith(b"-ERR")  # USER only in AUTHORIZATION


def test_second_session_finds_the_maildrop_locked(store: MessageStore) -> None:
    first, _ = _login(store)
    _, out = _session(store, b"USER bob", b"PASS pw")
    assert out[1].startswith(b"-ERR [IN-USE]")
    first.connection_lost()
    _, out = _session(store, b"USER bob", b"PASS pw")
    assert out[1].startswith(b"+OK")


def _exact(fold: bool) -> dict[str, bool]:
    """The store's keyword for exact local parts; folding is the default (so nothing is passed for it)."""
    return {} if fold else {"fold_local_parts": False}


@pytest.mark.parametrize(("user", "fold", "ok"), [
    (b"bob@b.test", True, True), (b"BOB@b.test", True, True), (b"bob", True, False),  # no domain: another name
    (b"bob@B.TEST", True, True), (b"Bob@B.Test", True, True),
    (b"bob@B.TEST", False, True),  # domains compare case-insensitively either way
    (b"BOB@b.test", False, False), (b"carol@b.test", True, False),
])  # fmt: skip
def test_login_name_in_any_case(user: bytes, fold: bool, ok: bool) -> None:
    """USER HEIDI@beta.example and heidi@BETA.EXAMPLE are heidi@beta.example (as with Dovecot's %Lu); one lock."""
    store = MessageStore({"bob@b.test": "pw"}, **_exact(fold))
    store.deliver("bob@b.test", _raw("one"), 1.0)
    pop, out = _session(store, b"USER " + user, b"PASS pw")
    assert out[1].startswith(b"+OK maildrop has 1 message" if ok else b"-ERR [AUTH]")
    if ok:
        assert pop.feed_line(b"RETR 1\r\n").startswith(b"+OK")
        _, again = _session(store, b"USER bob@b.test", b"PASS pw")
        assert again[1].startswith(b"-ERR [IN-USE]")  # the same maildrop under another spelling


def test_stat_list_uidl(store: MessageStore) -> None:
    sizes = [e.size for e in store.mailbox("bob").entries]
    _, out = _login(store, b"STAT", b"LIST", b"LIST 2", b"LIST 3", b"UIDL", b"UIDL 1", b"LIST x")
    assert out[0] == f"+OK 2 {sum(sizes)}\r\n".encode()
    assert out[1] == f"+OK 2 messages\r\n1 {sizes[0]}\r\n2 {sizes[1]}\r\n.\r\n".encode()
    assert out[2] == f"+OK 2 {sizes[1]}\r\n".encode()
    assert out[3].startswith(b"-ERR no such message")
    assert out[4] == b"+OK 2 messages\r\n1 1.1\r\n2 1.2\r\n.\r\n"
    assert out[5] == b"+OK 1 1.1\r\n"
    assert out[6].startswith(b"-ERR")


def test_retr_is_dot_stuffed_and_exact(store: MessageStore) -> None:
    _, out = _login(store, b"RETR 1")
    raw = store.entry("bob", 1).raw
    assert out[0].startswith(f"+OK {len(raw)} octets\r\n".encode())
    assert b"\r\n..starts with a dot\r\n" in out[0] and out[0].endswith(b"\r\n.\r\n")
    lines = out[0].split(b"\r\n")[1:-2]
    assert b"".join((line[1:] if line.startswith(b".") else line) + b"\r\n" for line in lines) == raw


@pytest.mark.parametrize(("n", "body_lines"), [(0, []), (2, [b"l1", b"l2"]), (10, [b"l1", b"l2", b"l3"])])
def test_top(store: MessageStore, n: int, body_lines: list[bytes]) -> None:
    _, out = _login(store, f"TOP 2 {n}".encode())
    head = store.entry("bob", 2).raw.split(b"\r\n\r\n")[0]
    assert out[0] == b"+OK\r\n" + head + b"\r\n\r\n" + b"".join(line + b"\r\n" for line in body_lines) + b".\r\n"


def test_dele_rset_and_deleted_messages_are_hidden(store: MessageStore) -> None:
    _, out = _login(store, b"DELE 1", b"DELE 1", b"RETR 1", b"LIST 1", b"STAT", b"RSET", b"STAT", b"DELE 9")
    assert out[0] == b"+OK message 1 deleted\r\n"
    assert out[1].startswith(b"-ERR message 1 already deleted")
    assert out[2].startswith(b"-ERR") and out[3].startswith(b"-ERR")
    assert out[4].startswith(b"+OK 1 ")
    assert out[5].startswith(b"+OK") and out[6].startswith(b"+OK 2 ")
    assert out[7].startswith(b"-ERR no such message")


def test_deletions_apply_only_at_quit(store: MessageStore) -> None:
    pop, out = _login(store, b"DELE 1", b"NOOP")
    assert out[1] == b"+OK\r\n" and len(store.mailbox("bob")) == 2  # marked, not removed
    assert pop.feed_line(b"QUIT\r\n").startswith(b"+OK") and pop.closed and pop.state == "UPDATE"
    assert [e.uid for e in store.mailbox("bob").entries] == [2]
    assert store.lock("bob")  # UPDATE released the maildrop


def test_dropped_session_keeps_everything(store: MessageStore) -> None:
    pop, _ = _login(store, b"DELE 1", b"DELE 2")
    pop.connection_lost()
    assert len(store.mailbox("bob")) == 2 and store.lock("bob")


def test_quit_in_authorization_and_commands_after_close(store: MessageStore) -> None:
    pop, out = _session(store, b"QUIT")
    assert out[0].startswith(b"+OK") and pop.closed
    with pytest.raises(Exception, match="closed"):
        pop.feed_line(b"NOOP\r\n")


@pytest.mark.parametrize("line", [b"FOO", b"", b"RETR", b"TOP 1", b"DELE a", b"LIST 1 2", b"X" * 300])
def test_bad_commands_get_err(store: MessageStore, line: bytes) -> None:
    _, out = _login(store, line)
    assert out[0].startswith(b"-ERR")


def test_capa_in_both_states(store: MessageStore) -> None:
    pop = Pop3ServerSession(store)
    capa = pop.feed_line(b"CAPA\r\n")
    assert (
        capa.startswith(b"+OK") and b"\r\nUIDL\r\n" in capa and b"\r\nTOP\r\n" in capa and capa.endswith(b"\r\n.\r\n")
    )
    _, out = _login(store, b"CAPA")
    assert out[0] == capa


def test_new_mail_waits_for_the_next_session(store: MessageStore) -> None:
    pop, _ = _login(store)
    store.deliver("bob", _raw("three"), 3.0)
    assert pop.feed_line(b"STAT\r\n").startswith(b"+OK 2 ")


def _drive(client: Pop3Client, server: Pop3ServerSession) -> None:
    pending = server.greeting().splitlines(keepends=True)
    while pending:
        command = client.feed_line(pending.pop(0))
        if command:
            pending += server.feed_line(command).splitlines(keepends=True)


@pytest.mark.parametrize("delete", [False, True])
def test_client_fetches_new_messages(store: MessageStore, delete: bool) -> None:
    stored = [e.raw for e in store.mailbox("bob").entries]
    client = Pop3Client("bob", "pw", delete=delete)
    _drive(client, Pop3ServerSession(store))
    assert client.done and client.error is None
    assert [m.raw for m in client.messages] == stored and [m.uid for m in client.messages] == ["1.1", "1.2"]
    assert len(store.mailbox("bob")) == (0 if delete else 2)
    # leave-on-server: the next poll fetches only what is new
    store.deliver("bob", _raw("three"), 3.0)
    again = Pop3Client("bob", "pw", seen=frozenset(m.uid for m in client.messages))
    _drive(again, Pop3ServerSession(store))
    assert [parse(m.raw)["Subject"] for m in again.messages] == ["three"]


def test_client_reports_a_failed_login(store: MessageStore) -> None:
    client = Pop3Client("bob", "wrong")
    _drive(client, Pop3ServerSession(store))
    assert client.done and client.messages == [] and client.error is not None and "[AUTH]" in client.error


# --- real clients over loopback TCP --------------------------------------------------------------------------


def test_poplib_session(store: MessageStore) -> None:
    stored = [e.raw for e in store.mailbox("bob").entries]
    with loopback(lambda: Pop3ServerSession(store)) as (port, ended, _push):
        pop = poplib.POP3("127.0.0.1", port, timeout=TIMEOUT_S)
        assert pop.getwelcome().startswith(b"+OK")
        assert pop.user("bob").startswith(b"+OK") and pop.pass_("pw").startswith(b"+OK")
        assert pop.stat() == (2, sum(len(r) for r in stored))
        _, listing, _ = pop.list()
        assert listing == [f"{n} {len(r)}".encode() for n, r in enumerate(stored, 1)]
        assert pop.uidl()[1] == [b"1 1.1", b"2 1.2"] and pop.uidl(2).endswith(b"2 1.2")
        _, lines, _ = pop.retr(1)
        assert b"\r\n".join(lines) + b"\r\n" == stored[0]  # poplib undoes the dot-stuffing
        assert parse(b"\r\n".join(lines))["Subject"] == "one"
        _, top, _ = pop.top(2, 1)
        assert top[-2:] == [b"", b"l1"]
        pop.dele(1)
        with pytest.raises(poplib.error_proto):
            pop.retr(1)
        pop.rset()
        pop.dele(2)
        assert pop.noop().startswith(b"+OK")
        assert pop.quit().startswith(b"+OK")
        ended.get(timeout=TIMEOUT_S)
    assert [parse(e.raw)["Subject"] for e in store.mailbox("bob").entries] == ["one"]


def test_poplib_dropped_connection_keeps_mail(store: MessageStore) -> None:
    with loopback(lambda: Pop3ServerSession(store)) as (port, ended, _push):
        pop = poplib.POP3("127.0.0.1", port, timeout=TIMEOUT_S)
        pop.user("bob")
        pop.pass_("pw")
        pop.dele(1)
        pop.close()  # no QUIT: the connection just goes away
        session = ended.get(timeout=TIMEOUT_S)
        assert session.closed and session.state == "AUTHORIZATION"
    assert len(store.mailbox("bob")) == 2 and store.lock("bob")
