"""Datagrams for request/response protocols (DNS): one packet each way, no connection, no retransmission.

A datagram is one packet of ``len(data) + 28`` bytes (IPv4 + UDP headers) carrying the application's real bytes;
there is no fragmentation, so a datagram's size is not limited by any MTU (only to 65,507 bytes of data, as in
UDP over IPv4). A lost datagram is simply gone: the application decides how long to wait
(``recvfrom(timeout=...)`` fails with :class:`ReceiveTimeout`) and whether to ask again. A datagram to a port
nobody bound is discarded and counted (``HostStack.udp_input.unreachable``); no ICMP error is modelled.

>>> import simpy, netlab
>>> from netlab.network.network import Network
>>> from netlab.transport import TransportStack
>>> topo = netlab.Topology((netlab.NodeSpec("c", "host"), netlab.NodeSpec("dns", "host")),
...                        (netlab.LinkSpec("c", "dns", rate_bps=1e6, delay_s=0.01),))
>>> env = simpy.Environment(); net = Network(env, topo); net.attach(netlab.ShortestHops())
>>> stack = TransportStack(net)
>>> server, client = stack.bind("dns", 53), stack.bind("c")
>>> def serve():
...     query, addr = yield server.recvfrom()
...     server.sendto(b"answer to " + query, addr)
>>> def ask(out):
...     client.sendto(b"MX example.org", ("dns", 53))
...     out.append((yield client.recvfrom(timeout=1.0)))
>>> out = []; _ = env.process(serve()); _ = env.process(ask(out)); env.run()
>>> out
[(b'answer to MX example.org', ('10.0.0.2', 53))]
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from netlab.errors import ConfigError
from netlab.transport.errors import ConnectionClosed, ReceiveTimeout
from netlab.transport.segment import Datagram

if TYPE_CHECKING:
    import simpy

    from netlab.network.drops import DropReason
    from netlab.transport.stack import HostLike, HostStack

__all__ = ["MAX_DATAGRAM_BYTES", "DatagramInput", "DatagramSocket"]

#: The largest payload of one datagram (bytes), as for UDP over IPv4.
MAX_DATAGRAM_BYTES = 65507


class DatagramInput:
    """The owner of every datagram sent to one host: hands it to the socket bound to its port."""

    __slots__ = ("host", "unreachable")

    def __init__(self, host: HostStack) -> None:
        self.host = host
        self.unreachable = 0  # datagrams that arrived for a port nobody bound

    def on_deliver(self, pkt: Datagram, now: float) -> None:
        sock = self.host.sockets.get(pkt.dport)
        if sock is None:
            self.unreachable += 1
            return
        sock._arrive(pkt)

    def on_drop(self, pkt: Datagram, now: float, reason: DropReason) -> None:
        """A datagram lost in the network is just lost."""


class DatagramSocket:
    """A bound datagram port: :meth:`sendto` and :meth:`recvfrom`. Received datagrams queue without limit."""

    __slots__ = ("_inbox", "_waiters", "bytes_received", "bytes_sent", "closed", "endpoint", "port", "received",
                 "sent")  # fmt: skip

    def __init__(self, endpoint: HostStack, port: int) -> None:
        self.endpoint = endpoint
        self.port = port
        self._inbox: deque[tuple[bytes, tuple[str, int]]] = deque()
        self._waiters: deque[simpy.Event] = deque()
        self.sent = self.received = self.bytes_sent = self.bytes_received = 0
        self.closed = False

    def __repr__(self) -> str:
        return f"<DatagramSocket {self.endpoint.node.name}:{self.port}>"

    @property
    def address(self) -> tuple[str, int]:
        """``(ip, port)`` of this socket."""
        return self.endpoint.node.ip, self.port

    def sendto(self, data: bytes, address: tuple[HostLike, int]) -> None:
        """Send *data* (bytes) as one datagram to ``address = (host, port)``, host a node, name or IPv4 address."""
        if self.closed:
            raise ConnectionClosed(f"{self!r}: sendto on a closed socket")
        if len(data) > MAX_DATAGRAM_BYTES:
            raise ConfigError(f"datagram of {len(data)} bytes: at most {MAX_DATAGRAM_BYTES} bytes fit in one")
        stack = self.endpoint.stack
        node = self.endpoint.node
        dst = stack.node(address[0])
        dport = int(address[1])
        pkt = Datagram(node, dst, stack.env.now, stack.host(dst).udp_input, f"udp {node.name}:{self.port}>"
                       f"{dst.name}:{dport}", stack.config.ttl, self.port, dport, bytes(data))  # fmt: skip
        pkt.seq = self.sent
        self.sent += 1
        self.bytes_sent += len(data)
        node.inject(pkt)

    def recvfrom(self, *, timeout: float | None = None) -> simpy.Event:
        """Event: the next datagram as ``(data, (ip, port))``; fails with :class:`ReceiveTimeout` after *timeout*
        seconds without one."""
        env = self.endpoint.stack.env
        ev = env.event()
        if self._inbox:
            ev.succeed(self._inbox.popleft())
            return ev
        if self.closed:
            ev.fail(ConnectionClosed(f"{self!r}: recvfrom on a closed socket"))
            return ev
        self._waiters.append(ev)
        if timeout is not None:
            env.timeout(timeout).callbacks.append(lambda _e: self._expire(ev, timeout))
        return ev

    def close(self) -> None:
        """Unbind the port; later datagrams to it are discarded. Pending receives never fire."""
        self.closed = True
        if self.endpoint.sockets.get(self.port) is self:
            del self.endpoint.sockets[self.port]

    def _expire(self, ev: simpy.Event, timeout: float) -> None:
        if not ev.triggered:
            self._waiters.remove(ev)
            ev.fail(ReceiveTimeout(f"{self!r}: no datagram within {timeout:g} s"))

    def _arrive(self, pkt: Datagram) -> None:
        self.received += 1
        self.bytes_received += len(pkt.payload)
        item = (pkt.payload, (pkt.src.ip, pkt.sport))
        if self._waiters:
            self._waiters.popleft().succeed(item)
        else:
            self._inbox.append(item)
