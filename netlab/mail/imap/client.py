"""A fetching mail program's IMAP session, sans-IO: log in, select, search unseen, fetch, mark, idle, log out.

Each round searches ``UID SEARCH UNSEEN`` and fetches those messages with ``BODY[]`` (which sets ``\\Seen`` on
the server, so the next round does not fetch them again); with *delete* it also stores ``\\Deleted`` and
expunges. A polling client then logs out; an IDLE client (RFC 2177) waits in IDLE, leaves it with ``DONE``
when the server pushes ``* N EXISTS`` and runs the next round at once.

>>> client = ImapClient("bob", "pw")
>>> client.feed_line(b"* OK ready\\r\\n")
b'c1 LOGIN "bob" "pw"\\r\\n'
>>> client.feed_line(b"c1 OK LOGIN completed\\r\\n")
b'c2 SELECT "INBOX"\\r\\n'
"""

from __future__ import annotations

import re

from netlab.mail.errors import ProtocolError
from netlab.mail.imap.parse import LineAssembler, Token, quote, tokenize
from netlab.mail.pop3 import FetchedMessage

__all__ = ["ImapClient"]

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]", re.IGNORECASE)


class ImapClient:
    """The client side of one IMAP session; feed it server lines (and literals), send what it returns.

    Parameters
    ----------
    user, password
        LOGIN credentials.
    mailbox
        The mailbox to SELECT.
    idle
        Wait for new mail in IDLE after each round instead of logging out (:meth:`stop` ends the session).
    delete
        Store ``\\Deleted`` on fetched messages and EXPUNGE them.

    Attributes
    ----------
    messages
        Retrieved messages; ``uid`` is ``"UIDVALIDITY.UID"``, the same unique id the POP3 server's UIDL gives.
    done
        True once the server has answered LOGOUT.
    """

    def __init__(self, user: str, password: str, *, mailbox: str = "INBOX", idle: bool = False,
                 delete: bool = False) -> None:  # fmt: skip
        self.user = user
        self.password = password
        self.mailbox = mailbox
        self.idle = idle
        self.delete = delete
        # fetched and not yet taken: a FetchClient takes them as they come (so a long session holds none)
        self.messages: list[FetchedMessage] = []
        self.done = False
        self.idling = False
        self.error: str | None = None
        self.uidvalidity: int | None = None
        self.commands = 0
        self._stopping = False
        self._step = "GREETING"
        self._tag = ""
        self._found: list[int] = []
        self._assembler = LineAssembler()

    def __repr__(self) -> str:
        return f"<ImapClient {self.user!r} {self._step} {len(self.messages)} fetched, not taken>"

    @property
    def literal_needed(self) -> int:
        """Octets of a literal the server announced that are still to be read."""
        return self._assembler.literal_needed

    def feed_line(self, line: bytes) -> bytes:
        """Consume one server line; return the command to send next (``b""`` when none is due)."""
        if self.done:
            raise ProtocolError(f"IMAP line after LOGOUT: {line[:40]!r}")
        return self._response(self._assembler.feed_line(line))

    def feed_literal(self, data: bytes) -> bytes:
        """Consume octets of an announced literal."""
        return self._response(self._assembler.feed_literal(data))

    def stop(self) -> bytes:
        """End the session: leave IDLE (``DONE``) and log out after the current command."""
        self._stopping = True
        if self.idling:
            self.idling = False
            self._step = "DONE"
            return b"DONE\r\n"
        return b""

    def _send(self, step: str, command: str) -> bytes:
        self.commands += 1
        self._step = step
        self._tag = f"c{self.commands}"
        return f"{self._tag} {command}\r\n".encode()

    def _response(self, pieces: list[bytes] | None) -> bytes:
        if pieces is None:
            return b""
        first = pieces[0]
        if self._step == "GREETING":
            if not first.startswith(b"* OK"):
                self.error = first.decode("utf-8", "replace")
                return self._send("LOGOUT", "LOGOUT")
            return self._send("LOGIN", f"LOGIN {quote(self.user)} {quote(self.password)}")
        if first.startswith(b"+"):
            self.idling = self._step == "IDLE"
            # new mail may have been announced before the go-ahead: then leave IDLE at once
            return self.stop() if self._stopping else b""
        if first.startswith(b"* "):
            return self._untagged(pieces)
        tag, _, rest = first.decode("utf-8", "replace").partition(" ")
        if tag != self._tag:
            raise ProtocolError(f"IMAP response with unexpected tag {tag!r} (waiting for {self._tag!r})")
        return self._tagged(rest.upper().startswith("OK"), rest)

    def _untagged(self, pieces: list[bytes]) -> bytes:
        if (match := _UIDVALIDITY.search(pieces[0])) is not None:
            self.uidvalidity = int(match[1])
        tokens = tokenize(pieces)
        kind = str(tokens[2]).upper() if len(tokens) > 2 else ""
        if str(tokens[1]).upper() == "SEARCH":
            self._found = [int(str(t)) for t in tokens[2:]]
        elif kind == "FETCH" and isinstance(tokens[3], list):
            self._fetched(tokens[3])
        elif kind == "EXISTS" and self.idling:
            self.idling = False
            self._step = "DONE"
            return b"DONE\r\n"
        return b""

    def _fetched(self, items: list[Token]) -> None:
        values = dict(zip((str(k).upper() for k in items[::2]), items[1::2], strict=False))
        body, uid = values.get("BODY[]"), values.get("UID")
        if isinstance(body, bytes) and isinstance(uid, str):
            self.messages.append(FetchedMessage(f"{self.uidvalidity}.{uid}", body))

    def _tagged(self, ok: bool, text: str) -> bytes:
        step = self._step
        if not ok and step in ("LOGIN", "SELECT"):
            self.error = text
            return self._send("LOGOUT", "LOGOUT")
        if step == "LOGOUT":
            self.done = True
            return b""
        if step == "IDLE":  # IDLE refused (or ended by the server): no push to wait for, so leave
            return self._send("LOGOUT", "LOGOUT")
        if step in ("SELECT", "DONE"):
            if self._stopping:
                return self._send("LOGOUT", "LOGOUT")
            return self._send("SEARCH", "UID SEARCH UNSEEN")
        if step == "LOGIN":
            return self._send("SELECT", f"SELECT {quote(self.mailbox)}")
        if step == "SEARCH" and self._found:
            return self._send("FETCH", f"UID FETCH {','.join(map(str, self._found))} (UID BODY[])")
        if step == "FETCH" and self.delete:
            return self._send("STORE", f"UID STORE {','.join(map(str, self._found))} +FLAGS.SILENT (\\Deleted)")
        if step == "STORE":
            return self._send("EXPUNGE", "EXPUNGE")
        # the round is over: wait for news in IDLE, or leave
        if self.idle and not self._stopping:
            return self._send("IDLE", "IDLE")
        return self._send("LOGOUT", "LOGOUT")
