"""Where the recipient's MX hands accepted mail: a small delivery interface and a simple local mailbox store.

The inbox server (message store, MDA, POP3, IMAP) will implement :class:`DeliveryAgent`; until then an MX delivers
into a :class:`Mailbox`: per user, a list of raw messages with the time each was stored.

>>> from netlab.mail.smtp import Reply
>>> box = Mailbox({"bob"})
>>> box.deliver("bob", b"Subject: hi\\r\\n\\r\\nhello\\r\\n", 1.5).code, box.deliver("eve", b"x", 2.0).code
(250, 550)
>>> [(m.user, m.stored_s) for m in box.messages("bob")]
[('bob', 1.5)]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from netlab.mail.smtp import Reply

__all__ = ["DeliveryAgent", "Mailbox", "StoredMessage"]


class DeliveryAgent(Protocol):
    """Final delivery of one message copy to one local user (the MDA's side of the MX)."""

    def has_user(self, user: str) -> bool:
        """True if *user* (local part) has a mailbox here (else RCPT gets 550 5.1.1)."""
        ...

    def deliver(self, user: str, raw: bytes, when: float) -> Reply:
        """Store *raw* (bytes, Return-Path already added) for *user* at simulated time *when* (s)."""
        ...


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One message in a mailbox: whose, its bytes, when it was stored (s)."""

    user: str
    raw: bytes
    stored_s: float


class Mailbox:
    """Mailboxes of the local users of one MX (local parts compared as given, case-sensitively)."""

    def __init__(self, users: Iterable[str]) -> None:
        self._boxes: dict[str, list[StoredMessage]] = {u: [] for u in users}

    def __repr__(self) -> str:
        return f"<Mailbox {len(self._boxes)} users, {sum(map(len, self._boxes.values()))} messages>"

    def has_user(self, user: str) -> bool:
        """True if *user* has a mailbox here."""
        return user in self._boxes

    def deliver(self, user: str, raw: bytes, when: float) -> Reply:
        """Append *raw* to *user*'s mailbox: 250, or 550 5.1.1 for an unknown user."""
        box = self._boxes.get(user)
        if box is None:
            return Reply(550, f"<{user}>: Recipient address rejected: User unknown in local recipient table",
                         "5.1.1")  # fmt: skip
        box.append(StoredMessage(user, raw, when))
        return Reply(250, "Delivered to mailbox", "2.0.0")

    def messages(self, user: str) -> list[StoredMessage]:
        """The messages of *user*, oldest first."""
        return list(self._boxes.get(user, ()))

    @property
    def users(self) -> list[str]:
        """The users that have a mailbox here."""
        return list(self._boxes)

    def count(self) -> int:
        """Messages stored in all mailboxes."""
        return sum(len(b) for b in self._boxes.values())
