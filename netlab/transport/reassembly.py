"""The receiver's reassembly buffer: out-of-order bytes kept until the gap before them fills.

Offsets are plain integers counted from the peer's initial sequence number (the connection unwraps the 32-bit
numbers once per segment), so nothing here knows about wrap-around. Stored pieces never overlap: a segment that
partly covers what is already held is cut to the gaps it fills, so retransmissions cut at other boundaries
than the original (after a window change, say) are handled.

>>> r = Reassembly()
>>> r.add(10, b"klm"), r.add(5, b"fghij"), r.add(5, b"fg")
(3, 5, 0)
>>> r.sack_blocks(5)
[(5, 13)]
>>> r.pop_ready(5)
(b'fghijklm', 13)
>>> r.bytes, r.peak_bytes
(0, 8)
"""

from __future__ import annotations

from bisect import bisect_right, insort

from netlab.transport.scoreboard import merge_interval

__all__ = ["Reassembly"]


class Reassembly:
    """Out-of-order pieces ``{offset: bytes}`` with their merged intervals (what SACK reports)."""

    __slots__ = ("bytes", "intervals", "peak_bytes", "pieces", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []  # sorted offsets of the stored pieces
        self.pieces: dict[int, bytes] = {}
        self.intervals: list[list[int]] = []  # sorted, merged [start, end) of everything stored
        self.bytes = 0
        self.peak_bytes = 0

    def __bool__(self) -> bool:
        return bool(self.starts)

    def add(self, start: int, data: bytes) -> int:
        """Store *data* at offset *start*, keeping only what is not already held; return the bytes added."""
        end = start + len(data)
        starts, pieces = self.starts, self.pieces
        i = max(bisect_right(starts, start) - 1, 0)
        cur = start
        added = 0
        new: list[int] = []
        while i < len(starts) and cur < end:
            ps = starts[i]
            pe = ps + len(pieces[ps])
            if pe <= cur:
                i += 1
                continue
            if ps >= end:
                break
            if ps > cur:
                pieces[cur] = data[cur - start : ps - start]
                new.append(cur)
                added += ps - cur
            cur = pe
            i += 1
        if cur < end:
            pieces[cur] = data[cur - start :]
            new.append(cur)
            added += end - cur
        for s in new:
            insort(starts, s)
        if added:
            merge_interval(self.intervals, start, end)
            self.bytes += added
            self.peak_bytes = max(self.peak_bytes, self.bytes)
        return added

    def pop_ready(self, rcv: int) -> tuple[bytes, int]:
        """Remove the bytes that continue the stream at offset *rcv*; return them and the new next offset."""
        starts, pieces = self.starts, self.pieces
        out = []
        while starts and starts[0] <= rcv:
            ps = starts.pop(0)
            d = pieces.pop(ps)
            self.bytes -= len(d)
            pe = ps + len(d)
            if pe > rcv:
                out.append(d[rcv - ps :] if ps < rcv else d)
                rcv = pe
        ivs = self.intervals
        while ivs and ivs[0][0] <= rcv:
            del ivs[0]
        return b"".join(out), rcv

    def sack_blocks(self, latest: int, limit: int = 3) -> list[tuple[int, int]]:
        """Up to *limit* ``(start, end)`` blocks: first the one holding offset *latest* (the segment that just
        arrived, as RFC 2018 requires), then the highest others."""
        ivs = self.intervals
        first = None
        for iv in ivs:
            if iv[0] <= latest < iv[1]:
                first = iv
                break
        out = [(first[0], first[1])] if first is not None else []
        for iv in reversed(ivs):
            if len(out) >= limit:
                break
            if iv is not first:
                out.append((iv[0], iv[1]))
        return out
