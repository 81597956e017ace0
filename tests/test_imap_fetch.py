"""IMAP4rev1 FETCH, SEARCH and STORE in full (RFC 3501 §6.4.4-§6.4.6, §7.4.2), checked against §9's grammar.

The FETCH responses are read back with a small parser of §9's s-expressions (NIL, numbers, quoted strings,
literals, lists), so a test can assert both the exact values and the shape the grammar demands.
"""

from __future__ import annotations

import imaplib
import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st
from loopback import TIMEOUT_S, loopback

from netlab.mail.imap import ImapServerSession
from netlab.mail.imap.fetch import ImapNo, body_structure, envelope, mailbox_keywords, search, section_data
from netlab.mail.imap.parse import ImapSyntaxError, sequence_set, tokenize
from netlab.mail.mailbox.store import MessageStore

DAY_S = 86400.0


def _lines(*lines: str) -> bytes:
    return "\r\n".join(lines).encode("utf-8")


SIMPLE = _lines(
    "Date: Thu, 01 Jan 2026 10:00:00 +0100",
    'From: "Alice A." <alice@a.test>',
    "To: bob@b.test, Carol <carol@c.test>",
    "Cc: undisclosed-recipients:;",
    "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=",
    "Message-ID: <1@a.test>",
    "In-Reply-To: <0@b.test>",
    "",
    "Hello Bob,",
    "bye",
    "",
)
INNER = _lines(
    "From: dave@d.test",
    "Subject: inner",
    'Content-Type: multipart/alternative; boundary="YY"',
    "",
    "--YY",
    "Content-Type: text/plain",
    "",
    "inner plain",
    "--YY",
    "Content-Type: text/html",
    "",
    "<p>inner</p>",
    "--YY--",
)
MULTI = (
    _lines(
        "From: alice@a.test",
        "Sender: list@l.test",
        "Reply-To: replies@l.test",
        "Bcc: eve@e.test",
        "Subject: parts",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="XX"',
        "",
        "preamble",
        "--XX",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
        "",
        "=C3=9Cmlaut here",
        "--XX",
        "Content-Type: application/octet-stream",
        "Content-Transfer-Encoding: base64",
        'Content-Disposition: attachment; filename="a.bin"',
        "Content-ID: <att@a.test>",
        "Content-Language: en, de",
        "",
        "AAEC",
        "--XX",
        "Content-Type: message/rfc822",
        "Content-Description: forwarded",
        "",
        "",
    )
    + INNER
    + _lines("", "--XX--", "epilogue", "")
)
EIGHT_BIT = _lines(
    "Date: Mon, 05 Jan 2026 23:30:00 -0500",
    "From: Zoë <zoe@z.test>",
    'Subject: say "hi"',
    "To: bob@b.test",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    "Grüße, ÜMLAUT",
    "",
)
BARE = b"\r\nno header at all\r\n"


# --- a reader for §9's data: NIL -> None, number -> int, quoted -> str, literal -> bytes, list -> list -----------


class Atom(str):
    """An atom (a FETCH item name) as opposed to a quoted string."""


def sexp(data: bytes) -> list[object]:
    """Parse the data of one response line (its literals inline) into Python values."""
    stack: list[list[object]] = [[]]
    i = 0
    while i < len(data):
        c = data[i : i + 1]
        if c in (b" ", b"\r", b"\n"):
            i += 1
        elif c == b"(":
            stack.append([])
            i += 1
        elif c == b")":
            done = stack.pop()
            stack[-1].append(done)
            i += 1
        elif c == b'"':
            j, out = i + 1, bytearray()
            while data[j : j + 1] != b'"':
                assert data[j : j + 1] not in (b"\r", b"\n"), "CR/LF inside a quoted string"
                if data[j : j + 1] == b"\\":
                    j += 1
                    assert data[j : j + 1] in (b'"', b"\\"), "only quoted-specials may be escaped"
                assert data[j] < 0x80, "8-bit octet inside a quoted string"
                out += data[j : j + 1]
                j += 1
            stack[-1].append(out.decode())
            i = j + 1
        elif c == b"{":
            end = data.index(b"}\r\n", i)
            n = int(data[i + 1 : end])
            stack[-1].append(data[end + 3 : end + 3 + n])
            i = end + 3 + n
        else:
            j, depth = i, 0
            while j < len(data) and (depth or data[j : j + 1] not in (b" ", b"(", b")", b"\r")):
                depth += {b"[": 1, b"]": -1}.get(data[j : j + 1], 0)
                j += 1
            word = data[i:j].decode()
            stack[-1].append(None if word == "NIL" else int(word) if word.isdigit() else Atom(word))
            i = j
    assert len(stack) == 1, "unbalanced parentheses"
    return stack[0]


def fetched(response: bytes) -> dict[int, dict[str, object]]:
    """``{message number: {item: value}}`` of the untagged FETCH responses in *response*."""
    out: dict[int, dict[str, object]] = {}
    for line in _responses(response):
        values = sexp(line)
        if values[:1] == [Atom("*")] and values[2:3] == [Atom("FETCH")]:
            items = values[3]
            assert isinstance(items, list) and len(items) % 2 == 0
            out[int(str(values[1]))] = {str(k): v for k, v in zip(items[::2], items[1::2], strict=True)}
    return out


def _responses(data: bytes) -> list[bytes]:
    """Split *data* into responses, a literal's octets kept with the line that announced them."""
    lines, i = [], 0
    while i < len(data):
        start = i
        while True:
            end = data.index(b"\r\n", i)
            head = data[i:end]
            if head.endswith(b"}") and b"{" in head:
                n = int(head[head.rindex(b"{") + 1 : -1])
                i = end + 2 + n
                continue
            i = end + 2
            break
        lines.append(data[start:i])
    return lines


def as_text(v: object) -> object:
    """*v* with literals read as UTF-8 text (to compare values whether quoted or literal)."""
    if isinstance(v, list):
        return [as_text(x) for x in v]
    return v.decode() if isinstance(v, bytes) else v


def is_nstring(v: object) -> bool:
    return v is None or isinstance(v, (str, bytes))


def check_address_list(v: object) -> None:
    if v is None:
        return
    assert isinstance(v, list) and v, "an address list is NIL or ( 1*address )"
    for address in v:
        assert isinstance(address, list) and len(address) == 4 and all(map(is_nstring, address))


def check_envelope(v: object) -> None:
    """§9 ``envelope``: date subject from sender reply-to to cc bcc in-reply-to message-id."""
    assert isinstance(v, list) and len(v) == 10
    assert is_nstring(v[0]) and is_nstring(v[1]) and is_nstring(v[8]) and is_nstring(v[9])
    for addresses in v[2:8]:
        check_address_list(addresses)


def check_params(v: object) -> None:
    assert v is None or (isinstance(v, list) and v and len(v) % 2 == 0 and all(isinstance(s, (str, bytes)) for s in v))


def check_extension(v: list[object]) -> None:
    """body-fld-dsp body-fld-lang body-fld-loc."""
    dsp, lang, loc = v
    assert dsp is None or (isinstance(dsp, list) and len(dsp) == 2 and isinstance(dsp[0], (str, bytes)))
    if isinstance(dsp, list):
        check_params(dsp[1])
    assert is_nstring(lang) or (isinstance(lang, list) and all(isinstance(s, (str, bytes)) for s in lang))
    assert is_nstring(loc)


def check_body(v: object, extensible: bool) -> None:
    """§9 ``body``: body-type-1part or body-type-mpart, with the extension data only for BODYSTRUCTURE."""
    assert isinstance(v, list)
    if isinstance(v[0], list):
        n = next(i for i, p in enumerate(v) if not isinstance(p, list))
        parts = v[:n]
        for part in parts:
            check_body(part, extensible)
        rest = v[n:]
        assert isinstance(rest[0], (str, bytes))
        if extensible:
            assert len(rest) == 5
            check_params(rest[1])
            check_extension(rest[2:])
        else:
            assert len(rest) == 1
        return
    kind, subtype, params, cid, desc, encoding, octets = v[:7]
    assert all(isinstance(x, (str, bytes)) for x in (kind, subtype, encoding))
    check_params(params)
    assert is_nstring(cid) and is_nstring(desc) and isinstance(octets, int)
    rest = v[7:]
    if (as_text(kind), as_text(subtype)) == ("MESSAGE", "RFC822"):
        check_envelope(rest[0])
        check_body(rest[1], extensible)
        assert isinstance(rest[2], int)
        rest = rest[3:]
    elif as_text(kind) == "TEXT":
        assert isinstance(rest[0], int)
        rest = rest[1:]
    if extensible:
        assert len(rest) == 4 and is_nstring(rest[0])
        check_extension(rest[1:])
    else:
        assert rest == []


# --- fixtures --------------------------------------------------------------------------------------------------


@pytest.fixture
def store() -> MessageStore:
    store = MessageStore({"bob": "pw"}, domain="b.test")
    box = store.mailbox("bob")
    # appended directly: no Delivered-To, so the expected octets below are the messages as written
    box.append(SIMPLE, 10.0)
    box.append(MULTI, DAY_S + 10, {"\\Flagged"})
    box.append(EIGHT_BIT, 4 * DAY_S + 10, {"\\Seen", "\\Answered"})
    return store


class Script:
    def __init__(self, store: MessageStore, how: str = "SELECT") -> None:
        self.session = ImapServerSession(store)
        self.n = 0
        assert b" OK" in self(b"LOGIN bob pw")
        assert b" OK" in self(f"{how} INBOX".encode())

    def __call__(self, command: bytes) -> bytes:
        self.n += 1
        return self.session.feed_line(b"t%d " % self.n + command + b"\r\n")

    def status(self, command: bytes) -> bytes:
        return self(command).rsplit(b"t%d " % self.n, 1)[-1].strip()

    def fetch(self, command: bytes) -> dict[int, dict[str, object]]:
        out = self(command)
        assert out.endswith(b"t%d OK FETCH completed\r\n" % self.n) or b"OK UID FETCH" in out, out
        return fetched(out)


def _flags(store: MessageStore) -> list[set[str]]:
    return [set(e.flags) for e in store.mailbox("bob").entries]


# --- 1. ENVELOPE -------------------------------------------------------------------------------------------------

ALICE = [["Alice A.", None, "alice", "a.test"]]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # RFC 2047 stays encoded; sender and reply-to default to from; a group is (NIL NIL name NIL)...(NIL NIL NIL NIL)
        (SIMPLE, ["Thu, 01 Jan 2026 10:00:00 +0100", "=?utf-8?q?Gr=C3=BC=C3=9Fe?=", ALICE, ALICE, ALICE,
                  [[None, None, "bob", "b.test"], ["Carol", None, "carol", "c.test"]],
                  [[None, None, "undisclosed-recipients", None], [None, None, None, None]], None,
                  "<0@b.test>", "<1@a.test>"]),
        (MULTI, [None, "parts", [[None, None, "alice", "a.test"]], [[None, None, "list", "l.test"]],
                 [[None, None, "replies", "l.test"]], None, None, [[None, None, "eve", "e.test"]], None, None]),
        # a quote or an 8-bit octet cannot go in a quoted string as is: literals
        (EIGHT_BIT, ["Mon, 05 Jan 2026 23:30:00 -0500", 'say "hi"', [["Zoë", None, "zoe", "z.test"]],
                     [["Zoë", None, "zoe", "z.test"]], [["Zoë", None, "zoe", "z.test"]],
                     [[None, None, "bob", "b.test"]], None, None, None, None]),
        (BARE, [None] * 10),
        # an empty Sender is the From (§7.4.2); a folded Subject is unfolded; no domain: MISSING_DOMAIN
        (b"From: a@b.test\r\nSender:\r\nSubject: one\r\n two\r\nTo: root\r\n\r\n",
         [None, "one two", [[None, None, "a", "b.test"]], [[None, None, "a", "b.test"]],
          [[None, None, "a", "b.test"]], [[None, None, "root", "MISSING_DOMAIN"]], None, None, None, None]),
    ],
)  # fmt: skip
def test_envelope(raw: bytes, expected: list[object]) -> None:
    value = sexp(envelope(raw))[0]
    check_envelope(value)
    assert as_text(value) == expected


def test_envelope_literals_where_quoting_cannot_carry_the_value() -> None:
    assert b'{8}\r\nsay "hi" ' in envelope(EIGHT_BIT)  # the quote: a literal, not an escaped quoted string
    assert b"({4}\r\nZo\xc3\xab NIL" in envelope(EIGHT_BIT)  # 8-bit: a literal of its octets
    assert b'"=?utf-8?q?Gr=C3=BC=C3=9Fe?="' in envelope(SIMPLE)


# --- 2. BODYSTRUCTURE and BODY ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [SIMPLE, MULTI, EIGHT_BIT, BARE, INNER])
@pytest.mark.parametrize("extensible", [True, False])
def test_body_structure_grammar(raw: bytes, extensible: bool) -> None:
    check_body(sexp(body_structure(raw, extensible=extensible))[0], extensible)


def test_body_structure_values() -> None:
    assert body_structure(SIMPLE) == b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 17 2 NIL NIL NIL NIL)'
    assert body_structure(SIMPLE, extensible=False) == b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 17 2)'
    value = sexp(body_structure(MULTI))[0]
    assert isinstance(value, list)
    text, attachment, message, subtype, params, dsp, lang, loc = value
    assert text == ["TEXT", "PLAIN", ["CHARSET", "utf-8"], None, None, "QUOTED-PRINTABLE", 16, 1, None, None, None,
                    None]  # fmt: skip
    assert attachment == ["APPLICATION", "OCTET-STREAM", None, "<att@a.test>", None, "BASE64", 4, None,
                          ["ATTACHMENT", ["FILENAME", "a.bin"]], ["en", "de"], None]  # fmt: skip
    assert message[:7] == ["MESSAGE", "RFC822", None, None, "forwarded", "7BIT", len(INNER)]
    assert message[7][1] == "inner" and message[8][-5:] == ["ALTERNATIVE", ["BOUNDARY", "YY"], None, None, None]
    assert message[9] == INNER.count(b"\n") + 1  # lines of the encapsulated message
    assert (subtype, params, dsp, lang, loc) == ("MIXED", ["BOUNDARY", "XX"], None, None, None)
    # BODY is BODYSTRUCTURE without the extension data
    assert body_structure(MULTI, extensible=False).endswith(b' "ALTERNATIVE") 13) "MIXED")')


@pytest.mark.parametrize("raw", [SIMPLE, MULTI, EIGHT_BIT])
def test_body_structure_sizes_are_the_octets_of_each_part(raw: bytes) -> None:
    """body-fld-octets is the size of BODY[n] as stored, body-fld-lines its lines (RFC 3501 §7.4.2)."""

    def walk(body: list[object], prefix: str) -> list[tuple[str, int, int | None]]:
        if isinstance(body[0], list):
            parts = body[: next(i for i, p in enumerate(body) if not isinstance(p, list))]
            return [x for n, b in enumerate(parts, 1) for x in walk(b, f"{prefix}{n}.")]
        lines = body[7] if str(body[0]).upper() == "TEXT" else None
        return [(prefix.rstrip("."), int(str(body[6])), lines if isinstance(lines, int) else None)]

    structure = sexp(body_structure(raw))[0]
    assert isinstance(structure, list)
    found = walk(structure, "" if isinstance(structure[0], list) else "1.")
    assert found
    for number, octets, lines in found:
        data = section_data(raw, number)
        assert len(data) == octets
        if lines is not None:
            assert lines == data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


_PIECES = [b"\r\n", b"--B\r\n", b"--B--\r\n", b"Content-Type: multipart/mixed; boundary=B\r\n",
           b"Content-Type: message/rfc822\r\n", b"Content-Type: text/plain; charset=\"x\r\n",
           b"Subject: \xc3\xa9\"\\\r\n",
           b"From: a@b, (c) <d@e>, g: h@i;\r\n", b" folded\r\n", b"x", b"\n", b"Content-Disposition: ;=\r\n",
           b"Content-Type: /\r\n", b"\xff"]  # fmt: skip


@given(st.lists(st.sampled_from(_PIECES), max_size=30))
def test_any_message_gives_well_formed_structures(pieces: list[bytes]) -> None:
    raw = b"".join(pieces)
    check_envelope(sexp(envelope(raw))[0])
    for extensible in (True, False):
        check_body(sexp(body_structure(raw, extensible=extensible))[0], extensible)
    for section in ("1", "1.MIME", "2.1", "1.HEADER", "TEXT", "HEADER.FIELDS (FROM)"):
        assert isinstance(section_data(raw, section), bytes)
    store = MessageStore({"bob": "pw"})
    store.mailbox("bob").append(raw, 0.0)
    s = Script(store)
    for query in ("TEXT é", "BODY x", "FROM a", "SUBJECT é", "SENTON 1-Jan-2026", "HEADER Content-Type plain"):
        assert s(f"SEARCH CHARSET UTF-8 {query}".encode()).startswith(b"* SEARCH")


def test_multipart_digest_parts_default_to_message_rfc822() -> None:
    raw = _lines('Content-Type: multipart/digest; boundary="D"', "", "--D", "", "Subject: s", "", "x", "--D--", "")
    value = sexp(body_structure(raw))[0]
    assert isinstance(value, list) and value[0][:2] == ["MESSAGE", "RFC822"] and value[0][7][1] == "s"


# --- 3. sections ---------------------------------------------------------------------------------------------

MULTI_HEAD, _, MULTI_TEXT = MULTI.partition(b"\r\n\r\n")


@pytest.mark.parametrize(
    ("item", "name", "expected"),
    [
        ("BODY.PEEK[]", "BODY[]", MULTI),
        ("BODY.PEEK[HEADER]", "BODY[HEADER]", MULTI_HEAD + b"\r\n\r\n"),
        ("BODY.PEEK[TEXT]", "BODY[TEXT]", MULTI_TEXT),
        ("BODY.PEEK[HEADER.FIELDS (subject From)]", "BODY[HEADER.FIELDS (SUBJECT FROM)]",
         b"From: alice@a.test\r\nSubject: parts\r\n\r\n"),
        ('BODY.PEEK[HEADER.FIELDS ("Subject")]', 'BODY[HEADER.FIELDS ("SUBJECT")]', b"Subject: parts\r\n\r\n"),
        ("BODY.PEEK[HEADER.FIELDS.NOT (From Sender Reply-To Bcc MIME-Version Content-Type)]",
         "BODY[HEADER.FIELDS.NOT (FROM SENDER REPLY-TO BCC MIME-VERSION CONTENT-TYPE)]", b"Subject: parts\r\n\r\n"),
        ("BODY.PEEK[1]", "BODY[1]", b"=C3=9Cmlaut here"),
        ("BODY.PEEK[1.MIME]", "BODY[1.MIME]",
         b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"),
        ("BODY.PEEK[2]", "BODY[2]", b"AAEC"),
        ("BODY.PEEK[3]", "BODY[3]", INNER),
        ("BODY.PEEK[3.HEADER]", "BODY[3.HEADER]", INNER.partition(b"\r\n\r\n")[0] + b"\r\n\r\n"),
        ("BODY.PEEK[3.TEXT]", "BODY[3.TEXT]", INNER.partition(b"\r\n\r\n")[2]),
        ("BODY.PEEK[3.HEADER.FIELDS (SUBJECT)]", "BODY[3.HEADER.FIELDS (SUBJECT)]", b"Subject: inner\r\n\r\n"),
        ("BODY.PEEK[3.1]", "BODY[3.1]", b"inner plain"),
        ("BODY.PEEK[3.2]", "BODY[3.2]", b"<p>inner</p>"),
        ("BODY.PEEK[3.2.MIME]", "BODY[3.2.MIME]", b"Content-Type: text/html\r\n\r\n"),
        # parts the message does not have: an empty string, as Dovecot
        ("BODY.PEEK[4]", "BODY[4]", b""),
        ("BODY.PEEK[1.1]", "BODY[1.1]", b""),
        ("BODY.PEEK[2.HEADER]", "BODY[2.HEADER]", b""),
        # partials (§6.4.5): the response names the origin only; past the end is empty
        ("BODY.PEEK[]<0.10>", "BODY[]<0>", MULTI[:10]),
        ("BODY.PEEK[1]<3.4>", "BODY[1]<3>", b"=9Cm"),
        ("BODY.PEEK[TEXT]<100000.10>", "BODY[TEXT]<100000>", b""),
        ("RFC822.HEADER", "RFC822.HEADER", MULTI_HEAD + b"\r\n\r\n"),
        ("RFC822.SIZE", "RFC822.SIZE", len(MULTI)),
        ("UID", "UID", 2),
        ("FLAGS", "FLAGS", [Atom("\\Flagged"), Atom("\\Recent")]),
        ("INTERNALDATE", "INTERNALDATE", " 2-Jan-2026 00:00:10 +0000"),
    ],
)  # fmt: skip
def test_fetch_sections(store: MessageStore, item: str, name: str, expected: object) -> None:
    s = Script(store)
    assert s.fetch(f"FETCH 2 ({item})".encode()) == {2: {name: expected}}
    assert _flags(store)[1] == {"\\Flagged"}  # PEEK and the header-only items leave \Seen alone


def test_single_part_message_is_its_own_part_one(store: MessageStore) -> None:
    head, _, text = SIMPLE.partition(b"\r\n\r\n")
    got = Script(store).fetch(b"FETCH 1 (BODY.PEEK[1] BODY.PEEK[1.MIME])")[1]
    assert got == {"BODY[1]": text, "BODY[1.MIME]": head + b"\r\n\r\n"}


@pytest.mark.parametrize(
    "items",
    ["BODY[MIME]", "BODY[0]", "BODY[1.0]", "BODY[1.]", "BODY[TEXTS]", "BODY[HEADER.FIELDS]", "BODY[HEADER.FIELDS ()]",
     "BODY[HEADER.FIELDS FROM]", "BODY[]<0>", "BODY[]<0.0>", "BODY[]<x.1>", "BODY.PEEK", "BODYSTRUCTURE[]",
     "(FAST)", "(ALL UID)", "()", "ENVELOPES", "RFC822.PEEK"],
)  # fmt: skip
def test_fetch_grammar_violations_are_bad(store: MessageStore, items: str) -> None:
    assert Script(store).status(f"FETCH 1 {items}".encode()).startswith(b"BAD")


@pytest.mark.parametrize(
    ("macro", "names"),
    [
        ("FAST", ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]),
        ("ALL", ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"]),
        ("FULL", ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"]),
        ("(ENVELOPE BODYSTRUCTURE UID)", ["ENVELOPE", "BODYSTRUCTURE", "UID"]),
    ],
)
def test_macros_and_structures(store: MessageStore, macro: str, names: list[str]) -> None:
    got = Script(store).fetch(f"FETCH 1:* {macro}".encode())
    assert sorted(got) == [1, 2, 3] and all(list(items) == names for items in got.values())
    for items in got.values():
        if "ENVELOPE" in items:
            check_envelope(items["ENVELOPE"])
        if "BODY" in items or "BODYSTRUCTURE" in items:
            check_body(items.get("BODY", items.get("BODYSTRUCTURE")), "BODYSTRUCTURE" in items)
    assert _flags(store) == [set(), {"\\Flagged"}, {"\\Seen", "\\Answered"}]  # none of these sets \Seen


@pytest.mark.parametrize("item", ["BODY[1]", "BODY[2.MIME]", "BODY[HEADER]", "BODY[]<0.5>", "RFC822", "RFC822.TEXT"])
def test_a_body_fetch_sets_seen_and_echoes_flags(store: MessageStore, item: str) -> None:
    s = Script(store)
    got = s.fetch(f"FETCH 2 ({item})".encode())[2]
    assert got["FLAGS"] == ["\\Flagged", "\\Seen", "\\Recent"]  # §6.4.5: \Seen implicitly set, and reported
    assert _flags(store)[1] == {"\\Flagged", "\\Seen"}
    assert "FLAGS" not in s.fetch(f"FETCH 2 ({item})".encode())[2]  # no change now: no FLAGS


def test_examine_fetch_sets_nothing(store: MessageStore) -> None:
    got = Script(store, "EXAMINE").fetch(b"FETCH 1:* (BODY[1] RFC822.TEXT)")
    assert all("FLAGS" not in items for items in got.values())
    assert _flags(store) == [set(), {"\\Flagged"}, {"\\Seen", "\\Answered"}]


def test_imaplib_reads_structures_with_literals(store: MessageStore) -> None:
    with loopback(lambda: ImapServerSession(store)) as (port, ended, _):
        imap = imaplib.IMAP4("127.0.0.1", port, timeout=TIMEOUT_S)
        imap.login("bob", "pw")
        imap.select("INBOX")
        typ, data = imap.fetch("3", "(ENVELOPE BODYSTRUCTURE BODY.PEEK[1.MIME] FLAGS)")
        assert typ == "OK"
        # the literals of the envelope (quote, 8-bit name) and of the section come back as imaplib's tuples
        assert [piece[1] for piece in data if isinstance(piece, tuple)][:2] == [b'say "hi"', "Zoë".encode()]
        assert data[-1] == b" FLAGS (\\Answered \\Seen \\Recent))"
        typ, data = imap.uid("FETCH", "1:*", "FULL")
        assert typ == "OK" and sum(1 for piece in data if b"ENVELOPE" in (piece[0] if isinstance(piece, tuple)
                                                                            else piece)) == 3  # fmt: skip
        imap.logout()
        ended.get(timeout=TIMEOUT_S)


# --- 4. sequence sets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "numbers"),
    [
        ("FETCH * UID", [3]),
        ("FETCH 3:* UID", [3]),
        ("FETCH *:2 UID", [2, 3]),
        ("FETCH 2,1 UID", [1, 2]),
        ("FETCH 1:3,2 UID", [1, 2, 3]),
        ("UID FETCH * UID", [3]),
        ("UID FETCH 99:* UID", [3]),  # §6.4.8: * is the largest UID, so 99:* is 3:99
        ("UID FETCH *:2 UID", [2, 3]),
        ("UID FETCH 4:7 UID", []),  # UIDs that do not exist are skipped without an error
        ("UID FETCH 2,9 UID", [2]),
    ],
)
def test_sequence_sets(store: MessageStore, command: str, numbers: list[int]) -> None:
    assert sorted(Script(store).fetch(command.encode())) == numbers


@pytest.mark.parametrize(
    "command",
    ["FETCH 0 UID", "FETCH 0:2 UID", "FETCH 1,0 UID", "FETCH 4 UID", "FETCH 2:4 UID", "FETCH 01x UID",
     "UID FETCH 0 UID", "UID FETCH 0:* UID", "STORE 0 +FLAGS (\\Seen)", "SEARCH 0", "SEARCH UID 0", "FETCH -1 UID"],
)  # fmt: skip
def test_zero_and_out_of_range_message_numbers_are_bad(store: MessageStore, command: str) -> None:
    # §9: seq-number is nz-number or "*"; a message number past the end names no message: BAD, as Dovecot
    assert Script(store).status(command.encode()).startswith(b"BAD")


def test_sequence_set_rejects_zero() -> None:
    with pytest.raises(ImapSyntaxError):
        sequence_set("0:3", 5)


# --- 5. SEARCH -----------------------------------------------------------------------------------------------


@pytest.fixture
def searched(store: MessageStore) -> Script:
    box = store.mailbox("bob")
    # 4: RFC 2047 headers and a quoted-printable ümlaut, 5: a base64 body (all five \Recent for the SELECT below)
    box.append(_lines("Subject: =?iso-8859-1?q?=DCber?=", "From: =?utf-8?b?SsO8cmdlbg==?= <j@j.test>",
                      "Date: Wed, 07 Jan 2026 01:00:00 +0200", "Content-Type: text/plain; charset=utf-8",
                      "Content-Transfer-Encoding: quoted-printable", "X-Spam: Yes", "", "Some =C3=BCmlaut.", ""),
               6 * DAY_S, {"\\Draft", "$Junk"})  # fmt: skip
    b64 = _lines("Subject: b64", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64", "",
                 "c2VjcmV0IHdvcmQ=", "")  # fmt: skip
    box.append(b64, 7 * DAY_S, {"\\Deleted"})
    return Script(store)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ALL", [1, 2, 3, 4, 5]),
        ("ANSWERED", [3]),
        ("UNANSWERED", [1, 2, 4, 5]),
        ("DELETED", [5]),
        ("UNDELETED", [1, 2, 3, 4]),
        ("DRAFT", [4]),
        ("UNDRAFT", [1, 2, 3, 5]),
        ("FLAGGED", [2]),
        ("UNFLAGGED", [1, 3, 4, 5]),
        ("SEEN", [3]),
        ("UNSEEN", [1, 2, 4, 5]),
        ("KEYWORD $junk", [4]),  # keywords compare without case
        ("UNKEYWORD $Junk", [1, 2, 3, 5]),
        ("RECENT", [1, 2, 3, 4, 5]),
        ("NEW", [1, 2, 4, 5]),
        ("OLD", []),
        ("FROM alice", [1, 2]),
        ("FROM jürgen", [4]),  # RFC 2047 decoded before matching
        ("FROM ZOË", [3]),  # casefold
        ("TO carol", [1]),
        ("CC undisclosed", [1]),
        ("BCC eve@e.test", [2]),
        ("SUBJECT grüsse", [1]),  # casefold: ß folds to ss
        ("SUBJECT grusse", []),  # but it is no transliteration: ü stays ü
        ("SUBJECT GRÜSSE", [1]),
        ("SUBJECT über", [4]),
        ('SUBJECT "say \\"hi"', [3]),
        ("HEADER X-Spam yes", [4]),
        ('HEADER Message-ID ""', [1]),  # an empty string: every message with the field
        ("BODY ümlaut", [2, 3, 4]),  # quoted-printable, 8-bit and a QP part of a multipart
        ("BODY SECRET", [5]),  # base64 decoded
        ("BODY parts", []),  # the body, not the header
        ("TEXT parts", [2]),
        ("TEXT ümlaut", [2, 3, 4]),
        ("LARGER 300", [2]),
        ("SMALLER 150", [5]),
        ("BEFORE 2-Jan-2026", [1]),
        ("ON 2-Jan-2026", [2]),
        ("SINCE 7-Jan-2026", [4, 5]),
        ("SENTBEFORE 5-Jan-2026", [1]),
        ("SENTON 5-Jan-2026", [3]),  # the Date's own day, its zone disregarded (§6.4.4)
        ("SENTSINCE 5-Jan-2026", [3, 4]),  # no Date header: never matches a SENT key
        ("UID 2:4", [2, 3, 4]),
        ("UID *", [5]),
        ("2:3", [2, 3]),
        ("*", [5]),
        ("NOT SEEN", [1, 2, 4, 5]),
        ("OR SEEN DRAFT", [3, 4]),
        ("OR (SEEN ANSWERED) (FLAGGED FROM alice)", [2, 3]),
        ("(UNSEEN UNDELETED) NOT FLAGGED", [1, 4]),
        ("CHARSET UTF-8 BODY ÜMLAUT", [2, 3, 4]),
        ("CHARSET US-ASCII SUBJECT parts", [2]),
    ],
)
def test_search_keys(searched: Script, query: str, expected: list[int]) -> None:
    out = searched(f"SEARCH {query}".encode())
    assert out.splitlines()[0].decode() == "* SEARCH" + "".join(f" {n}" for n in expected), out


def test_search_with_a_literal_argument(searched: Script) -> None:
    word = "Ümlaut".encode()
    assert searched(b"SEARCH CHARSET UTF-8 BODY {%d+}" % len(word)) == b""
    assert searched.session.feed_literal(word) == b""
    assert searched.session.feed_line(b"\r\n").startswith(b"* SEARCH 2 3 4\r\n")


@pytest.mark.parametrize("charset", ["KOI8-R", "ISO-8859-1", "x"])
def test_unknown_charset_is_badcharset(searched: Script, charset: str) -> None:
    with pytest.raises(ImapNo, match=r"^\[BADCHARSET \(UTF-8 US-ASCII\)\]"):
        search(searched.session, tokenize([f"CHARSET {charset} ALL".encode()]), by_uid=False)


def test_unknown_charset_is_a_tagged_no(searched: Script) -> None:
    assert searched.status(b"SEARCH CHARSET KOI8-R ALL").startswith(b"NO [BADCHARSET (UTF-8 US-ASCII)] ")


@pytest.mark.parametrize(
    "query", ["NOT", "OR SEEN", "()", "KEYWORD", "SENTON 5-Jan", "HEADER X-Spam", "LARGER x", "WHATEVER", "CHARSET"]
)
def test_search_grammar_violations_are_bad(searched: Script, query: str) -> None:
    assert searched.status(f"SEARCH {query}".encode()).startswith(b"BAD")


# --- 6. STORE with keywords ----------------------------------------------------------------------------------


def test_store_keeps_keywords(store: MessageStore) -> None:
    s = Script(store)
    assert b"* 1 FETCH (FLAGS ($Forwarded $Junk \\Recent))" in s(b"STORE 1 +FLAGS ($Forwarded $Junk)")
    assert _flags(store)[0] == {"$Forwarded", "$Junk"}
    assert b"* 1 FETCH (FLAGS ($Forwarded \\Recent))" in s(b"STORE 1 -FLAGS ($junk)")  # the spelling stored
    assert b"* 1 FETCH (FLAGS ($Forwarded \\Seen \\Recent))" in s(b"STORE 1 FLAGS ($Forwarded \\seen)")
    assert b"* 2 FETCH (FLAGS (NonJunk \\Recent))" in s(b"STORE 2 FLAGS (NonJunk)")
    assert mailbox_keywords(store.mailbox("bob")) == ["$Forwarded", "NonJunk"]
    assert b"* 2 FETCH (FLAGS (\\Recent))" in s(b"STORE 2 -FLAGS (nonjunk)")  # keywords compare without case
    assert b"* SEARCH 1" in s(b"SEARCH KEYWORD $forwarded")
    assert s.fetch(b"FETCH 1 FLAGS")[1]["FLAGS"] == ["$Forwarded", "\\Seen", "\\Recent"]


@pytest.mark.parametrize("flags", ["(\\Recent)", "(\\Foo)", "(a%b)", "(a*)", "(ab])", "(grüße)"])
def test_store_refuses_what_is_no_flag(store: MessageStore, flags: str) -> None:
    s = Script(store)
    assert s.status(f"STORE 1 +FLAGS {flags}".encode()).startswith(b"BAD")
    assert _flags(store)[0] == set()


@pytest.mark.parametrize("query", ["FROM h@i", "TEXT folded", "HEADER From g"])
def test_search_survives_a_header_the_email_registry_cannot_parse(query: str) -> None:
    # CPython 3.11's header registry raises AttributeError ('Group' object has no attribute 'local_part') on this
    # From; SEARCH read it that way before and the exception escaped the session
    store = MessageStore({"bob": "pw"})
    store.mailbox("bob").append(b"From: a@b, (c) <d@e>, g: h@i;\r\n folded\r\n\r\nx\r\n", 0.0)
    assert Script(store)(f"SEARCH {query}".encode()).startswith(b"* SEARCH 1\r\n")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("INBOX;UID=2/;SECTION=1", b"=C3=9Cmlaut here"),  # curl's RFC 5092 URL: UID FETCH 2 BODY[1]
        ("INBOX;UID=2/;SECTION=3.2", b"<p>inner</p>"),
        ("INBOX;UID=2/;SECTION=3.HEADER.FIELDS%20(SUBJECT)", b"Subject: inner\r\n\r\n"),
    ],
)
def test_curl_fetches_sections(store: MessageStore, url: str, expected: bytes) -> None:
    with loopback(lambda: ImapServerSession(store)) as (port, ended, _):
        command = ["curl", "-sS", "--max-time", str(TIMEOUT_S), "--user", "bob:pw", f"imap://127.0.0.1:{port}/{url}"]
        done = subprocess.run(command, check=False, capture_output=True, timeout=4 * TIMEOUT_S)
        ended.get(timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected
    assert _flags(store)[1] == {"\\Flagged", "\\Seen"}  # curl fetches BODY[...], not BODY.PEEK
