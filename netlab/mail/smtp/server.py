"""The SMTP server session: a sans-IO state machine (RFC 5321, RFC 6409, RFC 4954, RFC 1870, RFC 2920).

It turns received lines into replies and knows nothing of sockets or time, so the simulation, the live bridge
and the tests drive the same code. What to accept is not its business: a :class:`ServerPolicy` (the MSA, MTA
or MX agent) authenticates users, vets senders and recipients and takes the message at the end of DATA. The
session enforces the protocol: command order, syntax, line and size limits, the recipient limit, and
authentication before MAIL on a submission port (RFC 6409 §4.3). Any byte sequence yields replies; it never
raises on input.

:class:`SmtpServerSession` is made of parts over one state (:mod:`~netlab.mail.smtp.state`, with
:class:`ServerPolicy` and :class:`~netlab.mail.smtp.state.SessionState`): here the command dispatch, MAIL, RCPT
and the end of the message, where the policy decides; reading the connection and the DATA phase in
:mod:`~netlab.mail.smtp.data`; HELO/EHLO and AUTH in :mod:`~netlab.mail.smtp.auth`.

>>> from netlab.mail.smtp import RecordingPolicy
>>> s = SmtpServerSession(RecordingPolicy(), hostname="mx.b.example", peer_ip="10.0.0.1")
>>> str(s.greeting())
'220 mx.b.example ESMTP netlab'
>>> [str(r) for r in s.feed(b"HELO a\\r\\nMAIL FROM:<a@a.example>\\r\\nDATA\\r\\n")]
['250 mx.b.example', '250 2.1.0 Ok', '503 5.5.1 Error: need RCPT command']
"""

from __future__ import annotations

import re
from collections.abc import Collection

from netlab.mail.content.address import parse_address
from netlab.mail.content.message import Envelope
from netlab.mail.errors import MailAddressError
from netlab.mail.smtp.auth import HelloAuth
from netlab.mail.smtp.data import DataPhase
from netlab.mail.smtp.reply import Replies, Reply
from netlab.mail.smtp.state import (
    DEFAULT_RECIPIENT_LIMIT,
    DEFAULT_SIZE_LIMIT,
    LINE_LIMIT,
    ServerPolicy,
    SessionState,
)

__all__ = ["SmtpServerSession"]

_PATH = re.compile(r"\s*(<[^<>]*>|[^<>\s]+)\s*(.*)", re.DOTALL)
_IMPLEMENTED_ELSEWHERE = frozenset({"STARTTLS", "ETRN", "EXPN", "TURN", "BDAT", "XCLIENT", "XFORWARD"})


class SmtpServerSession(DataPhase, HelloAuth):
    """One SMTP connection seen from the server.

    Parameters
    ----------
    policy
        The agent's decisions (see :class:`ServerPolicy`).
    hostname
        Announced in the greeting and the EHLO reply.
    peer_ip
        The client's address (for the policy and the ``Received:`` line).
    submission
        A submission port (587): AUTH PLAIN/LOGIN is offered and MAIL needs it (530 otherwise, RFC 6409 §4.3).
    extensions
        EHLO keywords to advertise; default ``SIZE``, ``PIPELINING``, ``8BITMIME``, ``ENHANCEDSTATUSCODES``
        plus ``AUTH`` on submission. ``AUTH`` here also enables AUTH on a non-submission port.
    size_limit
        Largest message in bytes (0 = no limit); enforced at MAIL SIZE= and at the end of DATA.
    recipient_limit
        Accepted recipients per transaction; more get ``452 4.5.3``.
    auth_required
        Whether MAIL needs AUTH first; default: same as *submission*.
    """

    __slots__ = ()

    def __init__(
        self,
        policy: ServerPolicy,
        *,
        hostname: str,
        peer_ip: str,
        submission: bool = False,
        extensions: Collection[str] | None = None,
        size_limit: int = DEFAULT_SIZE_LIMIT,
        recipient_limit: int = DEFAULT_RECIPIENT_LIMIT,
        auth_required: bool | None = None,
        default_domain: str | None = None,
    ) -> None:
        self.policy = policy
        #: Appended to MAIL/RCPT addresses without a domain (an MSA's duty, RFC 6409 §4.2); None refuses them.
        self.default_domain = default_domain
        self.hostname = hostname
        self.peer_ip = peer_ip
        self.submission = submission
        self.size_limit = size_limit
        self.recipient_limit = recipient_limit
        if extensions is None:
            extensions = ["PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES"] + (["AUTH"] if submission else [])
        self.extensions = tuple(e.upper() for e in extensions)
        self.auth_enabled = "AUTH" in self.extensions
        self.auth_required = submission if auth_required is None else auth_required
        self.state = SessionState.CONNECTED
        self.helo: str | None = None
        self.esmtp = False
        self.authenticated_user: str | None = None
        self.transactions = 0  # messages accepted in this session
        self._buffer = bytearray()
        self._line_mode = False  # DATA read line by line: bare-LF line ends, or an oversized message
        self._scanned = 0  # how much of the buffer the DATA terminator search has already looked at
        self._auth: tuple[str, str | None] | None = None  # (mechanism, username so far)
        self._reset()

    # -- public API ------------------------------------------------------------------------------------------

    @property
    def protocol(self) -> str:
        """``SMTP``/``ESMTP`` with ``A`` when authenticated, as in the ``Received:`` ``with`` clause."""
        return ("ESMTP" if self.esmtp else "SMTP") + ("A" if self.authenticated_user else "")

    @property
    def closed(self) -> bool:
        """True after QUIT or a 421: the connection should be closed once the last reply is sent."""
        return self.state is SessionState.CLOSED

    def greeting(self) -> Reply:
        """The 220 banner to send when the connection opens."""
        return Reply(220, f"{self.hostname} ESMTP netlab")

    def shutdown(self) -> Reply:
        """Close the session with ``421`` (the agent is going down)."""
        self.state = SessionState.CLOSED
        return Replies.shutdown(self.hostname)

    def feed_line(self, line: bytes) -> list[Reply]:
        """Consume one line (CRLF optional); return the replies it causes (none inside DATA)."""
        if self.state is SessionState.CLOSED:
            return []
        if b"\n" in line.rstrip(b"\r\n"):  # several lines passed at once: take them one by one
            parts = [part + b"\n" for part in line.split(b"\n")]
            parts[-1] = parts[-1][:-1]
            return [r for part in parts if part for r in self.feed_line(part)]
        if self.state is SessionState.DATA:
            replies = self._data_line(line)
        elif len(line.rstrip(b"\r\n")) + 2 > LINE_LIMIT:
            replies = [Replies.LINE_TOO_LONG]
        else:
            try:
                text = line.rstrip(b"\r\n").decode("utf-8")
            except UnicodeDecodeError:
                return [Replies.BAD_UTF8]
            replies = [self._auth_line(text) if self.state is SessionState.AUTH else self._command(text)]
        if any(reply.code == 421 for reply in replies):
            self.state = SessionState.CLOSED
        return replies

    # -- commands -------------------------------------------------------------------------------------------

    def _reset(self) -> None:
        self.mail_from: str | None = None
        self.rcpt_to: list[str] = []
        self.declared_size: int | None = None
        self._rcpt_attempts = 0
        self._data: list[bytes] = []
        self._data_size = 0

    def _command(self, text: str) -> Reply:
        verb, _, arg = text.strip().partition(" ")
        verb = verb.upper()
        arg = arg.strip()
        handler = {
            "EHLO": self._ehlo,
            "HELO": self._helo,
            "MAIL": self._mail,
            "RCPT": self._rcpt,
            "DATA": self._data_cmd,
            "RSET": self._rset,
            "NOOP": lambda _: Replies.OK,
            "VRFY": self._vrfy,
            "QUIT": self._quit,
            "HELP": lambda _: Reply(214, "See RFC 5321", "2.0.0"),
            "AUTH": self._auth_cmd,
        }.get(verb)
        if handler is None:
            return Replies.NOT_IMPLEMENTED if verb in _IMPLEMENTED_ELSEWHERE else Replies.UNKNOWN_COMMAND
        return handler(arg)

    def _parse_path(self, arg: str, keyword: str) -> tuple[str, dict[str, str]] | None:
        """``FROM:<path> PARAM=value ...`` -> (path, params); None on a syntax error."""
        head, colon, rest = arg.partition(":")
        if not colon or head.strip().upper() != keyword:
            return None
        match = _PATH.fullmatch(rest)
        if match is None:
            return None
        path = match[1][1:-1] if match[1].startswith("<") else match[1]
        params: dict[str, str] = {}
        for item in match[2].split():
            name, _, value = item.partition("=")
            params[name.upper()] = value
        return path, params

    def _mail(self, arg: str) -> Reply:
        if self.state is SessionState.CONNECTED:
            return Replies.NEED_HELO
        if self.state in (SessionState.MAIL, SessionState.RCPT):
            return Replies.NESTED_MAIL
        if self.auth_required and self.authenticated_user is None:
            return Replies.AUTH_REQUIRED
        parsed = self._parse_path(arg, "FROM")
        if parsed is None:
            return Replies.MAIL_SYNTAX
        path, params = parsed
        try:
            sender = str(parse_address(path, default_domain=self.default_domain))
        except MailAddressError:
            return Reply(501, "Bad sender address syntax", "5.1.7")
        size: int | None = None
        for name, value in params.items():
            if name == "SIZE":
                if not value.isdigit():
                    return Reply(501, "Bad message size syntax", "5.5.4")
                size = int(value)
            elif name == "BODY":
                if value.upper() not in ("7BIT", "8BITMIME"):
                    return Reply(501, "Unsupported BODY parameter", "5.5.4")
            elif name != "AUTH":  # AUTH=<..> names the submitter between trusted MTAs; accepted, unused
                return Reply(555, f"Unsupported option: {name}", "5.5.4")
        if size is not None and 0 < self.size_limit < size:
            return Replies.SIZE_EXCEEDED
        reply = self.policy.check_mail(self, sender, size) or Replies.MAIL_OK
        if reply.is_positive:
            self.mail_from, self.declared_size = sender, size
            self.state = SessionState.MAIL
        return reply

    def _rcpt(self, arg: str) -> Reply:
        if self.state not in (SessionState.MAIL, SessionState.RCPT):
            return Replies.NEED_HELO if self.state is SessionState.CONNECTED else Replies.NEED_MAIL
        parsed = self._parse_path(arg, "TO")
        if parsed is None:
            return Replies.RCPT_SYNTAX
        path, params = parsed
        if params:
            return Reply(555, f"Unsupported option: {next(iter(params))}", "5.5.4")
        self._rcpt_attempts += 1
        if path.lower() == "postmaster":  # RFC 5321 §4.5.1: <Postmaster> without a domain must work
            rcpt = "postmaster"
        else:
            try:
                rcpt = str(parse_address(path, default_domain=self.default_domain))
            except MailAddressError:
                return Reply(501, "Bad recipient address syntax", "5.1.3")
            if not rcpt:
                return Reply(501, "Bad recipient address syntax", "5.1.3")
        if len(self.rcpt_to) >= self.recipient_limit:
            return Replies.TOO_MANY_RECIPIENTS
        reply = self.policy.check_rcpt(self, rcpt) or Replies.RCPT_OK
        if reply.is_positive:
            self.rcpt_to.append(rcpt)
            self.state = SessionState.RCPT
        return reply

    def _end_of_data(self) -> Reply:
        envelope = Envelope(self.mail_from or "", tuple(self.rcpt_to))
        if self.size_limit and self._data_size > self.size_limit:
            reply = Replies.SIZE_EXCEEDED
        else:
            # CRLF lines only: a block has no bare LF, and the line path ends every line with CRLF
            reply = self.policy.end_of_data(self, envelope, b"".join(self._data))
            if reply.is_positive:
                self.transactions += 1
        self._line_mode = False
        self._scanned = 0
        self._reset()
        self.state = SessionState.READY
        return reply

    def _rset(self, arg: str) -> Reply:
        if arg:
            return Reply(501, "Syntax: RSET", "5.5.4")
        self._reset()
        if self.state is not SessionState.CONNECTED:
            self.state = SessionState.READY
        return Replies.OK

    def _vrfy(self, arg: str) -> Reply:
        if not arg:
            return Reply(501, "Syntax: VRFY address", "5.5.4")
        return Reply(252, "Cannot VRFY user, but will accept message and attempt delivery", "2.0.0")

    def _quit(self, _arg: str) -> Reply:
        self.state = SessionState.CLOSED
        return Replies.BYE
