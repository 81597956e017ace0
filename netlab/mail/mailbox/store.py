"""The inbox server's message store and its MDA: per-user mailboxes that POP3 and IMAP sessions read.

A :class:`MessageStore` holds, per user, named :class:`Mailbox` objects (``INBOX`` always exists). A mailbox keeps
its messages as :class:`StoredEntry` values in arrival order: raw bytes (CRLF line ends), a UID, flags, the
internal date (simulated seconds) and the size. UIDs are strictly ascending and never reused while the
mailbox's UIDVALIDITY stands (RFC 3501 §2.3.1.1), so a client that remembers UIDs stays correct across
sessions. :meth:`MessageStore.deliver` is the MDA: it adds ``Delivered-To``, applies the quota and answers with
an SMTP :class:`~netlab.mail.smtp.Reply` that the MX passes back to its client.

>>> store = MessageStore({"bob": "secret"}, domain="b.test", quota_bytes=1000)
>>> store.deliver("bob", b"Subject: hi\\r\\n\\r\\nhello\\r\\n", 5.0).code
250
>>> store.deliver("eve", b"x\\r\\n", 5.0).enhanced, store.deliver("bob", b"x" * 2000, 6.0).enhanced
('5.1.1', '4.2.2')
>>> entry = store.mailbox("bob").entries[0]
>>> entry.uid, entry.flags, entry.internal_s, store.message("bob", 1)["Delivered-To"]
(1, frozenset(), 5.0, 'bob@b.test')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.message import EmailMessage

from netlab.errors import ConfigError
from netlab.mail.content.address import Address, user_key
from netlab.mail.content.message import (
    DEFAULT_EPOCH,
    normalize_crlf,
    parse,
    prepend_header,
    sim_datetime,
)
from netlab.mail.errors import MailError
from netlab.mail.mailbox.agent import Filed
from netlab.mail.smtp.reply import Reply

__all__ = [
    "SPECIAL_USE",
    "SYSTEM_FLAGS",
    "Mailbox",
    "MailboxNotFound",
    "MessageNotFound",
    "MessageStore",
    "StoreError",
    "StoredEntry",
    "account",
]

SYSTEM_FLAGS: frozenset[str] = frozenset({"\\Seen", "\\Deleted", "\\Flagged", "\\Answered", "\\Draft"})
"""The flags a message can carry (RFC 3501 §2.3.2, without the session-bound ``\\Recent``)."""

DeliveryListener = Callable[[str, "Mailbox", "StoredEntry"], None]
"""Called as ``listener(user, mailbox, entry)`` after each delivery (IDLE wiring, results)."""


def account(address: str) -> str:
    """The message-store user of *address*: the local part as given (case matters), the domain in lower case.

    >>> account("Bob@B.Test")
    'Bob@b.test'
    """
    return str(Address.split(address))


SPECIAL_USE = {"Drafts": "\\Drafts", "Junk": "\\Junk", "Sent": "\\Sent", "Trash": "\\Trash"}
"""The folders every user has besides INBOX, with their RFC 6154 attributes (what mail programs look for)."""


class StoreError(MailError, LookupError):
    """Base of message-store lookups that failed."""


class MailboxNotFound(StoreError):
    """No such user, or no mailbox of that name for the user."""


class MessageNotFound(StoreError):
    """No message with that UID in the mailbox (never delivered, or expunged)."""


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One stored message: *raw* bytes (CRLF), *uid*, *flags*, *internal_s* (simulated arrival time, s)."""

    uid: int
    raw: bytes
    internal_s: float
    flags: frozenset[str] = frozenset()

    @property
    def size(self) -> int:
        """Size in octets, CRLF counted as two (what POP3 LIST and IMAP RFC822.SIZE report)."""
        return len(self.raw)


@dataclass(slots=True)
class Mailbox:
    """One mailbox: its entries in UID order, UIDVALIDITY and the next UID to assign.

    Sequence numbers are positions in :attr:`entries` (1-based); they shift when messages are expunged, UIDs
    never do.
    """

    name: str
    uidvalidity: int
    uidnext: int = 1
    entries: list[StoredEntry] = field(default_factory=list)
    #: The RFC 6154 attribute of a special-use mailbox (``\\Sent``, ``\\Drafts``, ``\\Trash``, ``\\Junk``), or "".
    special_use: str = ""
    # UIDs above this floor are \Recent for the next session that selects read-write (RFC 3501 §2.3.2).
    recent_floor: int = 0
    # UIDs removed so far (POP3 UPDATE, IMAP EXPUNGE/CLOSE), in order: the books show where mail went.
    expunged: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def size(self) -> int:
        """Octets stored in this mailbox."""
        return sum(e.size for e in self.entries)

    def append(self, raw: bytes, when: float, flags: Iterable[str] = ()) -> StoredEntry:
        """Store *raw* with the next UID and internal date *when* (s)."""
        entry = StoredEntry(self.uidnext, raw, when, frozenset(flags))
        self.uidnext += 1
        self.entries.append(entry)
        return entry

    def get(self, uid: int) -> StoredEntry | None:
        """The entry with *uid*, or None once expunged (a short scan: mailboxes here are small)."""
        for entry in self.entries:
            if entry.uid == uid:
                return entry
        return None

    def set_flags(self, uid: int, flags: Iterable[str]) -> StoredEntry:
        """Replace the flags of *uid*; return the new entry.

        Raises
        ------
        MessageNotFound
            *uid* is not (or no longer) in the mailbox.
        """
        for index, entry in enumerate(self.entries):
            if entry.uid == uid:
                self.entries[index] = replace(entry, flags=frozenset(flags))
                return self.entries[index]
        raise MessageNotFound(f"mailbox {self.name!r}: no message with UID {uid}")

    def remove(self, uids: Iterable[int]) -> list[int]:
        """Remove the messages with *uids*; return the UIDs actually removed, ascending."""
        wanted = set(uids)
        removed = [e.uid for e in self.entries if e.uid in wanted]
        self.entries = [e for e in self.entries if e.uid not in wanted]
        self.expunged += removed
        return removed

    def claim_recent(self) -> int:
        """Count the messages still \\Recent and clear them (the first read-write SELECT takes them)."""
        count = sum(1 for e in self.entries if e.uid > self.recent_floor)
        self.recent_floor = self.uidnext - 1
        return count


class MessageStore:
    """Mailboxes of the local users of one inbox server, and the MDA that files mail into them.

    Parameters
    ----------
    users
        Local users: names, or a mapping ``name -> password`` for POP3/IMAP logins (None: cannot log in).
    domain
        Appended to a bare user name in ``Delivered-To`` (``bob`` -> ``bob@domain``).
    quota_bytes
        Per-user limit on the octets stored in all of the user's mailboxes; None for no limit.
    quota_permanent
        Over quota answers ``552 5.2.2`` (bounce now) instead of ``452 4.2.2`` (the MTA retries later).
    epoch
        Wall-clock date of simulated time 0, for IMAP INTERNALDATE and SEARCH SINCE.
    uidvalidity
        UIDVALIDITY of the first mailbox created; later ones count up (deterministic, unlike a real server's
        timestamp).
    fold_local_parts
        Find a user whatever the case of the local part (``BOB@b.test`` is ``bob@b.test``), as Postfix's local(8)
        and a Dovecot with ``auth_username_format = %Lu`` do: deliveries, logins and every lookup by name. The user
        keeps the name it was made with (its *account*); False compares local parts exactly.
    """

    def __init__(
        self,
        users: Mapping[str, str | None] | Iterable[str],
        *,
        domain: str | None = None,
        quota_bytes: int | None = None,
        quota_permanent: bool = False,
        epoch: datetime = DEFAULT_EPOCH,
        uidvalidity: int = 1,
        fold_local_parts: bool = True,
    ) -> None:
        passwords = dict(users) if isinstance(users, Mapping) else dict.fromkeys(users)
        self.fold_local_parts = fold_local_parts
        self._accounts: dict[str, str] = {}  # user_key(name) -> the account's own name
        for user in passwords:
            taken = self._accounts.setdefault(self._key(user), user)
            if taken != user:
                raise ConfigError(f"message store: users {taken!r} and {user!r} are one user when local parts fold "
                                  "case (fold_local_parts)")  # fmt: skip
        self._passwords: dict[str, str | None] = passwords
        self.domain = domain
        self.quota_bytes = quota_bytes
        self.quota_permanent = quota_permanent
        self.epoch = epoch
        self._next_uidvalidity = uidvalidity
        self._boxes: dict[str, dict[str, Mailbox]] = {}
        self._listeners: list[DeliveryListener] = []
        self._locked: set[str] = set()
        self._subscribed: dict[str, set[str]] = {}
        for user in passwords:
            self.create_mailbox(user, "INBOX")
        # after every INBOX, so the INBOXes' UIDVALIDITY values are those of a store without folders
        for user in passwords:
            for name, use in SPECIAL_USE.items():
                self.create_mailbox(user, name).special_use = use
            self._subscribed[user] = {"INBOX", *SPECIAL_USE}

    def __repr__(self) -> str:
        return f"<MessageStore {len(self._boxes)} users, {self.count()} messages>"

    @property
    def users(self) -> list[str]:
        """The users that have mailboxes here."""
        return list(self._boxes)

    def _key(self, user: str) -> str:
        return user_key(user, fold_local_part=self.fold_local_parts)

    def account_of(self, user: str) -> str | None:
        """The account *user* names here (itself, or with local parts folded the account whatever its case), or
        None for a user without mailboxes.

        >>> MessageStore(["Bob@b.test"]).account_of("BOB@B.TEST"), MessageStore(["bob"]).account_of("eve")
        ('Bob@b.test', None)
        """
        return self._accounts.get(self._key(user))

    def _account(self, user: str) -> str:
        """:meth:`account_of`, or *user* itself when it names no account (the lookup that follows then fails)."""
        return self._accounts.get(self._key(user), user)

    def has_user(self, user: str) -> bool:
        """True if *user* has mailboxes here (the MX's RCPT check; local parts fold case unless told not to)."""
        return self._account(user) in self._boxes

    def authenticate(self, user: str, password: str) -> bool:
        """True if *user* exists and *password* is theirs (a user without a password cannot log in)."""
        expected = self._passwords.get(self._account(user))
        return expected is not None and expected == password

    def lock(self, user: str) -> bool:
        """Take *user*'s exclusive maildrop lock (RFC 1939 §4); False if another POP3 session holds it (under
        whatever spelling of the name it logged in)."""
        user = self._account(user)
        if user in self._locked:
            return False
        self._locked.add(user)
        return True

    def unlock(self, user: str) -> None:
        """Release *user*'s maildrop lock (QUIT or a dropped connection)."""
        self._locked.discard(self._account(user))

    def create_mailbox(self, user: str, name: str) -> Mailbox:
        """Create (or return the existing) mailbox *name* of *user*; ``INBOX`` is case-insensitive."""
        user = self._accounts.setdefault(self._key(user), user)
        boxes = self._boxes.setdefault(user, {})
        key = "INBOX" if name.upper() == "INBOX" else name
        if key not in boxes:
            boxes[key] = Mailbox(key, self._next_uidvalidity)
            self._next_uidvalidity += 1
        return boxes[key]

    def mailboxes(self, user: str) -> list[Mailbox]:
        """*user*'s mailboxes, INBOX first, then by name (empty for an unknown user)."""
        boxes = self._boxes.get(self._account(user), {})
        return sorted(boxes.values(), key=lambda b: (b.name != "INBOX", b.name))

    def delete_mailbox(self, user: str, name: str) -> Mailbox:
        """Delete *user*'s mailbox *name* with its messages (RFC 3501 §6.3.4); return it. INBOX cannot go.

        Raises
        ------
        MailboxNotFound
            No such mailbox.
        StoreError
            *name* is INBOX.
        """
        box = self.mailbox(user, name)
        if box.name == "INBOX":
            raise StoreError("INBOX cannot be deleted")
        del self._boxes[self._account(user)][box.name]
        box.expunged += [e.uid for e in box.entries]
        return box

    def rename_mailbox(self, user: str, old: str, new: str) -> Mailbox:
        """Rename *user*'s mailbox *old* to *new* (RFC 3501 §6.3.5); return the mailbox under its new name.

        Renaming INBOX moves its messages to a new mailbox *new* and leaves INBOX empty, as the RFC says.

        Raises
        ------
        MailboxNotFound, StoreError
            *old* does not exist, or *new* already does.
        """
        boxes = self._boxes.get(self._account(user), {})
        box = self.mailbox(user, old)
        key = "INBOX" if new.upper() == "INBOX" else new
        if key in boxes:
            raise StoreError(f"mailbox {new!r} already exists")
        if box.name == "INBOX":
            moved = self.create_mailbox(user, new)
            for entry in box.entries:
                moved.append(entry.raw, entry.internal_s, entry.flags)
            box.remove([e.uid for e in box.entries])
            return moved
        del boxes[box.name]
        box.name = key
        boxes[key] = box
        return box

    def subscriptions(self, user: str) -> set[str]:
        """The mailbox names *user* is subscribed to (RFC 3501 §6.3.6; the set itself, to change)."""
        return self._subscribed.setdefault(self._account(user), set())

    def mailbox(self, user: str, name: str = "INBOX") -> Mailbox:
        """The mailbox *name* of *user*.

        Raises
        ------
        MailboxNotFound
            Unknown user or mailbox.
        """
        key = "INBOX" if name.upper() == "INBOX" else name
        box = self._boxes.get(self._account(user), {}).get(key)
        if box is None:
            raise MailboxNotFound(f"no mailbox {name!r} for user {user!r}")
        return box

    def subscribe(self, listener: DeliveryListener) -> None:
        """Call *listener(user, mailbox, entry)* after every delivery (wakes IDLE sessions, feeds results)."""
        self._listeners.append(listener)

    def quota_of(self, user: str) -> int | None:
        """The most octets *user* may store (the store's quota), or None for no limit."""
        return self.quota_bytes

    def usage(self, user: str) -> int:
        """Octets stored for *user* in all mailboxes."""
        return sum(box.size for box in self._boxes.get(self._account(user), {}).values())

    def count(self) -> int:
        """Messages stored in every mailbox of every user."""
        return sum(len(box) for boxes in self._boxes.values() for box in boxes.values())

    def deliver(self, user: str, raw: bytes, when: float) -> Reply:
        """The MDA: file *raw* (Return-Path already added by the MX) into *user*'s INBOX at time *when* (s).

        Returns
        -------
        Reply
            ``250 2.0.0`` when stored; ``550 5.1.1`` for an unknown user; over quota ``452 4.2.2`` or, with
            *quota_permanent*, ``552 5.2.2``.
        """
        return self.file(user, raw, when).reply

    def file(self, user: str, raw: bytes, when: float, *, mailbox: str = "INBOX") -> Filed:
        """:meth:`deliver` into *mailbox*, telling where the copy went (the
        :class:`~netlab.mail.mailbox.agent.DeliveryAgent` call): the account that has it (*user* as this store names
        it), its mailbox and UID. A *mailbox* the user lacks files into INBOX (Sieve's ``fileinto`` with Dovecot's
        ``lda_mailbox_autocreate = no``: the message is kept, in INBOX)."""
        user = self._account(user)
        if user not in self._boxes:
            return Filed(Reply(550, f"<{user}>: Recipient address rejected: User unknown in local recipient table",
                               "5.1.1"))  # fmt: skip
        address = user if "@" in user or self.domain is None else f"{user}@{self.domain}"
        data = prepend_header(normalize_crlf(raw), "Delivered-To", address)
        if self.quota_bytes is not None and self.usage(user) + len(data) > self.quota_bytes:
            if self.quota_permanent:
                return Filed(Reply(552, f"<{address}>: Mailbox full: quota exceeded", "5.2.2"))
            return Filed(Reply(452, f"<{address}>: Mailbox full: quota exceeded, try again later", "4.2.2"))
        boxes = self._boxes[user]
        # not `or`: an empty Mailbox is falsy (it has a length)
        box = boxes.get("INBOX" if mailbox.upper() == "INBOX" else mailbox)
        box = boxes["INBOX"] if box is None else box
        entry = box.append(data, when)
        for listener in self._listeners:
            listener(user, box, entry)
        where = "" if box.name == "INBOX" else f" {box.name}"
        return Filed(Reply(250, f"Ok: delivered to mailbox{where} as UID {entry.uid}", "2.0.0"), box.uidvalidity,
                     entry.uid, user, box.name)  # fmt: skip

    def entry(self, user: str, uid: int, mailbox: str = "INBOX") -> StoredEntry:
        """The stored entry *uid* of *user*'s *mailbox*.

        Raises
        ------
        MailboxNotFound, MessageNotFound
            No such mailbox, or no such UID in it.
        """
        found = self.mailbox(user, mailbox).get(uid)
        if found is None:
            raise MessageNotFound(f"user {user!r}, mailbox {mailbox!r}: no message with UID {uid}")
        return found

    def message(self, user: str, uid: int, mailbox: str = "INBOX") -> EmailMessage:
        """Message *uid* of *user* parsed with ``policy.default``, ``Delivered-To`` and trace headers included."""
        return parse(self.entry(user, uid, mailbox).raw)

    def internal_date(self, entry: StoredEntry) -> datetime:
        """The wall-clock arrival date of *entry* (``epoch + internal_s``)."""
        return sim_datetime(self.epoch, entry.internal_s)
