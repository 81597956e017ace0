"""FETCH, SEARCH and STORE for :class:`~netlab.mail.imap.server.ImapServerSession` (RFC 3501 §6.4).

FETCH items: FLAGS, UID, INTERNALDATE, RFC822, RFC822.SIZE, RFC822.HEADER, RFC822.TEXT, the FAST macro, and
``BODY[section]<partial>`` / ``BODY.PEEK[...]`` with the sections ``""``, HEADER, TEXT, HEADER.FIELDS (...) and
HEADER.FIELDS.NOT (...). ``BODY[...]``, RFC822 and RFC822.TEXT set ``\\Seen`` unless the mailbox is read-only;
the new flags then ride along in the same FETCH response.

>>> from netlab.mail.imap.parse import tokenize
>>> [item.name for item in fetch_items(tokenize([b"(UID BODY.PEEK[HEADER] RFC822.SIZE)"]))]
['UID', 'BODY[HEADER]', 'RFC822.SIZE']
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
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
    from netlab.mail.imap.server import ImapServerSession

__all__ = ["FetchItem", "fetch_items", "fetch_responses", "search", "store_flags"]

_BODY = re.compile(r"BODY(\.PEEK)?\[([^\]]*)\](?:<(\d+)(?:\.(\d+))?>)?", re.IGNORECASE)
_SIMPLE = ("FLAGS", "UID", "INTERNALDATE", "RFC822", "RFC822.SIZE", "RFC822.HEADER", "RFC822.TEXT")


@dataclass(frozen=True, slots=True)
class FetchItem:
    """One FETCH data item: *name* as the response spells it, body *section*, *peek*, partial range."""

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
    """The items of a FETCH argument: one atom, a macro, or a parenthesised list.

    Raises
    ------
    ImapSyntaxError
        An item outside the supported subset (ENVELOPE, BODYSTRUCTURE, MIME part numbers).
    """
    atoms = spec[0] if len(spec) == 1 and isinstance(spec[0], list) else spec
    items: list[FetchItem] = []
    for atom in atoms:
        if not isinstance(atom, str):
            raise ImapSyntaxError("bad FETCH item")
        upper = atom.upper()
        if upper == "FAST":
            items += [FetchItem("FLAGS"), FetchItem("INTERNALDATE"), FetchItem("RFC822.SIZE")]
        elif upper in _SIMPLE:
            items.append(FetchItem(upper))
        elif (match := _BODY.fullmatch(atom)) is not None:
            section = match[2].upper()
            if section.split(" ")[0] not in ("", "HEADER", "TEXT", "HEADER.FIELDS", "HEADER.FIELDS.NOT"):
                raise ImapSyntaxError(f"unsupported body section {match[2]!r}")
            origin = int(match[3]) if match[3] is not None else None
            name = f"BODY[{section}]" + (f"<{origin}>" if origin is not None else "")
            length = int(match[4]) if match[4] is not None else None
            items.append(FetchItem(name, section, match[1] is not None, origin, length))
        else:
            raise ImapSyntaxError(f"unsupported FETCH item {atom!r}")
    if not items:
        raise ImapSyntaxError("empty FETCH item list")
    return items


def _section(raw: bytes, section: str) -> bytes:
    head, rest = header_section(raw)
    if section == "":
        return raw
    if section == "TEXT":
        return rest[2:] if rest.startswith(b"\r\n") else rest
    if section == "HEADER":
        return head + b"\r\n"  # the header section includes its blank delimiter line (§6.4.5)
    names = {n.lower() for n in section.split("(", 1)[1].rstrip(")").split()}
    fields = header_fields(head)
    keep = section.startswith("HEADER.FIELDS.NOT")
    return b"".join(f for f in fields if (f.split(b":", 1)[0].decode().strip().lower() in names) != keep) + b"\r\n"


def _flags(session: ImapServerSession, entry: StoredEntry) -> str:
    flags = sorted(entry.flags) + (["\\Recent"] if entry.uid in session.recent else [])
    return f"FLAGS ({' '.join(flags)})"


def _targets(session: ImapServerSession, text: Token, by_uid: bool) -> list[tuple[int, StoredEntry]]:
    """(sequence number, entry) pairs named by a sequence set, skipping messages expunged behind our back."""
    if not isinstance(text, str):
        raise ImapSyntaxError("bad sequence set")
    assert session.mailbox is not None
    positions = {uid: n for n, uid in enumerate(session.uids, 1)}
    if by_uid:
        wanted = set(sequence_set(text, session.uids[-1] if session.uids else 0))
        # UID n:* with n past the last UID still names the last message; absent UIDs are simply skipped
        numbers = sorted(positions[u] for u in wanted if u in positions)
    else:
        numbers = sequence_set(text, len(session.uids))
        if text != "*" and any(int(p) > len(session.uids) for p in re.findall(r"\d+", text)):
            raise ImapSyntaxError("message number beyond the end of the mailbox")
    entries = {e.uid: e for e in session.mailbox.entries}
    return [(n, entries[session.uids[n - 1]]) for n in numbers if session.uids[n - 1] in entries]


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
    section = {"RFC822": "", "RFC822.HEADER": "HEADER", "RFC822.TEXT": "TEXT"}.get(item.name, item.section)
    assert section is not None
    data = _section(entry.raw, section)
    if item.origin is not None:
        data = data[item.origin :][: item.length] if item.length is not None else data[item.origin :]
    return literal(data)


def store_flags(session: ImapServerSession, args: list[Token], *, by_uid: bool) -> bytes:
    """``STORE set [+|-]FLAGS[.SILENT] flags``: change flags; untagged FETCH FLAGS unless silent."""
    if len(args) < 3 or not isinstance(args[1], str):
        raise ImapSyntaxError("usage: STORE sequence-set [+|-]FLAGS[.SILENT] (flags)")
    action = args[1].upper()
    if action.lstrip("+-").removesuffix(".SILENT") != "FLAGS":
        raise ImapSyntaxError(f"bad STORE item {args[1]!r}")
    given = args[2] if len(args) == 3 and isinstance(args[2], list) else args[2:]
    flags = {next((f for f in SYSTEM_FLAGS if f.lower() == str(g).lower()), str(g)) for g in given}
    if flags - SYSTEM_FLAGS:
        raise ImapSyntaxError(f"unsupported flags {sorted(flags - SYSTEM_FLAGS)} (no keywords here)")
    assert session.mailbox is not None
    out: list[bytes] = []
    for number, old in _targets(session, args[0], by_uid):
        new = {"+": old.flags | flags, "-": old.flags - flags}.get(action[0], frozenset(flags))
        entry = session.mailbox.set_flags(old.uid, new)
        if not action.endswith(".SILENT"):
            uid = f"UID {entry.uid} " if by_uid else ""
            out.append(f"* {number} FETCH ({uid}{_flags(session, entry)})\r\n".encode())
    return b"".join(out)


class _Candidate:
    """One message under test. Its date and header section are worked out only if a search key asks: a client
    polling ``UID SEARCH UNSEEN`` on a large mailbox should cost a flag look-up per message, not a parse."""

    __slots__ = ("_day", "_headers", "entry", "number", "session")

    def __init__(self, number: int, entry: StoredEntry, session: ImapServerSession) -> None:
        self.number, self.entry, self.session = number, entry, session
        self._day: date | None = None
        self._headers: bytes | None = None

    @property
    def day(self) -> date:
        if self._day is None:
            self._day = self.session.store.internal_date(self.entry).date()
        return self._day

    @property
    def headers(self) -> bytes:
        if self._headers is None:
            self._headers = header_section(self.entry.raw)[0]
        return self._headers


_Predicate = Callable[[_Candidate], bool]
_FLAG_KEYS = {"SEEN": "\\Seen", "DELETED": "\\Deleted", "FLAGGED": "\\Flagged", "ANSWERED": "\\Answered",
              "DRAFT": "\\Draft"}  # fmt: skip


def search(session: ImapServerSession, args: list[Token], *, by_uid: bool) -> list[int]:
    """Sequence numbers (or UIDs) of the messages matching all search keys in *args* (RFC 3501 §6.4.4)."""
    keys = list(args)
    if keys and isinstance(keys[0], str) and keys[0].upper() == "CHARSET":
        if len(keys) < 2 or str(keys[1]).upper() not in ("US-ASCII", "UTF-8"):
            raise ImapSyntaxError("[BADCHARSET (US-ASCII UTF-8)] unsupported charset")
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


def _header_has(cand: _Candidate, name: str, needle: str) -> bool:
    # headers only, parsed on demand: SEARCH is rare next to FETCH
    from netlab.mail.content.message import parse

    values = parse(cand.headers + b"\r\n").get_all(name) or []
    return any(needle.lower() in str(v).lower() for v in values)


def _key(session: ImapServerSession, keys: list[Token]) -> _Predicate:
    """Consume one search key (with its arguments) from the front of *keys*; return its predicate."""
    token = keys.pop(0)
    if isinstance(token, list):
        group = list(token)
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
    if upper in ("NEW", "RECENT", "OLD"):
        want_recent = upper != "OLD"
        return lambda c: (
            (c.entry.uid in session.recent) == want_recent and (upper != "NEW" or "\\Seen" not in c.entry.flags)
        )
    if upper in ("FROM", "TO", "CC", "BCC", "SUBJECT"):
        needle = arg()
        return lambda c: _header_has(c, upper, needle)
    if upper == "HEADER":
        name, needle = arg(), arg()
        return lambda c: _header_has(c, name, needle)
    if upper in ("BODY", "TEXT"):
        octets = arg().lower().encode()
        return lambda c: octets in (c.entry.raw if upper == "TEXT" else _section(c.entry.raw, "TEXT")).lower()
    if upper in ("SINCE", "BEFORE", "ON"):
        day = parse_search_date(arg())
        compare: dict[str, Callable[[date], bool]] = {"SINCE": lambda d: d >= day, "BEFORE": lambda d: d < day,
                                                      "ON": lambda d: d == day}  # fmt: skip
        test = compare[upper]
        return lambda c: test(c.day)
    if upper in ("LARGER", "SMALLER"):
        number = arg()
        if not number.isdigit():
            raise ImapSyntaxError(f"{upper} needs a size in octets, got {number!r}")
        size = int(number)
        return lambda c: c.entry.size > size if upper == "LARGER" else c.entry.size < size
    if upper == "NOT":
        inner = _key(session, keys)
        return lambda c: not inner(c)
    if upper == "OR":
        left, right = _key(session, keys), _key(session, keys)
        return lambda c: left(c) or right(c)
    if upper == "UID":
        uids = set(sequence_set(arg(), session.uids[-1] if session.uids else 0))
        return lambda c: c.entry.uid in uids
    if is_sequence_set(key):
        numbers = set(sequence_set(key, len(session.uids)))
        return lambda c: c.number in numbers
    raise ImapSyntaxError(f"unsupported search key {key!r}")


def messages_in(session: ImapServerSession, text: Token, by_uid: bool) -> list[tuple[int, StoredEntry]]:
    """The ``(sequence number, entry)`` pairs a sequence set (or, *by_uid*, a UID set) names in the selected
    mailbox: what COPY, MOVE and UID EXPUNGE act on."""
    return _targets(session, text, by_uid)
