"""bounce of one MTA: the delivery status notification for recipients that failed for good.

When the queue manager settles recipients as bounced (a 5xx, a DNS failure that is permanent, the queue lifetime
reached), bounce writes one RFC 3464 DSN for them (:func:`~netlab.mail.content.dsn.build_dsn`: what failed, the
remote host's reply, the original headers) from the null sender ``<>`` to the message's envelope sender, and
queues it through cleanup like any other message, logging ``bounce: sender non-delivery notification: QID``.
A transient status that ends a message (``4.4.7``, delivery time expired, stays 4.4.7; others become 5.x.x) is
reported as ``failed``. The queue manager never bounces mail from ``<>`` (no bounce of a bounce, RFC 5321 §6.1).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from netlab.mail.content.dsn import RecipientStatus, build_dsn
from netlab.mail.content.message import header_value, sim_datetime
from netlab.mail.tracker import MessageKind

if TYPE_CHECKING:
    from netlab.mail.context import MailContext
    from netlab.mail.mta.cleanup import Cleanup
    from netlab.mail.mta.qmgr import Outcome, QueueEntry

__all__ = ["Bounce"]


class Bounce:
    """The bounce daemon of the MTA on *host* (see the module docstring).

    *serial* numbers the DSNs' Message-IDs; one counter serves every host of a run (``<usec.N.dsn@fqdn>``).
    """

    __slots__ = ("cleanup", "ctx", "fqdn", "host", "serial")

    def __init__(self, ctx: MailContext, *, host: str, fqdn: str, cleanup: Cleanup, serial: Iterator[int]) -> None:
        self.ctx = ctx
        self.host = host
        self.fqdn = fqdn
        self.cleanup = cleanup
        self.serial = serial

    def __repr__(self) -> str:
        return f"<Bounce {self.host}>"

    def send(self, entry: QueueEntry, bounced: list[Outcome], now: float) -> None:
        """Queue a DSN from ``<>`` to *entry*'s envelope sender reporting the *bounced* recipients."""
        ctx = self.ctx
        when = sim_datetime(ctx.epoch, now)
        recipients = []
        for o in bounced:
            host = o.relay.split("[")[0] if o.relay not in ("none", "local") else None
            diag = f"smtp; {o.text}" if o.code else f"x-netlab; {o.text}"
            status = o.dsn if o.dsn[:1] in "45" else "5.0.0"
            if status.startswith("4"):
                status = "5" + status[1:] if o.dsn != "4.4.7" else status
            recipients.append(RecipientStatus(o.rcpt, "failed", status, diagnostic=diag, remote_mta=host,
                                              last_attempt=when))  # fmt: skip
        mid = f"<{int(now * 1e6)}.{next(self.serial)}.dsn@{self.fqdn}>"
        raw = build_dsn(reporting_mta=self.fqdn, original=entry.raw, envelope_from=entry.sender,
                        recipients=recipients, arrival=sim_datetime(ctx.epoch, entry.arrival), when=when,
                        message_id=mid, queue_id=entry.qid)  # fmt: skip
        ctx.tracker.create(None, "", [entry.sender], now, len(raw), kind=MessageKind.DSN, message_id=mid,
                           origin=entry.message_id, subject=header_value(raw, "Subject"))  # fmt: skip
        dsn_entry = self.cleanup.enqueue_local("", [entry.sender], raw)
        ctx.log(self.host, "bounce", entry.qid, f"sender non-delivery notification: {dsn_entry.qid}")
