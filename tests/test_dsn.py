"""Delivery status notifications (RFC 3464 / RFC 6522)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from netlab.mail.content.dsn import RecipientStatus, build_dsn, dsn_envelope
from netlab.mail.content.message import Envelope, build_message, parse, to_bytes
from netlab.mail.errors import DsnError
from netlab.mail.smtp import Replies, Reply

ARRIVAL = datetime(2026, 1, 1, tzinfo=UTC)
WHEN = ARRIVAL + timedelta(days=5)
ORIGINAL = to_bytes(build_message(sender="alice@a.example", to="bob@b.example", subject="Report", body="text\n",
                                  message_id="<42@a.example>"))  # fmt: skip


def statuses() -> list[RecipientStatus]:
    return [
        RecipientStatus.from_reply(
            "ghost@b.example", Replies.unknown_user("ghost@b.example"), remote_mta="mx.b.example", when=WHEN
        ),
        RecipientStatus(
            "slow@c.example", "failed", "4.4.7", diagnostic="X-Netlab; delivery time expired", last_attempt=WHEN
        ),
    ]


def test_dsn_structure_parses_with_email() -> None:
    raw = build_dsn(reporting_mta="mta.a.example", original=ORIGINAL, envelope_from="alice@a.example",
                    recipients=statuses(), arrival=ARRIVAL, when=WHEN, queue_id="3F2A1B4C5D")  # fmt: skip
    msg = parse(raw)
    assert msg.get_content_type() == "multipart/report" and msg.get_param("report-type") == "delivery-status"
    assert msg["To"] == "alice@a.example" and msg["Subject"] == "Undelivered Mail Returned to Sender"
    assert msg["From"].addresses[0].addr_spec == "MAILER-DAEMON@mta.a.example"
    human, status, headers = msg.iter_parts()
    assert human.get_content_type() == "text/plain" and "<ghost@b.example>" in human.get_content()
    assert status.get_content_type() == "message/delivery-status"
    per_message, *per_rcpt = status.get_payload()
    assert per_message["Reporting-MTA"] == "dns; mta.a.example"
    assert per_message["Arrival-Date"] == "Thu, 01 Jan 2026 00:00:00 +0000"
    assert [(b["Final-Recipient"], b["Action"], b["Status"]) for b in per_rcpt] == [
        ("rfc822; ghost@b.example", "failed", "5.1.1"),
        ("rfc822; slow@c.example", "failed", "4.4.7"),
    ]
    assert per_rcpt[0]["Remote-MTA"] == "dns; mx.b.example"
    assert per_rcpt[0]["Diagnostic-Code"].startswith("smtp; 550 5.1.1 <ghost@b.example>: Recipient address rejected")
    assert per_rcpt[1]["Last-Attempt-Date"] == "Tue, 06 Jan 2026 00:00:00 +0000"
    assert headers.get_content_type() == "text/rfc822-headers"
    assert "Message-ID: <42@a.example>" in headers.get_content() and "text" not in headers.get_content().split("\n")
    assert raw == build_dsn(reporting_mta="mta.a.example", original=ORIGINAL, envelope_from="alice@a.example",
                            recipients=statuses(), arrival=ARRIVAL, when=WHEN, queue_id="3F2A1B4C5D")  # fmt: skip


def test_delayed_notice_and_from_reply_classes() -> None:
    delayed = RecipientStatus.from_reply("x@b.example", Reply(451, "try again"), when=WHEN)
    assert (delayed.action, delayed.status) == ("delayed", "4.0.0")
    raw = build_dsn(reporting_mta="m", original=ORIGINAL, envelope_from="alice@a.example", recipients=[delayed],
                    arrival=ARRIVAL, when=WHEN)  # fmt: skip
    assert parse(raw)["Subject"] == "Delayed Mail (still being retried)"
    assert RecipientStatus.from_reply("y@b", Replies.queued("X")).action == "delivered"


def test_no_bounce_of_a_bounce() -> None:
    with pytest.raises(DsnError):
        build_dsn(reporting_mta="m", original=ORIGINAL, envelope_from="", recipients=statuses(), arrival=ARRIVAL,
                  when=WHEN)  # fmt: skip
    with pytest.raises(DsnError):
        dsn_envelope("")
    assert dsn_envelope("alice@a.example") == Envelope("", ("alice@a.example",))
    with pytest.raises(DsnError):
        build_dsn(reporting_mta="m", original=ORIGINAL, envelope_from="a@a", recipients=[], arrival=ARRIVAL, when=WHEN)


@pytest.mark.parametrize(("action", "status"), [("bounced", "5.1.1"), ("failed", "550"), ("failed", "6.0.0")])
def test_recipient_status_validation(action: str, status: str) -> None:
    with pytest.raises(DsnError):
        RecipientStatus("x@y", action, status)
