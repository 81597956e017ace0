"""The live POP3 and IMAP ports: the inbox state machines over every mx's message store, on loopback sockets.

A scenario has one :class:`~netlab.mail.mailbox.store.MessageStore` per mx (each holds the mailboxes of its domains'
users), but a live client connects to one port and logs in with its address. :class:`MailDirectory` is the store
the sessions see: it routes each call to the store that holds the user's mailbox, so the unchanged
:class:`~netlab.mail.pop3.Pop3ServerSession` and :class:`~netlab.mail.imap.ImapServerSession` serve them all,
with the simulation's own maildrop locks (a live POP3 session and a simulated one never hold a maildrop at once).

:class:`InboxPorts` runs the sessions on asyncio streams. The stores belong to the simulation thread, so every
line is fed to its session under the bridge's lock (the simulation steps under the same lock). Messages a live
client deletes (POP3 DELE + QUIT, IMAP EXPUNGE) or marks ``\\Seen`` are reported to the mail tracker as retrieved,
so the run's mail conservation check still finds every delivered message in a mailbox or in a reader's hands.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, cast

from netlab.live.tls import upgrade
from netlab.mail.imap import ImapServerSession
from netlab.mail.mailbox.store import Mailbox, MailboxNotFound, MessageStore, StoredEntry, account
from netlab.mail.pop3 import Pop3ServerSession

if TYPE_CHECKING:
    from netlab.mail.system import MailSystem

__all__ = ["InboxPorts", "MailDirectory"]

IDLE_TIMEOUT_S = 1800.0
"""Wall seconds a live POP3/IMAP connection may stay silent (RFC 3501 §5.4's 30 minutes; POP3 gets the same)."""

Session = Pop3ServerSession | ImapServerSession


class MailDirectory:
    """The message stores of every mx as one store, keyed by the user's address (see the module docstring).

    Parameters
    ----------
    stores
        ``(host, store)`` pairs: the mx hosts and their message stores.
    epoch
        Wall-clock date of simulated time 0 (the same for every store of a run), for IMAP INTERNALDATE.
    """

    def __init__(self, stores: Iterable[tuple[str, MessageStore]], epoch: datetime) -> None:
        self.epoch = epoch
        self._where: dict[str, tuple[str, MessageStore]] = {}
        self._stores = list(stores)  # for the names that need a store's own folding (route)
        for host, store in self._stores:
            for user in store.users:
                self._where.setdefault(user, (host, store))

    @classmethod
    def of(cls, system: MailSystem) -> MailDirectory:
        """The directory over the stores of *system*'s mx servers."""
        return cls(system.stores.items(), system.epoch)

    def __repr__(self) -> str:
        return f"<MailDirectory {len(self._where)} users>"

    @property
    def users(self) -> list[str]:
        """Every user with a mailbox."""
        return list(self._where)

    def route(self, user: str) -> tuple[str, MessageStore, str] | None:
        """``(mx host, store, account)`` of *user* (an address in any case the stores fold, as the simulated
        logins do: ``BOB@B.TEST`` is ``bob@b.test`` unless ``mail.fold_local_parts`` is false), or None."""
        key = account(user)
        found = self._where.get(key)
        if found is not None:
            return found[0], found[1], key
        for host, store in self._stores:
            name = store.account_of(user)
            if name is not None:
                return host, store, name
        return None

    # -- the part of the MessageStore interface the POP3 and IMAP sessions use ---------------------------------
    def authenticate(self, user: str, password: str) -> bool:
        """True if *user* has a mailbox here and *password* is theirs."""
        r = self.route(user)
        return r is not None and r[1].authenticate(r[2], password)

    def has_user(self, user: str) -> bool:
        """True if *user* has a mailbox here."""
        return self.route(user) is not None

    def lock(self, user: str) -> bool:
        """Take *user*'s maildrop lock in their store (shared with the simulated POP3 sessions)."""
        r = self.route(user)
        return r is not None and r[1].lock(r[2])

    def unlock(self, user: str) -> None:
        """Release *user*'s maildrop lock."""
        r = self.route(user)
        if r is not None:
            r[1].unlock(r[2])

    def mailbox(self, user: str, name: str = "INBOX") -> Mailbox:
        """*user*'s mailbox *name* (raises MailboxNotFound)."""
        return self._store(user).mailbox(self._account(user), name)

    def _store(self, user: str) -> MessageStore:
        r = self.route(user)
        if r is None:
            raise MailboxNotFound(f"no mailboxes for user {user!r}")
        return r[1]

    def _account(self, user: str) -> str:
        r = self.route(user)
        return r[2] if r is not None else user

    def mailboxes(self, user: str) -> list[Mailbox]:
        """*user*'s mailboxes (empty for an unknown user)."""
        r = self.route(user)
        return [] if r is None else r[1].mailboxes(r[2])

    def create_mailbox(self, user: str, name: str) -> Mailbox:
        """Create (or return) *user*'s mailbox *name* in the store that holds the user."""
        return self._store(user).create_mailbox(self._account(user), name)

    def delete_mailbox(self, user: str, name: str) -> Mailbox:
        """Delete *user*'s mailbox *name* (see :meth:`MessageStore.delete_mailbox`)."""
        return self._store(user).delete_mailbox(self._account(user), name)

    def rename_mailbox(self, user: str, old: str, new: str) -> Mailbox:
        """Rename *user*'s mailbox (see :meth:`MessageStore.rename_mailbox`)."""
        return self._store(user).rename_mailbox(self._account(user), old, new)

    def subscriptions(self, user: str) -> set[str]:
        """*user*'s subscribed mailbox names."""
        return self._store(user).subscriptions(self._account(user))

    def usage(self, user: str) -> int:
        """Octets stored for *user*."""
        return self._store(user).usage(self._account(user))

    def quota_of(self, user: str) -> int | None:
        """*user*'s store's quota (octets), or None."""
        return self._store(user).quota_bytes

    def internal_date(self, entry: StoredEntry) -> datetime:
        """The wall-clock arrival date of *entry*."""
        from netlab.mail.content.message import sim_datetime

        return sim_datetime(self.epoch, entry.internal_s)


Retrieved = Callable[[tuple[str, str, str]], None]
"""Called (under the lock) with ``(mx host, user, "UIDVALIDITY.UID")`` of a message a live client took."""


class InboxPorts:
    """POP3 and IMAP servers on loopback over a :class:`MailDirectory` (run inside the bridge's asyncio loop).

    Parameters
    ----------
    directory
        The stores, as one.
    lock
        The lock the simulation steps under; every session call holds it.
    retrieved
        Reports a message a live client retrieved and deleted or marked seen (see :data:`Retrieved`).
    is_open
        False once the simulation has stopped: sessions then end with an error instead of touching the stores.
    idle_timeout_s
        Wall seconds a session may stay silent; then POP3 ``-ERR`` or IMAP ``* BYE`` and the connection closes
        (as a dropped connection: POP3 deletions are forgotten).
    tls
        The server context IMAP STARTTLS and POP3 STLS start (None: neither is offered).
    plaintext_auth
        Allow LOGIN and USER/PASS before TLS (False: LOGINDISABLED and ``-ERR [AUTH]`` until STARTTLS/STLS).
    clock
        The simulated time (read under the lock): an IMAP APPEND's internal date.
    """

    def __init__(self, directory: MailDirectory, lock: threading.RLock, retrieved: Retrieved,
                 is_open: Callable[[], bool], *, idle_timeout_s: float = IDLE_TIMEOUT_S,
                 tls: ssl.SSLContext | None = None, plaintext_auth: bool = True,
                 clock: Callable[[], float] = lambda: 0.0) -> None:  # fmt: skip
        self.directory = directory
        self.clock = clock
        self.tls = tls
        self.plaintext_auth = plaintext_auth or tls is None
        self.idle_timeout_s = idle_timeout_s
        self.lock = lock
        self._retrieved = retrieved
        self._is_open = is_open
        self.sessions: Counter[str] = Counter()
        self._imap: list[tuple[ImapServerSession, asyncio.StreamWriter]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"<InboxPorts {dict(self.sessions)}>"

    async def start(self, host: str, pop3_port: int, imap_port: int) -> tuple[asyncio.Server, asyncio.Server]:
        """Listen on *host* for POP3 and IMAP (port 0: the OS picks); return the two servers."""
        self._loop = asyncio.get_running_loop()
        pop3 = await asyncio.start_server(lambda r, w: self._spawn(r, w, "pop3"), host, pop3_port)
        imap = await asyncio.start_server(lambda r, w: self._spawn(r, w, "imap"), host, imap_port)
        return pop3, imap

    def on_delivery(self, user: str, box: Mailbox, entry: StoredEntry) -> None:
        """A store listener: push ``* N EXISTS`` to live IMAP sessions idling on *box* (RFC 2177).

        Called by the MDA in the simulation thread, inside a step, so the lock is held; the bytes go out from
        the asyncio thread.
        """
        for session, writer in self._imap:
            if session.mailbox is box and session.idling and self._loop is not None:
                out = session.notify_new(len(box))
                if out:
                    self._loop.call_soon_threadsafe(writer.write, out)

    async def close(self) -> None:
        """End every open session (as a dropped connection: nothing marked for deletion is deleted)."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------ sessions
    def _spawn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, kind: str) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer, kind))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, kind: str) -> None:
        self.sessions[kind] += 1
        hostname = "localhost"
        store = cast(MessageStore, self.directory)  # duck-typed: the part of a store the sessions use
        secure = {"tls": self.tls is not None, "plaintext_auth": self.plaintext_auth}
        session: Session = (Pop3ServerSession(store, hostname=hostname, **secure) if kind == "pop3"
                            else ImapServerSession(store, hostname=hostname, clock=self.clock, **secure))  # fmt: skip
        pair = (session, writer) if isinstance(session, ImapServerSession) else None
        if pair is not None:
            self._imap.append(pair)
        try:
            writer.write(session.greeting())
            await writer.drain()
            while not session.closed:
                literal = session.literal_needed if isinstance(session, ImapServerSession) else 0
                try:
                    if literal:
                        data = await asyncio.wait_for(reader.readexactly(literal), self.idle_timeout_s)
                    else:
                        data = await asyncio.wait_for(reader.readline(), self.idle_timeout_s)
                except TimeoutError:
                    # RFC 3501 §5.4 / RFC 1939 §3: an autologout timer; say so before closing (Dovecot's words)
                    writer.write(b"-ERR Disconnected for inactivity.\r\n" if kind == "pop3" else
                                 b"* BYE Disconnected for inactivity.\r\n")  # fmt: skip
                    await writer.drain()
                    break
                except ValueError:  # a line longer than the stream's limit (64 KiB): no command is that long
                    writer.write(b"-ERR line too long\r\n" if kind == "pop3" else b"* BYE line too long\r\n")
                    await writer.drain()
                    break
                if not literal and not data.endswith(b"\n"):
                    break  # the client went away (a partial last line is no command)
                out = self._feed(session, data, literal=bool(literal))
                if out is None:
                    writer.write(b"-ERR simulation stopped\r\n" if kind == "pop3" else
                                 b"* BYE simulation stopped\r\n")  # fmt: skip
                    await writer.drain()
                    break
                if out:
                    writer.write(out)
                    await writer.drain()
                tls = self.tls if session.starttls_pending else None
                if tls is not None and not await upgrade(session, reader, writer, tls, self.idle_timeout_s, self.lock):
                    break  # the handshake failed
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client vanished
        finally:
            if pair is not None:
                self._imap.remove(pair)
            with self.lock:
                if not session.closed:
                    session.connection_lost()  # POP3: no UPDATE state, so every DELE is forgotten
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _feed(self, session: Session, data: bytes, *, literal: bool) -> bytes | None:
        """Feed *data* to *session* under the lock; report what the command took; None once the run stopped."""
        with self.lock:
            if not self._is_open():
                return None
            before = self._view(session)
            if isinstance(session, ImapServerSession) and literal:
                out = session.feed_literal(data)
            else:
                out = session.feed_line(data)
            if before is not None:
                self._report(session, before)
            return out

    def _view(self, session: Session) -> tuple[str, str, Mailbox, dict[int, bool]] | None:
        """(host, user, mailbox, uid -> seen) of the mailbox *session* works on, when logged in."""
        if session.user is None:
            return None
        r = self.directory.route(session.user)
        if r is None:
            return None
        box = session.mailbox if isinstance(session, ImapServerSession) else None
        box = box or r[1].mailbox(r[2])
        return r[0], r[2], box, {e.uid: "\\Seen" in e.flags for e in box.entries}

    def _report(self, session: Session, before: tuple[str, str, Mailbox, dict[int, bool]]) -> None:
        host, user, box, seen = before
        now = {e.uid: "\\Seen" in e.flags for e in box.entries}
        for uid, was_seen in seen.items():
            # gone (deleted by this session) or newly \Seen (an IMAP body fetch): the client has it
            if uid not in now or (now[uid] and not was_seen):
                self._retrieved((host, user, f"{box.uidvalidity}.{uid}"))
