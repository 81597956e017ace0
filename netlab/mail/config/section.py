"""The ``mail:`` section itself: :class:`MailSpec`, its parts (servers, users, ...) and the lookups across them
(a server by host, a user by address, the mailbox host of a domain).

Field metadata (``option(key=, unit=, doc=)``) drives the YAML format and the reference page, as for the rest of
the scenario; :mod:`netlab.mail.config` is the import path for the section and its parts.

>>> spec = MailSpec(dns_server="dns", domains=(DomainSpec("b.test", mx=((10, "mx1"),)),),
...                 servers=(ServerSpec("mx1", role="mx", domains=("b.test",)),),
...                 users=(UserSpec("bob@b.test"),))
>>> spec.server("mx1").fqdn, spec.queue.maximal_backoff_s
('mx1.b.test', 4000.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from netlab.errors import ConfigError
from netlab.mail.config.servers import (
    BlocklistSpec,
    DkimRotationSpec,
    DomainSpec,
    QueueSpec,
    RecordSpec,
    ServerRole,
    ServerSpec,
)
from netlab.mail.config.users import MailWorkloadSpec, ScriptedMessage, UserSpec
from netlab.mail.content.address import Address, is_dns_name, user_key
from netlab.options import key_aliases
from netlab.topology.spec import option

__all__ = ["MailSpec"]

_DEFAULT_EPOCH = "2026-01-01T00:00:00+00:00"


@key_aliases
@dataclass(frozen=True, slots=True)
class MailSpec:
    """Everything mail in a scenario (``mail:``); see docs/scenario-reference.md."""

    dns_server: str = option(doc="host running the DNS server (port 53)")
    domains: tuple[DomainSpec, ...] = option((), doc="mail domains and their MX records")
    servers: tuple[ServerSpec, ...] = option((), doc="mail servers (msa, mx, relay)")
    users: tuple[UserSpec, ...] = option((), doc="mail users (mailboxes at their domain's mx)")
    records: tuple[RecordSpec, ...] = option((), doc="extra DNS records")
    blocklists: tuple[BlocklistSpec, ...] = option((), doc="DNS blocklist zones (RFC 5782) the DNS server serves")
    queue: QueueSpec = option(key="queue", doc="queue defaults for every server", default_factory=QueueSpec)
    dns_ttl_s: float = option(3600.0, key="dns_ttl", unit="time", doc="TTL of the generated records")
    resolver_timeout_s: float = option(2.0, key="resolver_timeout", unit="time", doc="wait per DNS query")
    resolver_retries: int = option(2, doc="DNS query retransmissions")
    spam_threshold: float = option(5.0, doc="spam score at or above which a message is spam")
    dkim_selector: str = option("netlab", doc="DKIM selector of every signing domain (<selector>._domainkey.<domain>)")
    dkim_rotations: tuple[DkimRotationSpec, ...] = option((), doc="DKIM key rotations (what-ifs)")
    dkim_key_bits: int = option(1024, doc="RSA key size of the DKIM keys (1024 to 4096; made from the run's seed)")
    epoch: str = option(_DEFAULT_EPOCH, doc="wall-clock date of simulated time 0 (ISO 8601)")
    submit_retry_s: float = option(60.0, key="submit_retry", unit="time", doc="a mail program retries after this")
    submit_give_up_s: float = option(3600.0, key="submit_give_up", unit="time", doc="and gives up after this")
    fold_local_parts: bool = option(True, doc="local users are found whatever the case of their local part, as with "
                                    "Postfix (local(8) folds it, its tables match any case): `RCPT TO:<BOB@b.test>` "
                                    "is delivered to bob@b.test, logins (SMTP AUTH, POP3, IMAP) and MAIL FROM's "
                                    "owner take any case, and the mx's cleanup removes recipients that fold to one "
                                    "mailbox; false: local parts compare exactly (RFC 5321 §2.4 leaves it to the "
                                    "host). Domains compare case-insensitively either way")  # fmt: skip
    send: tuple[ScriptedMessage, ...] = option((), doc="scripted submissions")
    workload: MailWorkloadSpec | None = option(None, doc="random mail traffic")

    def __post_init__(self) -> None:
        for name in ("domains", "servers", "users", "records", "blocklists", "dkim_rotations", "send"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not (isinstance(self.dkim_selector, str) and is_dns_name(self.dkim_selector)):
            raise ConfigError(f"mail.dkim_selector: expected a DNS name (letters, digits, hyphens, dots), "
                              f"got {self.dkim_selector!r:.80}")  # fmt: skip
        if not isinstance(self.fold_local_parts, bool):
            raise ConfigError(f"mail.fold_local_parts: expected true or false, got {self.fold_local_parts!r:.80}")
        if isinstance(self.dkim_key_bits, bool) or self.dkim_key_bits not in range(1024, 4097, 2):
            raise ConfigError(f"mail.dkim_key_bits: expected an even number of bits from 1024 to 4096 (RFC 8301), "
                              f"got {self.dkim_key_bits!r}")  # fmt: skip
        from datetime import datetime

        if not (0 < self.resolver_timeout_s < math.inf):
            raise ConfigError(f"mail.resolver_timeout: expected a positive, finite time like '2s', got "
                              f"{self.resolver_timeout_s!r} s (a resolver that waits 0 s hears no answer)")  # fmt: skip
        if (
            isinstance(self.resolver_retries, bool)
            or not isinstance(self.resolver_retries, int)
            or not (0 <= self.resolver_retries <= 100)
        ):
            raise ConfigError(
                f"mail.resolver_retries: expected a whole number in 0..100, got {self.resolver_retries!r}"
            )
        try:
            when = datetime.fromisoformat(self.epoch)
        except (TypeError, ValueError):
            raise ConfigError(
                f"mail.epoch: expected an ISO 8601 date like {_DEFAULT_EPOCH!r}, got {self.epoch!r}"
            ) from None
        if when.tzinfo is None:
            raise ConfigError(f"mail.epoch: give a zone offset (e.g. +00:00), got {self.epoch!r}")

    def server(self, host: str) -> ServerSpec:
        """The server running on *host* (KeyError if none)."""
        for s in self.servers:
            if s.host == host:
                return s
        raise KeyError(host)

    def domain(self, name: str) -> DomainSpec | None:
        """The domain called *name* (case-insensitive), or None."""
        name = name.lower()
        for d in self.domains:
            if d.name.lower() == name:
                return d
        return None

    def mailbox_host(self, domain: str) -> str | None:
        """The mx host that is final destination for *domain*, or None."""
        domain = domain.lower()
        for s in self.servers:
            if s.role == ServerRole.MX and domain in (d.lower() for d in s.domains):
                return s.host
        return None

    def msa_for(self, user: UserSpec) -> str | None:
        """The MSA host *user* submits to."""
        if user.msa is not None:
            return user.msa
        domain = Address.split(user.address).domain
        for s in self.servers:
            if s.role == ServerRole.MSA and domain in (d.lower() for d in s.domains):
                return s.host
        msas = [s.host for s in self.servers if s.role == ServerRole.MSA]
        return msas[0] if len(msas) == 1 else None

    def default_senders(self) -> tuple[str, ...]:
        """The workload's senders when it names none: every user with a client host and an MSA."""
        return tuple(u.address for u in self.users if u.client is not None and self.msa_for(u) is not None)

    def host_roles(self) -> dict[str, tuple[str, ...]]:
        """What each host runs for mail, in this order: its server's role (``msa``, ``mx``, ``relay``), ``dns``
        (the DNS server) and ``client`` (some user's mail program runs there); hosts with no part are left out.

        >>> MailSpec(dns_server="dns", servers=(ServerSpec("mx1", role="mx"),),
        ...          users=(UserSpec("bob@b.test", client="pc"),)).host_roles()
        {'mx1': ('mx',), 'dns': ('dns',), 'pc': ('client',)}
        """
        roles: dict[str, list[str]] = {}
        for s in self.servers:
            roles.setdefault(s.host, []).append(str(s.role))
        roles.setdefault(self.dns_server, []).append("dns")
        for host in dict.fromkeys(u.client for u in self.users if u.client is not None):
            roles.setdefault(host, []).append("client")
        return {host: tuple(r) for host, r in roles.items()}

    def queue_for(self, host: str) -> QueueSpec:
        """The queue parameters of the server on *host*."""
        return self.server(host).queue or self.queue

    def user_key(self, address: str) -> str:
        """*address* as local users are looked up: domain in lower case, the local part too with
        ``fold_local_parts``."""
        return user_key(address, fold_local_part=self.fold_local_parts)

    def user(self, address: str) -> UserSpec | None:
        """The user with *address* (case-insensitive domain; local part too with ``fold_local_parts``), or None."""
        wanted = self.user_key(address)
        for u in self.users:
            if self.user_key(u.address) == wanted:
                return u
        return None
