"""The state one SMTP server session keeps, declared once for the parts that make up
:class:`~netlab.mail.smtp.server.SmtpServerSession`: the session itself (command dispatch, MAIL, RCPT, the end of
a message, RSET, QUIT), the client's hello and authentication (:mod:`~netlab.mail.smtp.auth`: HELO/EHLO and the
extensions EHLO advertises, AUTH) and the DATA phase (:mod:`~netlab.mail.smtp.data`); with what they share: where
a session is (:class:`SessionState`), what the agent decides (:class:`ServerPolicy`) and the protocol's limits.

``__slots__`` keeps a session small and its attribute access fast (the DATA path runs for every arriving segment).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from netlab.mail.content.message import Envelope
    from netlab.mail.smtp.reply import Reply
    from netlab.mail.smtp.server import SmtpServerSession

__all__ = ["DEFAULT_RECIPIENT_LIMIT", "DEFAULT_SIZE_LIMIT", "LINE_LIMIT", "ServerPolicy", "ServerState", "SessionState"]

DEFAULT_SIZE_LIMIT = 10_240_000
"""Postfix ``message_size_limit`` (bytes)."""
DEFAULT_RECIPIENT_LIMIT = 1000
"""Postfix ``smtpd_recipient_limit``."""
LINE_LIMIT = 1000
"""RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including CRLF."""


class SessionState(StrEnum):
    """Where a server session is; compares equal to its lower-case name (``session.state == "data"``)."""

    CONNECTED = "connected"  # greeted, no HELO/EHLO yet
    READY = "ready"  # HELO/EHLO done, no transaction
    MAIL = "mail"  # MAIL accepted, no recipient yet
    RCPT = "rcpt"  # at least one RCPT accepted
    DATA = "data"  # 354 sent, buffering message lines
    AUTH = "auth"  # inside an AUTH exchange (334 sent)
    CLOSED = "closed"  # QUIT or 421: nothing more is read


class ServerPolicy(Protocol):
    """What an agent decides for its SMTP server; ``None`` from a check means the default ``250`` reply.

    Any callback may return a ``421`` reply to close the session (the agent is shutting down).
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


class ServerState:
    """The state of one SMTP server session (see the module docstring); set by ``SmtpServerSession.__init__``."""

    __slots__ = (
        "_auth", "_buffer", "_data", "_data_size", "_line_mode", "_rcpt_attempts", "_scanned", "auth_enabled",
        "auth_required", "authenticated_user", "declared_size", "default_domain", "esmtp", "extensions", "helo",
        "hostname", "mail_from", "peer_ip", "policy", "rcpt_to", "recipient_limit", "size_limit", "state",
        "submission", "transactions",
    )  # fmt: skip

    # settings
    policy: ServerPolicy
    default_domain: str | None
    hostname: str
    peer_ip: str
    submission: bool
    size_limit: int
    recipient_limit: int
    extensions: tuple[str, ...]
    auth_enabled: bool
    auth_required: bool
    # the session
    state: SessionState
    helo: str | None
    esmtp: bool
    authenticated_user: str | None
    transactions: int
    _buffer: bytearray  # received bytes not taken yet
    _auth: tuple[str, str | None] | None  # inside an AUTH exchange: (mechanism, username so far)
    # the transaction, set by _reset
    mail_from: str | None
    rcpt_to: list[str]
    declared_size: int | None
    _rcpt_attempts: int
    _data: list[bytes]  # the message so far: unstuffed CRLF lines and blocks
    _data_size: int  # its size as SIZE counts it (RFC 1870)
    _line_mode: bool  # DATA read line by line (see netlab.mail.smtp.data)
    _scanned: int  # how much of the buffer the DATA terminator search has looked at

    if TYPE_CHECKING:  # what the parts call on each other, implemented in the session; for the type checker

        def feed_line(self, line: bytes) -> list[Reply]: ...  # take one line

        def _reset(self) -> None: ...  # start a new transaction

        def _end_of_data(self) -> Reply: ...  # the message is complete: the policy takes or refuses it
