"""Envelope addresses (RFC 5321 mailboxes): parse, validate, qualify.

The envelope is what routing and bounces use (RFC 5321 §3.6.3), so its addresses are parsed strictly: a
local part (dot-atom or quoted string, at most 64 octets) and a domain (LDH labels or an address literal, at
most 255 octets). ``<>`` is the null reverse-path that bounces are sent from.

>>> a = parse_address("Alice <alice@Example.ORG>")
>>> a, str(a), a.path
(Address(local='alice', domain='example.org'), 'alice@example.org', '<alice@example.org>')
>>> str(parse_address("<>")), parse_address("<>").is_null
('', True)
>>> qualify("bob", "example.org")
'bob@example.org'
>>> user_key("Bob@B.Test"), user_key("Bob@B.Test", fold_local_part=False), user_key("Bob")
('bob@b.test', 'Bob@b.test', 'bob')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import overload

from netlab.mail.errors import MailAddressError

__all__ = ["Address", "is_dns_name", "parse_address", "qualify", "user_key"]

# RFC 5321 §4.1.2: atext for dot-atoms, qtext/quoted-pair for quoted strings.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_QUOTED = re.compile(r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"')
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_IPV4_LITERAL = re.compile(r"\[(?:\d{1,3}\.){3}\d{1,3}\]")
_IPV6_LITERAL = re.compile(r"\[IPv6:[0-9A-Fa-f:.]+\]")

# RFC 5321 §4.5.3.1: local part 64 octets, domain 255.
MAX_LOCAL = 64
MAX_DOMAIN = 255


@dataclass(frozen=True, slots=True)
class Address:
    """A mailbox ``local@domain``; the null reverse-path has both parts empty.

    The domain is kept in lower case because DNS names compare case-insensitively; the local part keeps its
    case because only the destination host may interpret it (RFC 5321 §2.4).
    """

    local: str
    domain: str

    @classmethod
    def null(cls) -> Address:
        """The null reverse-path ``<>`` (bounces are sent from it)."""
        return cls("", "")

    @classmethod
    def split(cls, text: str) -> Address:
        """An address that was already checked (an envelope path the SMTP session parsed, a user of a validated
        scenario) split at its last ``@`` without parsing it again; the domain in lower case.

        What the mail programs route on: the domain picks the next hop, ``str()`` is the message-store account
        (the local part as given, RFC 5321 §2.4). Text without ``@`` keeps ``str.rpartition``'s reading (all
        domain); only a bare ``<Postmaster>`` (RFC 5321 §4.5.1) reaches the MTA that way.

        >>> Address.split("Bob@B.Test"), str(Address.split("Bob@B.Test"))
        (Address(local='Bob', domain='b.test'), 'Bob@b.test')
        """
        local, _, domain = text.rpartition("@")
        return cls(local, domain.lower())

    @property
    def is_null(self) -> bool:
        """True for ``<>``."""
        return not self.local and not self.domain

    @property
    def path(self) -> str:
        """The SMTP path form, ``<local@domain>`` or ``<>``."""
        return f"<{self}>"

    def __str__(self) -> str:
        return "" if self.is_null else f"{self.local}@{self.domain}"


def is_dns_name(name: str) -> bool:
    """*name* is dot-separated labels of letters, digits and inner hyphens (RFC 1035 §2.3.1), 255 octets at most:
    a host or domain name, or a DKIM selector (RFC 6376 §3.1).

    >>> is_dns_name("mail-2024.example"), is_dns_name("bad selector"), is_dns_name("a..b")
    (True, False, False)
    """
    return 0 < len(name) <= MAX_DOMAIN and all(_LABEL.fullmatch(label) for label in name.split("."))


def _valid_domain(domain: str) -> bool:
    if domain.startswith("["):
        return len(domain) <= MAX_DOMAIN and bool(_IPV4_LITERAL.fullmatch(domain) or _IPV6_LITERAL.fullmatch(domain))
    return is_dns_name(domain)


def _strip_path(text: str) -> str:
    """The mailbox inside *text*: ``<a@b>``, ``a@b`` or ``Name <a@b>`` (display names come from MUAs)."""
    text = text.strip()
    if text.startswith("<") and text.endswith(">"):
        return text[1:-1].strip()
    if "<" in text or ">" in text:
        if text.count("<") != 1 or text.count(">") != 1 or not text.endswith(">"):
            raise MailAddressError(f"malformed address {text!r}: unbalanced angle brackets")
        # A display name may precede the path (MUAs write them); only the path inside the brackets counts.
        return text[text.index("<") + 1 : -1].strip()
    return text


def parse_address(text: str, *, default_domain: str | None = None) -> Address:
    """Parse one envelope address.

    Parameters
    ----------
    text
        ``alice@example.org``, ``<alice@example.org>``, ``Alice <alice@example.org>`` or ``<>`` (also ``""``)
        for the null reverse-path.
    default_domain
        Appended to an address without ``@`` (the MSA's duty, RFC 6409 §4.2); without it such an address is an
        error.

    Raises
    ------
    MailAddressError
        On a malformed local part or domain, an over-long part, or an unqualified name without
        *default_domain*.

    >>> parse_address("bob", default_domain="example.org")
    Address(local='bob', domain='example.org')
    """
    inner = _strip_path(text)
    if not inner:
        return Address.null()
    # Source routes (<@a,@b:user@c>) are obsolete; RFC 5321 §4.1.2 says to accept and ignore them.
    if inner.startswith("@") and ":" in inner:
        inner = inner.split(":", 1)[1]
    local, sep, domain = inner.rpartition("@")
    if not sep:
        if default_domain is None:
            raise MailAddressError(f"address {text!r} has no domain (expected local@domain)")
        local, domain = inner, default_domain
    if not local:
        raise MailAddressError(f"address {text!r} has an empty local part")
    if not (_DOT_ATOM.fullmatch(local) or _QUOTED.fullmatch(local)):
        raise MailAddressError(f"address {text!r}: {local!r} is not a valid local part")
    if len(local.encode()) > MAX_LOCAL:
        raise MailAddressError(f"address {text!r}: local part longer than {MAX_LOCAL} octets")
    if not _valid_domain(domain):
        raise MailAddressError(f"address {text!r}: {domain!r} is not a valid domain")
    return Address(local, domain.lower())


@overload
def qualify(addr: str, domain: str) -> str: ...
@overload
def qualify(addr: Address, domain: str) -> Address: ...
def qualify(addr: str | Address, domain: str) -> str | Address:
    """Make an unqualified ``alice`` into ``alice@domain``; qualified and null addresses are returned as given.

    Returns the same type it was given (``str`` or :class:`Address`).

    >>> qualify("alice@other.net", "example.org"), qualify("", "example.org")
    ('alice@other.net', '')
    """
    if isinstance(addr, Address):
        return addr
    if not addr.strip() or addr.strip() == "<>":
        return addr
    return str(parse_address(addr, default_domain=domain))


def user_key(address: str, *, fold_local_part: bool = True) -> str:
    """The form a local user is looked up under: the domain in lower case (DNS names compare case-insensitively,
    RFC 4343) and, with *fold_local_part*, the local part too.

    RFC 5321 §2.4 leaves a local part's case to the destination host; Postfix's local(8) folds it before the
    lookup and its tables match keys case-insensitively, so ``HEIDI@beta.example`` is ``heidi@beta.example``
    there. Only the host that holds the mailboxes may fold: a relay passes the local part on as given.
    """
    local, at, domain = address.rpartition("@")
    if not at:  # a bare user name (a message store without domains)
        return address.lower() if fold_local_part else address
    return f"{local.lower() if fold_local_part else local}@{domain.lower()}"
