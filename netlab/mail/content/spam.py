"""Deterministic spam scoring, SpamAssassin style: a fixed rule table, summed scores, one threshold.

A rule either matches a regular expression against one part of the message (subject, decoded text body, raw
header section) or calls a predicate. The score is the sum of the rules that hit; the message is spam when the
score reaches the threshold (``required_score``, 5.0 by default). Nothing random or statistical: the verdict
depends only on the message bytes and the session facts, so two runs agree exactly.

>>> gtube = b"Subject: test\\r\\n\\r\\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\\r\\n"
>>> verdict = SpamFilter().score(gtube, SessionInfo(inbound=False))
>>> x_spam_status(verdict, 5.0)
'Yes, score=1000.0 required=5.0 tests=GTUBE'
"""

from __future__ import annotations

import email
import email.errors
import email.header
import email.policy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from typing import Literal, Protocol

from netlab.errors import ConfigError
from netlab.mail.content.message import header_section

__all__ = ["DEFAULT_RULES", "GTUBE", "SessionInfo", "SpamFilter", "SpamRule", "SpamVerdict", "x_spam_status"]

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
"""The Generic Test for Unsolicited Bulk Email: any filter must call a message carrying it spam."""

Target = Literal["subject", "body", "headers"]


class _ServerSessionLike(Protocol):
    authenticated_user: str | None
    helo: str | None
    peer_ip: str


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """The session facts a score may depend on.

    ``inbound`` is True at a receiving MX (mail from elsewhere) and False at the MSA/outbound MTA, where the
    MSA has just added any missing ``Date``/``Message-ID`` so their absence means nothing.
    """

    authenticated: bool = False
    helo: str = ""
    peer_ip: str = ""
    inbound: bool = True

    @classmethod
    def of(cls, session: _ServerSessionLike, *, inbound: bool) -> SessionInfo:
        """The facts of an :class:`~netlab.mail.smtp.SmtpServerSession`."""
        return cls(session.authenticated_user is not None, session.helo or "", session.peer_ip, inbound)


@dataclass(frozen=True, slots=True)
class _Parsed:
    msg: Message
    subject: str
    body: str
    headers: str
    session: SessionInfo


Predicate = Callable[[Message, SessionInfo], bool]


@dataclass(frozen=True, slots=True)
class SpamRule:
    """One rule: *score* is added when *pattern* is found in *target*, or when *predicate* is true."""

    name: str
    score: float
    pattern: str | None = None
    target: Target = "body"
    predicate: Predicate | None = field(default=None, repr=False, compare=False)
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.pattern is None) == (self.predicate is None):
            raise ConfigError(f"spam rule {self.name!r}: give exactly one of pattern and predicate")
        if self.pattern is not None:
            try:
                object.__setattr__(self, "_regex", re.compile(self.pattern))
            except re.error as exc:
                raise ConfigError(f"spam rule {self.name!r}: bad pattern {self.pattern!r}: {exc}") from None

    def hits(self, parsed: _Parsed) -> bool:
        """True when the rule matches *parsed*."""
        if self._regex is not None:
            return self._regex.search(getattr(parsed, self.target)) is not None
        assert self.predicate is not None
        return self.predicate(parsed.msg, parsed.session)


def _html_only(msg: Message, _: SessionInfo) -> bool:
    types = {part.get_content_type() for part in msg.walk() if not part.is_multipart()}
    return "text/html" in types and "text/plain" not in types


def _subject(msg: Message) -> str:
    """The Subject with RFC 2047 encoded words decoded (undecodable ones are kept as they are)."""
    raw = msg.get("Subject")
    if raw is None:
        return ""
    try:
        return str(email.header.make_header(email.header.decode_header(str(raw))))
    except (UnicodeError, LookupError, email.errors.HeaderParseError):
        return str(raw)


def _subject_all_caps(msg: Message, _: SessionInfo) -> bool:
    letters = [c for c in _subject(msg) if c.isalpha()]
    return len(letters) >= 5 and all(c.isupper() for c in letters)


_SPAM_WORDS = r"(?i)\b(?:viagra|lottery|winner|jackpot|prize|free money|casino|bitcoin offer)\b"

DEFAULT_RULES: tuple[SpamRule, ...] = (
    SpamRule("GTUBE", 1000.0, re.escape(GTUBE), "body"),
    SpamRule("SUBJ_ALL_CAPS", 1.5, predicate=_subject_all_caps),
    SpamRule("SUBJ_SPAM_WORDS", 2.5, _SPAM_WORDS, "subject"),
    SpamRule("BODY_SPAM_WORDS", 2.0, _SPAM_WORDS, "body"),
    SpamRule("MANY_EXCLAMATIONS", 1.5, r"!{3,}", "body"),
    SpamRule("SUBJ_EXCLAMATIONS", 1.0, r"!{2,}", "subject"),
    SpamRule("MIME_HTML_ONLY", 1.1, predicate=_html_only),
    # SpamAssassin's MISSING_DATE 1.36 and MISSING_MID 0.5: only meaningful on mail that did not pass our MSA.
    SpamRule("MISSING_DATE", 1.4, predicate=lambda m, s: s.inbound and m.get("Date") is None),
    SpamRule("MISSING_MID", 0.5, predicate=lambda m, s: s.inbound and m.get("Message-ID") is None),
    # Like SpamAssassin's ALL_TRUSTED: an authenticated submitter is accountable.
    SpamRule("AUTH_SUBMISSION", -1.0, predicate=lambda m, s: s.authenticated),
)
"""The default rule table (scores in the spirit of SpamAssassin's; GTUBE alone is decisive)."""


@dataclass(frozen=True, slots=True)
class SpamVerdict:
    """Score (sum of hits), the names of the rules that hit (sorted) and whether score >= threshold."""

    score: float
    tests: tuple[str, ...]
    is_spam: bool


def _text_of(msg: Message) -> str:
    """All text parts decoded; unknown charsets and broken encodings degrade instead of raising."""
    texts: list[str] = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        charset = part.get_content_charset() or "us-ascii"
        try:
            texts.append(payload.decode(charset, "replace"))
        except LookupError:
            texts.append(payload.decode("latin-1"))
    return "\n".join(texts)


class SpamFilter:
    """Scores messages against *rules*; spam when the score is at least *threshold*.

    *body_cache_bytes* bounds the multipart bodies kept parsed for rescoring (see :meth:`_parse`): the oldest go
    first, and a body larger than the bound is never kept.

    >>> SpamFilter(threshold=8.0)
    SpamFilter(rules=10, threshold=8.0)
    """

    def __init__(self, rules: Sequence[SpamRule] = DEFAULT_RULES, threshold: float = 5.0, *,
                 body_cache_bytes: int = 8_000_000) -> None:  # fmt: skip
        names = [rule.name for rule in rules]
        if len(set(names)) != len(names):
            raise ConfigError(f"spam rules: duplicate rule names in {names}")
        self.rules = tuple(rules)
        self.threshold = float(threshold)
        self.body_cache_bytes = body_cache_bytes
        self._bodies: dict[tuple[tuple[str, ...], bytes], tuple[Message, str]] = {}
        self._body_bytes = 0  # sum of the cached bodies' lengths

    def __repr__(self) -> str:
        return f"SpamFilter(rules={len(self.rules)}, threshold={self.threshold})"

    def score(self, raw: bytes, session: SessionInfo) -> SpamVerdict:
        """Score the message *raw* received in *session*."""
        head, rest = header_section(raw)
        msg, text = self._parse(raw, head, rest)
        parsed = _Parsed(msg, _subject(msg), text, head.decode("latin-1"), session)
        hits = sorted(rule.name for rule in self.rules if rule.hits(parsed))
        by_name = {rule.name: rule.score for rule in self.rules}
        # Sum in sorted-name order and round: the same float for the same hits, whatever the table order.
        total = round(sum(by_name[name] for name in hits), 3)
        return SpamVerdict(total, tuple(hits), total >= self.threshold)

    def _parse(self, raw: bytes, head: bytes, rest: bytes) -> tuple[Message, str]:
        """The message parsed (``compat32``: the modern policy's header objects cost more than the scoring) and
        the text of its text parts.

        A message is scored at the sending MSA and again at the recipient's MX with only trace fields added
        above it, and parsing a multipart body (attachments, line by line) is most of the cost; so the parts of
        a multipart body are parsed once per (top-level Content-Type, body) and given the header fields of the
        message at hand. Rules see a fresh top-level message each time; the parts are shared (read them only).
        """
        top = BytesHeaderParser(policy=email.policy.compat32).parsebytes(head + b"\r\n")
        if top.get_content_maintype() != "multipart":
            msg = email.message_from_bytes(raw, policy=email.policy.compat32)
            return msg, _text_of(msg)
        key = (tuple(top.get_all("Content-Type", ())), rest)
        hit = self._bodies.get(key)
        if hit is None:
            base = email.message_from_bytes(raw, policy=email.policy.compat32)
            hit = (base, _text_of(base))
            if len(rest) <= self.body_cache_bytes:
                self._bodies[key] = hit
                self._body_bytes += len(rest)
                while self._body_bytes > self.body_cache_bytes:  # the oldest first: dicts keep insertion order
                    oldest = next(iter(self._bodies))
                    self._body_bytes -= len(oldest[1])
                    del self._bodies[oldest]
            return hit
        base, text = hit
        top.set_payload(base.get_payload())  # the list of parts, as it is (a multipart payload is not decoded)
        top.preamble, top.epilogue = base.preamble, base.epilogue
        return top, text


def x_spam_status(verdict: SpamVerdict, threshold: float = 5.0) -> str:
    """The ``X-Spam-Status`` value: ``Yes, score=7.5 required=5.0 tests=A,B`` (``tests=none`` when none hit)."""
    tests = ",".join(verdict.tests) or "none"
    return f"{'Yes' if verdict.is_spam else 'No'}, score={verdict.score:.1f} required={threshold:.1f} tests={tests}"
