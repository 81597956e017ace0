"""Where the recipient's MX hands accepted mail: the delivery interface between the MTA and the MDA.

An mx's local delivery agent (:class:`~netlab.mail.mta.local.LocalDelivery`) files each local recipient's copy
through a :class:`DeliveryAgent` and learns where it went (:class:`Filed`), so the books can follow the message into
its mailbox. The inbox server's :class:`~netlab.mail.mailbox.store.MessageStore` implements it (``Delivered-To``,
quota, per-user mailboxes with UIDs that POP3 and IMAP read); the MTA adds ``Return-Path`` before the call.

>>> from netlab.mail.mailbox.store import MessageStore
>>> agent: DeliveryAgent = MessageStore({"bob@b.test": "pw"})
>>> agent.has_user("bob@b.test"), agent.file("eve@b.test", b"x\\r\\n", 2.0).reply.enhanced
(True, '5.1.1')
>>> filed = agent.file("BOB@b.test", b"x\\r\\n", 2.0)
>>> str(filed.reply), filed.mailbox_uid, filed.user
('250 2.0.0 Ok: delivered to mailbox as UID 1', '1.1', 'bob@b.test')
>>> junk = agent.file("bob@b.test", b"x\\r\\n", 3.0, mailbox="Junk")
>>> junk.mailbox, junk.uid
('Junk', 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from netlab.mail.smtp.reply import Reply

__all__ = ["DeliveryAgent", "Filed"]


@dataclass(frozen=True, slots=True)
class Filed:
    """What the MDA did with one copy: its *reply* and, when it was stored (2xx), the mailbox's UIDVALIDITY, the
    message's UID there (0 otherwise), the *user* whose mailbox it is, as the store names it (the recipient may
    have spelt the local part in another case), and the *mailbox* it went into (``INBOX``, or ``Junk`` for mail a
    receiving MTA quarantined)."""

    reply: Reply
    uidvalidity: int = 0
    uid: int = 0
    user: str = ""
    mailbox: str = "INBOX"

    @property
    def mailbox_uid(self) -> str:
        """``UIDVALIDITY.UID``: the copy's name for as long as the mailbox stands (RFC 3501 §2.3.1.1)."""
        return f"{self.uidvalidity}.{self.uid}"


class DeliveryAgent(Protocol):
    """Final delivery of one message copy to one local user (the MDA's side of the MX)."""

    def has_user(self, user: str) -> bool:
        """True if *user* has a mailbox here (else RCPT gets 550 5.1.1)."""
        ...

    def file(self, user: str, raw: bytes, when: float, *, mailbox: str = "INBOX") -> Filed:
        """Store *raw* (bytes, Return-Path already added) in *user*'s *mailbox* (INBOX unless told; a folder the
        user lacks means INBOX, as Sieve's ``fileinto`` falls back) at simulated time *when* (s)."""
        ...
