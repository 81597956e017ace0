"""SMTP replies: the value both state machines exchange, its wire form, and the texts Postfix uses.

A reply is a three-digit code, an optional RFC 3463 enhanced status code and one or more lines of text
(RFC 5321 §4.2). Multi-line replies use ``code-text`` on every line but the last (``code text``); with
ENHANCEDSTATUSCODES (RFC 2034) the enhanced code is repeated on each line.

>>> bytes(Reply(250, "Ok: queued as 3F2A1B4C5D", "2.0.0"))
b'250 2.0.0 Ok: queued as 3F2A1B4C5D\\r\\n'
>>> parse_reply_lines([b"250-mx.example", b"250-PIPELINING", b"250 SIZE 10240000"]).lines
('mx.example', 'PIPELINING', 'SIZE 10240000')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from netlab.mail.errors import ProtocolError

__all__ = ["Replies", "Reply", "ReplyReader", "parse_reply_lines"]

_LINE = re.compile(r"([2-5][0-9][0-9])([ -]?)(.*)", re.DOTALL)
_ENHANCED = re.compile(r"([245]\.[0-9]{1,3}\.[0-9]{1,3})(?: |$)")


@dataclass(frozen=True, slots=True)
class Reply:
    """An SMTP reply; *text* holds several lines separated by ``\\n`` for a multi-line reply."""

    code: int
    text: str
    enhanced: str | None = None

    @property
    def lines(self) -> tuple[str, ...]:
        """The text lines (at least one, possibly empty)."""
        return tuple(self.text.split("\n"))

    @property
    def is_positive(self) -> bool:
        """2yz: the command was completed."""
        return 200 <= self.code < 300

    @property
    def is_intermediate(self) -> bool:
        """3yz: send more (334 AUTH challenge, 354 after DATA)."""
        return 300 <= self.code < 400

    @property
    def is_transient(self) -> bool:
        """4yz: try the same request again later (RFC 5321 §4.2.1)."""
        return 400 <= self.code < 500

    @property
    def is_permanent(self) -> bool:
        """5yz: do not repeat the request."""
        return self.code >= 500

    def __bytes__(self) -> bytes:
        prefix = f"{self.enhanced} " if self.enhanced else ""
        lines = self.lines
        out = [f"{self.code}-{prefix}{line}\r\n" for line in lines[:-1]]
        out.append(f"{self.code} {prefix}{lines[-1]}\r\n")
        return "".join(out).encode("utf-8")

    def __str__(self) -> str:
        """One line, as logs quote it: ``550 5.1.1 <x@y>: Recipient address rejected``."""
        prefix = f"{self.enhanced} " if self.enhanced else ""
        return f"{self.code} {prefix}{' '.join(self.lines)}".rstrip()


def parse_reply_lines(lines: Sequence[bytes | str]) -> Reply:
    """Assemble the lines of one reply (with or without CRLF) into a :class:`Reply`.

    Raises
    ------
    ProtocolError
        No lines, a line that does not start with a code, codes that differ between lines, or a continuation
        marker on the last line.
    """
    if not lines:
        raise ProtocolError("empty SMTP reply")
    code: int | None = None
    texts: list[str] = []
    enhanced: str | None = None
    for index, raw in enumerate(lines):
        line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        match = _LINE.fullmatch(line.rstrip("\r\n"))
        if match is None:
            raise ProtocolError(f"malformed SMTP reply line {line!r}")
        this_code, sep, text = int(match[1]), match[2], match[3]
        if code is not None and this_code != code:
            raise ProtocolError(f"reply code changed from {code} to {this_code} inside one reply")
        last = index == len(lines) - 1
        if (sep == "-") == last:
            raise ProtocolError(f"bad continuation marker in reply line {line!r}")
        code = this_code
        # The enhanced code is recognised on the first line and stripped from every line that repeats it.
        if index == 0:
            found = _ENHANCED.match(text)
            if found and found[1][0] == str(code)[0]:
                enhanced = found[1]
        if enhanced and text.startswith(enhanced):
            text = text[len(enhanced) :].lstrip(" ")
        texts.append(text)
    assert code is not None
    return Reply(code, "\n".join(texts), enhanced)


class ReplyReader:
    """Incremental reply parser for a byte stream: feed what the socket gave, get complete replies.

    >>> reader = ReplyReader()
    >>> reader.feed(b"250-a\\r\\n250 b\\r\\n221 2.0")
    [Reply(code=250, text='a\\nb', enhanced=None)]
    >>> reader.feed(b".0 Bye\\r\\n")
    [Reply(code=221, text='Bye', enhanced='2.0.0')]
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._lines: list[bytes] = []

    def feed(self, data: bytes) -> list[Reply]:
        """Consume *data*; return the replies it completed (in order)."""
        self._buffer += data
        out: list[Reply] = []
        while (end := self._buffer.find(b"\n")) >= 0:
            line, self._buffer = self._buffer[: end + 1], self._buffer[end + 1 :]
            out.extend(self.feed_line(line))
        return out

    def feed_line(self, line: bytes) -> list[Reply]:
        """Consume one complete line; return ``[reply]`` when it was the last line of a reply, else ``[]``."""
        self._lines.append(line)
        stripped = line.rstrip(b"\r\n")
        if len(stripped) > 3 and stripped[3:4] == b"-":
            return []
        lines, self._lines = self._lines, []
        return [parse_reply_lines(lines)]


class Replies:
    """The replies with fixed texts, as Postfix words them (``src/smtpd/smtpd.c``, ``cleanup_strerror.c``).

    Policies use these so logs and tests match real servers.

    >>> str(Replies.relay_denied("x@far.example"))
    '554 5.7.1 <x@far.example>: Relay access denied'
    """

    OK = Reply(250, "Ok", "2.0.0")
    MAIL_OK = Reply(250, "Ok", "2.1.0")
    RCPT_OK = Reply(250, "Ok", "2.1.5")
    START_DATA = Reply(354, "End data with <CR><LF>.<CR><LF>")
    BYE = Reply(221, "Bye", "2.0.0")
    AUTH_OK = Reply(235, "Authentication successful", "2.7.0")
    AUTH_REQUIRED = Reply(530, "Authentication required", "5.7.0")
    AUTH_FAILED = Reply(535, "Error: authentication failed", "5.7.8")
    SIZE_EXCEEDED = Reply(552, "Message size exceeds fixed limit", "5.3.4")
    INSUFFICIENT_STORAGE = Reply(452, "Insufficient system storage", "4.3.1")
    TOO_MANY_HOPS = Reply(554, "Error: too many hops", "5.4.0")
    TOO_MANY_RECIPIENTS = Reply(452, "Error: too many recipients", "4.5.3")
    NEED_MAIL = Reply(503, "Error: need MAIL command", "5.5.1")
    NEED_RCPT = Reply(503, "Error: need RCPT command", "5.5.1")
    NEED_HELO = Reply(503, "Error: send HELO/EHLO first", "5.5.1")
    NESTED_MAIL = Reply(503, "Error: nested MAIL command", "5.5.1")
    NO_VALID_RECIPIENTS = Reply(554, "Error: no valid recipients", "5.5.1")
    UNKNOWN_COMMAND = Reply(500, "Error: command not recognized", "5.5.2")
    NOT_IMPLEMENTED = Reply(502, "Error: command not implemented", "5.5.1")
    LINE_TOO_LONG = Reply(500, "Line too long", "5.5.2")
    BAD_UTF8 = Reply(500, "Error: bad UTF-8 syntax", "5.5.2")
    MAIL_SYNTAX = Reply(501, "Syntax: MAIL FROM:<address>", "5.5.4")
    RCPT_SYNTAX = Reply(501, "Syntax: RCPT TO:<address>", "5.5.4")
    LOST_CONNECTION = Reply(451, "Error: lost connection", "4.4.2")

    @staticmethod
    def queued(queue_id: str) -> Reply:
        """``250 2.0.0 Ok: queued as QID``: the server now owns the message (RFC 5321 §6.1)."""
        return Reply(250, f"Ok: queued as {queue_id}", "2.0.0")

    @staticmethod
    def relay_denied(rcpt: str) -> Reply:
        """``554 5.7.1 <rcpt>: Relay access denied`` (Postfix ``relay_domains_reject_code`` = 554)."""
        return Reply(554, f"<{rcpt}>: Relay access denied", "5.7.1")

    @staticmethod
    def unknown_user(rcpt: str) -> Reply:
        """``550 5.1.1`` for a local recipient that does not exist (``unknown_local_recipient_reject_code``)."""
        return Reply(550, f"<{rcpt}>: Recipient address rejected: User unknown in local recipient table", "5.1.1")

    @staticmethod
    def timeout(hostname: str) -> Reply:
        """``421 4.4.2 HOST Error: timeout exceeded``: the client was silent too long (Postfix ``smtpd_timeout``)."""
        return Reply(421, f"{hostname} Error: timeout exceeded", "4.4.2")

    @staticmethod
    def shutdown(hostname: str) -> Reply:
        """``421 4.3.2``: the server is going away; the session ends after this reply."""
        return Reply(421, f"{hostname} Service shutting down, closing transmission channel", "4.3.2")
