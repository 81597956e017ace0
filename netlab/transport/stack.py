"""The transport stack of a network: per-host demultiplexing, listening ports, connecting, datagram sockets.

Every segment sent to a host is owned by that host's :class:`HostStack`, which the core tells of its delivery
(``owner.on_deliver``); it finds the connection by ``(local port, remote node, remote port)``, hands a SYN to the
listener of its port, and answers anything else with a RST, as a real host does. So demultiplexing costs one
dict lookup per segment and needs nothing from the engine.

Example: a client sends a greeting, the server echoes it in upper case, both close.

>>> import simpy, netlab
>>> from netlab.network.network import Network
>>> topo = netlab.Topology((netlab.NodeSpec("a", "host"), netlab.NodeSpec("b", "host")),
...                        (netlab.LinkSpec("a", "b", rate_bps=10e6, delay_s=0.005),))
>>> env = simpy.Environment(); net = Network(env, topo, seed=1); net.attach(netlab.ShortestHops())
>>> tcp = TransportStack(net)
>>> listener = tcp.listen("b", 7)
>>> def server():
...     conn = yield listener.accept()
...     line = yield conn.recv_line()
...     conn.send(line.upper()); conn.close()
>>> def client(out):
...     conn = tcp.connect("a", ("b", 7))                # a node name or "10.0.0.2"
...     yield conn.connected                             # the handshake (fails: refused, timed out)
...     conn.send(b"hello\\n")
...     out.append((yield conn.recv_line()))
...     conn.close(); yield conn.closed
...     out.append((conn.state, round(env.now, 6)))
>>> out = []; _ = env.process(server()); _ = env.process(client(out)); env.run()
>>> out
[b'HELLO\\n', (<TcpState.CLOSED: 'CLOSED'>, 0.030234)]
>>> net.check_conservation()["injected"] == net.delivered
True
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from netlab.errors import ConfigError
from netlab.network.node import Node
from netlab.transport.config import TcpConfig
from netlab.transport.connection import Connection
from netlab.transport.datagram import DatagramInput, DatagramSocket
from netlab.transport.segment import ACK, FIN, RST, SYN, Segment
from netlab.transport.stats import ClosedConnection

if TYPE_CHECKING:
    import simpy

    from netlab.network.drops import DropReason
    from netlab.network.network import Network

__all__ = ["EPHEMERAL_PORTS", "HostLike", "HostStack", "Listener", "TransportStack"]

#: Local ports given to connections and sockets that do not ask for one (the IANA dynamic range).
EPHEMERAL_PORTS = range(49152, 65536)

#: A host as the transport's calls take it: a Node, a node name or the node's IPv4 address.
HostLike = Node | str


class TransportStack:
    """TCP connections and datagram sockets between the nodes of *net*.

    Parameters
    ----------
    net : Network
        The running network; segments are its packets.
    config : TcpConfig, optional
        Default parameters of every connection (MSS, receive window, RTO bounds, ...); :meth:`listen` and
        :meth:`connect` take their own.
    keep_closed : bool, default True
        Keep every connection object for inspection after it closed. False keeps, in its place in
        :attr:`connections`, a :class:`~netlab.transport.stats.ClosedConnection` (its statistics row), so a long
        run's memory does not grow with every connection it ever made: a mail run does this. The statistics
        tables are the same either way.

    Attributes
    ----------
    connections : list of Connection (or ClosedConnection)
        Every connection ever opened, in the order they were created (both ends).
    """

    def __init__(self, net: Network, config: TcpConfig | None = None, *, keep_closed: bool = True) -> None:
        if not isinstance(keep_closed, bool):
            raise ConfigError(f"TransportStack: keep_closed must be True or False, not {keep_closed!r}")
        self.net = net
        self.env = net.env
        self.config = config or TcpConfig()
        self.keep_closed = keep_closed
        self.connections: list[Connection | ClosedConnection] = []
        self.sockets: list[DatagramSocket] = []
        self._hosts: dict[Node, HostStack] = {}
        self._by_ip = {n.ip: n for n in net.nodes.values()}
        self._incarnations: dict[tuple[str, int, str, int], int] = {}

    def __repr__(self) -> str:
        return f"<TransportStack {len(self._hosts)} hosts, {len(self.connections)} connections>"

    def node(self, host: HostLike) -> Node:
        """The node *host* names: a Node, a node name or its IPv4 address."""
        if not isinstance(host, str):
            return host
        node = self.net.nodes.get(host) or self._by_ip.get(host)
        if node is None:
            raise ConfigError(f"unknown host {host!r}: expected a node name or the IPv4 address of a node")
        return node

    def host(self, host: HostLike) -> HostStack:
        """The transport of one host (created on first use)."""
        node = self.node(host)
        hs = self._hosts.get(node)
        if hs is None:
            hs = self._hosts[node] = HostStack(self, node)
        return hs

    def listen(self, host: HostLike, port: int, *, config: TcpConfig | None = None, isn: int | None = None) -> Listener:
        """Listen on *port* of *host*; connections come out of :meth:`Listener.accept` once established."""
        return self.host(host).listen(port, config=config, isn=isn)

    def connect(self, host: HostLike, address: tuple[HostLike, int], *, port: int | None = None,
                config: TcpConfig | None = None, isn: int | None = None) -> Connection:  # fmt: skip
        """Open a connection from *host* to ``address = (host, port)``: send the SYN now.

        Returns the :class:`Connection` at once, in SYN_SENT. Its :attr:`~Connection.connected` event succeeds
        with it once the handshake completes, or fails with :class:`ConnectionRefused` (a RST: nothing listens
        there) or :class:`ConnectionTimeout` (no answer after ``syn_retries`` retransmissions: host down, no
        route); a process waits for it with ``yield conn.connected``. Data sent before that is queued. *port* is
        the local port (default: the next free ephemeral one); *isn* fixes the initial sequence number (default:
        drawn from the seeded stream ``tcp/isn/<host>/<port>/<remote>/<rport>/<n>``).
        """
        return self.host(host).connect(address, port=port, config=config, isn=isn)

    def bind(self, host: HostLike, port: int | None = None) -> DatagramSocket:
        """A datagram socket on *port* of *host* (default: the next free ephemeral port)."""
        return self.host(host).bind(port)

    def _isn(self, node: Node, lport: int, remote: Node, rport: int) -> int:
        key = (node.name, lport, remote.name, rport)
        n = self._incarnations.get(key, 0)
        self._incarnations[key] = n + 1
        return self.net.stream("tcp", "isn", *key, n).getrandbits(32)

    def _opened(self, conn: Connection) -> None:
        conn._entry = len(self.connections)
        self.connections.append(conn)

    def _closed(self, conn: Connection) -> None:
        """*conn* reached CLOSED: without ``keep_closed`` only its statistics stay."""
        if not self.keep_closed:
            self.connections[conn._entry] = ClosedConnection.of(conn)


class HostStack:
    """The transport of one node: its connections, listening ports and datagram sockets."""

    __slots__ = ("_next_port", "conns", "listeners", "node", "resets_sent", "sockets", "stack", "udp_input")

    def __init__(self, stack: TransportStack, node: Node) -> None:
        self.stack = stack
        self.node = node
        self.conns: dict[tuple[int, Node, int], Connection] = {}
        self.listeners: dict[int, Listener] = {}
        self.sockets: dict[int, DatagramSocket] = {}
        self.udp_input = DatagramInput(self)
        self.resets_sent = 0
        self._next_port = EPHEMERAL_PORTS.start

    def __repr__(self) -> str:
        return f"<HostStack {self.node.name} {len(self.conns)} connections, ports {sorted(self.listeners)}>"

    # ------------------------------------------------------------------ the owner of every segment sent here
    def on_deliver(self, seg: Segment, now: float) -> None:
        """Demultiplex an arriving segment to its connection or listener, or answer it with a RST."""
        conn = self.conns.get((seg.dport, seg.src, seg.sport))
        if conn is not None:
            conn._input(seg)
            return
        flags = seg.flags
        if flags & RST:
            return
        if flags & SYN and not flags & ACK:
            listener = self.listeners.get(seg.dport)
            if listener is not None:
                listener._on_syn(seg)
                return
        self._reset(seg)

    def on_drop(self, seg: Segment, now: float, reason: DropReason) -> None:
        """Segments lost in the network are found out by the sender's timers, not told of."""

    def _reset(self, seg: Segment) -> None:
        """Answer *seg*, which matches no connection, with a RST (RFC 793, "reset generation")."""
        if seg.flags & ACK:
            seq, ack, flags = seg.ack, 0, RST
        else:
            n = len(seg.payload) + (1 if seg.flags & SYN else 0) + (1 if seg.flags & FIN else 0)
            seq, ack, flags = 0, (seg.seq + n) & 0xFFFFFFFF, RST | ACK
        src = seg.src
        peer = self.stack.host(src)
        flow = f"tcp {self.node.name}:{seg.dport}>{src.name}:{seg.sport}"
        rst = Segment(self.node, src, self.stack.env.now, peer, flow, self.stack.config.ttl, seg.dport, seg.sport, seq,
                      ack, flags, 0, b"", None)  # fmt: skip
        self.resets_sent += 1
        self.node.inject(rst)

    # ------------------------------------------------------------------ ports
    def _free_port(self, used: Callable[[int], bool]) -> int:
        span = len(EPHEMERAL_PORTS)
        for _ in range(span):
            port = self._next_port
            self._next_port = port + 1 if port + 1 < EPHEMERAL_PORTS.stop else EPHEMERAL_PORTS.start
            if not used(port):
                return port
        raise ConfigError(f"{self.node.name}: no free ephemeral port")

    def listen(self, port: int, *, config: TcpConfig | None = None, isn: int | None = None) -> Listener:
        """Listen on *port* (see :meth:`TransportStack.listen`)."""
        if port in self.listeners:
            raise ConfigError(f"{self.node.name}: port {port} is already listening")
        if not 0 < port < 65536:
            raise ConfigError(f"{self.node.name}: port {port} out of range 1..65535")
        listener = Listener(self, port, config or self.stack.config, isn)
        self.listeners[port] = listener
        return listener

    def connect(self, address: tuple[HostLike, int], *, port: int | None = None, config: TcpConfig | None = None,
                isn: int | None = None) -> Connection:  # fmt: skip
        """Open a connection to *address* (see :meth:`TransportStack.connect`)."""
        stack = self.stack
        remote = stack.node(address[0])
        rport = int(address[1])
        if port is None:
            port = self._free_port(lambda p: (p, remote, rport) in self.conns or p in self.listeners)
        elif (port, remote, rport) in self.conns:
            raise ConfigError(f"{self.node.name}: port {port} already has a connection to {remote.name}:{rport}")
        if isn is None:
            isn = stack._isn(self.node, port, remote, rport)
        conn = Connection(self, port, remote, rport, config or stack.config, isn, role="client")
        stack._opened(conn)
        self.conns[(port, remote, rport)] = conn
        conn._open_active()
        return conn

    def bind(self, port: int | None = None) -> DatagramSocket:
        """A datagram socket on *port* (see :meth:`TransportStack.bind`)."""
        if port is None:
            port = self._free_port(lambda p: p in self.sockets)
        elif port in self.sockets:
            raise ConfigError(f"{self.node.name}: datagram port {port} is already bound")
        sock = DatagramSocket(self, port)
        self.sockets[port] = sock
        self.stack.sockets.append(sock)
        return sock

    def _forget(self, conn: Connection) -> None:
        key = (conn.lport, conn.remote, conn.rport)
        if self.conns.get(key) is conn:
            del self.conns[key]


class Listener:
    """A listening port. Each SYN starts a connection in SYN_RECEIVED; :meth:`accept` yields it once the
    handshake completes. There is no backlog limit."""

    __slots__ = ("_ready_conns", "_waiters", "config", "endpoint", "isn", "port")

    def __init__(self, endpoint: HostStack, port: int, config: TcpConfig, isn: int | None) -> None:
        self.endpoint = endpoint
        self.port = port
        self.config = config
        self.isn = isn
        self._ready_conns: deque[Connection] = deque()
        self._waiters: deque[simpy.Event] = deque()

    def __repr__(self) -> str:
        return f"<Listener {self.endpoint.node.name}:{self.port}>"

    def accept(self) -> simpy.Event:
        """Event: the next established connection to this port."""
        ev = self.endpoint.stack.env.event()
        if self._ready_conns:
            ev.succeed(self._ready_conns.popleft())
        else:
            self._waiters.append(ev)
        return ev

    def close(self) -> None:
        """Stop listening: later SYNs get a RST, established connections not yet accepted are reset.
        Pending :meth:`accept` events never fire."""
        if self.endpoint.listeners.get(self.port) is self:
            del self.endpoint.listeners[self.port]
        while self._ready_conns:
            self._ready_conns.popleft().abort()

    def _on_syn(self, seg: Segment) -> None:
        hs = self.endpoint
        stack = hs.stack
        remote = seg.src
        isn = self.isn if self.isn is not None else stack._isn(hs.node, self.port, remote, seg.sport)
        conn = Connection(hs, self.port, remote, seg.sport, self.config, isn, role="server", listener=self)
        stack._opened(conn)
        hs.conns[(self.port, remote, seg.sport)] = conn
        conn._open_passive(seg)

    def _ready(self, conn: Connection) -> None:
        if self.endpoint.listeners.get(self.port) is not self:
            conn.abort()
        elif self._waiters:
            self._waiters.popleft().succeed(conn)
        else:
            self._ready_conns.append(conn)
