"""Mail errors: what the mail modules raise on purpose.

::

    NetlabError
    ├── ConfigError
    │   └── MailAddressError   an address that is not an RFC 5321 mailbox (names the text and what is wrong)
    └── MailError              base of mail failures that are not configuration mistakes
        ├── ProtocolError      a peer broke SMTP (a malformed reply line, a reply nobody asked for)
        └── DsnError           a delivery status notification that must not or cannot be built

Replies a peer sends on purpose (4xx, 5xx) are not errors: they are :class:`~netlab.mail.smtp.Reply` values
that the state machines record. These classes are for misuse and for peers that do not speak SMTP.
"""

from __future__ import annotations

from netlab.errors import ConfigError, NetlabError

__all__ = ["DsnError", "MailAddressError", "MailError", "ProtocolError"]


class MailError(NetlabError):
    """Base class of mail failures that are not configuration mistakes."""


class MailAddressError(ConfigError):
    """An address that is not a valid RFC 5321 mailbox (``alice@``, ``a b@c``, an unqualified name)."""


class ProtocolError(MailError):
    """A peer broke the SMTP protocol: a malformed reply line or a reply when none was expected."""


class DsnError(MailError, ValueError):
    """A DSN that must not be built (null reverse-path: no bounce of a bounce, RFC 5321 §6.1) or has no recipient."""
