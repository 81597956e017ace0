"""Deterministic spam scoring."""

from __future__ import annotations

import re

import pytest

from netlab.errors import ConfigError
from netlab.mail.content.message import build_message, to_bytes
from netlab.mail.content.spam import DEFAULT_RULES, GTUBE, SessionInfo, SpamFilter, SpamRule, SpamVerdict, x_spam_status

INBOUND = SessionInfo(helo="mta.a.example", peer_ip="10.0.0.1", inbound=True)
SUBMISSION = SessionInfo(authenticated=True, helo="laptop", peer_ip="10.0.9.9", inbound=False)


def message(subject: str, body: str, *, headers: bool = True) -> bytes:
    kwargs = {"date": None, "message_id": None}
    msg = build_message(sender="a@a.example", to="b@b.example", subject=subject, body=body, **kwargs)  # type: ignore[arg-type]
    if headers:
        msg["Date"] = "Thu, 01 Jan 2026 00:00:00 +0000"
        msg["Message-ID"] = "<1@a.example>"
    return to_bytes(msg)


def test_gtube_is_spam() -> None:
    verdict = SpamFilter().score(message("test", f"hello\n{GTUBE}\n"), INBOUND)
    assert verdict == SpamVerdict(1000.0, ("GTUBE",), True)
    assert x_spam_status(verdict, 5.0) == "Yes, score=1000.0 required=5.0 tests=GTUBE"


def test_ham_passes() -> None:
    verdict = SpamFilter().score(message("Lunch on Friday?", "Shall we meet at noon?\n"), INBOUND)
    assert verdict == SpamVerdict(0.0, (), False)
    assert x_spam_status(verdict) == "No, score=0.0 required=5.0 tests=none"


def test_content_rules_add_up() -> None:
    raw = message("YOU ARE A WINNER", "Claim your lottery prize now!!!\n", headers=False)
    verdict = SpamFilter().score(raw, INBOUND)
    assert verdict.tests == ("BODY_SPAM_WORDS", "MANY_EXCLAMATIONS", "MISSING_DATE", "MISSING_MID", "SUBJ_ALL_CAPS",
                             "SUBJ_SPAM_WORDS")  # fmt: skip
    assert verdict.score == pytest.approx(2.0 + 1.5 + 1.4 + 0.5 + 1.5 + 2.5) and verdict.is_spam
    # Outbound, the MSA supplies Date/Message-ID, so their absence is not held against the sender; AUTH helps.
    outbound = SpamFilter().score(raw, SUBMISSION)
    assert "MISSING_DATE" not in outbound.tests and "AUTH_SUBMISSION" in outbound.tests
    assert outbound.score == pytest.approx(verdict.score - 1.9 - 1.0)


def test_html_only_and_threshold() -> None:
    msg = build_message(sender="a@a.example", to="b@b.example", subject="news", body="x")
    msg.set_content("<p>Hello!!!</p>", subtype="html")
    raw = to_bytes(msg)
    verdict = SpamFilter().score(raw, SUBMISSION)
    assert set(verdict.tests) == {"MIME_HTML_ONLY", "MANY_EXCLAMATIONS", "AUTH_SUBMISSION"}
    assert SpamFilter(threshold=1.5).score(raw, SUBMISSION).is_spam is True
    assert SpamFilter(threshold=2.0).score(raw, SUBMISSION).is_spam is False


def test_determinism_across_rule_order_and_runs() -> None:
    raw = message("FREE MONEY!!", "jackpot winner!!!\n")
    first = SpamFilter().score(raw, INBOUND)
    assert all(SpamFilter().score(raw, INBOUND) == first for _ in range(5))
    assert SpamFilter(tuple(reversed(DEFAULT_RULES))).score(raw, INBOUND) == first


def test_garbage_does_not_raise() -> None:
    raw = b"Content-Type: text/plain; charset=no-such-charset\r\nSubject: =?bad?=\r\n\r\n\xff\xfe!!!\r\n"
    assert "MANY_EXCLAMATIONS" in SpamFilter().score(raw, INBOUND).tests


def test_rule_validation() -> None:
    with pytest.raises(ConfigError):
        SpamRule("BOTH", 1.0)
    with pytest.raises(ConfigError):
        SpamRule("BAD_RE", 1.0, "(unclosed")
    with pytest.raises(ConfigError):
        SpamFilter([SpamRule("X", 1.0, "a"), SpamRule("X", 2.0, "b")])
    custom = SpamFilter([SpamRule("HELO_LAPTOP", 6.0, predicate=lambda msg, s: s.helo == "laptop")])
    assert custom.score(message("hi", "hi\n"), SUBMISSION).is_spam


def multipart(subject: str, body: str, *, date: bool = True) -> bytes:
    msg = build_message(
        sender="a@a.example",
        to="b@b.example",
        subject=subject,
        body=body,
        attachments=[("a.bin", bytes(range(256)) * 40, "application", "octet-stream")],
    )
    if date:
        msg["Date"] = "Thu, 01 Jan 2026 00:00:00 +0000"
        msg["Message-ID"] = "<1@a.example>"
    return to_bytes(msg)


@pytest.mark.parametrize("body", ["Shall we meet?\n", f"win!!! {GTUBE}\n"])
def test_a_body_scored_again_under_new_headers_scores_as_fresh(body: str) -> None:
    """The MX rescoring a relayed message (same body, trace fields added, another Subject) agrees with a filter
    that never saw the body, though the parsed parts are reused."""
    first = multipart("hello", body)
    relayed = b"Received: from x (x [10.0.0.1])\r\n\tby mx; Thu, 01 Jan 2026 00:00:01 +0000\r\n" + first
    renamed = multipart("LOTTERY WINNER", body, date=False)
    warm = SpamFilter()
    warm.score(first, SUBMISSION)
    for raw in (relayed, renamed):
        assert warm.score(raw, INBOUND) == SpamFilter().score(raw, INBOUND)
    assert SpamFilter().score(renamed, INBOUND).tests != SpamFilter().score(relayed, INBOUND).tests


def test_same_body_under_another_content_type_is_parsed_again() -> None:
    """A body is reused only with the same top-level Content-Type: another boundary means other parts."""
    raw = multipart("hello", f"{GTUBE}\n")
    head, _, rest = raw.partition(b"\r\n\r\n")
    other = re.sub(rb'boundary="[^"]+"', b'boundary="elsewhere"', head) + b"\r\n\r\n" + rest
    warm = SpamFilter()
    assert warm.score(raw, INBOUND).tests == ("GTUBE",)
    assert warm.score(other, INBOUND) == SpamFilter().score(other, INBOUND)
    assert "GTUBE" not in warm.score(other, INBOUND).tests  # one opaque body: no text part to read


def test_parsed_bodies_kept_are_bounded_in_bytes() -> None:
    """A run full of large attachments must not keep them all parsed: the cache holds at most its byte bound."""
    f = SpamFilter(body_cache_bytes=30_000)
    for i in range(20):
        f.score(multipart(f"m{i}", f"text {i}\n"), SUBMISSION)
    assert 0 < f._body_bytes <= 30_000 and len(f._bodies) < 20
    huge = SpamFilter(body_cache_bytes=100)
    assert huge.score(multipart("x", f"{GTUBE}\n"), INBOUND).tests == ("GTUBE",) and not huge._bodies
