"""The SMTP server session: a sans-IO state machine (RFC 5321, RFC 6409, RFC 4954, RFC 1870, RFC 2920).

It turns received bytes into replies and knows nothing of sockets or time, so the simulation, the live bridge
and the tests drive the same code. What to accept is not its business: a :class:`ServerPolicy` (the MSA, MTA
or MX agent) authenticates users, vets senders and recipients and takes the message at the end of DATA. The
session enforces the protocol: command order, syntax, line and size limits, the recipient limit, and
authentication before MAIL on a submission port (RFC 6409 §4.3). Any byte sequence yields replies; it never
raises on input.

One class, in the order a session goes: reading the connection (:meth:`~SmtpServerSession.feed` cuts bytes into
lines, except inside DATA, where a message whose lines all end in CRLF is taken as one block up to the lone dot,
with C-speed search and unstuffing: the path every arriving segment takes), the command dispatch, HELO/EHLO and
AUTH PLAIN/LOGIN, MAIL and RCPT (where the policy decides), DATA and the end of the message (where the policy
takes it), RSET and QUIT. ``__slots__`` keeps a session small and its attribute access fast.

>>> from netlab.testing import RecordingPolicy
>>> s = SmtpServerSession(RecordingPolicy(), hostname="mx.b.example", peer_ip="10.0.0.1")
>>> str(s.greeting())
'220 mx.b.example ESMTP netlab'
>>> [str(r) for r in s.feed(b"HELO a\\r\\nMAIL FROM:<a@a.example>\\r\\nDATA\\r\\n")]
['250 mx.b.example', '250 2.1.0 Ok', '503 5.5.1 Error: need RCPT command']
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Collection
from enum import StrEnum
from functools import partial
from typing import Protocol

from netlab.mail.content.address import parse_address
from netlab.mail.content.message import Envelope
from netlab.mail.errors import MailAddressError
from netlab.mail.smtp.reply import Replies, Reply

__all__ = ["DEFAULT_RECIPIENT_LIMIT", "DEFAULT_SIZE_LIMIT", "LINE_LIMIT", "ServerPolicy", "SessionState",
           "SmtpServerSession", "Suspend"]  # fmt: skip

DEFAULT_SIZE_LIMIT = 10_240_000
"""Postfix ``message_size_limit`` (bytes)."""
DEFAULT_RECIPIENT_LIMIT = 1000
"""Postfix ``smtpd_recipient_limit``."""
LINE_LIMIT = 1000
"""RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including CRLF."""

_PATH = re.compile(r"\s*(<[^<>]*>|[^<>\s]+)\s*(.*)", re.DOTALL)
_IMPLEMENTED_ELSEWHERE = frozenset({"ETRN", "EXPN", "TURN", "BDAT", "XCLIENT", "XFORWARD"})


class SessionState(StrEnum):
    """Where a server session is; compares equal to its lower-case name (``session.state == "data"``)."""

    CONNECTED = "connected"  # greeted, no HELO/EHLO yet
    READY = "ready"  # HELO/EHLO done, no transaction
    MAIL = "mail"  # MAIL accepted, no recipient yet
    RCPT = "rcpt"  # at least one RCPT accepted
    DATA = "data"  # 354 sent, buffering message lines
    AUTH = "auth"  # inside an AUTH exchange (334 sent)
    CLOSED = "closed"  # QUIT or 421: nothing more is read


class Suspend(Exception):
    """Raised by a policy check (``check_mail``, ``check_rcpt``, ``end_of_data``) that cannot answer yet, e.g. it
    needs DNS answers first (SPF, DKIM keys, DMARC policies).

    The session keeps the command (or the message) and reads nothing more; :attr:`SmtpServerSession.pending` holds
    *wait*, an object opaque to the session (in the simulation a SimPy event), and the driver calls
    :meth:`SmtpServerSession.resume` once it is over: the same check is asked again and should answer now.
    """

    def __init__(self, wait: object) -> None:
        super().__init__("policy check suspended")
        self.wait = wait


class ServerPolicy(Protocol):
    """What an agent decides for its SMTP server; ``None`` from a check means the default ``250`` reply.

    Any callback may return a ``421`` reply to close the session (the agent is shutting down), and a check may raise
    :class:`Suspend` to be asked again later (see there).
    """

    def authenticate(self, user: str, password: str) -> bool:
        """True when *password* is right for *user* (AUTH PLAIN/LOGIN)."""
        ...

    def check_mail(self, session: SmtpServerSession, sender: str, size: int | None) -> Reply | None:
        """Vet ``MAIL FROM`` (*sender* ``""`` is the null path; *size* the declared SIZE= or None)."""
        ...

    def check_rcpt(self, session: SmtpServerSession, rcpt: str) -> Reply | None:
        """Vet ``RCPT TO`` (relay control, unknown users, greylisting ...)."""
        ...

    def end_of_data(self, session: SmtpServerSession, envelope: Envelope, data: bytes) -> Reply:
        """Take responsibility for the message (``250 ... queued as``) or refuse it; *data* is unstuffed."""
        ...


def _b64(text: str) -> str | None:
    """Decode a base64 AUTH response to text; None when it is not base64 or not UTF-8."""
    if text == "=":  # RFC 4954 §4: "=" is an empty initial response
        return ""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None


class SmtpServerSession:
    """One SMTP connection seen from the server.

    Parameters
    ----------
    policy
        The agent's decisions (see :class:`ServerPolicy`).
    hostname
        Announced in the greeting and the EHLO reply.
    peer_ip
        The client's address (for the policy and the ``Received:`` line).
    peer_name
        The client's name as the server verified it (a reverse lookup of *peer_ip*), for the ``Received:``
        line's TCP-info (RFC 5321 §4.4); None when unknown.
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
    tls
        The transport under this session can start TLS: ``STARTTLS`` is advertised and taken (RFC 3207).
    plaintext_auth
        False: AUTH is advertised and taken only once TLS is active (``538 5.7.11`` before, RFC 4954 §6), as a
        submission server with Postfix's ``smtpd_tls_auth_only = yes``.

    STARTTLS is the seam the session shares with its transport (as the IMAP and POP3 sessions do): after
    ``220 2.0.0 Ready to start TLS`` :attr:`starttls_pending` is True and whatever the client sent after the command
    is discarded (plaintext injected before the handshake must not count as encrypted commands, CVE-2011-0411);
    the transport sends the reply, starts TLS and calls :meth:`tls_started`, which forgets the session's state
    (the client greets again, RFC 3207 §4.2).
    """

    __slots__ = (
        "_auth", "_buffer", "_data", "_data_size", "_line_mode", "_rcpt_attempts", "_resume", "_scanned",
        "auth_enabled", "auth_required", "authenticated_user", "declared_size", "default_domain", "esmtp", "extensions",
        "helo", "hostname", "mail_from", "peer_ip", "peer_name", "pending", "plaintext_auth", "policy", "rcpt_given",
        "rcpt_to", "recipient_limit", "secure", "size_limit", "starttls_pending", "state", "submission", "tls",
        "transactions",
    )  # fmt: skip

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
        peer_name: str | None = None,
        tls: bool = False,
        plaintext_auth: bool = True,
    ) -> None:
        self.policy = policy
        self.peer_name = peer_name
        self.tls = tls
        self.plaintext_auth = plaintext_auth
        self.secure = False  # TLS active (after tls_started)
        self.starttls_pending = False
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
        #: What a suspended policy check waits for (see :class:`Suspend`); None when the session is not waiting.
        self.pending: object | None = None
        self._resume: Callable[[], list[Reply]] | None = None  # the suspended step, asked again by resume()
        self._reset()

    # -- public API ------------------------------------------------------------------------------------------

    @property
    def protocol(self) -> str:
        """``SMTP``/``ESMTP`` with ``S`` under TLS and ``A`` when authenticated, as in the ``Received:`` ``with``
        clause (RFC 3848: ``ESMTPSA`` is authenticated over STARTTLS)."""
        return (
            ("ESMTP" if self.esmtp else "SMTP")
            + ("S" if self.secure else "")
            + ("A" if self.authenticated_user else "")
        )

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

    def tls_started(self) -> None:
        """The transport finished the TLS handshake STARTTLS announced: the session starts over, now secure."""
        if not self.starttls_pending:
            raise RuntimeError("tls_started() without a STARTTLS the session accepted")
        self.starttls_pending, self.secure = False, True
        self.state, self.helo, self.esmtp, self.authenticated_user = SessionState.CONNECTED, None, False, None
        self._buffer.clear()
        self._reset()

    def timed_out(self) -> Reply:
        """Close the session with ``421 4.4.2`` (the client was silent longer than the server waits)."""
        self.state = SessionState.CLOSED
        return Replies.timeout(self.hostname)

    def feed(self, data: bytes) -> list[Reply]:
        """Consume bytes from the connection (any split); return the replies for the complete lines.

        Inside DATA a message whose lines all end in CRLF is taken as one block up to ``CRLF.CRLF`` (C-speed
        search and unstuffing); anything else (bare LF line ends) goes line by line, with the same result.
        """
        buf = self._buffer
        start = len(buf)
        buf += data
        if self.pending is not None:
            return []  # a policy check is waiting: hold the bytes until resume()
        if self.state is SessionState.DATA and not self._line_mode:
            bare = data.count(b"\n") - data.count(b"\r\n")
            if bare and data[:1] == b"\n" and start and buf[start - 1] == 13:
                bare -= 1  # a CRLF split between two segments
            self._line_mode = bare > 0
        out: list[Reply] = []
        pos = 0
        while True:
            if self.state is SessionState.DATA and not self._line_mode:
                end = self._data_block(buf, pos)
                if end < 0:
                    break
                pos = end
                if not self._step(out, self._end_of_data):
                    break
                continue
            end = buf.find(b"\n", pos)
            if end < 0:
                break
            line = bytes(buf[pos : end + 1])
            pos = end + 1
            if not self._step(out, partial(self.feed_line, line)):
                break
            if self.starttls_pending:
                pos = len(buf)  # sent after STARTTLS in plaintext: discarded, never read as protected
                break
        del buf[:pos]
        self._scanned = max(0, self._scanned - pos)
        # Bound the memory a client can make us hold: a line longer than any legal one is cut here and its
        # end rejected when it arrives.
        if self.state is not SessionState.DATA and len(buf) > 4 * LINE_LIMIT:
            del buf[2 * LINE_LIMIT :]
        elif (self.state is SessionState.DATA and self._line_mode and len(buf) > 2 * LINE_LIMIT and self.size_limit
              and self._data_size + len(buf) > self.size_limit):  # fmt: skip
            # a data line that never ends, in a message already over the limit: counted, not kept (552 at the end)
            self._data_size += len(buf) - 1
            del buf[:-1]  # the last octet may be the CR of the CRLF still to come
        return out

    def resume(self) -> list[Reply]:
        """Ask the suspended check again (its wait is over), then read what arrived meanwhile; the replies."""
        step, self._resume, self.pending = self._resume, None, None
        if step is None:
            return []
        out: list[Reply] = []
        if self._step(out, step):
            out.extend(self.feed(b""))
        return out

    def _step(self, out: list[Reply], step: Callable[[], list[Reply] | Reply]) -> bool:
        """Run one step that may call the policy; False when the policy suspended it (kept for resume())."""
        try:
            result = step()
        except Suspend as suspend:
            self.pending, self._resume = suspend.wait, lambda: _as_list(step())
            return False
        out.extend(_as_list(result))
        return True

    def feed_line(self, line: bytes) -> list[Reply]:
        """Consume one line (CRLF optional); return the replies it causes (none inside DATA)."""
        if self.state is SessionState.CLOSED or self.starttls_pending:
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
        # path as the client wrote it -> the recipient it became (qualified, domain folded), where they differ:
        # the books follow a (message, recipient) through the rewrite
        self.rcpt_given: dict[str, str] = {}
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
            "STARTTLS": self._starttls,
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

    # -- HELO/EHLO and AUTH (RFC 4954) ----------------------------------------------------------------------

    def _greet(self, arg: str, *, esmtp: bool) -> Reply | None:
        if not arg:
            return Reply(501, f"Syntax: {'EHLO' if esmtp else 'HELO'} hostname", "5.5.4")
        self.helo, self.esmtp = arg.split()[0], esmtp
        self._reset()  # RFC 5321 §4.1.4: EHLO/HELO also resets any transaction
        self.state = SessionState.READY
        return None

    def _ehlo(self, arg: str) -> Reply:
        if bad := self._greet(arg, esmtp=True):
            return bad
        lines = [self.hostname]
        for keyword in self.extensions:
            if keyword == "SIZE":
                lines.append(f"SIZE {self.size_limit}")
            elif keyword == "AUTH":
                if self.plaintext_auth or self.secure:
                    lines.append("AUTH PLAIN LOGIN")
            else:
                lines.append(keyword)
        if self.tls and not self.secure:
            lines.append("STARTTLS")
        return Reply(250, "\n".join(lines))

    def _starttls(self, arg: str) -> Reply:
        if not self.tls:
            return Replies.NOT_IMPLEMENTED
        if arg:
            return Reply(501, "Syntax: STARTTLS", "5.5.4")
        if self.secure:
            return Reply(554, "Error: TLS already active", "5.5.1")
        if self.state in (SessionState.MAIL, SessionState.RCPT):
            return Reply(503, "Error: MAIL transaction in progress", "5.5.1")
        self.starttls_pending = True
        return Reply(220, "Ready to start TLS", "2.0.0")

    def _helo(self, arg: str) -> Reply:
        return self._greet(arg, esmtp=False) or Reply(250, self.hostname)

    def _auth_cmd(self, arg: str) -> Reply:
        if not self.auth_enabled:
            return Reply(503, "Error: authentication not enabled", "5.5.1")
        if self.state is SessionState.CONNECTED or not self.esmtp:
            return Replies.NEED_HELO
        if self.authenticated_user is not None:
            return Reply(503, "Error: already authenticated", "5.5.1")
        if not (self.plaintext_auth or self.secure):
            return Reply(538, "Encryption required for requested authentication mechanism", "5.7.11")
        if self.state is not SessionState.READY:
            return Reply(503, "Error: MAIL transaction in progress", "5.5.1")
        mechanism, _, initial = arg.partition(" ")
        mechanism, initial = mechanism.upper(), initial.strip()
        if not mechanism:
            return Reply(501, "Syntax: AUTH mechanism", "5.5.4")
        if mechanism not in ("PLAIN", "LOGIN"):
            return Reply(504, "Unrecognized authentication type", "5.5.4")
        self._auth = (mechanism, None)
        self.state = SessionState.AUTH
        if not initial:
            return Reply(334, "" if mechanism == "PLAIN" else "VXNlcm5hbWU6")  # base64 "Username:"
        return self._auth_line(initial)

    def _auth_line(self, text: str) -> Reply:
        assert self._auth is not None
        mechanism, user = self._auth
        text = text.strip()
        if text == "*":  # RFC 4954 §4: the client cancels the exchange
            return self._auth_done(Reply(501, "Authentication aborted", "5.7.0"))
        decoded = _b64(text)
        if decoded is None:
            return self._auth_done(Reply(501, "Invalid base64 data in continued response", "5.5.2"))
        if mechanism == "LOGIN" and user is None:
            self._auth = (mechanism, decoded)
            return Reply(334, "UGFzc3dvcmQ6")  # base64 "Password:"
        if mechanism == "LOGIN":
            assert user is not None
            return self._auth_done(None, user, decoded)
        parts = decoded.split("\0")
        # PLAIN is authzid NUL authcid NUL password; acting for another identity is not supported.
        if len(parts) != 3 or (parts[0] and parts[0] != parts[1]):
            return self._auth_done(Replies.AUTH_FAILED)
        return self._auth_done(None, parts[1], parts[2])

    def _auth_done(self, reply: Reply | None, user: str = "", password: str = "") -> Reply:
        self._auth = None
        self.state = SessionState.READY
        if reply is not None:
            return reply
        if user and self.policy.authenticate(user, password):
            self.authenticated_user = user
            return Replies.AUTH_OK
        return Replies.AUTH_FAILED

    # -- the transaction: MAIL, RCPT, DATA -------------------------------------------------------------------

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
        try:
            reply = self.policy.check_rcpt(self, rcpt) or Replies.RCPT_OK
        except Suspend:
            self._rcpt_attempts -= 1  # the command is asked again in full
            raise
        if reply.is_positive:
            self.rcpt_to.append(rcpt)
            if path != rcpt:
                self.rcpt_given[path] = rcpt
            self.state = SessionState.RCPT
        return reply

    def _data_block(self, buf: bytearray, pos: int) -> int:
        """Take a whole CRLF message from *buf* at *pos*; return the position after ``.CRLF``, or -1 if the
        terminator has not arrived yet."""
        if buf.startswith(b".\r\n", pos):
            return pos + 3  # an empty message
        # Search only what is new since the last look (a terminator may straddle the old end: back up 4 bytes),
        # so a message arriving in many segments is scanned once, not once per segment.
        i = buf.find(b"\r\n.\r\n", max(pos, self._scanned - 4))
        if i < 0:
            self._scanned = len(buf)
            if self.size_limit and len(buf) - pos > self.size_limit + 2 * LINE_LIMIT:
                self._line_mode = True  # over the limit anyway: count it line by line instead of holding it
            return -1
        block = bytes(buf[pos : i + 2])
        # SIZE counts CRLFs and excludes dot-stuffing (RFC 1870): one stuffed dot per line that starts with one.
        stuffed = block.count(b"\r\n.") + (1 if block.startswith(b".") else 0)
        self._data_size += len(block) - stuffed
        if not self.size_limit or self._data_size <= self.size_limit:
            if stuffed:
                block = (block[1:] if block.startswith(b".") else block).replace(b"\r\n.", b"\r\n")
            self._data.append(block)
        return i + 5

    def _data_cmd(self, arg: str) -> Reply:
        if arg:
            return Reply(501, "Syntax: DATA", "5.5.4")
        if self.state is SessionState.CONNECTED:
            return Replies.NEED_HELO
        if self.state is not SessionState.RCPT:
            if self.state is SessionState.MAIL and self._rcpt_attempts:
                return Replies.NO_VALID_RECIPIENTS
            return Replies.NEED_RCPT
        self.state = SessionState.DATA
        return Replies.START_DATA

    def _data_line(self, line: bytes) -> list[Reply]:
        if line.rstrip(b"\r\n") == b".":
            return [self._end_of_data()]
        line = line.removesuffix(b"\n").removesuffix(b"\r") + b"\r\n"
        # SIZE counts CRLFs and excludes dot-stuffing (RFC 1870); past the limit the bytes are counted, not kept.
        stuffed = line.startswith(b".")
        self._data_size += len(line) - stuffed
        if not self.size_limit or self._data_size <= self.size_limit:
            self._data.append(line[1:] if stuffed else line)
        return []

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


def _as_list(result: list[Reply] | Reply) -> list[Reply]:
    return result if isinstance(result, list) else [result]
