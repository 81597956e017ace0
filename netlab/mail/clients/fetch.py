"""The recipient's mail program: fetches the user's mail from the inbox server with POP3 or IMAP, over the network.

One :class:`FetchClient` per user with a ``fetch`` entry runs on the user's ``client`` host and talks to the
inbox server of the user's domain (its mx). Each session is a real connection driven by a sans-IO client
(:class:`~netlab.mail.pop3.Pop3Client`, :class:`~netlab.mail.imap.ImapClient`):

* **POP3 polling** (port 110): every ``interval`` s (from the start of one poll to the next) log in, ``UIDL``,
  ``RETR`` what it has not retrieved before, ``DELE`` it with ``delete: true``, ``QUIT``. Left on the server,
  messages are recognised by their unique id on the next poll, as fetchmail's ``keep`` mode does.
* **IMAP polling** (port 143): log in, ``SELECT INBOX``, ``UID SEARCH UNSEEN``, ``UID FETCH ... (UID BODY[])``
  (which sets ``\\Seen``), with ``delete: true`` ``\\Deleted`` + ``EXPUNGE``, ``LOGOUT``.
* **IMAP IDLE**: the same round, then wait in ``IDLE`` until the server pushes ``* N EXISTS``; leave IDLE with
  ``DONE`` and fetch at once. Every 29 min without news it logs out and back in, before the server's 30 min
  autologout (RFC 2177 §3). A session that fails is retried after ``interval``.

The first poll starts at a random offset in [0, interval) from the ``mail/fetch/<user>`` stream, so clients do not
all poll in step. A message counts as retrieved (``retrieved_s``) when its last byte has reached the program. The
mail waiting in the user's mailbox holds the run until it is retrieved, unless the program has failed to reach its
server for ``mail.submit_give_up`` (1 h by default).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from netlab.mail.config.users import FetchMode, FetchProtocol
from netlab.mail.errors import ProtocolError
from netlab.mail.imap import ImapClient
from netlab.mail.mailbox.inbox import IMAP_PORT, POP3_PORT
from netlab.mail.mailbox.store import account
from netlab.mail.pop3 import FetchedMessage, Pop3Client
from netlab.mail.tracker import FetchRecord
from netlab.transport import ReceiveTimeout, TransportError

if TYPE_CHECKING:
    from netlab.mail.config.users import UserSpec
    from netlab.mail.context import MailContext

__all__ = ["IDLE_REFRESH_S", "FetchClient"]

#: Messages a FetchClient keeps in ``fetched`` for inspection (the newest ones). Ten, not a hundred: each holds its
#: whole message, and a day of mail's 120 fetching users held up to 12,000 of them (about 24 KB each: 290 MB).
FETCHED_KEPT = 10
IDLE_REFRESH_S = 29 * 60.0  # re-enter IDLE before the server's 30-minute autologout (RFC 2177 §3)
_COMMAND_TIMEOUT_S = 300.0  # give up on a server that does not answer a command


class FetchClient:
    """The mail program of *user* (a :class:`~netlab.mail.config.UserSpec` with ``fetch``), fetching from *server*.

    Parameters
    ----------
    ctx
        The run as the agent sees it.
    user
        The user, with its client host and its ``fetch`` settings.
    server
        The inbox server (the mx host) that holds the user's mailbox.
    give_up_s
        A server out of reach for this long no longer holds the run (``mail.submit_give_up``).
    connect_timeout_s
        Wait for a connection (``mail.queue.connect_timeout``).

    Attributes
    ----------
    fetched
        ``(time_s, FetchedMessage)`` for the last :data:`FETCHED_KEPT` messages retrieved, in order (a re-fetch
        after a lost session appears twice): what the user's mail program holds, to look at. Older ones are
        forgotten, so a long run's memory does not grow with every message downloaded; ``retrieved`` counts
        them all, and the tracker keeps each (message, recipient)'s retrieval time.
    retrieved
        How many messages this client has retrieved in all.
    """

    def __init__(self, ctx: MailContext, user: UserSpec, *, server: str, give_up_s: float,
                 connect_timeout_s: float) -> None:  # fmt: skip
        assert user.fetch is not None and user.client is not None
        self.ctx = ctx
        self.env = ctx.env
        self.spec = user.fetch
        self.host = user.client
        self.user = account(user.address)
        self.password = user.password
        self.server = server
        self.give_up_s = give_up_s
        self.connect_timeout_s = connect_timeout_s
        self.protocol = FetchProtocol(self.spec.protocol)
        self.mode = self.spec.mode
        self.fetched: deque[tuple[float, FetchedMessage]] = deque(maxlen=FETCHED_KEPT)
        self.retrieved = 0
        self._known: set[str] = set()  # unique ids retrieved and left on the server (POP3 keep mode)
        self._rng = ctx.stream("fetch", self.user)

    def __repr__(self) -> str:
        return f"<FetchClient {self.user} {self.protocol} {self.mode} on {self.host}: {self.retrieved} fetched>"

    def start(self) -> None:
        """Start polling (or idling) at a random offset within the first interval."""
        self.env.process(self._run())

    def _run(self) -> Generator[simpy.Event, Any, None]:
        interval = self.spec.interval_s
        yield self.env.timeout(self._rng.uniform(0.0, interval))
        failing_since: float | None = None
        while True:
            start = self.env.now
            rec = yield from self._session()
            failing_since = (failing_since if failing_since is not None else start) if rec.error else None
            if failing_since is not None and self.env.now - failing_since >= self.give_up_s:
                # A server out of reach for that long must not keep a run without `until` going for ever.
                self.ctx.tracker.stop_waiting(self.server, self.user)
            if self.mode is FetchMode.IDLE and not rec.error:
                continue  # a refresh: log straight back in
            # a poll (or a failed IDLE session): the next one an interval after this one started
            wait = interval if self.mode is FetchMode.IDLE else max(0.0, start + interval - self.env.now)
            yield self.env.timeout(wait)

    def _client(self) -> Pop3Client | ImapClient:
        if self.protocol is FetchProtocol.POP3:
            return Pop3Client(self.user, self.password, delete=self.spec.delete, seen=frozenset(self._known))
        return ImapClient(self.user, self.password, idle=self.spec.idle, delete=self.spec.delete)

    def _session(self) -> Generator[simpy.Event, Any, FetchRecord]:
        """One POP3 or IMAP session, recorded in the tracker's fetch sessions."""
        ctx, env = self.ctx, self.env
        rec = FetchRecord(self.host, self.server, self.user, self.protocol, self.mode, env.now)
        ctx.tracker.fetches.append(rec)
        address = (ctx.ip_of(self.server), POP3_PORT if self.protocol is FetchProtocol.POP3 else IMAP_PORT)
        try:
            conn = yield from ctx.connect(self.host, address, self.connect_timeout_s)
        except TransportError as exc:
            rec.end_s, rec.error = env.now, str(exc) or type(exc).__name__
            return rec
        client = self._client()
        # Read whatever the connection has and split it here: one SimPy event per segment's worth of bytes, not
        # one per line (a 100 KB RETR is ~1,400 lines).
        buf, pos = bytearray(), 0
        try:
            while not client.done:
                literal = client.literal_needed if isinstance(client, ImapClient) else 0
                end = pos + literal if literal else buf.find(b"\n", pos) + 1
                if (literal and end <= len(buf)) or (not literal and end > 0):
                    chunk, pos = bytes(buf[pos:end]), end
                    if literal and isinstance(client, ImapClient):
                        out = client.feed_literal(chunk)
                    else:
                        out = client.feed_line(chunk)
                    self._collect(client, rec)
                    if out:
                        conn.send(out)
                    continue
                del buf[:pos]
                pos = 0
                idling = isinstance(client, ImapClient) and client.idling
                try:
                    data = yield conn.recv(1 << 16, timeout=IDLE_REFRESH_S if idling else _COMMAND_TIMEOUT_S)
                except ReceiveTimeout:
                    if not (idling and isinstance(client, ImapClient)):
                        raise
                    conn.send(client.stop())  # DONE, then LOGOUT: a fresh session follows at once
                    continue
                if not data:
                    rec.error = "connection closed by the server"
                    break
                buf += data
        except (TransportError, ProtocolError) as exc:
            rec.error = str(exc) or type(exc).__name__
        if client.error and not rec.error:
            rec.error = client.error
        rec.end_s, rec.commands = env.now, client.commands
        rec.bytes_sent, rec.bytes_received = conn.app_bytes_sent, conn.bytes_delivered
        if rec.error:
            conn.abort()
        else:
            conn.close()
        return rec

    def _collect(self, client: Pop3Client | ImapClient, rec: FetchRecord) -> None:
        """Report the messages *client* completed since the last call as retrieved now."""
        # Taken from the session, not copied: an IDLE session lasts up to 29 minutes and would hold every message
        # it fetched till then (some 2,000 messages at once across a busy day's 60 IDLE users).
        new, client.messages = client.messages, []
        for m in new:
            self.fetched.append((self.env.now, m))
            self.retrieved += 1
            if not self.spec.delete:
                self._known.add(m.uid)
            self.ctx.tracker.retrieved((self.server, self.user, m.uid), self.env.now)
        rec.messages += len(new)
        rec.commands = client.commands  # kept current: an IDLE session may still be open when the run ends
