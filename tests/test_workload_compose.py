"""The workload composes plain messages without the ``email`` package: the bytes must be exactly what it writes."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from netlab.mail.content.message import build_message, to_bytes
from netlab.mail.content.spam import GTUBE
from netlab.mail.workload import _body, _plain_7bit, compose, lognormal_size

_WHEN = datetime(2026, 1, 1, 12, 30, tzinfo=UTC)
_TO = [f"user{i}@domain{i}.test" for i in range(12)]  # 12 recipients: a To field folded over several lines


def _by_email(body: str, to: list[str], when: datetime | None, mid: str | None, attachment: bytes = b"") -> bytes:
    atts = [("attachment.bin", attachment, "application", "octet-stream")] if attachment else []
    return to_bytes(build_message(sender="s@d.test", to=to, subject="Message 7", body=body, attachments=atts,
                                  date=when, message_id=mid))  # fmt: skip


@pytest.mark.parametrize(
    ("body", "fast"),
    [
        ("", True),
        ("x", True),  # no final line end: email adds one
        ("a\n\nb\n", True),
        ("a\rb\r\nc\n", True),  # every line end becomes CRLF
        (".\n..\nFrom me\n", True),  # no dot-stuffing or From-mangling in the content itself
        ("tab\there \n", True),
        ("x" * 78 + "\n", True),  # the policy's max_line_length: still 7bit
        ("x" * 79 + "\n", False),  # one more: email picks quoted-printable
        ("caf\u00e9\n", False),  # not ASCII: email picks 8bit-safe encoding
        (f"Congratulations, you are a WINNER!\n{GTUBE}\n", True),
    ],
)
@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize("recipients", [1, 12])
def test_compose_is_the_email_packages_bytes(body: str, fast: bool, full: bool, recipients: int) -> None:
    when, mid = (_WHEN, "<1.7@h1.client>") if full else (None, None)
    to = _TO[:recipients]
    assert (_plain_7bit(body) is not None) is fast
    got = compose(sender="s@d.test", to=to, subject="Message 7", body=body, when=when, message_id=mid)
    assert got == _by_email(body, to, when, mid)


@pytest.mark.parametrize("seed", range(5))
def test_compose_workload_bodies_match_email(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(40):
        body = _body(rng, lognormal_size(rng, 2000.0, 1.5, 200_000))
        attachment = rng.randbytes(300) if rng.random() < 0.2 else b""
        got = compose(sender="s@d.test", to=_TO[:3], subject="Message 7", body=body, attachment=attachment,
                      when=_WHEN, message_id="<1.7@h1.client>")  # fmt: skip
        assert got == _by_email(body, _TO[:3], _WHEN, "<1.7@h1.client>", attachment)


@pytest.mark.parametrize(
    ("sender", "subject"),
    [
        ("s@d.test", "Minutes of the meeting"),
        ("Alice Example <alice@a.test>", "Re: [list] a subject long enough that the header is folded, " * 3),
        ('"Dupont, Jean" <jean@a.test>', "Caf\u00e9 cr\u00e8me \u2014 r\u00e9union"),  # RFC 2047 encoded words
        ("s@d.test", ""),
        ("s@d.test", '=?utf-8?q?already_encoded?= and (comments) <angles> "quotes"'),
    ],
)
@pytest.mark.parametrize("body", ["hello\n", "form\x0cfeed and \x1cfile separator\n"])  # str.splitlines splits these
def test_compose_matches_email_for_a_scripted_messages_own_sender_and_subject(sender: str, subject: str,
                                                                              body: str) -> None:  # fmt: skip
    # scripted messages (mail.send, a send file) carry the user's sender and subject: the fast path writes them too
    got = compose(sender=sender, to=_TO[:2], subject=subject, body=body, when=_WHEN, message_id="<9@h>")
    want = to_bytes(build_message(sender=sender, to=_TO[:2], subject=subject, body=body, date=_WHEN,
                                  message_id="<9@h>"))  # fmt: skip
    assert got == want
