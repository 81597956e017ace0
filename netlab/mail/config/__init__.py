"""The ``mail:`` section of a scenario as frozen values: domains, servers, users, DNS records, queue, workload.

Field metadata (``option(key=, unit=, doc=)``) drives the YAML format and the reference page, as for the rest of
the scenario. :class:`MailSpec` (:mod:`~netlab.mail.config.section`) is the section and answers lookups across it;
its parts live in :mod:`~netlab.mail.config.servers` (servers, queue, domains, DNS records) and
:mod:`~netlab.mail.config.users` (users, fetching, scripted messages, workload), and :func:`validate_mail`
(:mod:`~netlab.mail.config.check`) checks the section against the topology when the scenario is built, so a bad
file fails at load time with the key that is wrong. This package is the import path for all of them.

>>> spec = MailSpec(dns_server="dns", domains=(DomainSpec("b.test", mx=((10, "mx1"),)),),
...                 servers=(ServerSpec("mx1", role="mx", domains=("b.test",)),),
...                 users=(UserSpec("bob@b.test"),))
>>> spec.server("mx1").fqdn, spec.queue.maximal_backoff_s
('mx1.b.test', 4000.0)
"""

from __future__ import annotations

from netlab.mail.config.check import validate_mail
from netlab.mail.config.section import MailSpec
from netlab.mail.config.servers import (
    ROLES,
    BlocklistSpec,
    DkimRotationSpec,
    DomainSpec,
    QueueSpec,
    RecordSpec,
    ServerSpec,
)
from netlab.mail.config.users import FetchSpec, MailWorkloadSpec, ScriptedMessage, UserSpec

__all__ = [
    "ROLES",
    "BlocklistSpec",
    "DkimRotationSpec",
    "DomainSpec",
    "FetchSpec",
    "MailSpec",
    "MailWorkloadSpec",
    "QueueSpec",
    "RecordSpec",
    "ScriptedMessage",
    "ServerSpec",
    "UserSpec",
    "validate_mail",
]
