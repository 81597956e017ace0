"""The sender's SACK scoreboard: which bytes above the cumulative ACK the receiver reported holding.

Offsets are integers from the sender's initial sequence number. The holes between SACKed blocks are what loss
recovery retransmits; a hole counts as lost (RFC 6675 ``IsLost``) once more than ``(DupThresh - 1) * MSS``
bytes above it have been SACKed.

>>> sb = Scoreboard()
>>> sb.add(3000, 4000); sb.add(5000, 9000)
>>> sb.holes(1000, 9000)
[(1000, 3000), (4000, 5000)]
>>> sb.lost_holes(1000, threshold=2000)
[(1000, 3000), (4000, 5000)]
>>> sb.trim(3500); sb.intervals
[[3500, 4000], [5000, 9000]]
"""

from __future__ import annotations

from bisect import bisect_left

__all__ = ["Scoreboard"]


def merge_interval(ivs: list[list[int]], start: int, end: int) -> None:
    """Add ``[start, end)`` to the sorted, disjoint intervals *ivs* in place, merging what it touches or overlaps.

    >>> ivs = [[0, 2], [5, 7]]; merge_interval(ivs, 2, 5); ivs
    [[0, 7]]
    """
    i = bisect_left(ivs, [start, start])
    if i > 0 and ivs[i - 1][1] >= start:  # touches or overlaps the interval before
        i -= 1
        start = ivs[i][0]
    j = i
    while j < len(ivs) and ivs[j][0] <= end:
        end = max(end, ivs[j][1])
        j += 1
    ivs[i:j] = [[start, end]]


class Scoreboard:
    """Sorted, merged ``[start, end)`` intervals the receiver SACKed."""

    __slots__ = ("intervals",)

    def __init__(self) -> None:
        self.intervals: list[list[int]] = []

    def __bool__(self) -> bool:
        return bool(self.intervals)

    def clear(self) -> None:
        self.intervals.clear()

    def add(self, start: int, end: int) -> None:
        """Record that the receiver holds ``[start, end)``."""
        merge_interval(self.intervals, start, end)

    def trim(self, una: int) -> None:
        """Forget everything below the cumulative ACK *una*."""
        ivs = self.intervals
        while ivs and ivs[0][1] <= una:
            del ivs[0]
        if ivs and ivs[0][0] < una:
            ivs[0][0] = una

    def covered(self, offset: int) -> int:
        """The end of the SACKed block holding *offset*, or *offset* itself if it is not SACKed."""
        for s, e in self.intervals:
            if s > offset:
                break
            if offset < e:
                return e
        return offset

    def sacked_bytes(self) -> int:
        """How many bytes the intervals hold (RFC 6675's SACKed octets above the cumulative ACK)."""
        return sum(e - s for s, e in self.intervals)

    @property
    def high(self) -> int:
        """The end of the highest SACKed block (0 if none)."""
        return self.intervals[-1][1] if self.intervals else 0

    def holes(self, start: int, end: int) -> list[tuple[int, int]]:
        """The un-SACKed ranges in ``[start, end)``."""
        out = []
        cur = start
        for s, e in self.intervals:
            if e <= cur:
                continue
            if s >= end:
                break
            if s > cur:
                out.append((cur, s))
            cur = e
        if cur < end:
            out.append((cur, end))
        return out

    def lost_holes(self, start: int, threshold: int) -> list[tuple[int, int]]:
        """Holes from *start* up to the highest SACKed byte with more than *threshold* bytes SACKed above them."""
        ivs = self.intervals
        if not ivs:
            return []
        holes = self.holes(start, ivs[-1][1])
        out = []
        above = 0
        k = len(ivs) - 1
        for hs, he in reversed(holes):
            while k >= 0 and ivs[k][0] >= he:
                above += ivs[k][1] - ivs[k][0]
                k -= 1
            if above > threshold:
                out.append((hs, he))
        out.reverse()
        return out
