"""Where mail ends: the inbox server's message store, the delivery-agent Protocol the MTA files mail through, and
the POP3/IMAP servers over the store.

* :mod:`~netlab.mail.mailbox.agent`: :class:`DeliveryAgent`, what an mx's local delivery needs of the store;
* :mod:`~netlab.mail.mailbox.store`: :class:`MessageStore` (the MDA and the mailboxes);
* :mod:`~netlab.mail.mailbox.inbox`: :class:`~netlab.mail.mailbox.inbox.InboxServer` (POP3 and IMAP on the network;
  not imported here, so this package loads no SimPy);
* :mod:`~netlab.mail.mailbox.table`: the ``mailboxes`` table of the results and :func:`read_mailbox`, which parses a
  user's messages back from it.
"""

from __future__ import annotations

from netlab.mail.mailbox.agent import DeliveryAgent, Filed
from netlab.mail.mailbox.store import Mailbox, MailboxNotFound, MessageNotFound, MessageStore, StoredEntry, account
from netlab.mail.mailbox.table import read_mailbox

__all__ = ["DeliveryAgent", "Filed", "Mailbox", "MailboxNotFound", "MessageNotFound", "MessageStore", "StoredEntry",
           "account", "read_mailbox"]  # fmt: skip
