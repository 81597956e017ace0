"""DNS for the mail lab: zone data, an authoritative server and a caching stub resolver on the simulated network.

Queries and answers are real DNS messages (dnspython's wire format) carried as datagrams, so they are routed,
counted and can be lost. This module gathers the public names of

* :mod:`netlab.mail.dns.zone`: :class:`Record`, :func:`build_zones` -> :class:`ZoneSet`, :class:`ZoneError`;
* :mod:`netlab.mail.dns.server`: :class:`DnsServer`;
* :mod:`netlab.mail.dns.resolver`: :class:`Resolver`, :func:`mx_targets` -> list of :class:`MxTarget`, and the
  lookup errors (:class:`DnsTempFail`, :class:`DnsNxDomain`, :class:`NullMx`, ...).

dnspython is imported here and in those modules only; ``import netlab`` does not load it.

Example: a domain with two MX hosts of equal preference, resolved from a client across one link.

>>> import simpy, netlab
>>> from netlab.network.network import Network
>>> from netlab.transport import TransportStack
>>> topo = netlab.Topology((netlab.NodeSpec("mta", "host"), netlab.NodeSpec("dns", "host")),
...                        (netlab.LinkSpec("mta", "dns", rate_bps=1e6, delay_s=0.005),))
>>> env = simpy.Environment(); net = Network(env, topo, seed=3); net.attach(netlab.ShortestHops())
>>> stack = TransportStack(net)
>>> zones = build_zones([
...     Record("example.org", "MX", "mx1.example.org", 300, preference=10),
...     Record("example.org", "MX", "mx2.example.org", 300, preference=10),
...     Record("mx1.example.org", "A", "192.0.2.1", 300),
...     Record("mx2.example.org", "A", "192.0.2.2", 300),
... ])
>>> server = DnsServer(stack, "dns", zones)
>>> resolver = Resolver(stack, "mta", ("dns", 53))
>>> def deliver(out):
...     out.extend((yield mx_targets(resolver, "example.org", rng=net.stream("mail", "mta", "mx"))))
>>> out = []; _ = env.process(deliver(out)); env.run()
>>> sorted(t.host for t in out), out[0].preference
(['mx1.example.org', 'mx2.example.org'], 10)
>>> resolver.stats.queries_sent   # the MX answer carried the hosts' addresses
1
"""

from __future__ import annotations

from netlab.mail.dns.resolver import (
    DnsError,
    DnsNoAddress,
    DnsNxDomain,
    DnsPermFail,
    DnsTempFail,
    MxLoopsBack,
    MxTarget,
    NullMx,
    Resolver,
    ResolverStats,
    mx_targets,
)
from netlab.mail.dns.server import DNS_PORT, DnsServer
from netlab.mail.dns.zone import RECORD_TYPES, Record, ZoneAnswer, ZoneError, ZoneSet, build_zones

__all__ = [
    "DNS_PORT",
    "RECORD_TYPES",
    "DnsError",
    "DnsNoAddress",
    "DnsNxDomain",
    "DnsPermFail",
    "DnsServer",
    "DnsTempFail",
    "MxLoopsBack",
    "MxTarget",
    "NullMx",
    "Record",
    "Resolver",
    "ResolverStats",
    "ZoneAnswer",
    "ZoneError",
    "ZoneSet",
    "build_zones",
    "mx_targets",
]
