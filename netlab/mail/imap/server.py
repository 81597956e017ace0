"""The IMAP4rev1 server session (RFC 3501), sans-IO, with the extensions mail programs rely on.

States: not authenticated -> (LOGIN) authenticated -> (SELECT/EXAMINE) selected -> (LOGOUT) closed. The session
keeps its own view of the selected mailbox (sequence number -> UID) and brings it up to date with untagged
``EXISTS``/``EXPUNGE`` responses, so numbers only change when the client has been told. EXAMINE selects
read-only: nothing the client does there changes the mailbox, not even the implicit ``\\Seen`` of a
``BODY[]`` fetch. FETCH, SEARCH and STORE live in :mod:`netlab.mail.imap.fetch`, the mailbox commands (LIST,
CREATE, APPEND, COPY, MOVE ...) in :mod:`netlab.mail.imap.mailboxes`. Extensions: IDLE (RFC 2177), LITERAL+
(RFC 7888), UIDPLUS (RFC 4315), MOVE (RFC 6851), NAMESPACE (RFC 2342), ID (RFC 2971), ENABLE (RFC 5161),
UNSELECT (RFC 3691), SPECIAL-USE (RFC 6154), CHILDREN (RFC 3348).

>>> from netlab.mail.mailbox.store import MessageStore
>>> store = MessageStore({"bob": "pw"})
>>> _ = store.deliver("bob", b"Subject: hi\\r\\n\\r\\nhello\\r\\n", 5.0)
>>> imap = ImapServerSession(store)
>>> _ = imap.feed_line(b"a1 LOGIN bob pw\\r\\n")
>>> print(imap.feed_line(b"a2 SELECT INBOX\\r\\n").decode().replace("\\r\\n", "|"))  # doctest: +NORMALIZE_WHITESPACE
* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)|* 1 EXISTS|* 1 RECENT|* OK [UNSEEN 1] First unseen|\
* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted|\
* OK [UIDVALIDITY 1] UIDs valid|* OK [UIDNEXT 2] Predicted next UID|a2 OK [READ-WRITE] SELECT completed|
>>> imap.feed_line(b"a3 FETCH 1 (FLAGS RFC822.SIZE)\\r\\n")
b'* 1 FETCH (FLAGS (\\\\Recent) RFC822.SIZE 41)\\r\\na3 OK FETCH completed\\r\\n'
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

from netlab.mail.errors import ProtocolError
from netlab.mail.imap import mailboxes
from netlab.mail.imap.fetch import (
    PERMANENT_FLAGS,
    ImapNo,
    fetch_responses,
    mailbox_keywords,
    messages_in,
    search,
    store_flags,
)
from netlab.mail.imap.parse import ImapSyntaxError, LineAssembler, Token, tokenize
from netlab.mail.mailbox.store import Mailbox, MailboxNotFound, MessageStore

__all__ = ["CAPABILITIES", "ImapServerSession"]

CAPABILITIES = "IMAP4rev1 IDLE LITERAL+ UIDPLUS MOVE NAMESPACE ID ENABLE UNSELECT SPECIAL-USE CHILDREN"
_FLAGS = "(\\Answered \\Flagged \\Deleted \\Seen \\Draft)"
_MAX_LINE = 8192  # octets; RFC 7162 §4 recommends servers accept at least 8000
#: The largest literal before LOGIN (a user name or a password) and after (an APPEND of a message), in octets.
MAX_LITERAL_UNAUTHENTICATED = 8192
MAX_LITERAL = 50_000_000


class ImapServerSession:
    """One IMAP server session over *store*: feed it lines (and literals), send back what it returns.

    Parameters
    ----------
    store
        The message store; LOGIN checks its passwords, SELECT opens the user's mailboxes.
    hostname
        Named in the greeting.
    tls
        The transport under this session can start TLS: only then is ``STARTTLS`` advertised and taken.
    plaintext_auth
        False: before TLS is active the session advertises ``LOGINDISABLED`` and refuses LOGIN (RFC 3501 §6.2.3,
        ``[PRIVACYREQUIRED]``), so no password crosses in clear.
    clock
        The current time in simulated seconds: the internal date of an APPEND without one.

    Notes
    -----
    A line ending in ``{n}`` announces a literal: the caller reads exactly :attr:`literal_needed` octets and
    passes them to :meth:`feed_literal` (feeding them as lines works too). A synchronising literal gets a
    ``+`` continuation back; ``{n+}`` (LITERAL+) does not.

    STARTTLS (RFC 3501 §6.2.1) is the seam every server session of netlab shares with its transport: after the
    tagged ``OK`` the session's :attr:`starttls_pending` is True; the transport sends that reply, starts TLS on
    the connection and calls :meth:`tls_started` (the session feeds nothing in between).
    """

    def __init__(
        self,
        store: MessageStore,
        *,
        hostname: str = "netlab",
        tls: bool = False,
        plaintext_auth: bool = True,
        clock: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.hostname = hostname
        self.tls = tls
        self.plaintext_auth = plaintext_auth
        self.secure = False  # TLS active (after tls_started)
        self.starttls_pending = False
        self.state = "NOT_AUTHENTICATED"
        self.closed = False
        self.user: str | None = None
        self.mailbox: Mailbox | None = None
        self.readonly = False
        self.commands = 0
        self.uids: list[int] = []  # the client's view: sequence number n is uids[n - 1]
        self.recent: set[int] = set()
        self._idle_tag: str | None = None
        self._sasl_tag: str | None = None  # an AUTHENTICATE waiting for the client's response
        self._assembler = LineAssembler()

    def __repr__(self) -> str:
        box = self.mailbox.name if self.mailbox else None
        return f"<ImapServerSession {self.state} user={self.user!r} mailbox={box!r}>"

    @property
    def literal_needed(self) -> int:
        """Octets of an announced literal still to be read (0 when a line is expected)."""
        return self._assembler.literal_needed

    @property
    def idling(self) -> bool:
        """True while the client waits in IDLE (new mail is pushed by :meth:`notify_new`)."""
        return self._idle_tag is not None

    @property
    def capabilities(self) -> str:
        """What ``CAPABILITY`` lists now: STARTTLS while TLS can still start, LOGINDISABLED while LOGIN waits for it."""
        extra = ""
        if self.tls and not self.secure:
            extra += " STARTTLS"
        if not self.plaintext_auth and not self.secure:
            extra += " LOGINDISABLED"
        elif self.state == "NOT_AUTHENTICATED":
            extra += " AUTH=PLAIN SASL-IR"  # RFC 3501 §6.2.2, RFC 4959: offered where a password may cross
        return CAPABILITIES + extra

    def greeting(self) -> bytes:
        """The untagged OK the server sends first (with its capabilities, saving a round trip)."""
        return f"* OK [CAPABILITY {self.capabilities}] {self.hostname} IMAP4rev1 server ready\r\n".encode()

    def tls_started(self) -> None:
        """The transport finished the TLS handshake that STARTTLS announced: the session is now secure.

        The client must ask for capabilities again (RFC 3501 §6.2.1); STARTTLS and LOGINDISABLED are gone.
        """
        if not self.starttls_pending:
            raise ProtocolError("tls_started() without a STARTTLS the session accepted")
        self.starttls_pending, self.secure = False, True

    def feed_line(self, line: bytes) -> bytes:
        """Handle one line (CRLF included); return the response bytes (``b""`` while a command is incomplete)."""
        if self.closed:
            raise ProtocolError("IMAP session is closed")
        if self.starttls_pending:
            raise ProtocolError("IMAP input while the TLS handshake is due (call tls_started() first)")
        if self._sasl_tag is not None and not self.literal_needed:
            tag, self._sasl_tag = self._sasl_tag, None
            return f"{tag} {self._sasl_plain(line.strip().decode('ascii', 'replace'))}\r\n".encode()
        if self._idle_tag is not None and not self.literal_needed:
            tag, self._idle_tag = self._idle_tag, None
            if line.rstrip(b"\r\n").upper() == b"DONE":
                return f"{tag} OK IDLE terminated\r\n".encode()
            return f"{tag} BAD expected DONE\r\n".encode()
        if len(line) > _MAX_LINE and not self.literal_needed:
            # the tagged BAD ends the client's wait for this command (RFC 3501 §7.1); an untagged one would not
            first = self._assembler.first_piece() or line
            self._assembler = LineAssembler()
            return f"{_tag_of(first)} BAD line too long (more than {_MAX_LINE} octets)\r\n".encode()
        return self._pieces(self._assembler.feed_line(line), line)

    def feed_literal(self, data: bytes) -> bytes:
        """Handle octets of an announced literal; return the response once the command is complete."""
        return self._pieces(self._assembler.feed_literal(data), b"")

    def notify_new(self, count: int | None = None) -> bytes:
        """New mail arrived in the selected mailbox, which now holds *count* messages (None: ask the store).

        Returns the untagged ``* N EXISTS`` (and ``RECENT``) to push now when the session idles (RFC 2177);
        otherwise ``b""``, and the news goes out with the next command's response. A stale notice (no more
        messages than the client was told of) returns ``b""`` too.
        """
        if self.mailbox is None or self._idle_tag is None:
            return b""
        if count is not None and count <= len(self.uids):
            return b""
        return self.sync(expunge=True)

    def connection_lost(self) -> None:
        """The connection dropped: nothing is expunged (``\\Deleted`` flags stay for a later EXPUNGE)."""
        self.closed = True

    @property
    def literal_limit(self) -> int:
        """The largest literal this session takes now (octets): before LOGIN only what a user name or password
        needs, so an unauthenticated client cannot make the server buffer (RFC 7888 §4, RFC 9051 §7.1's TOOBIG)."""
        return MAX_LITERAL if self.user is not None else MAX_LITERAL_UNAUTHENTICATED

    def _pieces(self, pieces: list[bytes] | None, line: bytes) -> bytes:
        if pieces is None:
            # a synchronising literal waits for our go-ahead; LITERAL+ ({n+}) does not (RFC 7888)
            announced = line.rstrip(b"\r\n")
            synchronising = announced.endswith(b"}") and not announced.endswith(b"+}")
            needed, limit = self._assembler.literal_needed, self.literal_limit
            if needed > limit:
                # refused before one octet is buffered: the client of a synchronising literal sends nothing more
                # for this command; a LITERAL+ client is already sending, so the session ends (RFC 7888 §4)
                first = self._assembler.first_piece()
                self._assembler = LineAssembler()
                text = f"[TOOBIG] literal of {needed:,} octets, more than the {limit:,} taken " + (
                    "here" if self.user is not None else "before LOGIN"
                )
                if synchronising:
                    return f"{_tag_of(first)} NO {text}\r\n".encode()
                self.closed, self.state = True, "LOGOUT"
                return f"* BYE {text}\r\n".encode()
            return b"+ Ready for literal data\r\n" if synchronising else b""
        self.commands += 1
        try:
            tokens = tokenize(pieces)
        except ImapSyntaxError as exc:
            # answer with the command's tag where one can be read, so the client's wait for it ends (RFC 3501 §7.1)
            return f"{_tag_of(pieces[0])} BAD {exc}\r\n".encode()
        if not tokens or not isinstance(tokens[0], str) or len(tokens) < 2 or not isinstance(tokens[1], str):
            return f"{_tag_of(pieces[0])} BAD missing tag or command\r\n".encode()
        tag, name, args = tokens[0], tokens[1].upper(), tokens[2:]
        if name == "UID" and args and isinstance(args[0], str):
            name, args = f"UID {args[0].upper()}", args[1:]
        handler = _COMMANDS.get(name)
        if handler is None:
            return f"{tag} BAD unknown command\r\n".encode()
        states, method = handler
        if self.state not in states:
            return f"{tag} BAD {name} not allowed now (state {self.state})\r\n".encode()
        try:
            untagged, tagged = method(self, tag, args)
        except ImapNo as exc:  # a well-formed command the server cannot carry out (an unknown CHARSET)
            return f"{tag} NO {exc}\r\n".encode()
        except ImapSyntaxError as exc:
            return f"{tag} BAD {exc}\r\n".encode()
        # new mail is announced after any command; expunges only where the RFC lets numbers shift (§7.4.1)
        if self.mailbox is not None and tagged.startswith("OK") and name not in ("LOGOUT", "CLOSE", "IDLE"):
            untagged += self.sync(expunge=name not in ("FETCH", "STORE", "SEARCH"))
        if name in ("IDLE", "AUTHENTICATE") and tagged == "":
            return untagged
        return untagged + f"{tag} {tagged}\r\n".encode()

    def sync(self, *, expunge: bool) -> bytes:
        """Bring the client's view in line with the store: ``EXPUNGE`` for vanished UIDs, ``EXISTS`` for new."""
        assert self.mailbox is not None
        out = []
        live = [e.uid for e in self.mailbox.entries]
        if expunge:
            alive = set(live)
            for uid in [u for u in self.uids if u not in alive]:
                out.append(f"* {self.uids.index(uid) + 1} EXPUNGE\r\n")
                self.uids.remove(uid)
        top = self.uids[-1] if self.uids else 0
        new = [u for u in live if u > top]
        if new:
            self.uids.extend(new)
            out.append(f"* {len(self.uids)} EXISTS\r\n")
            if not self.readonly:
                self.recent.update(u for u in new if u > self.mailbox.recent_floor)
                self.mailbox.claim_recent()
            out.append(f"* {len(self.recent)} RECENT\r\n")
        return "".join(out).encode()

    # --- commands: each returns (untagged bytes, tagged status text) -----------------------------------------

    def _capability(self, tag: str, args: list[Token]) -> tuple[bytes, str]:
        return f"* CAPABILITY {self.capabilities}\r\n".encode(), "OK CAPABILITY completed"

    def _starttls(self, tag: str, args: list[Token]) -> tuple[bytes, str]:
        if args:
            raise ImapSyntaxError("STARTTLS takes no arguments")
        if not self.tls or self.secure:
            return b"", "BAD STARTTLS not available" + (" (TLS is already active)" if self.secure else "")
        self.starttls_pending = True
        return b"", "OK Begin TLS negotiation now"

    def _noop(self, tag: str, args: list[Token]) -> tuple[bytes, str]:
        return b"", "OK NOOP completed"

    def _logout(self, tag: str, args: list[Token]) -> tuple[bytes, str]:
        self.closed, self.state = True, "LOGOUT"
        return f"* BYE {self.hostname} IMAP4rev1 server logging out\r\n".encode(), "OK LOGOUT completed"

    def _login(self, tag: str, args: list[Token]) -> tuple[bytes, str]:
        if len(args) != 2:
            raise ImapSyntaxError("usage: LOGIN user password")
        user, password = _astring(args[0]), _astring(args[1])
        if not self.plaintext_auth and not self.secure:
            return b"", "NO [PRIVACYREQUIRED] LOGIN is disabled until STARTTLS"
        if not self.store.authenticate(user, password):
            return b"", "NO [AUTHENTICATIONFAILED] Authentication failed"
        self.user, self.state = user, "AUTHENTICATED"
        return b"", "OK [CAPABILITY " + self.capabilities + "] LOGIN completed"

    def _authenticate(self, tag: str, args: list[Token]) -> tuple[bytes, str]:
        """AUTHENTICATE PLAIN (RFC 3501 §6.2.2, RFC 4616), with an initial response (SASL-IR, RFC 4959) or after
        a ``+`` continuation."""
        if not args or len(args) > 2:
            raise ImapSyntaxError("usage: AUTHENTICATE mechanism [initial-response]")
        if _astring(args[0]).upper() != "PLAIN":
            return b"", "NO [CANNOT] unsupported authentication mechanism (PLAIN is offered)"
        if not self.plaintext_auth and not self.secure:
            return b"", "NO [PRIVACYREQUIRED] AUTHENTICATE is disabled until STARTTLS"
        if len(args) == 2:
            return b"", self._sasl_plain(_astring(args[1]))
        self._sasl_tag = tag
        return b"+ \r\n", ""

    def _sasl_plain(self, response: str) -> str:
        """The tagged status for a PLAIN response: ``authzid NUL authcid NUL password`` in base64."""
        if response == "*":
            return "BAD AUTHENTICATE cancelled"
        try:
            parts = base64.b64decode(response if response != "=" else "", validate=True).decode("utf-8").split("\0")
        except (binascii.Error, UnicodeError, ValueError):
            return "BAD invalid base64 in the SASL response"
        # acting for another identity is not supported: an authzid must be the user itself (RFC 4616 §2)
        if len(parts) != 3 or (parts[0] and parts[0] != parts[1]) or not self.store.authenticate(parts[1], parts[2]):
            return "NO [AUTHENTICATIONFAILED] Authentication failed"
        self.user, self.state = parts[1], "AUTHENTICATED"
        return "OK [CAPABILITY " + self.capabilities + "] AUTHENTICATE completed"

    def _select(self, tag: str, args: list[Token], *, readonly: bool = False) -> tuple[bytes, str]:
        name = "SELECT" if not readonly else "EXAMINE"
        if len(args) != 1 or isinstance(args[0], list):
            raise ImapSyntaxError(f"usage: {name} mailbox")
        mailbox = _astring(args[0])
        self.mailbox, self.state, self.uids, self.recent = None, "AUTHENTICATED", [], set()
        try:
            box = self.store.mailbox(self.user or "", mailbox)
        except MailboxNotFound:
            return b"", f"NO [NONEXISTENT] no mailbox {mailbox!r}"
        self.mailbox, self.readonly, self.state = box, readonly, "SELECTED"
        self.uids = [e.uid for e in box.entries]
        if not readonly:
            self.recent = {u for u in self.uids if u > box.recent_floor}
            box.claim_recent()
        flags = " ".join([_FLAGS[:-1], *mailbox_keywords(box)]) + ")"  # the system flags, then keywords in use
        lines = [f"* FLAGS {flags}", f"* {len(self.uids)} EXISTS", f"* {len(self.recent)} RECENT"]
        unseen = next((n for n, e in enumerate(box.entries, 1) if "\\Seen" not in e.flags), None)
        if unseen is not None:
            lines.append(f"* OK [UNSEEN {unseen}] First unseen")
        lines.append("* OK [PERMANENTFLAGS ()] Read-only mailbox" if readonly else
                     f"* OK [PERMANENTFLAGS {PERMANENT_FLAGS}] Flags permitted")  # fmt: skip
        lines += [
            f"* OK [UIDVALIDITY {box.uidvalidity}] UIDs valid",
            f"* OK [UIDNEXT {box.uidnext}] Predicted next UID",
        ]
        mode = "READ-ONLY" if readonly else "READ-WRITE"
        return "".join(f"{line}\r\n" for line in lines).encode(), f"OK [{mode}] {name} completed"

    def _examine(self, tag: str, args: list[Token]) -> tuple[bytes, str]:
        return self._select(tag, args, readonly=True)

    def _close(self, tag: str, args: list[Token]) -> tuple[bytes, str]:
        if not self.readonly:  # CLOSE expunges silently, but never in a mailbox opened with EXAMINE
            assert self.mailbox is not None
            self.mailbox.remove(e.uid for e in self.mailbox.entries if "\\Deleted" in e.flags)
        self.mailbox, self.state, self.uids, self.recent = None, "AUTHENTICATED", [], set()
        return b"", "OK CLOSE completed"

    def _expunge(self, tag: str, args: list[Token]) -> tuple[bytes, str]:
        if self.readonly:
            return b"", "NO [READ-ONLY] mailbox was opened with EXAMINE"
        assert self.mailbox is not None
        self.mailbox.remove(e.uid for e in self.mailbox.entries if "\\Deleted" in e.flags)
        return self.sync(expunge=True), "OK EXPUNGE completed"

    def _idle(self, tag: str, args: list[Token]) -> tuple[bytes, str]:
        self._idle_tag = tag
        pending = self.sync(expunge=True) if self.mailbox is not None else b""
        return pending + b"+ idling\r\n", ""

    def _fetch(self, tag: str, args: list[Token], *, by_uid: bool = False) -> tuple[bytes, str]:
        return fetch_responses(self, args, by_uid=by_uid), f"OK {'UID ' if by_uid else ''}FETCH completed"

    def _search(self, tag: str, args: list[Token], *, by_uid: bool = False) -> tuple[bytes, str]:
        found = search(self, args, by_uid=by_uid)
        return f"* SEARCH{''.join(f' {n}' for n in found)}\r\n".encode(), "OK SEARCH completed"

    def _store(self, tag: str, args: list[Token], *, by_uid: bool = False) -> tuple[bytes, str]:
        if self.readonly:
            return b"", "NO [READ-ONLY] mailbox was opened with EXAMINE"
        return store_flags(self, args, by_uid=by_uid), "OK STORE completed"

    def _unselect(self, tag: str, args: list[Token]) -> tuple[bytes, str]:
        """UNSELECT (RFC 3691): CLOSE without the expunge."""
        self.mailbox, self.state, self.uids, self.recent = None, "AUTHENTICATED", [], set()
        return b"", "OK UNSELECT completed"

    def _uid_expunge(self, tag: str, args: list[Token]) -> tuple[bytes, str]:
        """UID EXPUNGE (RFC 4315 §2.1): expunge only the \\Deleted messages among the given UIDs."""
        if len(args) != 1:
            raise ImapSyntaxError("usage: UID EXPUNGE uid-set")
        if self.readonly:
            return b"", "NO [READ-ONLY] mailbox was opened with EXAMINE"
        assert self.mailbox is not None
        self.mailbox.remove(e.uid for _n, e in messages_in(self, args[0], True) if "\\Deleted" in e.flags)
        return self.sync(expunge=True), "OK UID EXPUNGE completed"

    def _namespace(self, tag: str, args: list[Token]) -> tuple[bytes, str]:
        """NAMESPACE (RFC 2342): one personal namespace, no prefix; no other users' or shared ones."""
        return f'* NAMESPACE (("" "{mailboxes.DELIMITER}")) NIL NIL\r\n'.encode(), "OK NAMESPACE completed"

    def _id(self, tag: str, args: list[Token]) -> tuple[bytes, str]:
        """ID (RFC 2971): the client's identification is taken and ours given."""
        if len(args) != 1 or not (isinstance(args[0], list) or str(args[0]).upper() == "NIL"):
            raise ImapSyntaxError("usage: ID (field value ...) or ID NIL")
        return b'* ID ("name" "netlab" "vendor" "netlab")\r\n', "OK ID completed"

    def _enable(self, tag: str, args: list[Token]) -> tuple[bytes, str]:
        """ENABLE (RFC 5161): none of the extensions that need enabling is offered, so none is enabled."""
        if not args:
            raise ImapSyntaxError("usage: ENABLE capability ...")
        return b"* ENABLED\r\n", "OK ENABLE completed"

    def _uid_fetch(self, tag: str, args: list[Token]) -> tuple[bytes, str]:
        return self._fetch(tag, args, by_uid=True)

    def _uid_search(self, tag: str, args: list[Token]) -> tuple[bytes, str]:
        return self._search(tag, args, by_uid=True)

    def _uid_store(self, tag: str, args: list[Token]) -> tuple[bytes, str]:
        return self._store(tag, args, by_uid=True)


def _astring(token: Token) -> str:
    """An atom, quoted string or literal as text (RFC 3501 ``astring``)."""
    if isinstance(token, list):
        raise ImapSyntaxError("expected a string, got a list")
    return token.decode("utf-8", "replace") if isinstance(token, bytes) else token


_ANY = ("NOT_AUTHENTICATED", "AUTHENTICATED", "SELECTED")
_AUTH = ("AUTHENTICATED", "SELECTED")
_Handler = Callable[[ImapServerSession, str, list[Token]], tuple[bytes, str]]
_COMMANDS: dict[str, tuple[tuple[str, ...], _Handler]] = {
    "CAPABILITY": (_ANY, ImapServerSession._capability),
    "NOOP": (_ANY, ImapServerSession._noop),
    "LOGOUT": (_ANY, ImapServerSession._logout),
    "LOGIN": (("NOT_AUTHENTICATED",), ImapServerSession._login),
    "AUTHENTICATE": (("NOT_AUTHENTICATED",), ImapServerSession._authenticate),
    "STARTTLS": (("NOT_AUTHENTICATED",), ImapServerSession._starttls),
    "SELECT": (_AUTH, ImapServerSession._select),
    "EXAMINE": (_AUTH, ImapServerSession._examine),
    "IDLE": (_AUTH, ImapServerSession._idle),
    "CHECK": (("SELECTED",), ImapServerSession._noop),
    "CLOSE": (("SELECTED",), ImapServerSession._close),
    "EXPUNGE": (("SELECTED",), ImapServerSession._expunge),
    "FETCH": (("SELECTED",), ImapServerSession._fetch),
    "SEARCH": (("SELECTED",), ImapServerSession._search),
    "STORE": (("SELECTED",), ImapServerSession._store),
    "UID FETCH": (("SELECTED",), ImapServerSession._uid_fetch),
    "UID SEARCH": (("SELECTED",), ImapServerSession._uid_search),
    "UID STORE": (("SELECTED",), ImapServerSession._uid_store),
    "UID EXPUNGE": (("SELECTED",), ImapServerSession._uid_expunge),
    "UNSELECT": (("SELECTED",), ImapServerSession._unselect),
    "NAMESPACE": (_AUTH, ImapServerSession._namespace),
    "ID": (_ANY, ImapServerSession._id),
    "ENABLE": (_AUTH, ImapServerSession._enable),
    "LIST": (_AUTH, mailboxes.list_mailboxes),
    "LSUB": (_AUTH, lambda s, t, a: mailboxes.list_mailboxes(s, t, a, lsub=True)),
    "CREATE": (_AUTH, mailboxes.create),
    "DELETE": (_AUTH, mailboxes.delete),
    "RENAME": (_AUTH, mailboxes.rename),
    "SUBSCRIBE": (_AUTH, mailboxes.subscribe),
    "UNSUBSCRIBE": (_AUTH, lambda s, t, a: mailboxes.subscribe(s, t, a, on=False)),
    "STATUS": (_AUTH, mailboxes.status),
    "APPEND": (_AUTH, mailboxes.append),
    "COPY": (("SELECTED",), lambda s, t, a: mailboxes.copy(s, t, a, by_uid=False, move=False)),
    "UID COPY": (("SELECTED",), lambda s, t, a: mailboxes.copy(s, t, a, by_uid=True, move=False)),
    "MOVE": (("SELECTED",), lambda s, t, a: mailboxes.copy(s, t, a, by_uid=False, move=True)),
    "UID MOVE": (("SELECTED",), lambda s, t, a: mailboxes.copy(s, t, a, by_uid=True, move=True)),
}


_TAG = re.compile(rb"[^\x00-\x20\x7f(){%*\"\\+\]]+")


def _tag_of(first: bytes) -> str:
    """The tag that starts a command line (RFC 3501 §9: astring characters but ``+``), or ``*`` if there is none."""
    match = _TAG.match(first)
    return match[0].decode("ascii", "replace") if match and first[match.end() : match.end() + 1] in (b" ", b"") else "*"
