"""The ``mailboxes`` table: what the message stores hold at the end of a run, and the way back to messages.

After the run the stores become ``Results.mailboxes`` (:func:`mailboxes_frame`), and :func:`read_mailbox` parses a
user's messages back into :class:`email.message.EmailMessage` objects from the results (also from results loaded
back from disk):

>>> import netlab
>>> from netlab.mail.config import *
>>> hosts = ("pc", "msa", "mx", "dns")
>>> topo = netlab.Topology(tuple(netlab.NodeSpec(n, "host") for n in hosts) + (netlab.NodeSpec("r"),),
...                        tuple(netlab.LinkSpec(n, "r", rate_bps=10e6, delay_s=0.002) for n in hosts))
>>> mail = MailSpec(dns_server="dns", domains=(DomainSpec("b.test", mx=((10, "mx"),)),),
...     servers=(ServerSpec("msa", role="msa", domains=("b.test",)), ServerSpec("mx", domains=("b.test",))),
...     users=(UserSpec("alice@b.test", client="pc"),
...            UserSpec("bob@b.test", client="pc", fetch=FetchSpec("imap", idle=True))),
...     send=(ScriptedMessage(sender="alice@b.test", to=("bob@b.test",)),))
>>> res = netlab.run(netlab.Scenario(topo, mail=mail))
>>> [(m["Delivered-To"], m["Subject"]) for m in read_mailbox(res, "bob@b.test")], res.mailboxes.imap_flags.tolist()
([('bob@b.test', 'Hello')], ['\\\\Seen'])
>>> len(read_mailbox(res, "BOB@B.TEST")), len(read_mailbox(res, "eve@b.test"))
(1, 0)
>>> res.fetch_sessions[["client", "server", "protocol", "fetch_mode", "messages"]].values.tolist()
[['pc', 'mx', 'imap', 'idle', 1]]
"""

from __future__ import annotations

from collections.abc import Iterable
from email.message import EmailMessage
from typing import TYPE_CHECKING, Protocol

from netlab.mail.content.address import user_key
from netlab.mail.content.message import parse
from netlab.mail.mailbox.store import MessageStore, account
from netlab.mail.tracker import message_id_of

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MAILBOX_COLUMNS", "HasMailboxes", "mailboxes_frame", "read_mailbox"]

MAILBOX_COLUMNS = ["server", "user", "mailbox", "uidvalidity", "uid", "mailbox_uid", "stored_s", "imap_flags",
                   "size_bytes", "message_id", "raw"]  # fmt: skip


class HasMailboxes(Protocol):
    """Results of a run with a ``mail`` section (:class:`netlab.Results`), or anything with their table."""

    @property
    def mailboxes(self) -> pd.DataFrame: ...


def mailboxes_frame(stores: Iterable[tuple[str, MessageStore]]) -> pd.DataFrame:
    """``Results.mailboxes`` from ``(host, store)`` pairs: one row per message still in a mailbox.

    ``raw`` is the stored message as text, one character per byte (latin-1), so that it survives pickling and
    CSV alike; ``raw.encode("latin-1")`` gives the bytes back (:func:`read_mailbox` does that).
    """
    import pandas as pd

    out: list[dict[str, object]] = []
    for host, store in stores:
        for user in store.users:
            for box in store.mailboxes(user):  # INBOX first; quarantined mail is in Junk
                out.extend({
                    "server": host, "user": user, "mailbox": box.name, "uidvalidity": box.uidvalidity,
                    "uid": e.uid, "mailbox_uid": f"{box.uidvalidity}.{e.uid}", "stored_s": e.internal_s,
                    "imap_flags": " ".join(sorted(e.flags)), "size_bytes": e.size,
                    "message_id": message_id_of(e.raw), "raw": e.raw.decode("latin-1"),
                } for e in box.entries)  # fmt: skip
    return pd.DataFrame(out, columns=MAILBOX_COLUMNS)


def read_mailbox(results: HasMailboxes, address: str, mailbox: str = "INBOX") -> list[EmailMessage]:
    """The messages in *address*'s *mailbox* (INBOX unless told; ``Junk`` holds quarantined mail) at the end of the
    run, oldest first, parsed with ``policy.default``.

    *results* is a :class:`netlab.Results` of a run with a ``mail`` section (or one loaded back from disk).
    *address* is the user's account as the scenario spells it or, when no account is spelt so, the account it
    names with its local part in any case (``BOB@b.test`` reads bob@b.test's mailbox, as the mx found him).
    """
    boxes = results.mailboxes
    wanted = boxes.user == account(address)
    if not wanted.any():
        wanted = boxes.user.map(user_key) == user_key(address)
    mine = boxes[wanted & (boxes.mailbox == mailbox)].sort_values(["server", "uid"])
    return [parse(str(raw).encode("latin-1")) for raw in mine.raw]
