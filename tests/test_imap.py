"""IMAP4rev1 subset: scripted server sessions, the sans-IO client, and Python's imaplib over loopback TCP."""

from __future__ import annotations

import imaplib
import re
import socket
from collections.abc import Callable

import pytest
from loopback import TIMEOUT_S, loopback

from netlab.mail.content.message import build_message, parse, to_bytes
from netlab.mail.errors import ProtocolError
from netlab.mail.imap import ImapClient, ImapServerSession
from netlab.mail.imap.parse import (
    ImapSyntaxError,
    LineAssembler,
    sequence_set,
    tokenize,
)
from netlab.mail.imap.server import CAPABILITIES
from netlab.mail.mailbox.store import MessageStore

DAY_S = 86400.0


def _raw(subject: str, sender: str = "alice@a.test", body: str = "Hello\n") -> bytes:
    return to_bytes(build_message(sender=sender, to="bob@b.test", subject=subject, body=body))


@pytest.fixture
def store() -> MessageStore:
    store = MessageStore({"bob": "pw"}, domain="b.test")
    store.deliver("bob", _raw("one", body="first body\n"), 10.0)
    store.deliver("bob", _raw("two", sender="carol@c.test"), DAY_S + 10)
    store.deliver("bob", _raw("three"), 2 * DAY_S + 10)
    return store


class Script:
    """A scripted session: ``s("FETCH 1 FLAGS")`` sends ``tN FETCH 1 FLAGS`` and returns the response text."""

    def __init__(self, store: MessageStore) -> None:
        self.session = ImapServerSession(store)
        self.n = 0

    def __call__(self, command: str) -> str:
        self.n += 1
        return self.session.feed_line(f"t{self.n} {command}\r\n".encode()).decode()

    def status(self, command: str) -> str:
        """The tagged response's status and text, without the tag (``"BAD unknown command"``)."""
        return self(command).rsplit(f"t{self.n} ", 1)[-1].strip()

    def ok(self, command: str) -> str:
        out = self(command)
        assert f"t{self.n} OK" in out, out
        return out


def _selected(store: MessageStore, how: str = "SELECT") -> Script:
    s = Script(store)
    s.ok("LOGIN bob pw")
    s.ok(f"{how} INBOX")
    return s


def _flags(store: MessageStore) -> list[set[str]]:
    return [set(e.flags) for e in store.mailbox("bob").entries]


def test_greeting_capability_login(store: MessageStore) -> None:
    s = Script(store)
    assert s.session.greeting().startswith(b"* OK [CAPABILITY IMAP4rev1 IDLE")
    assert "* CAPABILITY IMAP4rev1 IDLE" in s.ok("CAPABILITY")
    assert s("SELECT INBOX").startswith("t2 BAD")  # not authenticated yet
    assert s("LOGIN bob nope").startswith("t3 NO [AUTHENTICATIONFAILED]")
    assert s.ok("LOGIN bob pw").startswith("t4 OK")
    assert s("LOGIN bob pw").startswith("t5 BAD")
    assert s("FETCH 1 FLAGS").startswith("t6 BAD")  # nothing selected
    assert s("FROB").startswith("t7 BAD") and s("LOGIN bob").startswith("t8 BAD")
    assert s.session.feed_line(b"\r\n").startswith(b"* BAD")


def _exact(fold: bool) -> dict[str, bool]:
    """The store's keyword for exact local parts; folding is the default (so nothing is passed for it)."""
    return {} if fold else {"fold_local_parts": False}


@pytest.mark.parametrize(("user", "fold", "ok"), [
    ("bob@b.test", True, True), ("BOB@b.test", True, True), ("bob@BETA.TEST", True, False),
    ("HEIDI@B.TEST", True, False), ("Bob@B.Test", True, True), ('"BOB@B.TEST"', True, True),
    ("bob@B.TEST", False, True), ("BOB@b.test", False, False),  # exact local parts, the domain in any case
])  # fmt: skip
def test_login_name_in_any_case(user: str, fold: bool, ok: bool) -> None:
    store = MessageStore({"bob@b.test": "pw"}, **_exact(fold))
    store.deliver("BOB@B.TEST" if fold else "bob@b.test", _raw("one"), 10.0)
    s = Script(store)
    if not ok:
        assert s(f"LOGIN {user} pw").startswith("t1 NO [AUTHENTICATIONFAILED]")
        return
    s.ok(f"LOGIN {user} pw")
    assert "* 1 EXISTS" in s.ok("SELECT INBOX") and "Subject: one" in s.ok("FETCH 1 BODY.PEEK[HEADER]")


def test_login_with_literals(store: MessageStore) -> None:
    session = ImapServerSession(store)
    assert session.feed_line(b"a1 LOGIN {3}\r\n") == b"+ Ready for literal data\r\n"
    assert session.literal_needed == 3
    assert session.feed_literal(b"bob") == b""
    assert session.feed_line(b" {2+}\r\n") == b""  # LITERAL+: no continuation request
    assert session.feed_literal(b"pw") == b""
    assert session.feed_line(b"\r\n").startswith(b"a1 OK")


def test_select_and_examine(store: MessageStore) -> None:
    s = Script(store)
    s.ok("LOGIN bob pw")
    out = s.ok("SELECT inbox")
    for line in (
        "* 3 EXISTS",
        "* 3 RECENT",
        "* OK [UNSEEN 1]",
        "* OK [UIDVALIDITY 1]",
        "* OK [UIDNEXT 4]",
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
        "t2 OK [READ-WRITE]",
    ):
        assert line in out
    out = s.ok("EXAMINE INBOX")
    assert "* 0 RECENT" in out and "[PERMANENTFLAGS ()]" in out and "t3 OK [READ-ONLY] EXAMINE" in out
    assert s("SELECT Nowhere").startswith("t4 NO") and s.session.state == "AUTHENTICATED"


def test_fetch_items_and_sets(store: MessageStore) -> None:
    s = _selected(store)
    entries = store.mailbox("bob").entries
    out = s.ok("FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)")
    assert re.findall(r"\* (\d) FETCH \(UID (\d) ", out) == [("1", "1"), ("2", "2"), ("3", "3")]
    assert f"RFC822.SIZE {entries[1].size} " in out and 'INTERNALDATE " 2-Jan-2026 00:00:10 +0000"' in out
    assert re.findall(r"\* (\d) FETCH", s.ok("FETCH 1,3:2 FLAGS")) == ["1", "2", "3"]
    assert s.status("FETCH 4 FLAGS").startswith("BAD") and s.status("FETCH 1 (ENVELOPED)").startswith("BAD")
    head, _, text = entries[0].raw.partition(b"\r\n\r\n")
    data = s.session.feed_line(b"x FETCH 1 (BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[]<0.12>)\r\n")
    assert b"BODY[HEADER] {%d}\r\n" % (len(head) + 4) + head + b"\r\n\r\n" in data
    assert b"BODY[TEXT] {%d}\r\n" % len(text) + text in data
    assert b"BODY[]<0> {12}\r\n" + entries[0].raw[:12] in data
    data = s.session.feed_line(b"y FETCH 2 (BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)])\r\n")
    assert b"{36}\r\nFrom: carol@c.test\r\nSubject: two\r\n\r\n)" in data
    assert _flags(store) == [set(), set(), set()]  # PEEK: nothing became \Seen


@pytest.mark.parametrize("item", ["RFC822", "BODY[]", "BODY[TEXT]", "RFC822.TEXT"])
def test_body_fetch_sets_seen(store: MessageStore, item: str) -> None:
    s = _selected(store)
    out = s.ok(f"FETCH 2 ({item})")
    assert "FLAGS (\\Seen \\Recent))" in out  # the implicit flag change is reported in the same response
    assert _flags(store) == [set(), {"\\Seen"}, set()]
    assert "FLAGS" not in s.ok(f"FETCH 2 ({item})").split("}")[-1]  # no change the second time


@pytest.mark.parametrize("item", ["BODY.PEEK[]", "RFC822.HEADER", "BODY.PEEK[TEXT]", "RFC822.SIZE"])
def test_peek_does_not_set_seen(store: MessageStore, item: str) -> None:
    _selected(store).ok(f"FETCH 1:* ({item})")
    assert _flags(store) == [set(), set(), set()]


def test_examine_is_read_only(store: MessageStore) -> None:
    s = _selected(store, "EXAMINE")
    s.ok("FETCH 1:* (RFC822 BODY[])")
    assert _flags(store) == [set(), set(), set()]
    assert s.status("STORE 1 +FLAGS (\\Deleted)").startswith("NO [READ-ONLY]")
    assert s.status("EXPUNGE").startswith("NO")
    s.ok("CLOSE")
    assert len(store.mailbox("bob")) == 3


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ALL", [1, 2, 3]),
        ("UNSEEN", [1, 3]),
        ("SEEN", [2]),
        ("FROM carol", [2]),
        ("FROM ALICE@A.TEST", [1, 3]),
        ('SUBJECT "thr"', [3]),
        ("SINCE 2-Jan-2026", [2, 3]),
        ("BEFORE 2-Jan-2026", [1]),
        ("ON 03-Jan-2026", [3]),
        ("UID 2:*", [2, 3]),
        ("2,3 UNSEEN", [3]),
        ("NOT SEEN FROM alice", [1, 3]),
        ("OR SEEN SUBJECT one", [1, 2]),
        ("(SEEN) FLAGGED", []),
        ("CHARSET UTF-8 BODY first", [1]),
        ("LARGER 1", [1, 2, 3]),
    ],
)
def test_search(store: MessageStore, query: str, expected: list[int]) -> None:
    store.mailbox("bob").set_flags(2, {"\\Seen"})
    s = _selected(store)
    out = s.ok(f"SEARCH {query}")
    assert out.splitlines()[0] == "* SEARCH" + "".join(f" {n}" for n in expected)


@pytest.mark.parametrize("query", ["SINCE yesterday", "FROM", "WHATEVER", "0", "UID 0:3"])
def test_bad_search_is_bad(store: MessageStore, query: str) -> None:
    assert _selected(store).status(f"SEARCH {query}").startswith("BAD")


def test_store_flags(store: MessageStore) -> None:
    s = _selected(store)
    assert "* 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent))" in s.ok("STORE 1 +FLAGS (\\Seen \\Flagged)")
    assert "* 1 FETCH (FLAGS (\\Seen \\Recent))" in s.ok("STORE 1 -FLAGS (\\Flagged)")
    assert s.ok("STORE 1:2 FLAGS.SILENT (\\Answered)").startswith("t5 OK")  # silent: no untagged FETCH
    assert _flags(store) == [{"\\Answered"}, {"\\Answered"}, set()]
    assert s.status("STORE 1 +FLAGS (\\Recent)").startswith("BAD") and s.status("STORE 1 +LABELS (x)").startswith("BAD")


def test_uid_commands_and_uid_stability_across_expunge(store: MessageStore) -> None:
    store.deliver("bob", _raw("four"), 4.0)
    store.deliver("bob", _raw("five"), 5.0)
    s = _selected(store)
    assert "* SEARCH 2 3 4" in s.ok("UID SEARCH UID 2:4")
    assert s.ok("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
    # EXPUNGE reports each removal with the numbering that holds at that moment
    out = s.ok("EXPUNGE")
    assert out.startswith("* 2 EXPUNGE\r\n* 3 EXPUNGE\r\n")
    assert re.findall(r"\* (\d) FETCH \(UID (\d)\)", s.ok("FETCH 1:* (UID)")) == [("1", "1"), ("2", "3"), ("3", "5")]
    out = s.ok("UID FETCH 3:5 (FLAGS)")
    assert re.findall(r"\* (\d) FETCH \(UID (\d) ", out) == [("2", "3"), ("3", "5")]
    assert "* 3 FETCH (UID 5 FLAGS (\\Flagged \\Recent))" in s.ok("UID STORE 5 +FLAGS (\\Flagged)")
    assert s.ok("UID FETCH 99:* (UID)").count("FETCH (UID 5)") == 1  # n:* past the end names the last UID
    assert s.ok("UID FETCH 2 (UID)").count("FETCH") == 1  # an expunged UID is silently absent
    again = _selected(store)
    assert "[UIDVALIDITY 1]" in again.ok("SELECT INBOX") and "* 3 EXISTS" in again.ok("SELECT INBOX")


def test_close_expunges_silently(store: MessageStore) -> None:
    s = _selected(store)
    s.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    out = s.ok("CLOSE")
    assert "EXPUNGE" not in out and s.session.state == "AUTHENTICATED"
    assert [e.uid for e in store.mailbox("bob").entries] == [2, 3]


def test_idle_pushes_new_mail(store: MessageStore) -> None:
    s = _selected(store)
    assert s("IDLE") == "+ idling\r\n"
    assert s.session.notify_new(3) == b""  # stale: the client already knows of 3
    store.deliver("bob", _raw("four"), 100.0)
    assert s.session.notify_new(4) == b"* 4 EXISTS\r\n* 4 RECENT\r\n"
    assert s.session.feed_line(b"DONE\r\n") == b"t3 OK IDLE terminated\r\n"
    assert "FETCH (UID 4)" in s.ok("FETCH 4 (UID)")


def test_news_outside_idle_waits_for_the_next_command(store: MessageStore) -> None:
    s = _selected(store)
    store.deliver("bob", _raw("four"), 100.0)
    assert s.session.notify_new() == b""
    assert s.ok("NOOP").startswith("* 4 EXISTS\r\n")
    other = _selected(store)
    other.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    other.ok("EXPUNGE")
    # FETCH must not shift numbers (RFC 3501 §7.4.1); NOOP may
    assert "EXPUNGE" not in s.ok("FETCH 2 (UID)") and s.ok("NOOP").startswith("* 1 EXPUNGE")


def test_logout(store: MessageStore) -> None:
    s = _selected(store)
    out = s.ok("LOGOUT")
    assert out.startswith("* BYE") and s.session.closed


def test_parse_helpers() -> None:
    assert sequence_set("1:*", 0) == [] and sequence_set("3:1", 5) == [1, 2, 3]
    with pytest.raises(ImapSyntaxError):
        sequence_set("1:x", 5)
    with pytest.raises(ImapSyntaxError):
        tokenize([b"(A (B)"])
    assert tokenize([b'A "quo\\"ted" NIL {2}', b"\r\n", b""]) == ["A", 'quo"ted', "NIL", b"\r\n"]
    asm = LineAssembler()
    assert asm.feed_line(b"* 1 FETCH (BODY[] {7}\r\n") is None
    assert asm.feed_line(b"ab\r\n") is None  # literal octets arriving as lines
    assert asm.feed_line(b"c\r\n)\r\n") == [b"* 1 FETCH (BODY[] {7}", b"ab\r\nc\r\n", b")"]


def _drive(client: ImapClient, server: ImapServerSession, first: bytes) -> None:
    pending = first.splitlines(keepends=True)
    while pending:
        command = client.feed_line(pending.pop(0))
        if command:
            pending += server.feed_line(command).splitlines(keepends=True)


def test_client_polls_and_deletes(store: MessageStore) -> None:
    stored = [e.raw for e in store.mailbox("bob").entries]
    client = ImapClient("bob", "pw", delete=True)
    server = ImapServerSession(store)
    _drive(client, server, server.greeting())
    assert client.done and [m.raw for m in client.messages] == stored
    assert [m.uid for m in client.messages] == ["1.1", "1.2", "1.3"] and len(store.mailbox("bob")) == 0


def test_client_idles_and_fetches_pushed_mail(store: MessageStore) -> None:
    client = ImapClient("bob", "pw", idle=True)
    server = ImapServerSession(store)
    _drive(client, server, server.greeting())
    assert client.idling and len(client.messages) == 3 and _flags(store) == [{"\\Seen"}] * 3
    store.deliver("bob", _raw("four"), 100.0)
    _drive(client, server, server.notify_new(4))  # EXISTS -> DONE -> search, fetch -> IDLE again
    assert client.idling and [parse(m.raw)["Subject"] for m in client.messages][-1] == "four"
    _drive(client, server, server.feed_line(client.stop()))
    assert client.done and server.closed


# --- real clients over loopback TCP --------------------------------------------------------------------------


def test_imaplib_session(store: MessageStore) -> None:
    stored = {e.uid: e.raw for e in store.mailbox("bob").entries}
    with loopback(lambda: ImapServerSession(store)) as (port, ended, _):
        imap = imaplib.IMAP4("127.0.0.1", port, timeout=TIMEOUT_S)
        assert imap.login("bob", "pw")[0] == "OK"
        # EXAMINE first: reading there changes nothing
        assert imap.select("INBOX", readonly=True) == ("OK", [b"3"])
        typ, data = imap.fetch("1", "(RFC822)")
        assert typ == "OK" and data[0][1] == stored[1]
        assert imap.select("INBOX") == ("OK", [b"3"])
        assert imap.search(None, "UNSEEN") == ("OK", [b"1 2 3"])
        typ, data = imap.fetch("2", "(BODY.PEEK[])")
        assert parse(data[0][1])["Subject"] == "two" and imap.search(None, "UNSEEN")[1] == [b"1 2 3"]
        typ, data = imap.fetch("1", "(RFC822)")
        assert data[0][1] == stored[1] and parse(data[0][1]).get_content().splitlines() == ["first body"]
        assert imap.search(None, "UNSEEN") == ("OK", [b"2 3"])
        typ, data = imap.uid("FETCH", "3", "(UID BODY.PEEK[HEADER] FLAGS)")
        assert typ == "OK" and parse(data[0][1])["Subject"] == "three" and b"UID 3" in data[0][0]
        assert imap.uid("SEARCH", None, "FROM", "carol") == ("OK", [b"2"])
        assert imap.store("2", "+FLAGS", "\\Deleted")[0] == "OK"
        typ, data = imap.expunge()
        assert typ == "OK" and data == [b"2"]
        typ, data = imap.fetch("1:*", "(UID)")
        assert list(data) == [b"1 (UID 1)", b"2 (UID 3)"]  # renumbered, UIDs kept
        assert imap.noop()[0] == "OK"
        assert imap.logout()[0] == "BYE"
        ended.get(timeout=TIMEOUT_S)
    assert [e.uid for e in store.mailbox("bob").entries] == [1, 3]
    assert _flags(store) == [{"\\Seen"}, set()]


def test_idle_push_over_tcp(store: MessageStore) -> None:
    """IDLE over a real socket (3.11's imaplib has no idle(), so the sans-IO client is the program here)."""
    with loopback(lambda: ImapServerSession(store)) as (port, ended, push):
        store.subscribe(lambda user, box, entry: push())
        with socket.create_connection(("127.0.0.1", port), TIMEOUT_S) as sock, sock.makefile("rb") as reader:
            client = ImapClient("bob", "pw", idle=True)

            def pump(until: Callable[[], bool]) -> None:
                while not until():
                    line = reader.readline()
                    assert line, "server closed the connection"
                    out = client.feed_line(line)
                    while client.literal_needed:
                        out += client.feed_literal(reader.read(client.literal_needed))
                    sock.sendall(out)

            pump(lambda: client.idling)
            assert len(client.messages) == 3
            store.deliver("bob", _raw("pushed"), 200.0)  # the listener writes "* 4 EXISTS" to the socket
            pump(lambda: len(client.messages) == 4 and client.idling)
            assert parse(client.messages[-1].raw)["Subject"] == "pushed"
            sock.sendall(client.stop())
            pump(lambda: client.done)
        assert ended.get(timeout=TIMEOUT_S).closed


def _within(seconds: float, work: Callable[[], object]) -> object:
    """Run *work* in a daemon thread; fail (not hang) if it does not return within *seconds*."""
    import threading

    box: list[object] = []
    worker = threading.Thread(target=lambda: box.append(work()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert box, f"no answer within {seconds} s (an endless loop in the parser?)"
    return box[0]


@pytest.mark.parametrize("line", [b"a1 {\r\n", b"a1 x{y\r\n", b"a1 LOGIN {x}\r\n", b"a1 LOGIN {12\r\n",
                                  b"a1 LOGIN a\rb c\r\n", b"a1 NOOP\r\rx\r\n", b"a1 (\r{\r\n"])  # fmt: skip
def test_a_brace_or_bare_cr_that_is_no_literal_gets_a_tagged_bad(store: MessageStore, line: bytes) -> None:
    # Before the fix these six-byte inputs made the tokenizer loop for ever while the live server held the
    # simulation lock (every port and the simulation stopped). A generous bound: a correct answer takes microseconds.
    session = ImapServerSession(store)
    answer = _within(10.0, lambda: session.feed_line(line))
    assert answer.startswith(b"a1 BAD "), answer
    assert session.feed_line(b"a2 NOOP\r\n") == b"a2 OK NOOP completed\r\n"  # the session goes on


@pytest.mark.parametrize("line", [b"{\r\n", b"\r\n", b"(\r\n"])
def test_a_line_without_a_tag_gets_an_untagged_bad(store: MessageStore, line: bytes) -> None:
    assert ImapServerSession(store).feed_line(line).startswith(b"* BAD ")


@pytest.mark.parametrize(
    ("tls", "plaintext_auth", "caps", "login"),
    [
        (False, True, CAPABILITIES + " AUTH=PLAIN SASL-IR", "OK"),
        (True, True, CAPABILITIES + " STARTTLS AUTH=PLAIN SASL-IR", "OK"),
        (True, False, CAPABILITIES + " STARTTLS LOGINDISABLED", "NO [PRIVACYREQUIRED]"),
    ],
)
def test_starttls_and_logindisabled_before_tls(
    store: MessageStore, tls: bool, plaintext_auth: bool, caps: str, login: str
) -> None:
    # RFC 3501 §6.2.1 (STARTTLS only where TLS can start) and §6.2.3 (LOGINDISABLED: LOGIN refused in clear)
    session = ImapServerSession(store, tls=tls, plaintext_auth=plaintext_auth)
    assert f"[CAPABILITY {caps}]" in session.greeting().decode()
    assert session.feed_line(b"a1 CAPABILITY\r\n").decode().startswith(f"* CAPABILITY {caps}\r\n")
    assert session.feed_line(b"a2 LOGIN bob pw\r\n").decode().startswith(f"a2 {login}")


def test_starttls_hands_the_connection_to_tls_then_login_works(store: MessageStore) -> None:
    session = ImapServerSession(store, tls=True, plaintext_auth=False)
    assert session.feed_line(b"a1 STARTTLS\r\n") == b"a1 OK Begin TLS negotiation now\r\n"
    assert session.starttls_pending and not session.secure
    with pytest.raises(ProtocolError):
        session.feed_line(b"a2 NOOP\r\n")  # nothing may be read in clear after the OK (RFC 3207 §4.2 likewise)
    session.tls_started()
    assert session.secure and not session.starttls_pending
    caps = f"* CAPABILITY {CAPABILITIES} AUTH=PLAIN SASL-IR\r\n".encode()
    assert session.feed_line(b"a2 CAPABILITY\r\n").startswith(caps)
    assert session.feed_line(b"a3 LOGIN bob pw\r\n").startswith(b"a3 OK")
    assert session.feed_line(b"a4 STARTTLS\r\n").startswith(b"a4 BAD")  # in the authenticated state: not allowed


@pytest.mark.parametrize("kwargs", [{}, {"tls": False}])
def test_starttls_without_tls_is_refused(store: MessageStore, kwargs: dict[str, bool]) -> None:
    session = ImapServerSession(store, **kwargs)
    assert session.feed_line(b"a1 STARTTLS\r\n") == b"a1 BAD STARTTLS not available\r\n"
    assert not session.starttls_pending
    with pytest.raises(ProtocolError):
        session.tls_started()
