"""IMAP mailbox commands (RFC 3501 §6.3, §6.4.7) and the extensions mail programs rely on: UIDPLUS (RFC 4315),
MOVE (RFC 6851), NAMESPACE (RFC 2342), ID (RFC 2971), ENABLE (RFC 5161), UNSELECT (RFC 3691), SPECIAL-USE
(RFC 6154); the server session alone, then Python's imaplib against it on a loopback socket."""

from __future__ import annotations

import imaplib

import pytest
from loopback import TIMEOUT_S, loopback

from netlab.mail.imap import ImapServerSession
from netlab.mail.mailbox.store import MessageStore

RAW = b"Subject: one\r\nMessage-ID: <one@x>\r\n\r\nfirst\r\n"


@pytest.fixture
def store() -> MessageStore:
    store = MessageStore({"bob": "pw"}, domain="b.test")
    store.deliver("bob", RAW, 1.0)
    store.deliver("bob", RAW.replace(b"one", b"two"), 2.0)
    return store


def session(store: MessageStore, *commands: bytes) -> tuple[ImapServerSession, list[str]]:
    imap = ImapServerSession(store, clock=lambda: 7.0)
    assert imap.feed_line(b"t0 LOGIN bob pw\r\n").startswith(b"t0 OK")
    return imap, [imap.feed_line(c + b"\r\n").decode() for c in commands]


def names(store: MessageStore) -> list[str]:
    return [b.name for b in store.mailboxes("bob")]


def test_every_user_has_the_special_use_folders_subscribed(store: MessageStore) -> None:
    _, (listed, lsub) = session(store, b'a LIST "" "*"', b'b LSUB "" "*"')
    for name, use in (("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"), ("Junk", "\\Junk")):
        assert f'* LIST (\\HasNoChildren {use}) "/" {name}\r\n' in listed
        assert f'* LSUB (\\HasNoChildren {use}) "/" {name}\r\n' in lsub
    assert '* LIST (\\HasNoChildren) "/" INBOX\r\n' in listed


@pytest.mark.parametrize(("command", "expected"), [
    (b'a LIST "" ""', '* LIST (\\Noselect) "/" ""\r\na OK LIST completed\r\n'),  # §6.3.8: delimiter and root
    (b'a LIST "" "inbox"', '* LIST (\\HasNoChildren) "/" INBOX\r\na OK LIST completed\r\n'),  # INBOX any case
    (b'a LIST "" "%/%"', '* LIST (\\HasNoChildren) "/" Work/Reports\r\na OK LIST completed\r\n'),
    (b'a LIST "Work/" "%"', '* LIST (\\HasNoChildren) "/" Work/Reports\r\na OK LIST completed\r\n'),
    (b'a LIST "" "Wor%"', '* LIST (\\HasChildren) "/" Work\r\na OK LIST completed\r\n'),  # RFC 3348 CHILDREN
    (b'a LIST (SPECIAL-USE) "" "S*"', '* LIST (\\HasNoChildren \\Sent) "/" Sent\r\na OK LIST completed\r\n'),
    (b'a LIST "" "Sent" RETURN (SUBSCRIBED)', ('* LIST (\\HasNoChildren \\Sent \\Subscribed) "/" Sent\r\n'
                                              'a OK LIST completed\r\n')),
    (b'a LSUB "" "Work*"', 'a OK LSUB completed\r\n'),  # created, not subscribed
    (b'a STATUS INBOX (MESSAGES UIDNEXT UNSEEN)', ('* STATUS INBOX (MESSAGES 2 UIDNEXT 3 UNSEEN 2)\r\n'
                                                 'a OK STATUS completed\r\n')),
    (b'a STATUS Nowhere (MESSAGES)', 'a NO [NONEXISTENT] no such mailbox\r\n'),
    (b'a STATUS INBOX (SIZE)', 'a BAD unknown STATUS item SIZE\r\n'),
    (b'a CREATE Work', 'a NO [ALREADYEXISTS] mailbox already exists\r\n'),
    (b'a CREATE "a%b"', 'a NO [CANNOT] mailbox names cannot contain * or %\r\n'),
    (b'a CREATE "/x"', 'a NO [CANNOT] empty hierarchy level in mailbox name\r\n'),
    (b'a DELETE INBOX', 'a NO [CANNOT] INBOX cannot be deleted\r\n'),
    (b'a DELETE Work', 'a NO [INUSE] mailbox has children: delete them first\r\n'),
    (b'a DELETE Nowhere', 'a NO [NONEXISTENT] no such mailbox\r\n'),
    (b'a SUBSCRIBE Nowhere', 'a NO [NONEXISTENT] no such mailbox\r\n'),
    (b'a RENAME Work/Reports Sent', 'a NO [ALREADYEXISTS] mailbox already exists\r\n'),
    (b'a RENAME Work Work/Inner', 'a NO [CANNOT] a mailbox cannot become its own inferior\r\n'),
    (b'a NAMESPACE', '* NAMESPACE (("" "/")) NIL NIL\r\na OK NAMESPACE completed\r\n'),
    (b'a ID ("name" "mbsync")', '* ID ("name" "netlab" "vendor" "netlab")\r\na OK ID completed\r\n'),
    (b'a ID NIL', '* ID ("name" "netlab" "vendor" "netlab")\r\na OK ID completed\r\n'),
    (b'a ENABLE CONDSTORE', '* ENABLED\r\na OK ENABLE completed\r\n'),  # none of ours needs enabling
    (b'a APPEND Nowhere {3+}\r\nabc', 'a NO [TRYCREATE] no such mailbox\r\n'),
    (b'a APPEND Sent (\\Recent) {3+}\r\nabc', ("a BAD flag '\\\\Recent' cannot be stored (system flags: "
                                             "\\Answered \\Deleted \\Draft \\Flagged \\Seen)\r\n")),
    (b'a APPEND Sent (\\seen) {3+}\r\nabc', "a OK [APPENDUID 4 1] APPEND completed\r\n"),  # \\Seen
    (b'a APPEND Sent "31-Feb-2026 00:00:00 +0000" {3+}\r\nabc', ("a BAD invalid date-time '31-Feb-2026 00:00:00 "
                                                                 "+0000' (expected like 17-Jul-1996 02:44:25 "
                                                                 "-0700)\r\n")),
], ids=lambda v: v.decode()[:32] if isinstance(v, bytes) else None)  # fmt: skip
def test_mailbox_commands_answer_per_the_rfc(store: MessageStore, command: bytes, expected: str) -> None:
    imap, _ = session(store, b"c1 CREATE Work/Reports/")  # a trailing delimiter: the name without it
    assert "Work" in names(store) and "Work/Reports" in names(store)  # superior levels are created too
    out = b"".join(imap.feed_line(line + b"\r\n") for line in command.split(b"\r\n")).decode()
    assert out == expected


def test_create_rename_delete_and_subscriptions(store: MessageStore) -> None:
    _, out = session(store, b"a CREATE Work/Reports", b"b SUBSCRIBE Work/Reports", b"c RENAME Work Projects",
                     b'd LSUB "" "*"', b"e DELETE Projects/Reports", b"f DELETE Projects")  # fmt: skip
    assert all(o.split()[-2] == "OK" or " OK " in o for o in out)
    assert '"/" Projects/Reports\r\n' in out[3]  # the subscription followed the rename of its superior
    assert [n for n in names(store) if n not in ("INBOX", "Drafts", "Junk", "Sent", "Trash")] == []


def test_renaming_inbox_moves_its_messages_and_leaves_it_empty(store: MessageStore) -> None:
    _, out = session(store, b"a RENAME INBOX Old")  # RFC 3501 §6.3.5
    assert out == ["a OK RENAME completed\r\n"]
    assert len(store.mailbox("bob", "INBOX")) == 0 and len(store.mailbox("bob", "Old")) == 2
    assert store.mailbox("bob", "INBOX").expunged == [1, 2]  # the books see them leave INBOX


def test_append_with_flags_and_date_gets_appenduid(store: MessageStore) -> None:
    imap, out = session(store, b'a APPEND Sent (\\Seen $Forwarded) "01-Jan-2026 00:01:40 +0000" {5}')
    assert out == ["+ Ready for literal data\r\n"]
    assert imap.feed_literal(b"hello") == b""
    sent = store.mailbox("bob", "Sent")
    assert imap.feed_line(b"\r\n") == f"a OK [APPENDUID {sent.uidvalidity} 1] APPEND completed\r\n".encode()
    (entry,) = sent.entries
    assert (entry.raw, entry.flags, entry.internal_s) == (b"hello", {"\\Seen", "$Forwarded"}, 100.0)
    imap.feed_line(b"b APPEND Drafts {2+}\r\n")
    imap.feed_literal(b"hi")
    imap.feed_line(b"\r\n")
    assert store.mailbox("bob", "Drafts").entries[0].internal_s == 7.0  # no date: the session's clock


def test_append_over_quota_is_refused() -> None:
    store = MessageStore({"bob": "pw"}, quota_bytes=10)
    imap, _ = session(store)
    assert imap.feed_line(b"a APPEND INBOX {11+}\r\n") == b""
    imap.feed_literal(b"x" * 11)
    assert imap.feed_line(b"\r\n") == b"a NO [OVERQUOTA] quota exceeded\r\n"


@pytest.mark.parametrize(("command", "untagged", "tagged"), [
    (b"a COPY 1:2 Trash", "", "a OK [COPYUID {v} 1:2 1:2] COPY completed"),
    (b"a UID COPY 2 Trash", "", "a OK [COPYUID {v} 2 1] UID COPY completed"),
    (b"a MOVE 1 Trash", "* OK [COPYUID {v} 1 1] Moved\r\n* 1 EXPUNGE\r\n", "a OK MOVE completed"),
    (b"a UID MOVE 1:* Trash", "* OK [COPYUID {v} 1:2 1:2] Moved\r\n* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n",
     "a OK UID MOVE completed"),
    (b"a COPY 1 Nowhere", "", "a NO [TRYCREATE] no such mailbox"),
], ids=["copy", "uid-copy", "move", "uid-move-all", "trycreate"])  # fmt: skip
def test_copy_and_move_with_copyuid(store: MessageStore, command: bytes, untagged: str, tagged: str) -> None:
    imap, _ = session(store, b"s SELECT INBOX")
    v = store.mailbox("bob", "Trash").uidvalidity
    assert imap.feed_line(command + b"\r\n").decode() == untagged.format(v=v) + tagged.format(v=v) + "\r\n"
    moved = command.split()[1].upper() in (b"MOVE", b"UID") and b"MOVE" in command
    assert len(store.mailbox("bob", "INBOX")) == (2 - len(store.mailbox("bob", "Trash").entries) if moved else 2)


def test_uid_expunge_removes_only_the_named_deleted_messages(store: MessageStore) -> None:
    _imap, out = session(store, b"s SELECT INBOX", b"a STORE 1:2 +FLAGS (\\Deleted)", b"b UID EXPUNGE 2")
    assert out[2] == "* 2 EXPUNGE\r\nb OK UID EXPUNGE completed\r\n"
    assert [e.uid for e in store.mailbox("bob").entries] == [1]


def test_unselect_leaves_deleted_messages_where_close_expunges(store: MessageStore) -> None:
    _, out = session(store, b"s SELECT INBOX", b"a STORE 1 +FLAGS (\\Deleted)", b"b UNSELECT", b"c FETCH 1 FLAGS")
    assert out[2] == "b OK UNSELECT completed\r\n" and out[3].startswith("c BAD FETCH not allowed now")
    assert len(store.mailbox("bob")) == 2  # RFC 3691: no expunge


def test_deleting_the_selected_mailbox_unselects_it(store: MessageStore) -> None:
    imap, out = session(store, b"a CREATE Tmp", b"s SELECT Tmp", b"d DELETE Tmp", b"f FETCH 1 FLAGS")
    assert out[2] == "d OK DELETE completed\r\n" and imap.state == "AUTHENTICATED"


def test_capabilities_name_the_extensions() -> None:
    caps = ImapServerSession(MessageStore(["bob"])).capabilities.split()
    assert {"IMAP4rev1", "UIDPLUS", "MOVE", "NAMESPACE", "ID", "ENABLE", "UNSELECT", "SPECIAL-USE", "CHILDREN",
            "IDLE", "LITERAL+"} <= set(caps)  # fmt: skip


def test_imaplib_lists_creates_appends_and_moves(store: MessageStore) -> None:
    with loopback(lambda: ImapServerSession(store)) as (port, _ended, _push):
        imap = imaplib.IMAP4("127.0.0.1", port, timeout=TIMEOUT_S)
        imap.login("bob", "pw")
        assert imap.create("Archive/2026")[0] == "OK"
        typ, listed = imap.list()
        assert typ == "OK" and b'(\\HasNoChildren) "/" Archive/2026' in listed
        assert imap.append("Archive/2026", "(\\Seen)", None, RAW)[0] == "OK"
        imap.select("INBOX")
        assert imap.uid("MOVE", "1", "Archive/2026")[0] == "OK"
        assert imap.status("Archive/2026", "(MESSAGES)")[1] == [b"Archive/2026 (MESSAGES 2)"]
        imap.logout()


@pytest.mark.parametrize("pieces", [[b"a7 NOOP " + b"x" * 9000 + b"\r\n"],
                                    [b"a7 LOGIN {3+}\r\n", b"bob", b" " + b"y" * 9000 + b"\r\n"]],
                         ids=["one-line", "after-a-literal"])  # fmt: skip
def test_a_command_line_over_8192_octets_gets_its_tagged_bad(pieces: list[bytes]) -> None:
    # RFC 3501 §7.1: the client waits for the tagged response; an untagged BAD left it hanging
    imap = ImapServerSession(MessageStore({"bob": "pw"}))
    out = b""
    for piece in pieces:
        out += imap.feed_literal(piece) if imap.literal_needed else imap.feed_line(piece)
    assert out == b"a7 BAD line too long (more than 8192 octets)\r\n"
    assert imap.feed_line(b"a8 NOOP\r\n") == b"a8 OK NOOP completed\r\n"


PLAIN = "AGJvYgBwdw=="  # base64 of "\0bob\0pw"


@pytest.mark.parametrize(("lines", "last"), [
    ([f"a AUTHENTICATE PLAIN {PLAIN}"], "a OK [CAPABILITY"),  # SASL-IR (RFC 4959)
    (["a AUTHENTICATE plain", PLAIN], "a OK [CAPABILITY"),  # after the "+" continuation (RFC 3501 §6.2.2)
    (["a AUTHENTICATE PLAIN", "*"], "a BAD AUTHENTICATE cancelled"),
    (["a AUTHENTICATE PLAIN", "not base64!"], "a BAD invalid base64"),
    ([f"a AUTHENTICATE PLAIN {'AGJvYgB3cm9uZw=='}"], "a NO [AUTHENTICATIONFAILED]"),  # wrong password
    ([f"a AUTHENTICATE PLAIN {'ZXZlAGJvYgBwdw=='}"], "a NO [AUTHENTICATIONFAILED]"),  # eve acting as bob
    (["a AUTHENTICATE CRAM-MD5"], "a NO [CANNOT]"),
], ids=["initial-response", "continuation", "cancel", "bad-base64", "wrong-password", "authzid",
        "mechanism"])  # fmt: skip
def test_authenticate_plain(lines: list[str], last: str) -> None:
    imap = ImapServerSession(MessageStore({"bob": "pw"}))
    out = [imap.feed_line(line.encode() + b"\r\n").decode() for line in lines]
    if len(lines) == 2:
        assert out[0] == "+ \r\n"
    assert out[-1].startswith(last)
    assert (imap.state == "AUTHENTICATED") == last.startswith("a OK")


def test_authenticate_is_refused_in_clear_when_logins_wait_for_tls() -> None:
    imap = ImapServerSession(MessageStore({"bob": "pw"}), tls=True, plaintext_auth=False)
    assert "AUTH=PLAIN" not in imap.capabilities
    assert imap.feed_line(f"a AUTHENTICATE PLAIN {PLAIN}\r\n".encode()).startswith(b"a NO [PRIVACYREQUIRED]")


def test_a_hostile_list_pattern_answers_in_time_linear_in_its_length() -> None:
    # "*a*a*a...*b" against a long name of a's: the regex it became backtracked exponentially (4 stars on a
    # 200-character name took 7 s, holding the live lock, and each star multiplied it); 2000 stars now take 27 ms
    import time

    store = MessageStore({"bob": "pw"})
    store.create_mailbox("bob", "a" * 250)
    imap, _ = session(store)
    t0 = time.perf_counter()
    out = imap.feed_line(b'b LIST "" "' + b"*a" * 2000 + b'*b"\r\n')
    assert out == b"b OK LIST completed\r\n"  # nothing ends in b
    assert time.perf_counter() - t0 < 10.0  # measured 27 ms
    assert imap.feed_line(b'c LIST "" "*a"\r\n').count(b"* LIST") == 1  # the long name still matches
