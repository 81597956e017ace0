"""Packet captures: pcap files, written with scapy, that Wireshark and tshark read like a real capture.

``Capture(directory, mode="host")`` writes one ``<host>.pcap`` per host holding everything the host sends and
receives; ``mode="link"`` writes one ``<a>_to_<b>.pcap`` per directed link holding what crosses it. Files are
raw IPv4 (pcap linktype 101, no link-layer header) with nanosecond timestamps.

What a packet becomes:

* a TCP :class:`~netlab.transport.segment.Segment` -> IPv4/TCP between the hosts' ``node.ip`` with the
  transport's own 32-bit ``seq``/``ack``, flags (SYN, ACK, FIN, RST, PSH), window, SACK blocks and payload
  bytes; SYNs carry MSS, SACK-permitted and, when the transport offers it, a window-scale option (RFC 7323:
  the default 1 MiB window does not fit the 16-bit field), so retransmissions appear exactly as the transport sent them;
* a :class:`~netlab.transport.segment.Datagram` -> IPv4/UDP with its bytes (DNS on port 53 is dnspython's
  wire format, so Wireshark decodes it);
* a background flow packet (no transport) -> IPv4/UDP from port 9 to port 9 (discard) whose IP length is the
  packet's simulated size; only the 28 header bytes are stored (caplen 28, wire length = size, as with
  ``tcpdump -s 28``) so a long run's bulk traffic costs 44 bytes per packet in the file. ``background=False``
  leaves them out.

The IP TTL is the packet's TTL minus the links it crossed before this one; the IP ID is 0 with DF set.

Timestamps are simulated seconds plus ``epoch`` (the mail section's ``epoch``, else 2026-01-01T00:00:00Z):

* host mode: a sent packet at the moment the host hands it to its link (injection; a packet its own link
  then drops is still in the file, as it did leave the host's stack), a received one when it is delivered;
* link mode: when the packet's first bit leaves the sending node (start of serialisation, after queueing).
  A link file holds every packet that went through the transmitter, lost ones included (loss is drawn at
  the far end); packets still queued or on the wire when the link fails are not in it.

``hosts``, ``links`` and ``window=(start_s, end_s)`` limit what is written: host mode captures the listed
hosts; link mode the listed directed links, or with ``hosts`` every link from or to one of them. The window
is half-open, ``start_s <= t < end_s``, on the packet's timestamp.

Capturing costs nothing when it is off: :class:`Capture` hands the run a :class:`~netlab.network.link.Link`
subclass whose untapped instances are plain links. Headers are packed here with :mod:`struct` (building them
with scapy layers costs about 0.4 ms a packet); ``tests/test_pcap.py`` checks them byte for byte against
scapy's ``IP``/``TCP``/``UDP`` and lets tshark verify the checksums. scapy's ``PcapWriter`` writes the files.
This is the only netlab module that imports scapy, and ``import netlab`` does not import it.

>>> cap = Capture("out/pcap", mode="link", links=[("a", "b")], window=(10.0, 20.0))
>>> cap
<Capture link out/pcap links=a->b window=[10, 20) s>
"""

from __future__ import annotations

import ipaddress
import math
import struct
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netlab.errors import ConfigError
from netlab.network.drops import DropReason
from netlab.network.link import Link
from netlab.transport.segment import SYN, Datagram, Segment

if TYPE_CHECKING:
    import pandas as pd

    from netlab.experiment.runner import Simulation
    from netlab.network.network import Network
    from netlab.network.node import Node
    from netlab.network.packet import Packet
    from netlab.scenario.model import Scenario

__all__ = ["DEFAULT_EPOCH", "LINKTYPE_RAW", "MODES", "Capture", "ipv4_bytes", "parse_links", "parse_window"]

#: Wall-clock time of simulated time 0 when the scenario has no mail epoch
#: (= netlab.mail.content.message.DEFAULT_EPOCH).
DEFAULT_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
#: pcap linktype of raw IP packets (LINKTYPE_RAW): Wireshark dissects IPv4 directly.
LINKTYPE_RAW = 101
MODES = ("host", "link")
#: UDP port of background packets: 9 is "discard", which nothing answers.
BACKGROUND_PORT = 9
_IP_HDR = struct.Struct("!BBHHHBBH4s4s")
_TCP_HDR = struct.Struct("!HHIIBBHHH")
_UDP_HDR = struct.Struct("!HHHH")
_DF = 0x4000
_TCP, _UDP = 6, 17


# ---------------------------------------------------------------------- packet bytes
def _checksum(data: bytes) -> int:
    """Internet checksum (RFC 1071) of *data*.

    A big integer modulo 0xFFFF is the ones'-complement sum of its 16-bit words (2**16 = 1 mod 0xFFFF), which
    Python computes in C; a non-zero sum that is 0 modulo 0xFFFF is 0xFFFF ("negative zero").
    """
    if len(data) & 1:
        data += b"\0"
    s = int.from_bytes(data, "big") % 0xFFFF or (0xFFFF if any(data) else 0)
    return ~s & 0xFFFF


def _ip_header(src: bytes, dst: bytes, proto: int, length: int, ttl: int) -> bytes:
    head = _IP_HDR.pack(0x45, 0, length, 0, _DF, ttl, proto, 0, src, dst)
    return head[:10] + _checksum(head).to_bytes(2, "big") + head[12:]


def _window_shift(wnd: int) -> int:
    """Window-scale shift that makes *wnd* (bytes) fit 16 bits; the transport's window is fixed per connection,
    so every segment of a connection yields the same shift as its SYN announced."""
    return max(0, wnd.bit_length() - 16)


def _tcp_options(seg: Segment) -> bytes:
    if seg.flags & SYN:
        mss = getattr(seg, "mss", None)
        opts = b"" if mss is None else struct.pack("!BBH", 2, 4, mss)
        # SACK-permitted: netlab's transport sends SACK blocks unless its TcpConfig says otherwise.
        cfg = getattr(getattr(seg.owner, "stack", None), "config", None)
        if cfg is None or cfg.sack:
            opts += b"\x01\x01\x04\x02"
        if getattr(seg, "wscale", None) is None:
            return opts  # no window scaling offered (TcpConfig(window_scaling=False), or the peer's SYN had none)
        return opts + b"\x01\x03\x03" + bytes((_window_shift(seg.wnd),))
    if seg.sack:
        blocks = seg.sack[:4]  # 4 blocks fill the 40 option bytes
        return b"\x01\x01" + bytes((5, 2 + 8 * len(blocks))) + b"".join(struct.pack("!II", a, b) for a, b in blocks)
    return b""


def ipv4_bytes(pkt: Packet, src: bytes, dst: bytes, ttl: int) -> tuple[bytes, int]:
    """The IPv4 packet *pkt* is on the wire, from address *src* to *dst* (4 bytes each) with *ttl*: returns
    ``(captured bytes, wire length in bytes)``. Only background packets are cut short (their 28 header bytes).

    >>> from netlab.transport.segment import ACK, PSH
    >>> seg = Segment(None, None, 0.0, None, "f", 64, 49152, 25, 1000, 2000, ACK | PSH, 65536, b"EHLO x\\r\\n", None)
    >>> data, wire = ipv4_bytes(seg, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), 64)
    >>> len(data), wire, data[-8:]
    (48, 48, b'EHLO x\\r\\n')
    """
    if isinstance(pkt, Segment):
        opts = _tcp_options(pkt)
        if len(opts) & 3:
            opts += b"\0" * (4 - len(opts) & 3)  # end-of-options padding to a 32-bit boundary
        payload = pkt.payload
        wnd = pkt.wnd
        wnd = min(wnd if pkt.flags & SYN else wnd >> _window_shift(wnd), 0xFFFF)
        hlen = 20 + len(opts)
        head = _TCP_HDR.pack(pkt.sport, pkt.dport, pkt.seq, pkt.ack, hlen << 2, pkt.flags, wnd, 0, 0) + opts
        tcp_len = hlen + len(payload)
        pseudo = src + dst + struct.pack("!BBH", 0, _TCP, tcp_len)
        csum = _checksum(pseudo + head + payload)
        head = head[:16] + csum.to_bytes(2, "big") + head[18:]
        data = _ip_header(src, dst, _TCP, 20 + tcp_len, ttl) + head + payload
        return data, len(data)
    if isinstance(pkt, Datagram):
        payload = pkt.payload
        sport, dport = pkt.sport, pkt.dport
        wire = 28 + len(payload)
    else:
        payload = b""
        sport = dport = BACKGROUND_PORT
        wire = max(pkt.size, 28)
    udp_len = wire - 20
    head = _UDP_HDR.pack(sport, dport, udp_len, 0)
    if payload or wire == 28:
        csum = _checksum(src + dst + struct.pack("!BBH", 0, _UDP, udp_len) + head + payload) or 0xFFFF
        head = head[:6] + csum.to_bytes(2, "big")
    # else: a background packet's payload is not stored, so its checksum is left 0 ("none", allowed for UDP).
    return _ip_header(src, dst, _UDP, wire, ttl) + head + payload, wire


# ---------------------------------------------------------------------- parsing helpers
def parse_window(text: str) -> tuple[float, float]:
    """``"START:END"`` (times with units, either side may be empty) -> ``(start_s, end_s)``.

    >>> parse_window("10s:2min"), parse_window(":5s"), parse_window("1min:")
    ((10.0, 120.0), (0.0, 5.0), (60.0, inf))
    """
    from netlab.units import parse_time

    start, sep, end = text.partition(":")
    if not sep:
        raise ConfigError(f"pcap window: expected START:END (e.g. 10s:2min), got {text!r}")
    return (parse_time(start) if start.strip() else 0.0, parse_time(end) if end.strip() else math.inf)


def parse_links(text: str) -> list[tuple[str, str]]:
    """``"a->b,c<->d"`` -> directed links ``[("a", "b"), ("c", "d"), ("d", "c")]``.

    >>> parse_links("pc1->r-alpha, r-core<->r-beta")
    [('pc1', 'r-alpha'), ('r-core', 'r-beta'), ('r-beta', 'r-core')]
    """
    out: list[tuple[str, str]] = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        both = "<->" in item
        a, sep, b = item.partition("<->" if both else "->")
        if not sep or not a.strip() or not b.strip():
            raise ConfigError(f"pcap links: expected A->B or A<->B, got {item!r}")
        out.append((a.strip(), b.strip()))
        if both:
            out.append((b.strip(), a.strip()))
    return out


# ---------------------------------------------------------------------- files
class _PcapFile:
    """One pcap file: packets are written as they are captured (timestamps never go back within a file)."""

    __slots__ = ("bytes", "name", "packets", "path", "writer")

    def __init__(self, path: Path, name: str) -> None:
        from scapy.utils import PcapWriter

        self.path = path
        self.name = name
        self.packets = 0
        self.bytes = 0
        self.writer = PcapWriter(str(path), linktype=LINKTYPE_RAW, nano=True, bufsz=1 << 20)
        self.writer.write_header(None)  # written now so that a host that saw nothing still has a readable file


class Capture:
    """Write pcap files of a run into *directory* (created): per host (``mode="host"``) or per directed link
    (``mode="link"``). See the module docstring for what is captured and when.

    Parameters
    ----------
    directory : str or Path
    mode : {"host", "link"}
    hosts : iterable of str, optional
        Host mode: the hosts to capture (default: every node of role ``host``). Link mode: capture the links
        from or to these nodes.
    links : iterable of (str, str), optional
        Link mode only: the directed links ``(from, to)`` to capture (default: all).
    window : (float, float), optional
        Capture only packets timestamped in ``[start_s, end_s)`` (simulated seconds).
    background : bool
        Also capture packets without a transport (background flows) as UDP headers; default True.
    epoch : datetime, optional
        Wall-clock time of simulated time 0; default the scenario's ``mail.epoch``, else :data:`DEFAULT_EPOCH`.

    Give it to a run: ``netlab.run(scenario, capture=Capture("out/pcap"))``. It is also the run's extension
    ``pcap``: ``results.tables["pcap_files"]`` lists the files with their packet counts.
    """

    name = "pcap"

    def __init__(self, directory: str | Path, *, mode: str = "host", hosts: Iterable[str] | None = None,
                 links: Iterable[Sequence[str]] | None = None, window: tuple[float, float] | None = None,
                 background: bool = True, epoch: datetime | None = None) -> None:  # fmt: skip
        if mode not in MODES:
            raise ConfigError(f"pcap mode: expected one of {', '.join(MODES)}, got {mode!r}")
        self.directory = Path(directory)
        self.mode = mode
        self.hosts = None if hosts is None else tuple(hosts)
        self.links = None if links is None else tuple((str(a), str(b)) for a, b in links)
        if self.links is not None and mode != "link":
            raise ConfigError("pcap links: only with mode='link' (host mode captures hosts)")
        start, end = window if window is not None else (0.0, math.inf)
        if not 0 <= start < end:
            raise ConfigError(f"pcap window: expected 0 <= start < end seconds, got {window!r}")
        self.window = (float(start), float(end))
        self.background = background
        self.epoch = epoch
        self.files: dict[str, _PcapFile] = {}  # host or link name -> file
        self._addr: dict[Node, bytes] = {}
        self._epoch_ns = 0
        self._pending: tuple[_PcapFile, float, Packet, int] | None = None

    def __repr__(self) -> str:
        what = [self.mode, str(self.directory)]
        if self.hosts is not None:
            what.append("hosts=" + ",".join(self.hosts))
        if self.links is not None:
            what.append("links=" + ",".join(f"{a}->{b}" for a, b in self.links))
        if self.window != (0.0, math.inf):
            what.append(f"window=[{self.window[0]:g}, {self.window[1]:g}) s")
        return f"<Capture {' '.join(what)}>"

    # ------------------------------------------------------------------ wiring into a run
    def link_class(self, scenario: Scenario, base: type[Link] = Link) -> type[Link]:
        """Check names against *scenario*, open the files, and return the link class for the run: a subclass of
        *base* whose links on the capture's path record packets; all other links it makes are plain *base*."""
        nodes = {n.name: n for n in scenario.topology.nodes}
        pairs = {(u, v) for u, v, _ in scenario.topology.directed_links()}
        for h in self.hosts or ():
            if h not in nodes:
                raise ConfigError(f"pcap hosts: no node {h!r} in the topology")
        for a, b in self.links or ():
            if (a, b) not in pairs:
                raise ConfigError(f"pcap links: no link {a}->{b} in the topology")
        epoch = self.epoch
        if epoch is None:
            mail = scenario.mail
            epoch = datetime.fromisoformat(mail.epoch) if mail is not None else DEFAULT_EPOCH
        if epoch.tzinfo is None:
            epoch = epoch.replace(tzinfo=UTC)
        self._epoch_ns = int(epoch.timestamp()) * 10**9 + epoch.microsecond * 1000
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.mode == "host":
            names = self.hosts if self.hosts is not None else [n.name for n in scenario.topology.nodes
                                                               if n.role == "host"]  # fmt: skip
            for h in names:
                self.files[h] = _PcapFile(self.directory / f"{h}.pcap", h)
        else:
            chosen = sorted(pairs) if self.links is None else list(dict.fromkeys(self.links))
            if self.hosts is not None:
                chosen = [p for p in chosen if p[0] in self.hosts or p[1] in self.hosts]
            for a, b in chosen:
                self.files[f"{a}->{b}"] = _PcapFile(self.directory / f"{a}_to_{b}.pcap", f"{a}->{b}")
        return _tapping_link_class(self, base)

    def _taps(self, link: Link) -> tuple[_PcapFile | None, _PcapFile | None, _PcapFile | None]:
        """Files a link writes to: (sent by its source host, crossing it, received by its destination host)."""
        if self.mode == "link":
            return None, self.files.get(link.name), None
        return self.files.get(link.src.name), None, self.files.get(link.dst.name)

    def _write(self, f: _PcapFile, t: float, pkt: Packet, ttl: int) -> None:
        lo, hi = self.window
        if not lo <= t < hi:
            return
        if type(pkt) is not Segment and type(pkt) is not Datagram and not self.background:
            return
        # Encoded one capture late: the transport sets a SYN's MSS option just after injecting it, and nothing
        # else of a packet changes once sent (the TTL is passed in), so the previous packet is complete now.
        pending = self._pending
        self._pending = (f, t, pkt, ttl)
        if pending is not None:
            self._encode(*pending)

    def _encode(self, f: _PcapFile, t: float, pkt: Packet, ttl: int) -> None:
        addr = self._addr
        src, dst = pkt.src, pkt.dst
        a = addr.get(src)
        if a is None:
            a = addr[src] = ipaddress.IPv4Address(src.ip).packed
        b = addr.get(dst)
        if b is None:
            b = addr[dst] = ipaddress.IPv4Address(dst.ip).packed
        data, wire = ipv4_bytes(pkt, a, b, max(ttl, 1))
        sec, nsec = divmod(self._epoch_ns + round(t * 1e9), 10**9)
        f.writer.write_packet(data, sec=sec, usec=nsec, caplen=len(data), wirelen=wire)
        f.packets += 1
        f.bytes += wire

    def close(self) -> None:
        """Flush and close every file (the run does it when its event loop ends); closing twice is harmless."""
        if self._pending is not None:
            self._encode(*self._pending)
            self._pending = None
        for f in self.files.values():
            if not f.writer.f.closed:
                f.writer.close()

    # ------------------------------------------------------------------ runner extension
    def start(self, sim: Simulation) -> None:
        """Nothing to start: the links record from the first packet on."""

    def check(self, sim: Simulation) -> None:
        """Nothing to check (the run closed the files when its event loop ended)."""

    def tables(self, sim: Simulation) -> dict[str, pd.DataFrame]:
        """``pcap_files``: one row per file: ``capture`` (host or link), ``path``, ``packets``, ``bytes`` (wire)."""
        import pandas as pd

        rows = [(f.name, str(f.path), f.packets, f.bytes) for f in self.files.values()]
        return {"pcap_files": pd.DataFrame(rows, columns=["capture", "path", "packets", "bytes"])}

    def summary(self, sim: Simulation) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "mode": self.mode,
            "files": len(self.files),
            "packets": sum(f.packets for f in self.files.values()),
        }


def _tapping_link_class(cap: Capture, base: type[Link]) -> type[Link]:
    """A *base* subclass for *cap*. Its constructor returns a plain *base* link when the capture does not
    concern the link, so links off the capture's path keep the untouched hot path."""

    class CaptureLink(base):  # type: ignore[valid-type,misc]
        __slots__ = ("_cap_in", "_cap_on", "_cap_out", "_cap_tx")

        def __new__(cls, net: Network, src: Node, dst: Node, spec: Any, random: Any) -> Any:
            if (src.name in cap.files or dst.name in cap.files) if cap.mode == "host" else \
                    f"{src.name}->{dst.name}" in cap.files:  # fmt: skip
                return super().__new__(cls)
            return base(net, src, dst, spec, random)  # not of cls, so Python does not call __init__ again

        def __init__(self, net: Network, src: Node, dst: Node, spec: Any, random: Any) -> None:
            super().__init__(net, src, dst, spec, random)
            self._cap_out, self._cap_on, self._cap_in = cap._taps(self)
            self._cap_tx = 8 / self.rate_bps  # seconds per byte, to date the start of serialisation

        def send(self, pkt: Packet) -> None:
            f = self._cap_out
            if f is not None and pkt.hops == 0 and pkt.src is self.src:
                cap._write(f, self.net.env.now, pkt, pkt.ttl)
            super().send(pkt)

        def _arrive(self, pkt: Packet) -> None:
            # Link._arrive with the capture between the loss draw and the hand-over: recorded after the hand-over,
            # a delivered packet would land in the file after the reply its receiver sends at the same instant.
            wire = self.wire
            if not wire or wire[0] is not pkt:
                return  # the link went down while this packet was on it: already dropped and counted
            now = self.net.env.now
            f = self._cap_on
            if f is not None:
                cap._write(f, now - self.delay_s - pkt.size * self._cap_tx, pkt, pkt.ttl - pkt.hops)
            wire.popleft()
            if self.loss and self.random() < self.loss:
                self.net.drop(pkt, DropReason.LOSS, self)
                return
            f = self._cap_in
            if f is not None and pkt.dst is self.dst:
                cap._write(f, now, pkt, pkt.ttl - pkt.hops)
            self.dst.receive(pkt)

    CaptureLink.__qualname__ = CaptureLink.__name__ = f"Capture{base.__name__}"
    return CaptureLink
