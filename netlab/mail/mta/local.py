"""local of one MTA: the delivery agent for the domains an mx is final destination for.

An mx is also its users' inbox server, as a small site runs Postfix and Dovecot on one host. For each local
recipient of a delivery job, local adds ``Return-Path:`` (RFC 5321 §4.4) and hands the copy to the host's MDA
through the :class:`~netlab.mail.mailbox.DeliveryAgent` Protocol (the inbox server's
:class:`~netlab.mail.mailbox.MessageStore`: ``Delivered-To``, quota, the mailbox and its UID). A stored copy is
``sent`` and booked with the tracker where it was filed (so conservation can find it in its mailbox); over quota
for now (452 4.2.2) is deferred and retried from the queue; an unknown user or a full mailbox with ``quota_action:
bounce`` (552 5.2.2) bounces. With ``mail.fold_local_parts`` the store finds the user whatever the case of the local
part (Postfix's local(8) lowercases it before the lookup), and the copy is booked under the store's own name for the
user, where the user's mail program retrieves it.

A copy carrying ``X-Spam-Flag: YES`` (what a receiving smtpd adds to mail quarantined by DMARC) is filed into the
user's ``Junk`` folder (RFC 6154 ``\\Junk``), as the usual Dovecot setup's Sieve rule ``if header :is "X-Spam-Flag"
"YES" { fileinto "Junk"; }`` does; the log says ``delivered to mailbox Junk``. POP3 shows INBOX only (as Dovecot), so
mail in Junk holds no run for a fetching mail program; IMAP SELECT Junk shows it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from netlab.mail.content.message import header_fields, header_section, return_path
from netlab.mail.mailbox.store import account
from netlab.mail.mta.qmgr import Job, Outcome, OutcomeKind, delivery_log
from netlab.mail.mta.rewrite import LOCAL

if TYPE_CHECKING:
    from netlab.mail.context import MailContext
    from netlab.mail.mailbox.agent import DeliveryAgent

__all__ = ["JUNK", "LocalDelivery", "folder_for"]

JUNK = "Junk"
"""The folder quarantined mail is filed into (every user has it: :data:`netlab.mail.mailbox.store.SPECIAL_USE`)."""


def folder_for(raw: bytes) -> str:
    """The mailbox the Sieve rule files *raw* into: :data:`JUNK` if any ``X-Spam-Flag`` field is ``YES`` (Sieve's
    ``header :is`` compares case-insensitively and matches any occurrence), else ``INBOX``.

    >>> folder_for(b"X-Spam-Flag: YES\\r\\nSubject: hi\\r\\n\\r\\nbody")
    'Junk'
    >>> folder_for(b"Subject: X-Spam-Flag: YES\\r\\n\\r\\n"), folder_for(b"X-Spam-Flag: NO\\r\\n\\r\\n")
    ('INBOX', 'INBOX')
    """
    for f in header_fields(header_section(raw)[0]):
        name, _, value = f.partition(b":")
        if name.strip().lower() == b"x-spam-flag" and value.strip().lower() == b"yes":
            return JUNK
    return "INBOX"


class LocalDelivery:
    """The local delivery agent of the mx on *host*, filing into *agent* (see the module docstring).

    *fetching* holds the accounts whose mail program fetches: their filed mail holds the run until retrieved.
    """

    __slots__ = ("agent", "ctx", "fetching", "host")

    def __init__(self, ctx: MailContext, *, host: str, agent: DeliveryAgent, fetching: Collection[str] = ()) -> None:
        self.ctx = ctx
        self.host = host
        self.agent = agent
        self.fetching = frozenset(fetching)

    def __repr__(self) -> str:
        return f"<LocalDelivery {self.host} -> {self.agent!r}>"

    def has_user(self, rcpt: str) -> bool:
        """True if the local recipient *rcpt* has a mailbox here (smtpd's recipient check)."""
        return self.agent.has_user(account(rcpt))

    def deliver(self, job: Job) -> list[Outcome]:
        """File a copy for every recipient of *job* at once (no waiting); one Outcome per recipient."""
        ctx, entry, now = self.ctx, job.entry, self.ctx.env.now
        outcomes = []
        folder = folder_for(entry.raw)
        for r in job.rcpts:
            filed = self.agent.file(account(r), return_path(entry.raw, entry.sender), now, mailbox=folder)
            reply = filed.reply
            if reply.is_positive:
                # the mailbox under the store's name for the user: BOB@b.test files into bob@b.test's
                user = filed.user or account(r)
                where = (self.host, user, filed.mailbox_uid)
                # a mail program fetches INBOX only (POP3 sees nothing else): mail in Junk waits for no fetch
                fetched = user in self.fetching and filed.mailbox == "INBOX"
                ctx.tracker.filed(entry.message_id, r, where, now, fetched=fetched, folder=filed.mailbox)
                box = "" if filed.mailbox == "INBOX" else f" {filed.mailbox}"
                o = Outcome(r, OutcomeKind.SENT, "2.0.0", f"delivered to mailbox{box} as UID {filed.uid}", LOCAL,
                            reply.code)  # fmt: skip
            else:
                # over quota for now (452 4.2.2) is retried from the queue; unknown user and 552 5.2.2 bounce
                kind = OutcomeKind.DEFER if reply.is_transient else OutcomeKind.BOUNCE
                o = Outcome(r, kind, reply.enhanced or "5.1.1", str(reply), LOCAL, reply.code)
            delays = (entry.activated_at - entry.arrival, 0.0, 0.0, now - entry.activated_at)
            ctx.log(self.host, "local", entry.qid, delivery_log(entry, o, now, delays))
            outcomes.append(o)
        return outcomes
