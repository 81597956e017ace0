"""FETCH, SEARCH and STORE for :class:`~netlab.mail.imap.server.ImapServerSession` (RFC 3501 §6.4).

FETCH takes every data item of RFC 3501 §6.4.5: the macros ALL, FAST and FULL (alone, as §9's grammar has them),
FLAGS, UID, INTERNALDATE, ENVELOPE, BODY, BODYSTRUCTURE, RFC822, RFC822.SIZE, RFC822.HEADER, RFC822.TEXT and
``BODY[section]<origin.length>`` / ``BODY.PEEK[...]`` with every section of §9: ``""``, HEADER, TEXT,
HEADER.FIELDS (...), HEADER.FIELDS.NOT (...), and part numbers (``1``, ``2.1``) followed by nothing, MIME, or, for
a ``message/rfc822`` part, HEADER/TEXT/HEADER.FIELDS. A part number the message does not have gives an empty
string, as Dovecot answers (§6.4.5 leaves it open; a NO would fail a whole multi-message FETCH for one message).
``BODY[...]``, RFC822 and RFC822.TEXT set ``\\Seen`` unless the mailbox is read-only; the new flags then ride
along in the same FETCH response.

The MIME structure (ENVELOPE, BODYSTRUCTURE, part sections) is worked out from the stored octets: the :mod:`email`
package reads each header section (``compat32``, so RFC 2047 words stay encoded as §7.4.2 wants) and the parts are
cut at their boundaries in the raw bytes, so sizes are the octets stored (CRLF counted as two).

>>> from netlab.mail.imap.parse import tokenize
>>> [item.name for item in fetch_items(tokenize([b"(UID BODY.PEEK[HEADER] RFC822.SIZE)"]))]
['UID', 'BODY[HEADER]', 'RFC822.SIZE']
>>> body_structure(b"Content-Type: text/plain; charset=utf-8\\r\\n\\r\\nhi\\r\\n", extensible=False)
b'("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 4 1)'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

from netlab.mail.content.message import header_fields, header_section
from netlab.mail.imap.parse import (
    ImapSyntaxError,
    Token,
    format_internaldate,
    is_sequence_set,
    literal,
    parse_search_date,
    sequence_set,
)
from netlab.mail.mailbox.store import SYSTEM_FLAGS, StoredEntry

if TYPE_CHECKING:
    from email.message import Message

    from netlab.mail.imap.server import ImapServerSession
    from netlab.mail.mailbox.store import Mailbox

__all__ = [
    "PERMANENT_FLAGS",
    "FetchItem",
    "ImapNo",
    "body_structure",
    "canonical_flag",
    "envelope",
    "fetch_items",
    "fetch_responses",
    "mailbox_keywords",
    "messages_in",
    "search",
    "section_data",
    "store_flags",
]

PERMANENT_FLAGS = "(\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)"
"""What SELECT's ``[PERMANENTFLAGS ...]`` should list now that STORE keeps keywords (``\\*``: any new keyword)."""

_BODY = re.compile(r"BODY(\.PEEK)?\[([^\]]*)\](?:<(\d+)\.(\d+)>)?", re.IGNORECASE)
_PART = re.compile(r"([1-9]\d*(?:\.[1-9]\d*)*)(?:\.(.*))?", re.DOTALL)
_HEADER_LIST = re.compile(r'\s*"((?:[^"\\]|\\.)*)"|\s*([^\s()"]+)')
_SIMPLE = ("FLAGS", "UID", "INTERNALDATE", "RFC822", "RFC822.SIZE", "RFC822.HEADER", "RFC822.TEXT", "ENVELOPE",
           "BODY", "BODYSTRUCTURE")  # fmt: skip
_MACROS = {"FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
           "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
           "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY")}  # fmt: skip
# atom-specials of RFC 3501 §9 (with CTL and SP): a keyword flag is an atom
_NOT_ATOM = re.compile(r'[(){ %*"\\\]\x00-\x1f\x7f]')
_CHARSETS = ("UTF-8", "US-ASCII")


class ImapNo(ImapSyntaxError):
    """A well-formed command the server refuses: the tagged answer is ``NO`` with this text (a response code
    such as ``[BADCHARSET (UTF-8 US-ASCII)]`` first). It subclasses :class:`ImapSyntaxError` so that a session
    that only catches that one still answers (``BAD``) rather than fail."""


@dataclass(frozen=True, slots=True)
class FetchItem:
    """One FETCH data item: *name* as the response spells it; for a body section the *section* text (upper case),
    *peek*, the partial range (*origin*, *length* in octets)."""

    name: str
    section: str | None = None
    peek: bool = False
    origin: int | None = None
    length: int | None = None

    @property
    def sets_seen(self) -> bool:
        """Whether fetching this marks the message ``\\Seen`` (RFC 3501 §6.4.5)."""
        return (self.section is not None and not self.peek) or self.name in ("RFC822", "RFC822.TEXT")


def fetch_items(spec: list[Token]) -> list[FetchItem]:
    """The items of a FETCH argument: a macro, one item, or a parenthesised list of items (RFC 3501 §9 ``fetch``).

    Raises
    ------
    ImapSyntaxError
        Not an item of §6.4.5, a malformed section or partial, a macro inside a list, an empty list.
    """
    if len(spec) == 1 and isinstance(spec[0], str) and spec[0].upper() in _MACROS:
        return [FetchItem(name) for name in _MACROS[spec[0].upper()]]
    atoms = spec[0] if len(spec) == 1 and isinstance(spec[0], list) else spec
    items: list[FetchItem] = []
    for atom in atoms:
        if not isinstance(atom, str):
            raise ImapSyntaxError("bad FETCH item")
        upper = atom.upper()
        if upper in _SIMPLE:
            items.append(FetchItem(upper))
        elif (match := _BODY.fullmatch(atom)) is not None:
            section = _check_section(match[2])
            origin = int(match[3]) if match[3] is not None else None
            length = int(match[4]) if match[4] is not None else None
            if length == 0:
                raise ImapSyntaxError(f"partial length must be nz-number in {atom!r} (RFC 3501 §9)")
            name = f"BODY[{section}]" + (f"<{origin}>" if origin is not None else "")
            items.append(FetchItem(name, section, match[1] is not None, origin, length))
        else:
            raise ImapSyntaxError(f"unknown FETCH item {atom!r}")
    if not items:
        raise ImapSyntaxError("empty FETCH item list")
    return items


@dataclass(frozen=True, slots=True)
class _Section:
    """A parsed ``section-spec``: *part* numbers, then *text* ("", HEADER, TEXT, MIME, HEADER.FIELDS[.NOT])."""

    part: tuple[int, ...]
    text: str
    fields: tuple[str, ...] = ()


def _parse_section(spec: str) -> _Section:
    part: tuple[int, ...] = ()
    text = spec
    if (match := _PART.fullmatch(spec)) is not None:
        part = tuple(int(n) for n in match[1].split("."))
        text = match[2] if match[2] is not None else ""
        if match[2] == "":
            raise ImapSyntaxError(f"bad section {spec!r}")
    upper = text.upper()
    if upper in ("", "HEADER", "TEXT") or (upper == "MIME" and part):
        return _Section(part, upper)
    head, _, rest = text.partition(" ")
    if head.upper() not in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
        hint = " (MIME needs a part number, RFC 3501 §6.4.5)" if upper == "MIME" else ""
        raise ImapSyntaxError(f"bad section {spec!r}{hint}")
    rest = rest.strip()
    if not (rest.startswith("(") and rest.endswith(")")):
        raise ImapSyntaxError(f"{head.upper()} needs a parenthesised header list, got {rest!r}")
    inner, names = rest[1:-1], []
    pos = 0
    while pos < len(inner.rstrip()):
        found = _HEADER_LIST.match(inner, pos)
        if found is None:
            raise ImapSyntaxError(f"bad header list {rest!r}")
        names.append(found[1] if found[1] is not None else found[2])
        pos = found.end()
    if not names:
        raise ImapSyntaxError("empty header list (RFC 3501 §9: header-list has one name or more)")
    return _Section(part, head.upper(), tuple(names))


def _check_section(spec: str) -> str:
    """*spec* checked against §9 ``section-spec``; returned as the response echoes it (upper case)."""
    _parse_section(spec)
    return spec.upper()


# --- the MIME structure of a stored message ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Part:
    """One MIME entity cut from the stored octets: its *header* section (with the last line end, no blank line),
    *body* octets, parsed *headers*, *children* (a multipart's parts) and *message* (a message/rfc822 body)."""

    header: bytes
    body: bytes
    headers: Message
    maintype: str
    subtype: str
    fields: dict[str, str]
    children: tuple[_Part, ...] = ()
    message: _Part | None = None


def _split(raw: bytes) -> tuple[bytes, bytes]:
    head, rest = header_section(raw)
    if rest.startswith(b"\r\n"):
        return head, rest[2:]
    return head, rest[1:] if rest.startswith(b"\n") else rest


def _entity(raw: bytes, default: str = "text/plain", depth: int = 0) -> _Part:
    from email import policy
    from email.parser import BytesHeaderParser

    head, body = _split(raw)
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(head)
    ctype = headers.get_content_type() if headers.get("Content-Type") is not None else default
    if "/" not in ctype or ctype.startswith("/") or ctype.endswith("/"):
        ctype = "text/plain"  # a malformed type is text/plain (RFC 2045 §5.2)
    maintype, subtype = ctype.split("/", 1)
    fields = _field_values(head)
    if depth > 50:  # a hostile nesting depth: stop descending, the rest is opaque octets
        return _Part(head, body, headers, maintype, subtype, fields)
    if maintype == "multipart":
        boundary = headers.get_boundary()
        inner = "message/rfc822" if subtype == "digest" else "text/plain"
        pieces = _multipart_pieces(body, boundary) if boundary else []
        if not pieces:
            pieces = [b""]  # §9 wants one body or more: an unparseable multipart shows one empty part
        children = tuple(_entity(p, inner, depth + 1) for p in pieces)
        return _Part(head, body, headers, maintype, subtype, fields, children=children)
    if ctype == "message/rfc822":
        return _Part(head, body, headers, maintype, subtype, fields, message=_entity(body, depth=depth + 1))
    return _Part(head, body, headers, maintype, subtype, fields)


def _multipart_pieces(body: bytes, boundary: str) -> list[bytes]:
    """The body parts between the ``--boundary`` delimiter lines (RFC 2046 §5.1.1): the CRLF before a delimiter
    belongs to it, the preamble and epilogue are dropped."""
    # bytes.find, then a check of the line around it: a regex scan of a 5 MB attachment took 190 ms, this 2 ms
    dash = b"--" + boundary.encode("utf-8", "surrogateescape")
    tail = re.compile(rb"(--)?[ \t]*(?:\r?\n|$)")
    pieces: list[bytes] = []
    start: int | None = None
    at = body.find(dash)
    while at != -1:
        line_start = at == 0 or body[at - 1 : at] == b"\n"
        after = tail.match(body, at + len(dash)) if line_start else None
        if after is not None:
            cut = at - 2 if body[at - 2 : at] == b"\r\n" else max(at - 1, 0)
            if start is not None:
                pieces.append(body[start:cut])
            if after[1]:  # the close delimiter
                return pieces
            start = after.end()
        at = body.find(dash, at + len(dash))
    if start is not None:
        pieces.append(body[start:])  # no close delimiter: the last part runs to the end
    return pieces


@lru_cache(maxsize=64)
def _structure(raw: bytes) -> _Part:
    # entries are immutable bytes (their hash is cached by CPython): one parse serves ENVELOPE, BODYSTRUCTURE and
    # part sections of the same message; 64 keeps at most a few mailbox pages alive
    return _entity(raw)


def _nstring(value: str | bytes | None) -> bytes:
    """NIL, a quoted string, or a literal when *value* has octets a quoted string cannot carry safely (CR, LF,
    quotes, backslash, 8-bit, NUL)."""
    if value is None:
        return b"NIL"
    data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
    if re.search(rb'[\x00\r\n"\\\x80-\xff]', data):
        return literal(data)
    return b'"' + data + b'"'


def _raw_value(part: _Part, name: str) -> str | None:
    """The first header field *name* of *part*, unfolded, as written (encoded words and 8-bit octets stay, the
    latter as surrogate escapes so :func:`_nstring` sends the octets back), None if absent."""
    return part.fields.get(name.lower())


def _all_fields(head: bytes) -> list[tuple[str, str]]:
    """(lower-case name, unfolded value) of every header field of *head*; 8-bit octets as surrogate escapes."""
    out: list[tuple[str, str]] = []
    for line in header_fields(head):
        name, colon, value = line.partition(b":")
        if colon:
            text = re.sub(r"\r?\n(?=[ \t])", "", value.decode("utf-8", "surrogateescape")).strip()
            out.append((name.decode("utf-8", "surrogateescape").strip().lower(), text))
    return out


def _field_values(head: bytes) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, text in _all_fields(head):
        values.setdefault(name, text)
    return values


def _address_list(value: str | None) -> bytes:
    """An RFC 5322 address list as §7.4.2 address structures, NIL when there is none.

    Groups become ``(NIL NIL "name" NIL)`` ... ``(NIL NIL NIL NIL)``; the source route (adl) is always NIL.
    A mailbox without a domain gets the host ``MISSING_DOMAIN`` (Dovecot's spelling), since a NIL host would
    mark group syntax.
    """
    from email.utils import parseaddr

    if value is None or not value.strip():
        return b"NIL"
    out: list[bytes] = []
    for kind, text in _address_tokens(value):
        if kind == "group":
            out.append(b"(NIL NIL " + _nstring(text) + b" NIL)")
        elif kind == "end":
            out.append(b"(NIL NIL NIL NIL)")
        else:
            name, addr = parseaddr(text)
            if not addr:
                continue
            mailbox, at, host = addr.rpartition("@")
            if not at:
                mailbox, host = addr, "MISSING_DOMAIN"
            out.append(b"(" + b" ".join([_nstring(name or None), b"NIL", _nstring(mailbox), _nstring(host)]) + b")")
    return b"(" + b"".join(out) + b")" if out else b"NIL"


def _address_tokens(value: str) -> list[tuple[str, str]]:
    """Split an address list at top-level ``,`` ``:`` ``;`` (outside quotes, comments and angle brackets)."""
    tokens: list[tuple[str, str]] = []
    current, depth, quoted, angle, escaped = "", 0, False, False, False
    for char in value:
        if escaped:
            current, escaped = current + char, False
            continue
        if char == "\\" and (quoted or depth):
            current, escaped = current + char, True
            continue
        if char == '"' and not depth:
            quoted = not quoted
        elif not quoted:
            if char == "(":
                depth += 1
            elif char == ")" and depth:
                depth -= 1
            elif not depth and char == "<":
                angle = True
            elif not depth and char == ">":
                angle = False
            elif not depth and not angle and char in ",:;":
                if char == ":":
                    from email.utils import parseaddr

                    tokens.append(("group", parseaddr(current + "@x")[0] or current.strip().strip('"')))
                elif current.strip():
                    tokens.append(("address", current))
                if char == ";":
                    tokens.append(("end", ""))
                current = ""
                continue
        current += char
    if current.strip():
        tokens.append(("address", current))
    return tokens


def _envelope(part: _Part) -> bytes:
    sender = _address_list(_raw_value(part, "From"))
    fields = [_nstring(_raw_value(part, "Date")), _nstring(_raw_value(part, "Subject")), sender]
    for name in ("Sender", "Reply-To"):
        value = _address_list(_raw_value(part, name))
        fields.append(sender if value == b"NIL" else value)  # absent or empty: the From value (§7.4.2)
    fields += [_address_list(_raw_value(part, name)) for name in ("To", "Cc", "Bcc")]
    fields += [_nstring(_raw_value(part, "In-Reply-To")), _nstring(_raw_value(part, "Message-ID"))]
    return b"(" + b" ".join(fields) + b")"


def envelope(raw: bytes) -> bytes:
    """The ENVELOPE of the message *raw* (RFC 3501 §7.4.2), as the FETCH response carries it.

    >>> envelope(b"From: Al <al@a.test>\\r\\nSubject: hi\\r\\n\\r\\n")
    b'(NIL "hi" (("Al" NIL "al" "a.test")) (("Al" NIL "al" "a.test")) (("Al" NIL "al" "a.test")) NIL NIL NIL NIL NIL)'
    """
    return _envelope(_structure(raw))


def _params(headers: Message, name: str) -> bytes:
    from email.utils import collapse_rfc2231_value

    params = headers.get_params(header=name) or []
    pairs = []
    for key, value in params[1:]:
        text = collapse_rfc2231_value(value) if isinstance(value, tuple) else value
        pairs.append(_nstring(key.upper()) + b" " + _nstring(str(text)))
    return b"(" + b" ".join(pairs) + b")" if pairs else b"NIL"


def _lines(body: bytes) -> int:
    """Lines of *body*: its line ends, and one more for a last line without one."""
    return body.count(b"\n") + (1 if body and not body.endswith(b"\n") else 0)


def _disposition_language_location(part: _Part) -> list[bytes]:
    headers = part.headers
    dsp = headers.get("Content-Disposition")
    if dsp is None:
        disposition = b"NIL"
    else:
        kind = str(dsp).split(";", 1)[0].strip().upper()
        disposition = b"(" + _nstring(kind) + b" " + _params(headers, "Content-Disposition") + b")"
    language = _raw_value(part, "Content-Language")
    if language is not None:
        tags = [t.strip() for t in language.split(",") if t.strip()]
        lang = _nstring(tags[0]) if len(tags) == 1 else b"(" + b" ".join(map(_nstring, tags)) + b")"
    else:
        lang = b"NIL"
    return [disposition, lang if language else b"NIL", _nstring(_raw_value(part, "Content-Location"))]


def _body(part: _Part, extensible: bool) -> bytes:
    headers = part.headers
    if part.children:
        out = b"".join(_body(child, extensible) for child in part.children) + b" " + _nstring(part.subtype.upper())
        if extensible:
            out += b" " + b" ".join([_params(headers, "Content-Type"), *_disposition_language_location(part)])
        return b"(" + out + b")"
    params = _params(headers, "Content-Type")
    if params == b"NIL" and part.maintype == "text":
        params = b'("CHARSET" "US-ASCII")'  # RFC 2045 §5.2's default
    encoding = (_raw_value(part, "Content-Transfer-Encoding") or "7BIT").upper()
    fields = [_nstring(part.maintype.upper()), _nstring(part.subtype.upper()), params,
              _nstring(_raw_value(part, "Content-ID")), _nstring(_raw_value(part, "Content-Description")),
              _nstring(encoding), str(len(part.body)).encode()]  # fmt: skip
    if part.message is not None:
        fields += [_envelope(part.message), _body(part.message, extensible), str(_lines(part.body)).encode()]
    elif part.maintype == "text":
        fields.append(str(_lines(part.body)).encode())
    if extensible:
        fields += [_nstring(_raw_value(part, "Content-MD5")), *_disposition_language_location(part)]
    return b"(" + b" ".join(fields) + b")"


def body_structure(raw: bytes, *, extensible: bool = True) -> bytes:
    """BODYSTRUCTURE (or, not *extensible*, BODY) of the message *raw* (RFC 3501 §7.4.2): sizes in octets of the
    body as stored, lines for text parts and message/rfc822 parts."""
    return _body(_structure(raw), extensible)


def _find(root: _Part, numbers: tuple[int, ...]) -> _Part | None:
    """The part *numbers* names (§6.4.5): a non-multipart message is its own part 1, and a message/rfc822 part's
    numbers go on into the message it carries."""
    node = root
    for depth, n in enumerate(numbers):
        if depth and not node.children:
            if node.message is None:
                return None
            node = node.message
        kids = node.children or (node,)
        if n > len(kids):
            return None
        node = kids[n - 1]
    return node


def section_data(raw: bytes, section: str) -> bytes:
    """The octets of ``BODY[section]`` of the message *raw* (RFC 3501 §6.4.5); ``b""`` for a part it lacks.

    >>> section_data(b"Subject: hi\\r\\nFrom: a@b\\r\\n\\r\\nbody\\r\\n", "HEADER.FIELDS (FROM)")
    b'From: a@b\\r\\n\\r\\n'
    """
    spec = _parse_section(section)
    if not spec.part:
        head, body = _split(raw)
        return _message_text(head, body, raw, spec)
    part = _find(_structure(raw), spec.part)
    if part is None:
        return b""
    if spec.text == "":
        return part.body
    if spec.text == "MIME":
        return part.header + b"\r\n"
    if part.message is None:
        return b""  # HEADER/TEXT of a part that is no message/rfc822: nothing there
    inner = part.message
    return _message_text(inner.header, inner.body, part.body, spec)


def _message_text(head: bytes, body: bytes, whole: bytes, spec: _Section) -> bytes:
    if spec.text == "":
        return whole
    if spec.text == "TEXT":
        return body
    if spec.text == "HEADER":
        return head + b"\r\n"  # the header section includes its blank delimiter line (§6.4.5)
    names = {n.lower() for n in spec.fields}
    keep = spec.text == "HEADER.FIELDS.NOT"
    chosen = [f for f in header_fields(head) if (f.split(b":", 1)[0].decode("utf-8", "replace").strip().lower()
                                                 in names) != keep]  # fmt: skip
    return b"".join(chosen) + b"\r\n"


# --- FETCH ---------------------------------------------------------------------------------------------------


def _flags(session: ImapServerSession, entry: StoredEntry) -> str:
    flags = sorted(entry.flags) + (["\\Recent"] if entry.uid in session.recent else [])
    return f"FLAGS ({' '.join(flags)})"


def _check_numbers(text: str) -> None:
    if not is_sequence_set(text):
        raise ImapSyntaxError(f"bad sequence set {text!r} (RFC 3501 §9: numbers are nz-number or *)")


def _targets(session: ImapServerSession, text: Token, by_uid: bool) -> list[tuple[int, StoredEntry]]:
    """(sequence number, entry) pairs named by a sequence set, skipping messages expunged behind our back.

    A message number past the mailbox's end is a BAD command; a UID that is not there is skipped (§6.4.8), and
    with ``*`` standing for the largest UID, ``UID n:*`` past it still names the last message.
    """
    if not isinstance(text, str):
        raise ImapSyntaxError("bad sequence set")
    _check_numbers(text)
    assert session.mailbox is not None
    positions = {uid: n for n, uid in enumerate(session.uids, 1)}
    if by_uid:
        wanted = set(sequence_set(text, session.uids[-1] if session.uids else 0))
        numbers = sorted(positions[u] for u in wanted if u in positions)
    else:
        numbers = sequence_set(text, len(session.uids))
        if any(int(p) > len(session.uids) for p in re.findall(r"\d+", text)):
            raise ImapSyntaxError(f"message number beyond the end of the mailbox ({len(session.uids)} messages)")
    entries = {e.uid: e for e in session.mailbox.entries}
    return [(n, entries[session.uids[n - 1]]) for n in numbers if session.uids[n - 1] in entries]


def messages_in(session: ImapServerSession, text: Token, by_uid: bool) -> list[tuple[int, StoredEntry]]:
    """The ``(sequence number, entry)`` pairs a sequence set (or, *by_uid*, a UID set) names in the selected
    mailbox: what COPY, MOVE and UID EXPUNGE act on."""
    return _targets(session, text, by_uid)


def fetch_responses(session: ImapServerSession, args: list[Token], *, by_uid: bool) -> bytes:
    """The untagged FETCH responses for ``FETCH set items`` (UID FETCH always reports the UID)."""
    if len(args) < 2:
        raise ImapSyntaxError("usage: FETCH sequence-set items")
    items = fetch_items(args[1:])
    if by_uid and not any(i.name == "UID" for i in items):
        items.insert(0, FetchItem("UID"))
    assert session.mailbox is not None
    out: list[bytes] = []
    for number, found in _targets(session, args[0], by_uid):
        entry = found
        seen_now = not session.readonly and "\\Seen" not in entry.flags and any(i.sets_seen for i in items)
        if seen_now:
            entry = session.mailbox.set_flags(entry.uid, entry.flags | {"\\Seen"})
        parts = [item.name.encode() + b" " + _value(session, entry, item) for item in items]
        if seen_now and not any(i.name == "FLAGS" for i in items):
            parts.append(_flags(session, entry).encode())  # the flags changed: tell the client (§6.4.5)
        out.append(b"* %d FETCH (" % number + b" ".join(parts) + b")\r\n")
    return b"".join(out)


def _value(session: ImapServerSession, entry: StoredEntry, item: FetchItem) -> bytes:
    if item.name == "FLAGS":
        return _flags(session, entry)[len("FLAGS ") :].encode()
    if item.name == "UID":
        return str(entry.uid).encode()
    if item.name == "INTERNALDATE":
        return format_internaldate(session.store.internal_date(entry)).encode()
    if item.name == "RFC822.SIZE":
        return str(entry.size).encode()
    if item.name == "ENVELOPE":
        return envelope(entry.raw)
    if item.name in ("BODY", "BODYSTRUCTURE"):
        return body_structure(entry.raw, extensible=item.name == "BODYSTRUCTURE")
    section = {"RFC822": "", "RFC822.HEADER": "HEADER", "RFC822.TEXT": "TEXT"}.get(item.name, item.section)
    assert section is not None
    data = section_data(entry.raw, section)
    if item.origin is not None:
        # §6.4.5: from octet *origin*, at most *length* octets; an origin past the end gives an empty string
        data = data[item.origin :][: item.length] if item.length is not None else data[item.origin :]
    return literal(data)


# --- STORE ---------------------------------------------------------------------------------------------------


def mailbox_keywords(mailbox: Mailbox) -> list[str]:
    """The keyword flags (``$Forwarded``, ``$Junk``, any atom) set on messages of *mailbox*, sorted: what SELECT's
    ``* FLAGS (...)`` should list after the system flags (RFC 3501 §7.2.6)."""
    return sorted({f for e in mailbox.entries for f in e.flags} - SYSTEM_FLAGS)


def canonical_flag(given: Token, known: dict[str, str]) -> str:
    """*given* as stored: a system flag in its RFC spelling (``\\seen`` -> ``\\Seen``), a keyword in the spelling
    *known* maps its case-folded form to (the mailbox's, see :func:`mailbox_keywords`), else as given.

    Raises
    ------
    ImapSyntaxError
        ``\\Recent`` or another backslash flag, or a keyword that is no atom (RFC 3501 §9 ``flag``).
    """
    if not isinstance(given, str):
        raise ImapSyntaxError("a flag is an atom, not a string or literal (RFC 3501 §9 flag)")
    system = next((f for f in SYSTEM_FLAGS if f.lower() == given.lower()), None)
    if system is not None:
        return system
    if given.startswith("\\"):
        raise ImapSyntaxError(f"flag {given!r} cannot be stored (system flags: {' '.join(sorted(SYSTEM_FLAGS))})")
    if not given or _NOT_ATOM.search(given) or not given.isascii():
        raise ImapSyntaxError(f"keyword {given!r} is not an atom (RFC 3501 §9 flag-keyword)")
    # keywords compare case-insensitively: a spelling already in the mailbox wins, so -FLAGS ($junk) takes $Junk off
    return known.get(given.casefold(), given)


def store_flags(session: ImapServerSession, args: list[Token], *, by_uid: bool) -> bytes:
    """``STORE set [+|-]FLAGS[.SILENT] flags``: change flags (system flags and keywords); untagged FETCH FLAGS
    unless silent."""
    if len(args) < 3 or not isinstance(args[1], str):
        raise ImapSyntaxError("usage: STORE sequence-set [+|-]FLAGS[.SILENT] (flags)")
    action = args[1].upper()
    if action.lstrip("+-").removesuffix(".SILENT") != "FLAGS" or action[:2] in ("+-", "-+", "++", "--"):
        raise ImapSyntaxError(f"bad STORE item {args[1]!r}")
    given = args[2] if len(args) == 3 and isinstance(args[2], list) else args[2:]
    assert session.mailbox is not None
    known = {k.casefold(): k for k in mailbox_keywords(session.mailbox)}
    flags = {canonical_flag(g, known) for g in given}
    out: list[bytes] = []
    for number, old in _targets(session, args[0], by_uid):
        gone = {f for f in old.flags if f.casefold() in {g.casefold() for g in flags}}
        new = {"+": old.flags | flags, "-": old.flags - gone}.get(action[0], frozenset(flags))
        entry = session.mailbox.set_flags(old.uid, new)
        if not action.endswith(".SILENT"):
            uid = f"UID {entry.uid} " if by_uid else ""
            out.append(f"* {number} FETCH ({uid}{_flags(session, entry)})\r\n".encode())
    return b"".join(out)


# --- SEARCH --------------------------------------------------------------------------------------------------


class _Candidate:
    """One message under test. Its dates and texts are worked out only if a search key asks: a client polling
    ``UID SEARCH UNSEEN`` on a large mailbox should cost a flag look-up per message, not a parse."""

    __slots__ = ("_body", "_day", "_fields", "entry", "number", "session")

    def __init__(self, number: int, entry: StoredEntry, session: ImapServerSession) -> None:
        self.number, self.entry, self.session = number, entry, session
        self._day: date | None = None
        self._fields: list[tuple[str, str]] | None = None
        self._body: str | None = None

    @property
    def day(self) -> date:
        if self._day is None:
            self._day = self.session.store.internal_date(self.entry).date()
        return self._day

    @property
    def fields(self) -> list[tuple[str, str]]:
        """(lower-case name, value with RFC 2047 words decoded) of each header field. Read from the octets, not
        with the :mod:`email` header registry, which raises on some malformed address lists (CPython 3.11:
        AttributeError for ``From: a@b, (c) <d@e>, g: h@i;`` folded)."""
        if self._fields is None:
            self._fields = [(n, _decode_words(v)) for n, v in _all_fields(header_section(self.entry.raw)[0])]
        return self._fields

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [v for n, v in self.fields if n == wanted]

    @property
    def header_text(self) -> str:
        return "\n".join(f"{n}: {v}" for n, v in self.fields)

    @property
    def body(self) -> str:
        """The text of the body: each text part decoded (transfer encoding and charset), case-folded."""
        if self._body is None:
            self._body = _body_text(self.entry.raw).casefold()
        return self._body

    @property
    def sent(self) -> date | None:
        """The day of the Date header in its own zone (§6.4.4 disregards time and timezone), None if unreadable."""
        from email.utils import parsedate_to_datetime

        value = next(iter(self.header_values("date")), None)
        try:
            return parsedate_to_datetime(value).date() if value else None
        except (TypeError, ValueError, IndexError, OverflowError):
            return None


def _decode_words(value: str) -> str:
    from email.header import decode_header, make_header

    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError):  # a malformed encoded word or an unknown charset: as written
        return value


# what the email package raises on malformed MIME besides its own errors (CPython bugs included)
_EMAIL_ERRORS = (LookupError, ValueError, AssertionError, AttributeError, TypeError, IndexError)


def _body_text(raw: bytes) -> str:
    from netlab.mail.content.message import parse

    try:
        message = parse(raw)
        parts = [p for p in message.walk() if not p.is_multipart() and p.get_content_maintype() == "text"]
    except _EMAIL_ERRORS:
        return _split(raw)[1].decode("utf-8", "replace")
    texts: list[str] = []
    for part in parts:
        try:
            texts.append(str(part.get_content()))
        except _EMAIL_ERRORS:  # an unknown charset, a broken header: the octets as UTF-8
            payload = part.get_payload(decode=True)
            texts.append(payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload))
    if not texts and not message.is_multipart():
        texts.append(_split(raw)[1].decode("utf-8", "replace"))
    return "\n".join(texts)


_Predicate = Callable[[_Candidate], bool]
_FLAG_KEYS = {"SEEN": "\\Seen", "DELETED": "\\Deleted", "FLAGGED": "\\Flagged", "ANSWERED": "\\Answered",
              "DRAFT": "\\Draft"}  # fmt: skip
_DATE_TESTS: dict[str, Callable[[date, date], bool]] = {
    "SINCE": lambda d, day: d >= day,
    "BEFORE": lambda d, day: d < day,
    "ON": lambda d, day: d == day,
}


def search(session: ImapServerSession, args: list[Token], *, by_uid: bool) -> list[int]:
    """Sequence numbers (or UIDs) of the messages matching all search keys in *args* (RFC 3501 §6.4.4).

    Strings match as substrings after :meth:`str.casefold`, against decoded text: RFC 2047 words in headers,
    transfer encodings and charsets in bodies.

    Raises
    ------
    ImapNo
        ``[BADCHARSET (UTF-8 US-ASCII)]``: a CHARSET other than those two (§6.4.4).
    ImapSyntaxError
        An unknown key, a key without its argument, a bad date or number.
    """
    keys = list(args)
    if keys and isinstance(keys[0], str) and keys[0].upper() == "CHARSET":
        if len(keys) < 2 or isinstance(keys[1], list):
            raise ImapSyntaxError("CHARSET needs a charset name")
        charset = keys[1].decode("ascii", "replace") if isinstance(keys[1], bytes) else keys[1]
        if charset.upper() not in _CHARSETS:
            raise ImapNo(f"[BADCHARSET ({' '.join(_CHARSETS)})] charset {charset!r} is not supported")
        keys = keys[2:]
    if not keys:
        raise ImapSyntaxError("SEARCH needs a key")
    assert session.mailbox is not None
    predicates: list[_Predicate] = []
    while keys:
        predicates.append(_key(session, keys))
    found = []
    entries = {e.uid: e for e in session.mailbox.entries}
    for number, uid in enumerate(session.uids, 1):
        entry = entries.get(uid)
        if entry is None:
            continue
        cand = _Candidate(number, entry, session)
        if all(p(cand) for p in predicates):
            found.append(uid if by_uid else number)
    return found


def _contains(values: Iterable[str], needle: str) -> bool:
    folded = needle.casefold()
    return any(folded in v.casefold() for v in values)


def _key(session: ImapServerSession, keys: list[Token]) -> _Predicate:
    """Consume one search key (with its arguments) from the front of *keys*; return its predicate."""
    token = keys.pop(0)
    if isinstance(token, list):
        group = list(token)
        if not group:
            raise ImapSyntaxError("empty parenthesised search key list")
        members: list[_Predicate] = []
        while group:
            members.append(_key(session, group))
        return lambda c: all(p(c) for p in members)
    key = token.decode() if isinstance(token, bytes) else token
    upper = key.upper()

    def arg() -> str:
        value = keys.pop(0) if keys else None
        if value is None or isinstance(value, list):
            raise ImapSyntaxError(f"search key {upper} needs an argument")
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value

    if upper == "ALL":
        return lambda c: True
    if upper in _FLAG_KEYS or (upper.startswith("UN") and upper[2:] in _FLAG_KEYS):
        flag, want = _FLAG_KEYS[upper.removeprefix("UN")], not upper.startswith("UN")
        return lambda c: (flag in c.entry.flags) == want
    if upper in ("KEYWORD", "UNKEYWORD"):
        word, want = arg().casefold(), upper == "KEYWORD"
        return lambda c: any(f.casefold() == word for f in c.entry.flags) == want
    if upper in ("NEW", "RECENT", "OLD"):
        want_recent = upper != "OLD"
        return lambda c: (
            (c.entry.uid in session.recent) == want_recent and (upper != "NEW" or "\\Seen" not in c.entry.flags)
        )
    if upper in ("FROM", "TO", "CC", "BCC", "SUBJECT"):
        needle = arg()
        return lambda c: _contains(c.header_values(upper), needle)
    if upper == "HEADER":
        name, needle = arg(), arg()
        return lambda c: _contains(c.header_values(name), needle)
    if upper == "BODY":
        folded = arg().casefold()
        return lambda c: folded in c.body
    if upper == "TEXT":
        needle = arg()
        return lambda c: _contains([c.header_text], needle) or needle.casefold() in c.body
    if upper in _DATE_TESTS:
        day, test = parse_search_date(arg()), _DATE_TESTS[upper]
        return lambda c: test(c.day, day)
    if upper.startswith("SENT") and upper[4:] in _DATE_TESTS:
        day, test = parse_search_date(arg()), _DATE_TESTS[upper[4:]]
        return lambda c: (sent := c.sent) is not None and test(sent, day)
    if upper in ("LARGER", "SMALLER"):
        number = arg()
        if not number.isdigit():
            raise ImapSyntaxError(f"{upper} needs a size in octets, got {number!r}")
        size = int(number)
        return lambda c: c.entry.size > size if upper == "LARGER" else c.entry.size < size
    if upper == "NOT":
        if not keys:
            raise ImapSyntaxError("NOT needs a search key")
        inner = _key(session, keys)
        return lambda c: not inner(c)
    if upper == "OR":
        if len(keys) < 2:
            raise ImapSyntaxError("OR needs two search keys")
        left = _key(session, keys)
        if not keys:
            raise ImapSyntaxError("OR needs two search keys")
        right = _key(session, keys)
        return lambda c: left(c) or right(c)
    if upper == "UID":
        text = arg()
        _check_numbers(text)
        uids = set(sequence_set(text, session.uids[-1] if session.uids else 0))
        return lambda c: c.entry.uid in uids
    if is_sequence_set(key):
        numbers = set(sequence_set(key, len(session.uids)))
        return lambda c: c.number in numbers
    raise ImapSyntaxError(f"unknown search key {key!r}")
