"""Deterministic spam scoring."""

from __future__ import annotations

import pytest

from netlab.errors import ConfigError
from netlab.mail.message import build_message, to_bytes
from netlab.mail.spam import DEFAULT_RULES, GTUBE, SessionInfo, SpamFilter, SpamRule, SpamVerdict, x_spam_status

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
