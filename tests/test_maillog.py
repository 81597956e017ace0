"""Postfix-style mail log."""

from __future__ import annotations

import random

import pytest

from netlab.mail.maillog import (
    SYSLOG_RE,
    LogLine,
    MailLog,
    format_client,
    format_delay,
    format_delivery,
    format_expired,
    format_message_id,
    format_qmgr_active,
    parse_fields,
    relay_name,
)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0"), (-1, "0"), (0.004, "0"), (0.005, "0.01"), (0.0123, "0.01"), (0.1, "0.1"), (0.314, "0.31"),
     (1.0, "1"), (1.27, "1.3"), (9.96, "10"), (12.5, "12"), (99.4, "99"), (100.0, "100"), (123.7, "124"),
     (86400.2, "86400")],
)  # fmt: skip
def test_format_delay_postfix_rounding(seconds: float, text: str) -> None:
    assert format_delay(seconds) == text


def test_postfix_trail_round_trip() -> None:
    log = MailLog()
    qid = "3F2A1B4C5D"
    log.add(0.0, "mta1", "smtpd", None, "connect from client.a.example[10.0.0.9]")
    log.add(0.1, "mta1", "smtpd", qid, format_client("client.a.example", "10.0.0.9", sasl_method="PLAIN",
                                                     sasl_username="alice"))  # fmt: skip
    log.add(0.1, "mta1", "cleanup", qid, format_message_id("<1.1@msa.a.example>"))
    log.add(0.2, "mta1", "qmgr", qid, format_qmgr_active(sender="alice@a.example", size=1234, nrcpt=1))
    log.add(5.0, "mta1", "smtp", qid, format_delivery(
        to="bob@b.example", relay=relay_name("mx.b.example", "10.0.0.2", 25), delay=4.93, delays=(0.2, 0.01, 0.5, 4.22),
        dsn="2.0.0", status="sent", reply="250 2.0.0 Ok: queued as 9A8B7C6D5E", orig_to="bob"))  # fmt: skip
    log.add(5.0, "mta1", "qmgr", qid, "removed")
    log.add(432000.0, "mta1", "qmgr", "ABCDEF0123", format_expired("alice@a.example"))
    text = log.text()
    lines = text.splitlines()
    assert len(lines) == len(log) == 7 and text.endswith("\n")
    assert lines[3].startswith("Jan  1 00:00:00 mta1 postfix/qmgr[")
    assert lines[3].endswith(f": {qid}: from=<alice@a.example>, size=1234, nrcpt=1 (queue active)")
    assert lines[1].endswith("client=client.a.example[10.0.0.9], sasl_method=PLAIN, sasl_username=alice")
    assert lines[-1].startswith("Jan  6 00:00:00") and lines[-1].endswith("status=expired, returned to sender")
    parsed = [SYSLOG_RE.fullmatch(line) for line in lines]
    assert all(parsed)
    assert [(m["host"], m["program"], m["queue_id"]) for m in parsed if m] == [
        (line.host, f"postfix/{line.program}", line.queue_id) for line in log
    ]
    delivery = parse_fields(parsed[4]["text"])  # type: ignore[index]
    assert delivery == {"to": "bob@b.example", "orig_to": "bob", "relay": "mx.b.example[10.0.0.2]:25", "delay": "4.9",
                        "delays": "0.2/0.01/0.5/4.2", "dsn": "2.0.0", "status": "sent",
                        "reply": "250 2.0.0 Ok: queued as 9A8B7C6D5E"}  # fmt: skip


def half_unit(x: float) -> float:
    text = format_delay(x)
    return 0.005 if text == "0" else 0.5 * 10.0 ** -(len(text.partition(".")[2]))


def test_delays_add_up_to_delay() -> None:
    rng = random.Random(7)
    for _ in range(500):
        parts = [rng.choice([0.0, rng.uniform(0, 0.05), rng.uniform(0, 3), rng.uniform(0, 4000)]) for _ in range(4)]
        total = sum(parts)
        text = format_delivery(to="b@x", relay="none", delay=total, delays=parts, dsn="4.4.1", status="deferred",
                               reply="connect to x[1.2.3.4]:25: Connection timed out")  # fmt: skip
        fields = parse_fields(text)
        shown = sum(float(p) for p in fields["delays"].split("/"))
        # each printed value is off by at most half a unit of its last printed digit
        bound = half_unit(total) + sum(half_unit(p) for p in parts)
        assert abs(shown - float(fields["delay"])) <= bound + 1e-9
        assert fields["status"] == "deferred" and fields["reply"].startswith("connect to")


def test_frame_and_pids_are_stable() -> None:
    log = MailLog()
    text = format_delivery(to="b@x", relay="local", delay=0.2, delays=(0, 0, 0, 0.2), dsn="2.0.0", status="sent",
                           reply="delivered")  # fmt: skip
    log.append(LogLine(1.0, "mx", "smtp", "AAAAAAAAAA", text))
    log.add(2.0, "mx", "qmgr", "AAAAAAAAAA", "removed")
    frame = log.frame()
    assert frame["status"][0] == "sent" and frame["relay"][0] == "local" and frame["status"].isna()[1]
    assert list(frame.columns[:5]) == ["time_s", "host", "program", "queue_id", "text"]
    assert MailLog(_lines=list(log.lines)).text() == log.text()
    with pytest.raises(ValueError, match="delays needs 4 parts"):
        format_delivery(to="b@x", relay="none", delay=1, delays=(1, 0), dsn="2.0.0", status="sent", reply="x")
