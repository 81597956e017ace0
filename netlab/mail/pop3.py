"""POP3 (RFC 1939) as sans-IO state machines: the server session over a :class:`MessageStore`, and a fetching client.

The server moves AUTHORIZATION -> TRANSACTION -> UPDATE. At PASS it locks the maildrop and takes a snapshot of
its messages, numbered 1..n for the whole session (mail arriving meanwhile waits for the next session). DELE
only marks; the marked messages are removed in the UPDATE state, entered by QUIT from TRANSACTION. A session
whose connection drops never reaches UPDATE (:meth:`Pop3ServerSession.connection_lost`), so the mail stays.
Multi-line responses are byte-stuffed and end with a lone ``.`` (RFC 1939 §3).

>>> from netlab.mail.mailbox.store import MessageStore
>>> store = MessageStore({"bob": "pw"})
>>> _ = store.deliver("bob", b"Subject: hi\\r\\n\\r\\n.dot\\r\\n", 1.0)
>>> pop = Pop3ServerSession(store)
>>> for cmd in [b"USER bob", b"PASS pw", b"STAT", b"RETR 1", b"DELE 1", b"QUIT"]:
...     print(pop.feed_line(cmd + b"\\r\\n").decode().replace("\\r\\n", "|"))
+OK|
+OK maildrop has 1 message (40 octets)|
+OK 1 40|
+OK 40 octets|Delivered-To: bob|Subject: hi||..dot|.|
+OK message 1 deleted|
+OK netlab POP3 server signing off (1 message deleted)|
>>> pop.closed, len(store.mailbox("bob"))
(True, 0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from netlab.mail.content.message import dot_stuff, dot_unstuff, header_section
from netlab.mail.errors import ProtocolError
from netlab.mail.mailbox.store import MessageStore, StoredEntry

__all__ = ["FetchedMessage", "Pop3Client", "Pop3ServerSession"]

_MAX_LINE = 255  # octets incl. CRLF (RFC 2449 §4 raises RFC 1939's 40-char argument limit to this)
_CAPABILITIES = ("USER", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "IMPLEMENTATION netlab")


def _ok(text: str = "") -> bytes:
    return f"+OK {text}".rstrip().encode() + b"\r\n"


def _err(text: str) -> bytes:
    return f"-ERR {text}".encode() + b"\r\n"


def _plural(n: int) -> str:
    return f"{n} message{'' if n == 1 else 's'}"


class Pop3ServerSession:
    """One POP3 server session over *store*: feed it command lines, send back what it returns.

    Parameters
    ----------
    store
        The message store; the session reads the user's INBOX.
    hostname
        Named in the greeting and the QUIT response.
    tls
        The transport under this session can start TLS: ``STLS`` is advertised and taken (RFC 2595 §4).
    plaintext_auth
        False: USER/PASS are refused until TLS is active (``-ERR [AUTH]``) and ``USER`` is not in CAPA then.

    STLS is the seam the session shares with its transport, as IMAP's STARTTLS: after ``+OK Begin TLS
    negotiation`` :attr:`starttls_pending` is True; the transport sends that response, starts TLS and calls
    :meth:`tls_started` (the session feeds nothing in between).
    """

    def __init__(self, store: MessageStore, *, hostname: str = "netlab", tls: bool = False,
                 plaintext_auth: bool = True) -> None:  # fmt: skip
        self.store = store
        self.hostname = hostname
        self.tls = tls
        self.plaintext_auth = plaintext_auth
        self.secure = False  # TLS active (after tls_started)
        self.starttls_pending = False
        self.state = "AUTHORIZATION"
        self.closed = False
        self.user: str | None = None
        self.commands = 0
        self._pending_user: str | None = None
        self._snapshot: list[StoredEntry] = []
        self._deleted: set[int] = set()  # message numbers marked by DELE

    def __repr__(self) -> str:
        return f"<Pop3ServerSession {self.state} user={self.user!r}>"

    def greeting(self) -> bytes:
        """The ``+OK`` banner the server sends first."""
        return _ok(f"{self.hostname} POP3 server ready")

    def tls_started(self) -> None:
        """The transport finished the TLS handshake that STLS announced: the session is now secure."""
        if not self.starttls_pending:
            raise ProtocolError("tls_started() without an STLS the session accepted")
        self.starttls_pending, self.secure = False, True

    def feed_line(self, line: bytes) -> bytes:
        """Handle one command line (with or without CRLF); return the complete response bytes."""
        if self.closed:
            raise ProtocolError("POP3 session is closed")
        if self.starttls_pending:
            raise ProtocolError("POP3 input while the TLS handshake is due (call tls_started() first)")
        self.commands += 1
        if len(line) > _MAX_LINE:
            return _err("command line too long")
        text = line.rstrip(b"\r\n").decode("utf-8", "replace")
        verb, _, rest = text.partition(" ")
        args = rest.split()
        handler: Callable[[list[str]], bytes] | None = getattr(self, f"_cmd_{verb.upper()}", None)
        if not verb.isalpha() or handler is None:
            return _err(f"unknown command {verb[:20]!r}")
        if verb.upper() in ("USER", "PASS", "STLS") and self.state != "AUTHORIZATION":
            return _err("command not valid in this state")
        if verb.upper() not in ("USER", "PASS", "QUIT", "CAPA", "STLS") and self.state != "TRANSACTION":
            return _err("command not valid in this state")
        return handler(args)

    def connection_lost(self) -> None:
        """The connection dropped: no UPDATE state, every DELE is forgotten, the lock is released."""
        self._release()
        self.closed = True

    # --- AUTHORIZATION ----------------------------------------------------------------------------------------

    def _cmd_STLS(self, args: list[str]) -> bytes:
        if not self.tls:
            return _err("unknown command 'STLS'")
        if args:
            return _err("usage: STLS")
        if self.secure:
            return _err("Command not permitted when TLS active")
        self.starttls_pending = True
        return _ok("Begin TLS negotiation now")

    def _cmd_USER(self, args: list[str]) -> bytes:
        if not (self.plaintext_auth or self.secure):
            return _err("[AUTH] Plaintext authentication disallowed on non-secure connections")
        if len(args) != 1:
            return _err("usage: USER name")
        # Accept any name: telling unknown users apart here would let clients probe for accounts.
        self._pending_user = args[0]
        return _ok()

    def _cmd_PASS(self, args: list[str]) -> bytes:
        user, self._pending_user = self._pending_user, None
        if not (self.plaintext_auth or self.secure):
            return _err("[AUTH] Plaintext authentication disallowed on non-secure connections")
        if user is None:
            return _err("send USER first")
        # The password is the rest of the line, spaces included (RFC 1939 §7 allows them).
        password = " ".join(args)
        if not self.store.authenticate(user, password):
            return _err("[AUTH] invalid user name or password")
        if not self.store.lock(user):
            return _err("[IN-USE] maildrop already locked")
        self.user, self.state = user, "TRANSACTION"
        self._snapshot = list(self.store.mailbox(user).entries)
        size = sum(e.size for e in self._snapshot)
        return _ok(f"maildrop has {_plural(len(self._snapshot))} ({size} octets)")

    def _cmd_CAPA(self, args: list[str]) -> bytes:
        capabilities = [c for c in _CAPABILITIES if c != "USER" or self.plaintext_auth or self.secure]
        if self.tls and not self.secure:
            capabilities.append("STLS")
        return _ok("Capability list follows") + "".join(f"{c}\r\n" for c in capabilities).encode() + b".\r\n"

    def _cmd_QUIT(self, args: list[str]) -> bytes:
        self.closed = True
        if self.state == "AUTHORIZATION":
            return _ok(f"{self.hostname} POP3 server signing off")
        self.state = "UPDATE"
        uids = [self._snapshot[n - 1].uid for n in sorted(self._deleted)]
        removed = self.store.mailbox(self.user or "").remove(uids)
        self._release()
        if len(removed) != len(uids):  # another session (IMAP) expunged some of them first
            return _err(f"some deleted messages not removed ({len(removed)} of {len(uids)})")
        return _ok(f"{self.hostname} POP3 server signing off ({_plural(len(removed))} deleted)")

    # --- TRANSACTION ------------------------------------------------------------------------------------------

    def _message(self, arg: str) -> StoredEntry | bytes:
        """The live message numbered *arg*, or the ``-ERR`` response that explains why there is none."""
        if not arg.isdigit():
            return _err(f"invalid message number {arg[:20]!r}")
        number = int(arg)
        if not 1 <= number <= len(self._snapshot):
            return _err(f"no such message, only {_plural(len(self._snapshot))} in maildrop")
        if number in self._deleted:
            return _err(f"message {number} already deleted")
        return self._snapshot[number - 1]

    def _live(self) -> list[tuple[int, StoredEntry]]:
        return [(n, e) for n, e in enumerate(self._snapshot, 1) if n not in self._deleted]

    def _cmd_STAT(self, args: list[str]) -> bytes:
        live = self._live()
        return _ok(f"{len(live)} {sum(e.size for _, e in live)}")

    def _listing(self, args: list[str], value: Callable[[StoredEntry], str], what: str) -> bytes:
        if len(args) > 1:
            return _err(f"usage: {what} [msg]")
        if args:
            found = self._message(args[0])
            return found if isinstance(found, bytes) else _ok(f"{int(args[0])} {value(found)}")
        live = self._live()
        lines = "".join(f"{n} {value(e)}\r\n" for n, e in live)
        return _ok(f"{_plural(len(live))}") + lines.encode() + b".\r\n"

    def _cmd_LIST(self, args: list[str]) -> bytes:
        return self._listing(args, lambda e: str(e.size), "LIST")

    def _cmd_UIDL(self, args: list[str]) -> bytes:
        # UIDVALIDITY.UID is unique and stable for the mailbox's life, as RFC 1939 §7 asks of a unique-id.
        box = self.store.mailbox(self.user or "")
        return self._listing(args, lambda e: f"{box.uidvalidity}.{e.uid}", "UIDL")

    def _cmd_RETR(self, args: list[str]) -> bytes:
        if len(args) != 1:
            return _err("usage: RETR msg")
        found = self._message(args[0])
        if isinstance(found, bytes):
            return found
        return _ok(f"{found.size} octets") + dot_stuff(found.raw)

    def _cmd_TOP(self, args: list[str]) -> bytes:
        if len(args) != 2 or not args[1].isdigit():
            return _err("usage: TOP msg lines")
        found = self._message(args[0])
        if isinstance(found, bytes):
            return found
        head, rest = header_section(found.raw)
        # *rest* is the blank separator line and then the body; a final CRLF ends the last line, adds none
        body = rest[2:] if rest.startswith(b"\r\n") else b""
        lines = body.split(b"\r\n")
        if lines[-1] == b"":
            lines.pop()
        top = head + b"\r\n" + b"".join(line + b"\r\n" for line in lines[: int(args[1])])
        return _ok() + dot_stuff(top)

    def _cmd_DELE(self, args: list[str]) -> bytes:
        if len(args) != 1:
            return _err("usage: DELE msg")
        found = self._message(args[0])
        if isinstance(found, bytes):
            return found
        self._deleted.add(int(args[0]))
        return _ok(f"message {int(args[0])} deleted")

    def _cmd_RSET(self, args: list[str]) -> bytes:
        self._deleted.clear()
        return _ok(f"maildrop has {_plural(len(self._snapshot))}")

    def _cmd_NOOP(self, args: list[str]) -> bytes:
        return _ok()

    def _release(self) -> None:
        if self.user is not None and self.state in ("TRANSACTION", "UPDATE"):
            self.store.unlock(self.user)
            self.state = "UPDATE" if self.state == "UPDATE" else "AUTHORIZATION"


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    """A message a client retrieved: its server-side unique id and raw bytes (CRLF)."""

    uid: str
    raw: bytes


@dataclass(slots=True)
class _Step:
    command: bytes
    multiline: bool
    on_done: Callable[[bool, str, list[bytes]], None]
    lines: list[bytes] = field(default_factory=list)
    status: tuple[bool, str] | None = None


class Pop3Client:
    """A fetching mail program's POP3 session: log in, list UIDs, retrieve the new ones, optionally delete them.

    Feed it every line the server sends (the greeting first); send what :meth:`feed_line` returns. When
    :attr:`done` is true the server has answered QUIT and :attr:`messages` holds what it retrieved.

    Parameters
    ----------
    user, password
        Login (USER/PASS).
    delete
        Delete each retrieved message (DELE, applied at QUIT); otherwise leave it on the server.
    seen
        Unique ids already retrieved in earlier sessions; they are not fetched again (leave-on-server mode).

    Examples
    --------
    >>> client = Pop3Client("bob", "pw")
    >>> client.feed_line(b"+OK ready\\r\\n")
    b'USER bob\\r\\n'
    """

    def __init__(self, user: str, password: str, *, delete: bool = False, seen: frozenset[str] = frozenset()) -> None:
        self.user = user
        self.password = password
        self.delete = delete
        self.seen = seen
        # fetched and not yet taken: a FetchClient takes them as they come (so a long session holds none)
        self.messages: list[FetchedMessage] = []
        self.done = False
        self.error: str | None = None
        self.commands = 0
        self._greeted = False
        self._queue: list[_Step] = []
        self._current: _Step | None = None

    def __repr__(self) -> str:
        return f"<Pop3Client {self.user!r} {len(self.messages)} fetched, not taken, done={self.done}>"

    def feed_line(self, line: bytes) -> bytes:
        """Consume one server line; return the next command to send (``b""`` while a response continues)."""
        if self.done:
            raise ProtocolError(f"POP3 line after the session ended: {line[:40]!r}")
        if not self._greeted:
            self._greeted = True
            if not line.startswith(b"+OK"):
                self._abort(line.decode("utf-8", "replace").strip())
            else:
                self._push(b"USER " + self.user.encode(), False, self._after_user)
                self._push(b"PASS " + self.password.encode(), False, self._after_pass)
            return self._next()
        step = self._current
        if step is None:
            raise ProtocolError(f"unexpected POP3 line {line[:40]!r}")
        text = line.rstrip(b"\r\n")
        if step.status is None:
            step.status = (text.startswith(b"+OK"), text.decode("utf-8", "replace"))
            if step.multiline and step.status[0]:
                return b""
        elif text != b".":
            step.lines.append(text + b"\r\n")
            return b""
        # the response is complete: let the step decide what follows, then send the next command
        step.on_done(step.status[0], step.status[1], step.lines)
        if step.command.startswith(b"QUIT"):
            self.done = True
        return self._next()

    def _push(self, command: bytes, multiline: bool, on_done: Callable[[bool, str, list[bytes]], None]) -> None:
        self._queue.append(_Step(command + b"\r\n", multiline, on_done))

    def _next(self) -> bytes:
        self._current = self._queue.pop(0) if self._queue else None
        if self._current is None:
            return b""
        self.commands += 1
        return self._current.command

    def _abort(self, text: str) -> None:
        """Record the failure and say goodbye: nothing queued is sent any more."""
        self.error = text
        self._queue.clear()
        self._push(b"QUIT", False, _ignore)

    def _after_user(self, ok: bool, text: str, lines: list[bytes]) -> None:
        if not ok:
            self._abort(text)

    def _after_pass(self, ok: bool, text: str, lines: list[bytes]) -> None:
        if not ok:
            self._abort(text)
        else:
            self._push(b"UIDL", True, self._after_uidl)

    def _after_uidl(self, ok: bool, text: str, lines: list[bytes]) -> None:
        for line in lines if ok else []:
            number, _, uid = line.decode("utf-8", "replace").strip().partition(" ")
            if uid not in self.seen:
                self._push(f"RETR {number}".encode(), True, self._retrieved(uid))
                if self.delete:
                    self._push(f"DELE {number}".encode(), False, _ignore)
        self._push(b"QUIT", False, _ignore)

    def _retrieved(self, uid: str) -> Callable[[bool, str, list[bytes]], None]:
        def keep(ok: bool, text: str, lines: list[bytes]) -> None:
            if ok:
                self.messages.append(FetchedMessage(uid, dot_unstuff(lines)))

        return keep


def _ignore(ok: bool, text: str, lines: list[bytes]) -> None:
    """The response needs no action (DELE, QUIT): the session goes on either way."""
