"""Where the recipient's MX hands accepted mail: the delivery interface between the MTA and the MDA.

An mx delivers each local recipient's copy through :class:`DeliveryAgent`. The inbox server's
:class:`~netlab.mail.mailbox.store.MessageStore` implements it (``Delivered-To``, quota, per-user mailboxes with UIDs that
POP3 and IMAP read); the MTA adds ``Return-Path`` before the call.

>>> from netlab.mail.mailbox.store import MessageStore
>>> agent: DeliveryAgent = MessageStore({"bob@b.test": "pw"})
>>> agent.has_user("bob@b.test"), agent.deliver("eve@b.test", b"x\\r\\n", 2.0).enhanced
(True, '5.1.1')
"""

from __future__ import annotations

from typing import Protocol

from netlab.mail.smtp import Reply

__all__ = ["DeliveryAgent"]


class DeliveryAgent(Protocol):
    """Final delivery of one message copy to one local user (the MDA's side of the MX)."""

    def has_user(self, user: str) -> bool:
        """True if *user* has a mailbox here (else RCPT gets 550 5.1.1)."""
        ...

    def deliver(self, user: str, raw: bytes, when: float) -> Reply:
        """Store *raw* (bytes, Return-Path already added) for *user* at simulated time *when* (s)."""
        ...
