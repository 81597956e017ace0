"""Transport: reliable TCP-like connections and datagrams between the nodes of a running network.

Segments are the core's packets (one SimPy event per hop, no process per segment), carrying the application's
real bytes plus a 40-byte IP+TCP header; datagrams carry 28 bytes of IP+UDP header. Connections do the
three-way handshake and FIN tear-down, number bytes in a 32-bit wrapping sequence space (SYN and FIN take one
number each; ISNs from seeded streams), cut data into MSS segments, acknowledge cumulatively with SACK blocks,
retransmit on an RFC 6298 timer (Karn's rule, exponential backoff) and on three duplicate ACKs, and reassemble
out-of-order arrivals. Congestion control is pluggable (:mod:`netlab.transport.congestion`: ``cubic``, the
default, and ``newreno`` keep ``min(rwnd, cwnd)`` in flight, with delayed ACKs and a 1 MiB scaled window;
``none`` keeps up to the receiver's 64 KiB window in flight whatever the network's state, as netlab's transport
did before).

Applications are SimPy processes: ``conn = stack.connect("a", ("b", 25))``, ``yield conn.connected``,
``conn.send(b"...")``, ``line = yield conn.recv_line()``, ``conn.close()``; failures arrive as
:class:`TransportError` subclasses. A connection is a :class:`Stream`, the one seam applications are written
against. See :mod:`netlab.transport.stack` for a runnable example.
"""

from __future__ import annotations

from netlab.transport.config import TcpConfig
from netlab.transport.congestion import CongestionControl, CongestionState, Cubic, NewReno, NoCongestionControl
from netlab.transport.connection import STATES, Connection, TcpState
from netlab.transport.datagram import DatagramSocket
from netlab.transport.errors import (
    ConnectionClosed,
    ConnectionRefused,
    ConnectionReset,
    ConnectionTimeout,
    IncompleteRead,
    ReceiveTimeout,
    TransportError,
)
from netlab.transport.rto import RtoEstimator
from netlab.transport.segment import Datagram, Segment
from netlab.transport.stack import HostStack, Listener, TransportStack
from netlab.transport.stats import connections_table
from netlab.transport.stream import Stream

__all__ = [
    "STATES",
    "CongestionControl",
    "CongestionState",
    "Connection",
    "ConnectionClosed",
    "ConnectionRefused",
    "ConnectionReset",
    "ConnectionTimeout",
    "Cubic",
    "Datagram",
    "DatagramSocket",
    "HostStack",
    "IncompleteRead",
    "Listener",
    "NewReno",
    "NoCongestionControl",
    "ReceiveTimeout",
    "RtoEstimator",
    "Segment",
    "Stream",
    "TcpConfig",
    "TcpState",
    "TransportError",
    "TransportStack",
    "connections_table",
]
