"""IMAP4rev1 syntax shared by the server and the client (RFC 3501 §9): lines with literals, tokens, sets, dates.

An IMAP command or response is one line, unless it carries literals: a line ending in ``{n}`` is followed by
exactly *n* octets and then the rest of the command. :class:`LineAssembler` collects those pieces from a
line-oriented reader; :func:`tokenize` turns them into atoms, strings, literal bytes and parenthesised lists.

>>> tokenize([b'A1 FETCH 2,4:6 (UID BODY.PEEK[HEADER.FIELDS (FROM)]<0.10> FLAGS)'])
['A1', 'FETCH', '2,4:6', ['UID', 'BODY.PEEK[HEADER.FIELDS (FROM)]<0.10>', 'FLAGS']]
>>> sequence_set("2,4:*", 6), sequence_set("9:*", 6)
([2, 4, 5, 6], [6])
"""

from __future__ import annotations

import re
from datetime import date, datetime

from netlab.mail.errors import ProtocolError

__all__ = [
    "ImapSyntaxError",
    "LineAssembler",
    "Token",
    "format_internaldate",
    "literal",
    "parse_search_date",
    "quote",
    "sequence_set",
    "tokenize",
]

Token = str | bytes | list["Token"]
"""An atom or quoted string (``str``), a literal (``bytes``) or a parenthesised list."""

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LITERAL_END = re.compile(rb"\{(\d+)\+?\}\r?\n?$")
_SEQUENCE = re.compile(r"([1-9]\d*|\*)(:([1-9]\d*|\*))?")
_ATOM_STOP = frozenset(' (){"\r\n')


class ImapSyntaxError(ProtocolError):
    """A command or response that does not parse (the server answers ``BAD``)."""


class LineAssembler:
    """Collect one command (or response) from lines and the literals between them.

    :meth:`feed_line` returns the finished pieces (text, literal, text, ...) or None while a literal is still
    expected; then :attr:`literal_needed` says how many octets to read and pass to :meth:`feed_literal`.

    >>> asm = LineAssembler()
    >>> asm.feed_line(b"A1 LOGIN {3}\\r\\n"), asm.literal_needed
    (None, 3)
    >>> asm.feed_literal(b"bob"), asm.feed_line(b' "pw"\\r\\n')
    (None, [b'A1 LOGIN {3}', b'bob', b' "pw"'])
    """

    def __init__(self) -> None:
        self._pieces: list[bytes] = []
        self.literal_needed = 0

    def feed_line(self, line: bytes) -> list[bytes] | None:
        """Add a CRLF-terminated line; return the pieces once the command is complete."""
        if self.literal_needed:
            # a line-only reader hands literal octets over as lines: take them as such until n are in
            return self._literal_part(line)
        text = line.rstrip(b"\r\n")
        match = _LITERAL_END.search(text)
        self._pieces.append(text)
        if match is None:
            pieces, self._pieces = self._pieces, []
            return pieces
        self.literal_needed = int(match[1])
        self._literal = b""
        return None

    def first_piece(self) -> bytes:
        """The first line of the command being assembled (where its tag is), ``b""`` if none."""
        return self._pieces[0] if self._pieces else b""

    def feed_literal(self, data: bytes) -> list[bytes] | None:
        """Add literal octets (exactly :attr:`literal_needed` of them, or fewer in several calls)."""
        if not self.literal_needed:
            raise ImapSyntaxError("literal data when none was announced")
        if len(data) > self.literal_needed:
            raise ImapSyntaxError(f"literal overrun: {len(data)} octets for {self.literal_needed}")
        return self._literal_part(data)

    def _literal_part(self, data: bytes) -> list[bytes] | None:
        take = data[: self.literal_needed]
        self._literal += take
        self.literal_needed -= len(take)
        if self.literal_needed:
            return None
        self._pieces.append(self._literal)
        rest = data[len(take) :]
        # the literal ended inside the line: its remainder continues the command
        return self.feed_line(rest) if rest else None


def tokenize(pieces: list[bytes]) -> list[Token]:
    """Split assembled pieces into tokens; literal pieces become ``bytes`` tokens in place of ``{n}``.

    Raises
    ------
    ImapSyntaxError
        Unbalanced parentheses or brackets, an unterminated quoted string.
    """
    stack: list[list[Token]] = [[]]
    for index, piece in enumerate(pieces):
        if index % 2:  # odd pieces are literals
            stack[-1].append(piece)
            continue
        text = piece.decode("utf-8", "replace")
        if index + 1 < len(pieces):
            match = _LITERAL_END.search(piece)
            assert match is not None
            text = text[: len(text) - len(match[0])]
        _scan(text, stack)
    if len(stack) != 1:
        raise ImapSyntaxError("unbalanced parentheses")
    return stack[0]


def _scan(text: str, stack: list[list[Token]]) -> None:
    i = 0
    while i < len(text):
        char = text[i]
        if char == " ":
            i += 1
        elif char == "(":
            stack.append([])
            i += 1
        elif char == ")":
            if len(stack) == 1:
                raise ImapSyntaxError("unbalanced parentheses")
            done = stack.pop()
            stack[-1].append(done)
            i += 1
        elif char == '"':
            i = _quoted(text, i, stack[-1])
        elif char in _ATOM_STOP:
            # "{" that does not end the line as a literal, or a bare CR or LF: no token starts here, and
            # staying at this index would loop for ever (the live server holds the simulation lock meanwhile)
            raise ImapSyntaxError(f"unexpected {char!r} at octet {i}")
        else:
            start, depth = i, 0
            # brackets may hold spaces and parentheses (BODY[HEADER.FIELDS (FROM TO)]): they belong to the atom
            while i < len(text) and (depth or text[i] not in _ATOM_STOP):
                depth += {"[": 1, "]": -1}.get(text[i], 0)
                i += 1
            if depth:
                raise ImapSyntaxError(f"unbalanced brackets in {text[start:]!r}")
            stack[-1].append(text[start:i])


def _quoted(text: str, i: int, out: list[Token]) -> int:
    value, i = [], i + 1
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            value.append(text[i + 1])
            i += 2
        elif text[i] == '"':
            out.append("".join(value))
            return i + 1
        else:
            value.append(text[i])
            i += 1
    raise ImapSyntaxError("unterminated quoted string")


def sequence_set(text: str, largest: int) -> list[int]:
    """The numbers of *text* (``1:*``, ``2,4:6``) in ascending order; ``*`` is *largest* (RFC 3501 §9).

    A range is taken in either order, and ``n:*`` with n past the end still names the last number, as the RFC
    says. Numbers past *largest* are dropped; an empty mailbox gives an empty list. ``0`` is no sequence number
    (§9: ``nz-number``).

    Raises
    ------
    ImapSyntaxError
        *text* is not a sequence set.
    """
    numbers: set[int] = set()
    for part in text.split(","):
        match = _SEQUENCE.fullmatch(part)
        if match is None:
            raise ImapSyntaxError(f"bad sequence set {text!r}")
        low = largest if match[1] == "*" else int(match[1])
        high = low if match[3] is None else (largest if match[3] == "*" else int(match[3]))
        low, high = min(low, high), max(low, high)
        numbers.update(range(max(low, 1), min(high, largest) + 1))
    return sorted(numbers)


def is_sequence_set(text: str) -> bool:
    """True if *text* has the shape of a sequence set (a SEARCH key may be one)."""
    return all(_SEQUENCE.fullmatch(part) for part in text.split(","))


def quote(text: str) -> str:
    """*text* as an IMAP quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(data: bytes) -> bytes:
    """*data* as a synchronising literal: ``{n}`` CRLF and the octets."""
    return b"{%d}\r\n" % len(data) + data


def format_internaldate(when: datetime) -> str:
    """``"01-Jan-2026 00:00:05 +0000"`` (RFC 3501 date-time; the day is space-padded as imaplib expects)."""
    offset = when.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    zone = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return f'"{when.day:2d}-{_MONTHS[when.month - 1]}-{when.year:04d} {when:%H:%M:%S} {zone}"'


def parse_search_date(text: str) -> date:
    """A SEARCH date (``1-Feb-2026`` or ``01-Feb-2026``).

    Raises
    ------
    ImapSyntaxError
        Not a date of that form.
    """
    parts = text.split("-")
    if len(parts) != 3 or not parts[0].isdigit() or parts[1].title() not in _MONTHS or not parts[2].isdigit():
        raise ImapSyntaxError(f"bad date {text!r}")
    try:
        return date(int(parts[2]), _MONTHS.index(parts[1].title()) + 1, int(parts[0]))
    except ValueError as exc:
        raise ImapSyntaxError(f"bad date {text!r}: {exc}") from None
