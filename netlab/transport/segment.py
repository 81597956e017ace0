"""TCP segments and datagrams on the wire, and sequence-number arithmetic modulo 2**32.

A segment *is* a core :class:`~netlab.network.packet.Packet` (a subclass with the TCP header fields as extra
slots), so it crosses links as one SimPy event per hop like any packet, and nothing is allocated per segment
beyond the segment itself. ``payload`` holds the real bytes; ``size`` is the payload plus a 40-byte IP+TCP
header (options such as SACK blocks and MSS are carried but, as the issue asks, not counted on the wire);
``seq`` is the 32-bit sequence number, so drop records name it; ``flow`` names the direction of the connection
(``"tcp a:49152>b:25"``).

Sequence numbers live in a circular 32-bit space: ``a`` is "before" ``b`` when ``b - a`` modulo 2**32 lies in
``(0, 2**31)``.

>>> seq_lt(0xFFFFFFF0, 0x10), seq_lt(0x10, 0xFFFFFFF0), seq_add(0xFFFFFFFF, 2)
(True, False, 1)
>>> seq_diff(0x10, 0xFFFFFFF0)
32
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netlab.network.packet import Packet

if TYPE_CHECKING:
    from netlab.network.node import Node
    from netlab.network.packet import PacketOwner

__all__ = [
    "ACK",
    "DATAGRAM_HEADER_BYTES",
    "FIN",
    "PSH",
    "RST",
    "SEQ_HALF",
    "SEQ_MASK",
    "SEQ_MOD",
    "SYN",
    "TCP_HEADER_BYTES",
    "Datagram",
    "Segment",
    "flag_names",
    "seq_add",
    "seq_diff",
    "seq_le",
    "seq_lt",
]

#: Flag bits, with their values in the real TCP header.
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
#: Bytes of IPv4 (20) plus TCP (20) header added to every segment, pure ACKs included.
TCP_HEADER_BYTES = 40
#: Bytes of IPv4 (20) plus UDP (8) header added to every datagram.
DATAGRAM_HEADER_BYTES = 28
SEQ_MOD = 1 << 32
SEQ_MASK = SEQ_MOD - 1  # x & SEQ_MASK is x modulo 2**32
SEQ_HALF = 1 << 31  # half the sequence space: the signed-distance window of seq_diff
_MASK = SEQ_MASK
_HALF = SEQ_HALF


def seq_add(a: int, n: int) -> int:
    """``a + n`` in sequence space (modulo 2**32)."""
    return (a + n) & _MASK


def seq_diff(a: int, b: int) -> int:
    """The signed distance ``a - b`` in sequence space, in ``[-2**31, 2**31)``."""
    return ((a - b + _HALF) & _MASK) - _HALF


def seq_lt(a: int, b: int) -> bool:
    """True when sequence number *a* comes before *b* (modulo 2**32)."""
    return seq_diff(a, b) < 0


def seq_le(a: int, b: int) -> bool:
    """True when sequence number *a* comes before *b* or equals it (modulo 2**32)."""
    return seq_diff(a, b) <= 0


def flag_names(flags: int) -> str:
    """``"SYN|ACK"``-style names of the set *flags*.

    >>> flag_names(SYN | ACK)
    'SYN|ACK'
    """
    names = [n for bit, n in ((SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH"), (ACK, "ACK")) if flags & bit]
    return "|".join(names) or "-"


class Segment(Packet):
    """A TCP segment: a packet from node *src* to node *dst* with ports, 32-bit ``seq``/``ack``, ``flags``,
    the advertised window ``wnd`` (bytes), SACK blocks ``sack`` (tuple of ``(left, right)`` sequence numbers,
    or None) and the real ``payload`` bytes. ``mss`` (bytes) is set on SYN segments only, ``wscale`` (a shift) on
    SYNs offering window scaling.

    >>> s = Segment(None, None, 0.0, None, "f", 64, 1234, 80, 7, 0, SYN, 65535, b"", None)
    >>> s.size, flag_names(s.flags)
    (40, 'SYN')
    """

    __slots__ = ("ack", "dport", "flags", "mss", "sack", "sport", "wnd", "wscale")
    payload: bytes
    flow: str
    mss: int  # set on SYN segments only
    wscale: int  # set on SYN segments that offer RFC 7323 window scaling (the shift, 0..14)

    # The one constructor on the per-segment path: positional, every slot set here (no super().__init__ call).
    def __init__(self, src: Node, dst: Node, created: float, owner: PacketOwner[Segment] | None, flow: str, ttl: int,
                 sport: int, dport: int, seq: int, ack: int, flags: int, wnd: int, payload: bytes,
                 sack: tuple[tuple[int, int], ...] | None) -> None:  # fmt: skip
        self.src = src
        self.dst = dst
        self.size = TCP_HEADER_BYTES + len(payload)
        self.created = created
        self.ttl = ttl
        self.hops = 0
        self.route = None
        self.owner = owner
        self.flow = flow
        self.seq = seq
        self.payload = payload
        self.callbacks = None
        self.sport = sport
        self.dport = dport
        self.ack = ack
        self.flags = flags
        self.wnd = wnd
        self.sack = sack

    def __repr__(self) -> str:
        src = getattr(self.src, "name", self.src)
        dst = getattr(self.dst, "name", self.dst)
        return (f"<Segment {src}:{self.sport}->{dst}:{self.dport} {flag_names(self.flags)} seq={self.seq} "
                f"ack={self.ack} len={len(self.payload)}>")  # fmt: skip


class Datagram(Packet):
    """A UDP-like datagram: ports and the application's bytes in one packet of ``len(payload) + 28`` bytes."""

    __slots__ = ("dport", "sport")
    payload: bytes
    flow: str

    def __init__(self, src: Node, dst: Node, created: float, owner: PacketOwner[Datagram] | None, flow: str, ttl: int,
                 sport: int, dport: int, payload: bytes) -> None:  # fmt: skip
        super().__init__(src, dst, DATAGRAM_HEADER_BYTES + len(payload), created, ttl=ttl, owner=owner, flow=flow,
                         payload=payload)  # fmt: skip
        self.sport = sport
        self.dport = dport

    def __repr__(self) -> str:
        src = getattr(self.src, "name", self.src)
        dst = getattr(self.dst, "name", self.dst)
        return f"<Datagram {src}:{self.sport}->{dst}:{self.dport} len={len(self.payload)}>"
