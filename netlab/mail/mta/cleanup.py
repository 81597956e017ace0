"""cleanup of one MTA: every message enters the queue here, whether smtpd received it or bounce wrote it.

Postfix's cleanup daemon writes the queue file: it names it (the queue id: 10 upper-case hex digits drawn from
the host's seeded stream ``mail/<host>/qid``), completes the headers a submission left out (``Date:`` and
``Message-ID:``, RFC 6409 §8, on an MSA), logs ``cleanup: message-id=<..>``, and hands the file to the queue
manager, which logs ``qmgr: from=<..>, size=.., nrcpt=.. (queue active)``. Here it also tells the books: the
tracker learns which Message-ID the queue id holds and that this host took responsibility for each recipient
(final when the recipient is local).

A recipient listed twice is queued once, as Postfix's cleanup removes duplicate recipients; "twice" means the same
address, or, on the host that holds the mailboxes and with ``fold_local_parts``, the same user in another case
(``BOB@b.test`` after ``bob@b.test``: Postfix's local(8) would drop that copy as a duplicate delivery). Postfix
says nothing of it; here cleanup logs ``QID: duplicate recipient <BOB@b.test> removed (same as <bob@b.test>)``
(``QID: duplicate recipient <bob@b.test> removed`` for the same address twice) so the user sees where the
recipient went, and the tracker merges its row into the first one's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from netlab.mail.content.address import user_key
from netlab.mail.content.message import ensure_date_and_message_id
from netlab.mail.maillog import format_qmgr_active
from netlab.mail.mta.qmgr import QueueEntry
from netlab.mail.tracker import message_id_of

if TYPE_CHECKING:
    from netlab.mail.context import MailContext
    from netlab.mail.mta.qmgr import QueueManager
    from netlab.mail.mta.rewrite import TrivialRewrite

__all__ = ["Cleanup"]


class Cleanup:
    """The cleanup daemon of the MTA on *host* (see the module docstring)."""

    __slots__ = ("_counter", "_qids", "ctx", "fold_local_parts", "fqdn", "host", "qmgr", "rewrite")

    def __init__(self, ctx: MailContext, *, host: str, fqdn: str, rewrite: TrivialRewrite, qmgr: QueueManager,
                 fold_local_parts: bool = True) -> None:  # fmt: skip
        self.ctx = ctx
        self.host = host
        self.fqdn = fqdn
        self.rewrite = rewrite
        self.qmgr = qmgr
        self.fold_local_parts = fold_local_parts
        self._qids = ctx.stream(host, "qid")
        self._counter = 0  # Message-IDs this host made up

    def __repr__(self) -> str:
        return f"<Cleanup {self.host}: {self._counter} Message-IDs added>"

    def new_qid(self) -> str:
        """A Postfix-style queue id: 10 upper-case hex digits from this host's seeded stream."""
        return f"{self._qids.getrandbits(40):010X}"

    def complete_headers(self, data: bytes, when: datetime) -> bytes:
        """*data* with the ``Date:`` and ``Message-ID:`` its mail program left out (an MSA's duty)."""
        self._counter += 1
        return ensure_date_and_message_id(data, when=when, host_fqdn=self.fqdn, counter=self._counter)

    def enqueue(self, qid: str, sender: str, rcpts: list[str], data: bytes, *, client: str | None = None,
                spam_score: float | None = None, auth: tuple[str, str, str] | None = None,
                given: Mapping[str, str] | None = None) -> QueueEntry:  # fmt: skip
        """Write queue file *qid* (*data* as it will be sent on) and hand it to the queue manager.

        *client* is the peer smtpd received it from (None for mail made here, a DSN); *spam_score* the score smtpd
        found, if it looked; *auth* its (SPF, DKIM, DMARC) results, if it checked; *given* maps a recipient as the
        client wrote it to the one smtpd made of it (qualified, domain in lower case), so the books follow the
        rewrite. A recipient listed twice is queued once (see the module docstring).
        """
        ctx, now = self.ctx, self.ctx.env.now
        mid = message_id_of(data)
        for was, rcpt in (given or {}).items():
            ctx.tracker.alias(mid, was, rcpt)
        kept: dict[str, str] = {}  # the recipient's key -> the first recipient with it
        removed: list[tuple[str, str]] = []
        for r in rcpts:
            key = self.duplicate_key(r)
            if key not in kept:
                kept[key] = r
            else:
                first = kept[key]
                removed.append((r, first))
                if r != first:  # the same user in another case: the books follow it into the first one's row
                    ctx.tracker.alias(mid, r, first)
        rcpts = list(kept.values())
        ctx.tracker.queue_file(self.host, qid, mid)
        entry = QueueEntry(qid, sender, rcpts, data, now, message_id=mid)
        if client is not None:
            entry.info["client"] = client
        ctx.log(self.host, "cleanup", qid, f"message-id={mid}")
        for r, first in removed:
            same = "" if r == first else f" (same as <{first}>)"
            ctx.log(self.host, "cleanup", qid, f"duplicate recipient <{r}> removed{same}")
        ctx.log(self.host, "qmgr", qid, format_qmgr_active(sender=sender, size=len(data), nrcpt=len(rcpts)))
        for r in rcpts:
            ctx.tracker.received(
                mid, r, self.host, qid, now, final=self.rewrite.is_local(r), spam_score=spam_score, auth=auth
            )
        self.qmgr.enqueue(entry)
        return entry

    def duplicate_key(self, rcpt: str) -> str:
        """What two recipients of one message share when they are one: the address (its domain is in lower case
        already), its local part in lower case too for a local user with ``fold_local_parts``."""
        return user_key(rcpt, fold_local_part=self.fold_local_parts and self.rewrite.is_local(rcpt))

    def enqueue_local(self, sender: str, rcpts: list[str], raw: bytes) -> QueueEntry:
        """Queue a message made on this host (a DSN from bounce), under a fresh queue id."""
        return self.enqueue(self.new_qid(), sender, rcpts, raw)
