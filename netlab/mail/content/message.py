"""Message content (RFC 5322) and the envelope that carries it (RFC 5321 §2.3.1), kept apart.

Content is built and serialised with the stdlib :mod:`email` package (``policy.SMTP``: CRLF line ends) and
parsed back with ``policy.default``. Relays must not rewrite content (RFC 5321 §3.6.3), so the trace helpers
(:func:`prepend_header`, :func:`return_path`, :func:`ensure_date_and_message_id`) edit the raw bytes of the
header section and leave every other byte as it came.

>>> when = sim_datetime(DEFAULT_EPOCH, 5.0)
>>> msg = build_message(sender="alice@a.example", to="bob@b.example", subject="Hi", body="Hello\\n")
>>> raw = ensure_date_and_message_id(to_bytes(msg), when=when, host_fqdn="msa.a.example", counter=1)
>>> line = received_header(by_host="mx.b.example", by_ip="10.0.0.2", helo="msa.a.example",
...                        peer_ip="10.0.0.1", protocol="ESMTP", queue_id="3F2A1B4C5D",
...                        for_rcpt="bob@b.example", when=when)
>>> raw = line + raw
>>> count_received(raw), parse(raw)["Message-ID"]
(1, '<1767225605000000.1@msa.a.example>')
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import format_datetime

__all__ = [
    "DEFAULT_EPOCH",
    "PARSE_POLICY",
    "SMTP_POLICY",
    "Envelope",
    "build_message",
    "count_received",
    "dot_stuff",
    "dot_unstuff",
    "ensure_date_and_message_id",
    "header_fields",
    "header_section",
    "header_value",
    "make_message_id",
    "normalize_crlf",
    "parse",
    "prepend_header",
    "received_header",
    "return_path",
    "sim_datetime",
    "stable_boundary",
    "to_bytes",
]

DEFAULT_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
"""Wall-clock date of simulated time 0 (``mail.epoch`` overrides it)."""

Attachment = tuple[str, bytes, str, str]
"""``(filename, data, maintype, subtype)``."""

_HEADER_END = re.compile(rb"\r?\n\r?\n")


class _CachedHeaderRegistry(HeaderRegistry):
    """The stdlib's header registry, creating each header class once.

    ``HeaderRegistry.__getitem__`` builds a new class with ``type()`` for every header it parses; the classes
    form reference cycles, so a run composing thousands of messages spent a third of its time creating them
    and in the garbage collector clearing them.
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(key)
        return cls


SMTP_POLICY = policy.SMTP.clone(header_factory=_CachedHeaderRegistry())
"""``email.policy.SMTP`` (CRLF line ends) with header classes made once: what content is built with."""
PARSE_POLICY = policy.default.clone(header_factory=_CachedHeaderRegistry())
"""``email.policy.default`` with header classes made once: what content is parsed back with."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """The SMTP envelope: reverse-path and forward-paths; routing and bounces use only this (RFC 5321 §3.6.3).

    ``mail_from == ""`` is the null reverse-path of a bounce. A list of recipients is stored as a tuple.
    """

    mail_from: str
    rcpt_to: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.rcpt_to, tuple):
            object.__setattr__(self, "rcpt_to", tuple(self.rcpt_to))

    @property
    def is_bounce(self) -> bool:
        """True when the reverse-path is null: a notification that must never itself be bounced."""
        return self.mail_from == ""


def sim_datetime(epoch: datetime, t: float) -> datetime:
    """The wall-clock date of simulated time *t* (seconds); a naive *epoch* is taken as UTC."""
    if epoch.tzinfo is None:
        epoch = epoch.replace(tzinfo=UTC)
    return epoch + timedelta(seconds=t)


def _date(when: datetime) -> str:
    # A naive datetime would be printed with "-0000" (zone unknown); RFC 5321 §4.4 wants a numeric zone.
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return format_datetime(when)


def make_message_id(t_us: int, counter: int, host_fqdn: str) -> str:
    """``<{t_us}.{counter}@{host_fqdn}>``: deterministic and unique per host (RFC 5322 §3.6.4)."""
    return f"<{t_us}.{counter}@{host_fqdn}>"


def stable_boundary(*parts: bytes) -> str:
    """A MIME boundary derived from *parts* (the stdlib draws a random one, which would make runs differ)."""
    digest = hashlib.sha256(b"\x1f".join(parts)).hexdigest()[:32]
    return f"=_netlab_{digest}"


def _mua_fields(sender: str, to: str | Sequence[str], subject: str, date: datetime | None,
                message_id: str | None) -> list[tuple[str, str]]:  # fmt: skip
    """The MUA's header fields in the order :func:`build_message` and :func:`mua_header_bytes` write them."""
    fields = [("From", sender), ("To", to if isinstance(to, str) else ", ".join(to)), ("Subject", subject)]
    if date is not None:
        fields.append(("Date", _date(date)))
    if message_id is not None:
        fields.append(("Message-ID", message_id))
    return fields


def mua_header_bytes(*, sender: str, to: str | Sequence[str], subject: str, date: datetime | None = None,
                     message_id: str | None = None) -> bytes:  # fmt: skip
    """The header section (CRLF lines, no blank line) that :func:`build_message` writes before its content fields.

    Each field is folded on its own (the generator writes ``policy.fold_binary`` of each stored field in turn), so
    the lines are built field by field; ``From`` and ``To`` repeat across a workload's messages and their address
    parsing is most of the cost, so their lines are kept (a bounded table, emptied when full)."""
    out = []
    for name, value in _mua_fields(sender, to, subject, date, message_id):
        cached = name in ("From", "To")
        line = _FIELD_LINES.get((name, value)) if cached else None
        if line is None:
            line = SMTP_POLICY.fold_binary(*SMTP_POLICY.header_store_parse(name, value))
            if cached:
                if len(_FIELD_LINES) >= _FIELD_LINES_MAX:
                    _FIELD_LINES.clear()
                _FIELD_LINES[(name, value)] = line
        out.append(line)
    return b"".join(out)


_FIELD_LINES: dict[tuple[str, str], bytes] = {}  # (field name, value) -> its folded CRLF line(s)
_FIELD_LINES_MAX = 4096


def build_message(
    *,
    sender: str,
    to: str | Sequence[str],
    subject: str,
    body: str,
    attachments: Iterable[Attachment] = (),
    date: datetime | None = None,
    message_id: str | None = None,
    extra_headers: Iterable[tuple[str, str]] = (),
) -> EmailMessage:
    """Compose a message as an MUA would: header fields plus a text body and optional attachments.

    ``Date`` and ``Message-ID`` are left out when not given; the MSA adds them (RFC 6409 §8.2-8.3). Long body
    lines are encoded by :mod:`email` (quoted-printable) so no line exceeds 998 characters (RFC 5322 §2.1.1).
    """
    msg = EmailMessage(policy=SMTP_POLICY)
    for name, value in [*_mua_fields(sender, to, subject, date, message_id), *extra_headers]:
        msg[name] = value
    msg.set_content(body)
    digest_parts = [sender.encode(), msg["To"].encode(), subject.encode(), body.encode()]
    for filename, data, maintype, subtype in attachments:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        digest_parts += [filename.encode(), data]
    if msg.is_multipart():
        msg.set_boundary(stable_boundary(*digest_parts))
    return msg


def to_bytes(msg: EmailMessage) -> bytes:
    """Serialise with CRLF line ends, as sent in DATA."""
    return msg.as_bytes(policy=SMTP_POLICY)


def parse(raw: bytes) -> EmailMessage:
    """Parse raw content (``policy.default``: headers as rich objects, ``get_content()`` works)."""
    msg = BytesParser(policy=PARSE_POLICY).parsebytes(raw)
    assert isinstance(msg, EmailMessage)  # guaranteed by policy.default's message_factory
    return msg


def header_section(raw: bytes) -> tuple[bytes, bytes]:
    """Split *raw* into its header section (with the final line end) and the rest (blank line and body)."""
    if raw.startswith((b"\r\n", b"\n")):
        return b"", raw
    match = _HEADER_END.search(raw)
    if match is None:
        return raw, b""
    cut = match.start() + (2 if raw[match.start() : match.start() + 2] == b"\r\n" else 1)
    return raw[:cut], raw[cut:]


def header_fields(head: bytes) -> list[bytes]:
    """The header fields of *head*, each with its continuation lines (those starting with SP or HT)."""
    fields: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line
        else:
            fields.append(line)
    return fields


def header_value(raw: bytes, name: str) -> str:
    """The value of the first header field *name* of *raw*, unfolded and with its RFC 2047 encoded words decoded
    (``""`` if there is none); the header section only, without parsing the message.

    >>> header_value(b"From: a@b\\r\\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\\r\\n and more\\r\\n\\r\\nbody", "subject")
    'Grüße and more'
    """
    from email.header import decode_header, make_header

    wanted = name.lower().encode("ascii")
    for f in header_fields(header_section(raw)[0]):
        if _field_name(f) == wanted:
            value = f.split(b":", 1)[1].decode("utf-8", "replace")
            unfolded = re.sub(r"\r?\n(?=[ \t])", "", value).strip()
            try:
                return str(make_header(decode_header(unfolded)))
            except (ValueError, LookupError):  # a malformed encoded word or an unknown charset: as written
                return unfolded
    return ""


def _field_name(field: bytes) -> bytes:
    return field.split(b":", 1)[0].strip().lower()


def _fold(name: str, value: str) -> bytes:
    return SMTP_POLICY.fold_binary(name, value)


def prepend_header(raw: bytes, name: str, value: str | bytes) -> bytes:
    """Put ``name: value`` (folded to 78 columns) above every other header field of *raw*.

    A *value* in bytes that already starts with ``name:`` is taken as a complete folded line (the output of
    :func:`received_header`) and prepended as it is.
    """
    if isinstance(value, bytes):
        if value.lower().startswith(name.lower().encode() + b":"):
            return (value if value.endswith(b"\n") else value + b"\r\n") + raw
        value = value.decode("utf-8", "replace")
    return _fold(name, value) + raw


def received_header(
    *,
    by_host: str,
    by_ip: str | None = None,
    helo: str,
    client_name: str = "unknown",
    peer_ip: str,
    protocol: str,
    queue_id: str,
    for_rcpt: str | None,
    when: datetime,
) -> bytes:
    """The ``Received:`` line an SMTP server prepends on accepting a message (RFC 5321 §4.4), CRLF-folded.

    Shaped as Postfix writes it: ``from HELO (CLIENT_NAME [PEER_IP]) by HOST (netlab) with PROTOCOL id QID
    for <rcpt>; DATE``. The FROM clause pairs the name the client gave in EHLO with the name the server verified
    for its address (RFC 5321 §4.4: the TCP-info; ``unknown`` when there is none, as Postfix writes it), so a
    client that names itself falsely shows; ``for`` names exactly one path and is left out for a
    multi-recipient transaction. *protocol* is ``SMTP``, ``ESMTP``, ``ESMTPA`` (authenticated) ...
    *by_ip* is accepted for symmetry with the peer but not printed, as Postfix does not print its own address.

    >>> from datetime import datetime, timezone
    >>> received_header(by_host="mx", helo="c", client_name="c.example", peer_ip="10.0.0.1", protocol="ESMTP",
    ...       queue_id="AB12", for_rcpt="b@x", when=datetime(2026, 1, 1, tzinfo=timezone.utc),
    ... ).split(b"\\r\\n")  # doctest: +NORMALIZE_WHITESPACE
    [b'Received: from c (c.example [10.0.0.1])', b'\\tby mx (netlab) with ESMTP id AB12',
     b'\\tfor <b@x>; Thu, 01 Jan 2026 00:00:00 +0000', b'']
    """
    del by_ip  # kept in the signature (docs/mail-design.md); see the docstring
    lines = [
        f"Received: from {helo or 'unknown'} ({client_name or 'unknown'} [{peer_ip}])",
        f"\tby {by_host} (netlab) with {protocol} id {queue_id}",
    ]
    when_text = _date(when)
    if for_rcpt:
        lines.append(f"\tfor <{for_rcpt}>; {when_text}")
    else:
        lines[-1] += ";"
        lines.append(f"\t{when_text}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def count_received(raw: bytes) -> int:
    """The number of ``Received:`` fields, the hop count used for loop detection (RFC 5321 §6.3)."""
    head, _ = header_section(raw)
    return sum(1 for field in header_fields(head) if _field_name(field) == b"received")


def return_path(raw: bytes, sender: str) -> bytes:
    """Add ``Return-Path: <sender>`` at final delivery, replacing any existing one (exactly one, §4.4)."""
    head, rest = header_section(raw)
    kept = b"".join(field for field in header_fields(head) if _field_name(field) != b"return-path")
    return f"Return-Path: <{sender}>\r\n".encode() + kept + rest


def ensure_date_and_message_id(
    raw: bytes, *, when: datetime, host_fqdn: str, counter: int, t_us: int | None = None
) -> bytes:
    """Add ``Date`` and ``Message-ID`` only when missing (the MSA's duty, RFC 6409 §8.2-8.3).

    The new fields go at the end of the header section. The Message-ID is ``<{t_us}.{counter}@{host_fqdn}>``;
    *t_us* defaults to *when* in microseconds since 1970, which is deterministic because *when* is
    ``epoch + t``.
    """
    head, rest = header_section(raw)
    present = BytesHeaderParser(policy=policy.compat32).parsebytes(head + b"\r\n")
    added = b""
    if present["Date"] is None:
        added += _fold("Date", _date(when))
    if present["Message-ID"] is None:
        if t_us is None:
            aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
            t_us = round(aware.timestamp() * 1_000_000)
        added += _fold("Message-ID", make_message_id(t_us, counter, host_fqdn))
    if not added:
        return raw
    if head and not head.endswith(b"\n"):
        head += b"\r\n"
    return head + added + (rest if rest else b"\r\n")


def normalize_crlf(raw: bytes) -> bytes:
    """Every line end as CRLF (bare LF is not SMTP); a non-empty result always ends with CRLF.

    >>> normalize_crlf(b"a\\nb\\r\\nc")
    b'a\\r\\nb\\r\\nc\\r\\n'
    """
    if not raw:
        return b""
    if raw.endswith(b"\r\n") and raw.count(b"\n") == raw.count(b"\r\n"):
        return raw  # already SMTP's form, as nearly every message is: two counts cost less than two copies
    # Two C-speed replaces: drop the CR of every CRLF, then turn every LF into CRLF (a lone CR stays content).
    out = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return out if out.endswith(b"\r\n") else out.removesuffix(b"\r") + b"\r\n"


def dot_stuff(raw: bytes, *, crlf: bool = False) -> bytes:
    """The DATA transfer form of *raw*: CRLF lines, a leading ``.`` doubled, ending with ``.\\r\\n`` (§4.5.2).

    *crlf* True says *raw* already ends every line with CRLF (what :func:`normalize_crlf` returns): not checked again.

    >>> dot_stuff(b"a\\n.b\\n")
    b'a\\r\\n..b\\r\\n.\\r\\n'
    """
    body = raw if crlf else normalize_crlf(raw)
    return (b"." if body.startswith(b".") else b"") + body.replace(b"\r\n.", b"\r\n..") + b".\r\n"


def dot_unstuff(lines: Iterable[bytes]) -> bytes:
    """Undo :func:`dot_stuff` for received DATA *lines* (without the terminating lone ``.``)."""
    return b"".join(line[1:] if line.startswith(b".") else line for line in lines)
