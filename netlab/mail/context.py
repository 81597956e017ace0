"""What a mail agent sees of the run: a small context, not the whole mail system.

Every agent (the programs of an MTA, the inbox server, the users' mail programs, the workload) is built with a
:class:`MailContext` and its own configuration. Through it, and only through it, an agent reaches the clock
(``env``), the transport (``listen``, :meth:`~MailContext.connect`), its host's DNS resolver, the mail log, the
tracker's books, the wall-clock epoch of simulated time 0, the named random streams of the run and the addresses
of hosts; it may hold the run (``hold``/``release``) while it has work to finish. It never sees another agent:
what crosses between them (a message queued, a crash) goes through the mail system that made them.

Connections are :class:`MailStream` values: the transport's :class:`~netlab.transport.Stream`, plus the exact
reads IMAP literals need and the counters the books read after the run.

>>> import simpy, netlab
>>> from netlab.mail.maillog import MailLog
>>> from netlab.mail.tracker import Tracker
>>> from netlab.network.network import Network
>>> from netlab.transport import TransportStack
>>> topo = netlab.Topology((netlab.NodeSpec("a", "host"), netlab.NodeSpec("b", "host")), (netlab.LinkSpec("a", "b"),))
>>> env = simpy.Environment(); net = Network(env, topo, seed=1); net.attach(netlab.ShortestHops())
>>> ctx = MailContext(net, TransportStack(net), Tracker(lambda: None, lambda: None), MailLog(), dns_server="b")
>>> ctx.ip_of("b"), ctx.host_at(ctx.ip_of("b"))
('10.0.0.2', 'b')
>>> ctx.stream("a", "qid").random() == net.stream("mail", "a", "qid").random()  # the run's stream mail/a/qid
True
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from netlab.mail.content.message import DEFAULT_EPOCH
from netlab.mail.tracker import ConnectionCounts
from netlab.transport import ConnectionTimeout, Stream

if TYPE_CHECKING:
    import random

    import simpy

    from netlab.mail.dns.resolver import Resolver
    from netlab.mail.maillog import MailLog
    from netlab.mail.tracker import Tracker
    from netlab.network.network import Network
    from netlab.transport import Listener, TransportStack

__all__ = ["MailContext", "MailStream"]


class MailStream(Stream, ConnectionCounts, Protocol):
    """A connection as the mail agents use it: a :class:`~netlab.transport.Stream`, exact reads, the counters.

    :class:`~netlab.transport.Connection` is one.
    """

    def recv_exactly(self, n: int, *, timeout: float | None = None) -> simpy.Event:
        """Event: exactly *n* bytes (an IMAP literal); fails with IncompleteRead if the peer closes first."""
        ...

    @property
    def app_bytes_sent(self) -> int:
        """Payload bytes the application handed to :meth:`send`."""
        ...

    @property
    def bytes_delivered(self) -> int:
        """Payload bytes delivered in order to the application's reads."""
        ...


class MailContext:
    """The run as a mail agent sees it (see the module docstring).

    Parameters
    ----------
    net
        The running network (for host addresses and the named streams, nothing else).
    transport
        The transport stack the agents listen and connect on.
    tracker, maillog
        The books and the log of the run.
    dns_server
        The host of the DNS server every host's stub resolver asks (port 53).
    epoch
        Wall-clock date of simulated time 0.
    resolver_timeout_s, resolver_retries
        Each stub resolver's wait per query (s) and its retransmissions.
    hold, release
        The run's: one ``hold`` per piece of work that must finish before the run may end idle.
    """

    __slots__ = ("_hosts", "_names", "_net", "_resolvers", "dns_server", "env", "epoch", "hold", "maillog", "release",
                 "resolver_retries", "resolver_timeout_s", "tracker", "transport")  # fmt: skip

    def __init__(self, net: Network, transport: TransportStack, tracker: Tracker, maillog: MailLog, *,
                 dns_server: str, epoch: datetime = DEFAULT_EPOCH, resolver_timeout_s: float = 2.0,
                 resolver_retries: int = 2, hold: Callable[[], None] = lambda: None,
                 release: Callable[[], None] = lambda: None) -> None:  # fmt: skip
        self.env: simpy.Environment = net.env
        self._net = net
        self.transport = transport
        self.tracker = tracker
        self.maillog = maillog
        self.dns_server = dns_server
        self.epoch = epoch
        self.resolver_timeout_s = resolver_timeout_s
        self.resolver_retries = resolver_retries
        self.hold = hold
        self.release = release
        self._resolvers: dict[str, Resolver] = {}
        self._hosts = {node.ip: name for name, node in net.nodes.items()}
        self._names: dict[str, str] = {}  # host -> its DNS name, for the hosts that have one (the MTAs)

    def __repr__(self) -> str:
        return f"<MailContext dns={self.dns_server} {len(self._resolvers)} resolvers>"

    # ------------------------------------------------------------------ hosts and randomness
    def ip_of(self, host: str) -> str:
        """The IPv4 address of node *host*."""
        return self._net.nodes[host].ip

    def name_host(self, host: str, fqdn: str) -> None:
        """Record *fqdn* as *host*'s name (an MTA's ``fqdn``): what :meth:`host_name` answers from now on."""
        self._names[host] = fqdn

    def host_name(self, host: str) -> str:
        """*host*'s name as a reverse lookup of its address gives it: an MTA's fqdn, else ``<host>.client``
        (the name a mail program's host uses in EHLO); the verified client name of a ``Received:`` line."""
        return self._names.get(host, f"{host}.client")

    def host_at(self, ip: str) -> str:
        """The node name at address *ip* (a connection's peer, from its ``remote_address``)."""
        return self._hosts[ip]

    def stream(self, *names: object) -> random.Random:
        """The run's seeded random stream ``mail/<names...>`` (the same for every run of the scenario and seed)."""
        return self._net.stream("mail", *names)

    # ------------------------------------------------------------------ services
    def resolver(self, host: str) -> Resolver:
        """The stub resolver of *host* (one per host, made on first use: it binds a port and starts a process)."""
        r = self._resolvers.get(host)
        if r is None:
            from netlab.mail.dns.resolver import Resolver

            r = self._resolvers[host] = Resolver(self.transport, host, (self.dns_server, 53),
                                                 timeout_s=self.resolver_timeout_s,
                                                 retries=self.resolver_retries)  # fmt: skip
        return r

    def log(self, host: str, program: str, qid: str, text: str) -> None:
        """One maillog line now, from *program* on *host* (*qid* ``""`` for a line about no message)."""
        self.maillog.add(self.env.now, host, program, qid or None, text)

    def listen(self, host: str, port: int) -> Listener:
        """Listen on *port* of *host*; ``conn = yield listener.accept()`` gives each :class:`MailStream`."""
        return self.transport.listen(host, port)

    def connect(self, host: str, address: tuple[str, int], timeout_s: float) -> Generator[simpy.Event, Any, MailStream]:
        """Open a connection from *host* to *address* (an IP and a port), giving up after *timeout_s*
        (``smtp_connect_timeout``); returns the connection, raises :class:`~netlab.transport.TransportError`
        (refused, timed out, reset)."""
        env = self.env
        conn = self.transport.connect(host, address)
        ev = conn.connected
        timer = env.timeout(timeout_s)
        yield ev | timer
        if ev.triggered:
            if not ev.ok:
                ev.defused = True
                raise cast(BaseException, ev.value)
            return cast(MailStream, ev.value)
        conn.abort()  # a SYN_SENT abort just forgets the attempt; its event never fires
        raise ConnectionTimeout(f"connect to {address[0]}:{address[1]}: Connection timed out after {timeout_s:g} s")
