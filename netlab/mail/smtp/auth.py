"""Who the client is, for an SMTP server session (a mixin of :class:`~netlab.mail.smtp.server.SmtpServerSession`):
its hello (HELO, or EHLO with the service extensions it lists) and AUTH PLAIN/LOGIN (RFC 4954).

Every method works on the session's state (``self``, see :mod:`~netlab.mail.smtp.state`); the policy checks the
password.
"""

from __future__ import annotations

import base64
import binascii

from netlab.mail.smtp.reply import Replies, Reply
from netlab.mail.smtp.state import ServerState, SessionState

__all__ = ["HelloAuth"]


def _b64(text: str) -> str | None:
    """Decode a base64 AUTH response to text; None when it is not base64 or not UTF-8."""
    if text == "=":  # RFC 4954 §4: "=" is an empty initial response
        return ""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None


class HelloAuth(ServerState):
    """HELO/EHLO and the AUTH exchange; see the module docstring."""

    __slots__ = ()

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
                lines.append("AUTH PLAIN LOGIN")
            else:
                lines.append(keyword)
        return Reply(250, "\n".join(lines))

    def _helo(self, arg: str) -> Reply:
        return self._greet(arg, esmtp=False) or Reply(250, self.hostname)

    # -- AUTH (RFC 4954) --------------------------------------------------------------------------------------

    def _auth_cmd(self, arg: str) -> Reply:
        if not self.auth_enabled:
            return Reply(503, "Error: authentication not enabled", "5.5.1")
        if self.state is SessionState.CONNECTED or not self.esmtp:
            return Replies.NEED_HELO
        if self.authenticated_user is not None:
            return Reply(503, "Error: already authenticated", "5.5.1")
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
