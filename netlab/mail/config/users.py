"""The people in a scenario's ``mail:`` section and the mail they make: users, how their mail programs fetch, the
messages they submit on a script, and random mail traffic.

Frozen values whose field metadata drives the YAML format and the reference page; each checks its own fields when
made (a ConfigError naming the key). :mod:`~netlab.mail.config` re-exports them with the rest of the section.

>>> UserSpec("bob@b.test", client="pc", fetch=FetchSpec("pop3")).fetch.interval_s, MailWorkloadSpec(count=3).finite
(60.0, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from netlab.errors import ConfigError
from netlab.options import Choice, key_aliases
from netlab.topology.spec import option

__all__ = ["FETCH_PROTOCOLS", "FetchMode", "FetchProtocol", "FetchSpec", "MailWorkloadSpec", "ScriptedMessage",
           "UserSpec"]  # fmt: skip


class FetchProtocol(Choice):
    """How a mail program fetches (``fetch.protocol:``); compares equal to its name."""

    POP3 = "pop3"  # port 110: download (and with delete: remove) what is new
    IMAP = "imap"  # port 143: read the mailbox on the server, flags and all; IDLE for push


#: The protocol names, as ``fetch.protocol:`` takes them.
FETCH_PROTOCOLS = tuple(p.value for p in FetchProtocol)


class FetchMode(StrEnum):
    """When a mail program looks for new mail (``fetch.idle:`` false or true)."""

    POLL = "poll"  # a session every interval
    IDLE = "idle"  # stay logged in and wait for the server's push (IMAP IDLE, RFC 2177)


@key_aliases
@dataclass(frozen=True, slots=True)
class FetchSpec:
    """How a user's mail program fetches mail from the inbox server (its domain's mx) over the network."""

    protocol: FetchProtocol | str = option(FetchProtocol.IMAP, doc="pop3 (port 110) or imap (port 143)")
    interval_s: float = option(60.0, key="interval", unit="time", doc="between the starts of two polls; with "
                               "idle, the wait before reconnecting after a failure")  # fmt: skip
    idle: bool = option(False, doc="imap: stay logged in and wait in IDLE for the server's push (RFC 2177)")
    delete: bool = option(False, doc="delete fetched mail on the server (POP3 DELE, IMAP \\Deleted + EXPUNGE); "
                          "default: leave it there")  # fmt: skip

    def __post_init__(self) -> None:
        object.__setattr__(self, "protocol", FetchProtocol.parse(self.protocol, "fetch.protocol"))
        if not (self.interval_s > 0 and math.isfinite(self.interval_s)):
            raise ConfigError(f"fetch.interval: expected a positive time, got {self.interval_s!r}")
        if self.idle and self.protocol is not FetchProtocol.IMAP:
            raise ConfigError("fetch.idle: IDLE is an IMAP extension; use protocol imap or poll")

    @property
    def mode(self) -> FetchMode:
        """``idle`` with IDLE, else ``poll``."""
        return FetchMode.IDLE if self.idle else FetchMode.POLL


@dataclass(frozen=True, slots=True)
class UserSpec:
    """A mail user: address (its domain's MX holds the mailbox), password, the client host its mail program runs
    on (to send, and to fetch with ``fetch``)."""

    address: str = option(doc="user@domain")
    password: str = option("secret", doc="AUTH password at the MSA")
    client: str | None = option(None, doc="host the user's mail program runs on (none: receives only)")
    msa: str | None = option(None, doc="MSA host it submits to; default the msa serving its domain")
    may_send_as: tuple[str, ...] = option((), doc="other sender addresses the MSA lets this user use")
    fetch: FetchSpec | None = option(None, doc="how the mail program on `client` fetches the user's mail (POP3 or "
                                     "IMAP); none: the mail stays in the mailbox")  # fmt: skip

    def __post_init__(self) -> None:
        object.__setattr__(self, "may_send_as", tuple(self.may_send_as))
        for key in ("address", "password", "client", "msa"):
            one_line(key, getattr(self, key))
        for i, other in enumerate(self.may_send_as):
            one_line(f"may_send_as[{i}]", other)


@key_aliases
@dataclass(frozen=True, slots=True)
class ScriptedMessage:
    """One message a user's mail program submits at a given time (lessons and tests)."""

    at_s: float = option(0.0, key="at", unit="time", doc="submission time")
    sender: str = option(key="from", doc="envelope and From: address (a user, or a bare local part)", kw_only=True)
    to: tuple[str, ...] = option((), doc="envelope recipients")
    subject: str = option("Hello", doc="Subject:")
    body: str = option("Hello,\nthis is a test.\n", doc="text body")
    body_bytes: int | None = option(None, key="body_size", unit="size", doc="instead of body: generated text of "
                                    "this many bytes (a trace gives sizes, not texts)")  # fmt: skip
    attachment_bytes: int = option(0, key="attachment", unit="size", doc="size of a binary attachment (0: none)")
    password: str | None = option(None, doc="AUTH password (default the user's; 'none' skips AUTH)")
    headers: bool = option(True, doc="false: leave Date and Message-ID for the MSA to add")

    def __post_init__(self) -> None:
        object.__setattr__(self, "to", tuple(self.to))
        one_line("from", self.sender)
        one_line("subject", self.subject)
        if self.password is not None:
            one_line("password", self.password)
        for i, t in enumerate(self.to):
            one_line(f"to[{i}]", t)
        for key, n in (("body_size", self.body_bytes), ("attachment", self.attachment_bytes)):
            if n is not None and n > MAX_GENERATED_BYTES:
                raise ConfigError(f"{key}: {n:,} bytes is more than netlab generates for one message (at most "
                                  f"{MAX_GENERATED_BYTES:,}; an MSA refuses far less: its size_limit)")  # fmt: skip


#: The largest body or attachment a scripted message may ask netlab to generate (bytes); the default MSA size
#: limit (Postfix's message_size_limit) is 10,240,000.
MAX_GENERATED_BYTES = 100_000_000
_BREAKS = frozenset("\r\n\0\x0b\x0c\x85\u2028\u2029")


def one_line(key: str, value: object) -> None:
    """Refuse a value that becomes a header line or an SMTP argument when it holds a line break (CR, LF and the
    other breaks str.splitlines knows) or NUL: "Subject: hi\\r\\nBcc: eve" would be two headers (header
    injection)."""
    if isinstance(value, str) and not _BREAKS.isdisjoint(value):
        raise ConfigError(f"{key}: {value!r:.80} holds a line break or NUL; a header or SMTP command built from "
                          "it would be split in two (header injection): give it on one line")  # fmt: skip


@key_aliases
@dataclass(frozen=True, slots=True)
class MailWorkloadSpec:
    """Random mail traffic: Poisson submissions per user, lognormal sizes, attachments, spam, and a mix of mail that
    bypasses the MSA (forged, from blocklisted bots, unsigned)."""

    mean_interval_s: float = option(600.0, key="mean_interval", unit="time", doc="mean time between a user's mails")
    count: int | None = option(None, doc="stop after this many messages in all (none: until stop)")
    start_s: float = option(0.0, key="start", unit="time", doc="first possible submission")
    stop_s: float | None = option(None, key="stop", unit="time", doc="no submissions after this")
    senders: tuple[str, ...] = option((), doc="sending users (default every user with a client and an msa)")
    recipients: tuple[str, ...] = option((), doc="possible recipients (default every user)")
    extra_recipients_mean: float = option(0.5, doc="mean of the extra recipients beyond the first (geometric)")
    max_recipients: int = option(5, doc="most recipients per message")
    body_median_bytes: float = option(2000.0, key="body_median", unit="size", doc="lognormal body size median")
    body_sigma: float = option(1.0, doc="lognormal sigma of the body size")
    attachment_probability: float = option(0.15, doc="chance that a message has an attachment")
    attachment_median_bytes: float = option(50000.0, key="attachment_median", unit="size", doc="lognormal median")
    attachment_sigma: float = option(1.2, doc="lognormal sigma of the attachment size")
    max_size_bytes: int = option(20_000_000, key="max_size", unit="size", doc="sizes are capped here")
    spam_fraction: float = option(0.05, doc="share of messages with spam content (GTUBE)")
    missing_headers_fraction: float = option(0.1, doc="share submitted without Date and Message-ID")
    forged_fraction: float = option(0.0, doc="share of messages a spam bot on `forger` sends instead, in the "
                                    "sender's name straight to the recipients' MX (port 25, no AUTH)")  # fmt: skip
    forger: str | None = option(None, doc="host of the spam bot that forges senders (with forged_fraction)")
    listed_fraction: float = option(0.0, doc="share of messages a bot on one of `listed_clients` sends instead, in "
                                    "the sender's name straight to the recipients' MX (port 25, no AUTH)")  # fmt: skip
    listed_clients: tuple[str, ...] = option((), doc="hosts of bots a blocklist of mail.blocklists lists (with "
                                             "listed_fraction; each message picks one)")  # fmt: skip
    unsigned_fraction: float = option(0.0, doc="share of messages the sender's own mail program delivers straight "
                                      "to the recipients' MX (port 25, no AUTH), bypassing its MSA and any DKIM "
                                      "signer: genuine mail, unsigned, from an address SPF may not name")  # fmt: skip

    def __post_init__(self) -> None:
        object.__setattr__(self, "senders", tuple(self.senders))
        object.__setattr__(self, "recipients", tuple(self.recipients))
        object.__setattr__(self, "listed_clients", tuple(self.listed_clients))
        for name in ("spam_fraction", "attachment_probability", "missing_headers_fraction", *_WAYS):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ConfigError(f"mail.workload.{name}: expected a probability in [0, 1], got {v!r}")
        # the ways a message leaves exclude each other (one draw picks one), so their shares add up to at most 1;
        # the slack forgives the rounding of shares such as 0.1 + 0.2 + 0.7
        if sum(getattr(self, name) for name in _WAYS) > 1.0 + 1e-9:
            shares = " + ".join(f"{name} {getattr(self, name):g}" for name in _WAYS)
            raise ConfigError(f"mail.workload: {shares} is more than 1: a message leaves one way, so these shares "
                              "must add up to at most 1 (the rest is genuine mail through the MSA)")  # fmt: skip
        if not (self.mean_interval_s > 0 and math.isfinite(self.mean_interval_s)):
            raise ConfigError(f"mail.workload.mean_interval: expected a positive time, got {self.mean_interval_s!r}")
        if self.count is not None and self.count < 0:
            raise ConfigError("mail.workload.count must be >= 0")
        if self.forged_fraction > 0 and not self.forger:
            raise ConfigError("mail.workload.forger: name the host of the spam bot (forged_fraction > 0)")
        if self.listed_fraction > 0 and not self.listed_clients:
            raise ConfigError("mail.workload.listed_clients: name at least one host a blocklist lists "
                              "(listed_fraction > 0)")  # fmt: skip
        if self.max_recipients < 1 or self.extra_recipients_mean < 0:
            raise ConfigError("mail.workload: max_recipients must be >= 1, extra_recipients_mean >= 0")

    @property
    def finite(self) -> bool:
        """True when the workload ends by itself (a count or a stop time)."""
        return self.count is not None or self.stop_s is not None


#: The ways other than the MSA a workload message may leave by (``MailWorkloadSpec`` fields, in the order one
#: uniform draw is cut into them): the forger's bot, a blocklisted bot, the sender's own program straight to the MX.
_WAYS = ("forged_fraction", "listed_fraction", "unsigned_fraction")
