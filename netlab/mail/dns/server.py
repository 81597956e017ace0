"""The DNS server: a SimPy process answering real DNS messages (dnspython wire format) on a datagram port.

Each query is one datagram in, one datagram out, so DNS traffic is routed, counted and can be lost like any
other. The server is authoritative (AA) for every name of its :class:`~netlab.mail.dns.zone.ZoneSet` and answers

* ``NOERROR`` with the records (CNAMEs followed, the chain first; A records of MX targets as additional data),
* ``NOERROR`` with an empty answer when the name exists without records of that type ("no data"),
* ``NXDOMAIN`` for a name it does not know,
* ``SERVFAIL`` to everything while :attr:`DnsServer.fail` is set (a broken server, for tests and scenarios),
* ``FORMERR`` to a query it cannot parse or that does not ask exactly one question, ``NOTIMP`` to another opcode,
  ``REFUSED`` to a class other than IN.

Bytes that are not even a DNS query header (shorter than 12 bytes, or with the QR bit of a response) are
dropped and counted in ``stats["dropped"]``: answering them could start a loop between two servers. Records go
out in the order of the zone data (no round-robin shuffle), so runs are reproducible; MX selection shuffles
equal preferences itself, from a seeded stream. Queries are
served one at a time, each taking ``service_time_s`` (default 0) before its answer leaves.

>>> import simpy, netlab
>>> from netlab.network.network import Network
>>> from netlab.transport import TransportStack
>>> from netlab.mail.dns.zone import Record, build_zones
>>> topo = netlab.Topology((netlab.NodeSpec("c", "host"), netlab.NodeSpec("dns", "host")),
...                        (netlab.LinkSpec("c", "dns", rate_bps=1e6, delay_s=0.01),))
>>> env = simpy.Environment(); net = Network(env, topo); net.attach(netlab.ShortestHops())
>>> stack = TransportStack(net)
>>> server = DnsServer(stack, "dns", build_zones([Record("mx.lab", "A", "10.0.0.9", 60)]))
>>> import dns.message
>>> sock = stack.bind("c")
>>> def ask(out):
...     sock.sendto(dns.message.make_query("mx.lab", "A", id=7).to_wire(), ("dns", 53))
...     data, _addr = yield sock.recvfrom(timeout=1.0)
...     out.append(dns.message.from_wire(data))
>>> out = []; _ = env.process(ask(out)); env.run()
>>> print(out[0].answer[0])
mx.lab. 60 IN A 10.0.0.9
>>> server.stats["NOERROR"], server.stats["queries"]
(1, 1)
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.TXT import TXT

from netlab.errors import ConfigError
from netlab.mail.dns.zone import Record, ZoneSet

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable

    import simpy

    from netlab.transport.stack import TransportStack

__all__ = ["DNS_PORT", "DnsServer", "to_rrsets"]

#: The well-known DNS port.
DNS_PORT = 53

_IN = dns.rdataclass.IN
_HEADER_BYTES = 12
_QR = 0x8000


def _rdata(rec: Record) -> dns.rdata.Rdata:
    """The dnspython rdata of one record."""
    if rec.rtype == "TXT":
        raw = rec.value.encode()
        return TXT(_IN, dns.rdatatype.TXT, [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""])
    if rec.rtype == "A":
        text = rec.value
    else:  # names are validated (letters, digits, '-', '_'), so the text form needs no escaping
        target = rec.value if rec.value == "." else rec.value + "."
        text = f"{rec.preference} {target}" if rec.rtype == "MX" else target
    return dns.rdata.from_text(_IN, dns.rdatatype.from_text(rec.rtype), text)


def to_rrsets(records: Iterable[Record]) -> list[dns.rrset.RRset]:
    """Group *records* into dnspython RRsets by (name, type), keeping their first-seen order."""
    sets: dict[tuple[str, str], dns.rrset.RRset] = {}
    for rec in records:
        rrset = sets.get((rec.name, rec.rtype))
        if rrset is None:
            rrset = sets[(rec.name, rec.rtype)] = dns.rrset.RRset(dns.name.from_text(rec.name), _IN,
                                                                  dns.rdatatype.from_text(rec.rtype))  # fmt: skip
            rrset.update_ttl(int(rec.ttl_s))
        rrset.add(_rdata(rec))
    return list(sets.values())


class DnsServer:
    """Answer DNS queries for *zones* on datagram port *port* of *host*; the process starts at once.

    Parameters
    ----------
    stack : TransportStack
    host : str
        The node (name or IPv4 address) it runs on.
    zones : ZoneSet
    port : int
        Default 53.
    service_time_s : float
        Seconds spent on each query before its answer is sent; queries wait their turn (default 0).

    Attributes
    ----------
    fail : bool
        While True every query is answered SERVFAIL.
    stats : collections.Counter
        ``queries`` (datagrams received), ``dropped`` (not a query), and one count per rcode sent
        (``NOERROR``, ``NXDOMAIN``, ``SERVFAIL``, ``FORMERR``, ...).
    """

    def __init__(self, stack: TransportStack, host: str, zones: ZoneSet, port: int = DNS_PORT, *,
                 service_time_s: float = 0.0) -> None:  # fmt: skip
        if service_time_s < 0:
            raise ConfigError(f"DnsServer: service_time_s must be >= 0, got {service_time_s!r}")
        self.env = stack.env
        self.zones = zones
        self.socket = stack.bind(host, port)
        self.service_time_s = float(service_time_s)
        self.fail = False
        self.stats: Counter[str] = Counter()
        self.process: simpy.Process = self.env.process(self.run())

    def __repr__(self) -> str:
        return f"<DnsServer {self.socket.endpoint.node.name}:{self.socket.port} {len(self.zones)} records>"

    def run(self) -> Generator[simpy.Event, Any, None]:
        """Receive queries and answer each in turn, forever."""
        sock = self.socket
        while True:
            data, addr = yield sock.recvfrom()
            self.stats["queries"] += 1
            if self.service_time_s:
                yield self.env.timeout(self.service_time_s)
            reply = self.respond(data)
            if reply is None:
                self.stats["dropped"] += 1
            elif not sock.closed:
                sock.sendto(reply, addr)

    def respond(self, data: bytes) -> bytes | None:
        """The wire answer to the wire query *data*, or None to drop it (see the module docstring)."""
        if len(data) < _HEADER_BYTES or int.from_bytes(data[2:4], "big") & _QR:
            return None
        try:
            query = dns.message.from_wire(data, question_only=True)
        except (dns.exception.DNSException, ValueError):
            return self._error(int.from_bytes(data[:2], "big"), dns.rcode.FORMERR)
        if query.opcode() != dns.opcode.QUERY:
            return self._error(query.id, dns.rcode.NOTIMP)
        if len(query.question) != 1:
            return self._error(query.id, dns.rcode.FORMERR)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        if question.rdclass != _IN:
            response.set_rcode(dns.rcode.REFUSED)
        elif self.fail:
            response.flags &= ~dns.flags.AA
            response.set_rcode(dns.rcode.SERVFAIL)
        else:
            qname = question.name.to_text(omit_final_dot=True)
            answer = self.zones.lookup(qname, dns.rdatatype.to_text(question.rdtype))
            response.set_rcode(dns.rcode.from_text(answer.rcode))
            response.answer.extend(to_rrsets(answer.answer))
            response.additional.extend(to_rrsets(answer.additional))
        return self._count(response)

    def _error(self, qid: int, rcode: dns.rcode.Rcode) -> bytes:
        msg = dns.message.Message(id=qid)
        msg.flags = dns.flags.QR
        msg.set_rcode(rcode)
        return self._count(msg)

    def _count(self, msg: dns.message.Message) -> bytes:
        self.stats[dns.rcode.to_text(msg.rcode())] += 1
        return msg.to_wire(want_shuffle=False)  # dnspython would shuffle with the global, unseeded random
