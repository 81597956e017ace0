"""IMAP4rev1 for the inbox server and the mail programs: the server session, the client, the syntax.

The pieces live in :mod:`~netlab.mail.imap.server` (:class:`ImapServerSession`), :mod:`~netlab.mail.imap.fetch`
(FETCH, SEARCH, STORE), :mod:`~netlab.mail.imap.client` (:class:`ImapClient`) and :mod:`~netlab.mail.imap.parse`
(literals, tokens, sequence sets). All are sans-IO: they turn lines into response bytes and never wait.

A client and a server talking through plain function calls, the way a transport process would shuttle bytes:

>>> from netlab.mail.mailbox.store import MessageStore
>>> store = MessageStore({"bob": "pw"})
>>> _ = store.deliver("bob", b"Subject: hi\\r\\n\\r\\nhello\\r\\n", 5.0)
>>> server, client = ImapServerSession(store), ImapClient("bob", "pw")
>>> def lines(data):
...     return data.splitlines(keepends=True)
>>> pending = lines(server.greeting())
>>> while pending:
...     command = client.feed_line(pending.pop(0))
...     if command:
...         pending += lines(server.feed_line(command))
>>> client.done, [m.raw == store.entry("bob", 1).raw for m in client.messages], store.mailbox("bob").entries[0].flags
(True, [True], frozenset({'\\\\Seen'}))
"""

from __future__ import annotations

from netlab.mail.imap.client import ImapClient
from netlab.mail.imap.server import CAPABILITIES, ImapServerSession

__all__ = ["CAPABILITIES", "ImapClient", "ImapServerSession"]
