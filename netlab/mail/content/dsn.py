"""Delivery status notifications (bounces): RFC 3464 reports in an RFC 6522 ``multipart/report``.

A DSN goes from the null reverse-path ``<>`` to the original envelope sender (RFC 5321 §6.1), never to a null
sender: a bounce of a bounce would let two broken servers loop forever, so :func:`build_dsn` refuses it.

>>> from datetime import datetime, timezone
>>> when = datetime(2026, 1, 1, 0, 5, tzinfo=timezone.utc)
>>> failed = RecipientStatus("bob@b.example", "failed", "5.1.1", diagnostic="smtp; 550 5.1.1 User unknown",
...                          remote_mta="mx.b.example")
>>> raw = build_dsn(reporting_mta="mta.a.example", original=b"Subject: hi\\r\\n\\r\\nbody\\r\\n",
...                 envelope_from="alice@a.example", recipients=[failed], arrival=when, when=when)
>>> from netlab.mail.content.message import parse
>>> msg = parse(raw)
>>> msg.get_content_type(), msg.get_param("report-type"), msg["To"]
('multipart/report', 'delivery-status', 'alice@a.example')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.utils import format_datetime

from netlab.mail.content.message import (
    SMTP_POLICY,
    Envelope,
    header_section,
    stable_boundary,
    to_bytes,
)
from netlab.mail.errors import DsnError
from netlab.mail.smtp.reply import Reply

__all__ = ["RecipientStatus", "build_dsn", "dsn_envelope"]

_ACTIONS = frozenset({"failed", "delayed", "delivered", "relayed", "expanded"})
_STATUS = re.compile(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}")
_SUBJECTS = {
    "failed": "Undelivered Mail Returned to Sender",
    "delayed": "Delayed Mail (still being retried)",
}


def _date(when: datetime) -> str:
    return format_datetime(when if when.tzinfo is not None else when.replace(tzinfo=UTC))


@dataclass(frozen=True, slots=True)
class RecipientStatus:
    """The per-recipient block of a DSN (RFC 3464 §2.3).

    *action* is ``failed``, ``delayed``, ``delivered``, ``relayed`` or ``expanded``; *status* an RFC 3463 code
    (``5.1.1``); *diagnostic* e.g. ``smtp; 550 5.1.1 ...``; *remote_mta* the host that answered.
    """

    recipient: str
    action: str
    status: str
    diagnostic: str | None = None
    remote_mta: str | None = None
    last_attempt: datetime | None = None
    will_retry_until: datetime | None = None
    original_recipient: str | None = None

    def __post_init__(self) -> None:
        if self.action not in _ACTIONS:
            raise DsnError(f"DSN action {self.action!r} is not one of {sorted(_ACTIONS)}")
        if not _STATUS.fullmatch(self.status):
            raise DsnError(f"DSN status {self.status!r} is not an RFC 3463 code like 5.1.1")

    @classmethod
    def from_reply(
        cls, recipient: str, reply: Reply, *, remote_mta: str | None = None, when: datetime | None = None
    ) -> RecipientStatus:
        """The status a server's *reply* implies: 5xx failed, 4xx delayed, 2xx delivered."""
        klass = reply.code // 100
        action = {2: "delivered", 4: "delayed"}.get(klass, "failed")
        status = reply.enhanced or f"{klass if klass in (2, 4, 5) else 5}.0.0"
        return cls(recipient, action, status, f"smtp; {reply}", remote_mta, when)


def dsn_envelope(envelope_from: str) -> Envelope:
    """The envelope a DSN travels in: from ``<>`` to the original sender."""
    if not envelope_from:
        raise DsnError("no DSN for a null reverse-path (RFC 5321 §6.1: never bounce a bounce)")
    return Envelope("", (envelope_from,))


def _block(fields: Sequence[tuple[str, str | None]]) -> Message:
    block = Message(policy=SMTP_POLICY)
    for name, value in fields:
        if value is not None:
            block[name] = value
    return block


def _human_text(reporting_mta: str, recipients: Sequence[RecipientStatus]) -> str:
    failed = any(r.action == "failed" for r in recipients)
    lines = [f"This is the mail system at host {reporting_mta}.", ""]
    if failed:
        lines += [
            "I'm sorry to have to inform you that your message could not",
            "be delivered to one or more recipients. It's attached below.",
        ]
    else:
        lines += [
            "This is a delivery status notification about your message;",
            "its headers are attached below. No action is required on your part.",
        ]
    lines += ["", "For further assistance, please send mail to postmaster.", ""]
    lines += ["                   The mail system", ""]
    for r in recipients:
        lines.append(f"<{r.recipient}>: {r.action} ({r.diagnostic or r.status})")
    return "\n".join(lines) + "\n"


def build_dsn(
    *,
    reporting_mta: str,
    original: bytes,
    envelope_from: str,
    recipients: Sequence[RecipientStatus],
    arrival: datetime,
    when: datetime,
    message_id: str | None = None,
    queue_id: str | None = None,
) -> bytes:
    """Build the DSN for the message *original* sent by *envelope_from* (CRLF bytes, ready for DATA).

    Parameters
    ----------
    reporting_mta
        The host writing the report (``Reporting-MTA: dns; host``, ``From: MAILER-DAEMON@host``).
    original
        The original message; only its header section is returned (``text/rfc822-headers``).
    envelope_from
        The original reverse-path, the DSN's recipient.
    recipients
        One :class:`RecipientStatus` per recipient reported on.
    arrival, when
        When the original arrived (``Arrival-Date``) and the DSN's ``Date``.
    message_id, queue_id
        The DSN's Message-ID (default ``<{when_us}.dsn@{reporting_mta}>``) and the original's queue id
        (``X-Postfix-Queue-ID``-style ``X-Netlab-Queue-ID``), both optional.

    Raises
    ------
    DsnError
        For a null *envelope_from* (no bounce of a bounce) or no recipients.
    """
    if not envelope_from:
        raise DsnError("no DSN for a null reverse-path (RFC 5321 §6.1: never bounce a bounce)")
    if not recipients:
        raise DsnError("a DSN needs at least one recipient status")
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = f"MAILER-DAEMON@{reporting_mta} (Mail Delivery System)"
    msg["To"] = envelope_from
    actions = {r.action for r in recipients}
    msg["Subject"] = next((s for a, s in _SUBJECTS.items() if a in actions), "Successful Mail Delivery Report")
    msg["Date"] = _date(when)
    aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    msg["Message-ID"] = message_id or f"<{round(aware.timestamp() * 1e6)}.dsn@{reporting_mta}>"
    msg["Auto-Submitted"] = "auto-replied"  # RFC 3834: automatic responders must not answer this
    msg.set_content(_human_text(reporting_mta, recipients))
    msg.make_mixed()
    msg.set_type("multipart/report")
    msg.set_param("report-type", "delivery-status")

    status = EmailMessage(policy=SMTP_POLICY)
    status["Content-Type"] = "message/delivery-status"
    per_message = _block(
        [
            ("Reporting-MTA", f"dns; {reporting_mta}"),
            ("X-Netlab-Queue-ID", queue_id),
            ("Arrival-Date", _date(arrival)),
        ]
    )
    blocks: list[Message | str] = [per_message]
    blocks.extend(
        _block(
            [
                ("Final-Recipient", f"rfc822; {r.recipient}"),
                ("Original-Recipient", f"rfc822; {r.original_recipient}" if r.original_recipient else None),
                ("Action", r.action),
                ("Status", r.status),
                ("Remote-MTA", f"dns; {r.remote_mta}" if r.remote_mta else None),
                ("Diagnostic-Code", r.diagnostic),
                ("Last-Attempt-Date", _date(r.last_attempt) if r.last_attempt else None),
                ("Will-Retry-Until", _date(r.will_retry_until) if r.will_retry_until else None),
            ]
        )
        for r in recipients
    )
    status.set_payload(blocks)  # the generator writes a list payload as blank-line-separated blocks
    msg.attach(status)

    headers = EmailMessage(policy=SMTP_POLICY)
    head, _ = header_section(original)
    headers.set_content(head.decode("utf-8", "replace"), subtype="rfc822-headers")
    del headers["MIME-Version"]  # set_content adds it as if this were a whole message; it belongs on top only
    msg.attach(headers)
    msg.set_boundary(stable_boundary(b"dsn", reporting_mta.encode(), str(msg["Message-ID"]).encode(), head))
    return to_bytes(msg)
