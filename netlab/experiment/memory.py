"""How much memory a run will need, estimated before it starts, and the check against ``run.max_memory``.

The estimate adds what the process holds already (its resident memory now) to the parts that grow with the
scenario, each from a per-item cost measured on this implementation (``bench/scale.py`` prints estimate and peak
side by side):

=====================  ===========================================  ==========================================
part                   grows with                                   setting that shrinks it
=====================  ===========================================  ==========================================
network                nodes and directed links                     a smaller topology
routing trees          destinations (hosts, flow ends) x nodes      fewer hosts
link statistics        links x time bins (``link_bins``)            ``run.bin`` (wider), ``run.max_link_bins``
packet records         counted packets, with ``run.record_packets``  ``run.record_packets: false``
=====================  ===========================================  ==========================================

What traffic builds as it goes (forwarding entries, queued packets, a mail system's messages) is not in it.
A run whose estimate exceeds the limit raises :class:`~netlab.errors.MemoryLimitError` before the network is
built, naming the estimate and the settings, instead of being killed by the kernel half-way.

>>> from netlab import LinkSpec, NodeSpec, Scenario, Topology
>>> s = Scenario(Topology((NodeSpec("a", "host"), NodeSpec("b", "host")), (LinkSpec("a", "b"),)))
>>> [name for name, _, _ in estimate_memory(s, in_use=0).parts]
['network', 'routing trees', 'link statistics']
"""

from __future__ import annotations

import math
import os
import resource
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netlab.errors import MemoryLimitError

if TYPE_CHECKING:
    from netlab.scenario.model import Scenario

__all__ = ["MemoryEstimate", "check_memory", "estimate_memory", "memory_limit"]

#: Bytes per node and per directed link of the running network (Node, Link and their queues; measured).
NODE_BYTES = 1_500
LINK_BYTES = 2_000
#: Bytes per node of one destination's shortest-path tree (next link and distance; plain-Python trees on the
#: small graphs that use them cost more per node but are few).
TREE_NODE_BYTES = 16
#: Bytes per row of link statistics: the counters kept during the run plus the row of the final table.
BIN_ROW_BYTES = 400
#: Bytes per record of ``run.record_packets`` (a tuple of seven fields, then a DataFrame row).
PACKET_RECORD_BYTES = 360


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    """The estimated peak memory of a run: ``parts`` are ``(name, bytes, what it counts)``, plus ``in_use``."""

    parts: tuple[tuple[str, int, str], ...]
    in_use: int

    @property
    def total(self) -> int:
        """Bytes the process would hold at the run's peak."""
        return self.in_use + sum(b for _, b, _ in self.parts)

    def __str__(self) -> str:
        items = [f"already in use {format_size(self.in_use)}"]
        items += [f"{name} {format_size(b)} ({what})" for name, b, what in self.parts]
        return f"about {format_size(self.total)}: " + ", ".join(items)


def format_size(nbytes: int) -> str:
    """``1.2 GB``, ``340 MB``, ``12 kB`` (decimal units, as the limit is written)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= size:
            return f"{nbytes / size:.1f} {unit}" if nbytes < 10 * size else f"{nbytes / size:,.0f} {unit}"
    return f"{nbytes} B"


def _resident_bytes() -> int:
    """This process's resident memory now (Linux), else its peak so far."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak_kib * 1024


def memory_limit(scenario: Scenario) -> int:
    """``run.max_memory``, or the machine's physical memory when it is not set."""
    if scenario.run.max_memory_bytes is not None:
        return int(scenario.run.max_memory_bytes)
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (OSError, ValueError):  # pragma: no cover - no sysconf: no limit
        return 2**63


def _expected_packets(scenario: Scenario) -> int | None:
    """Packets the flows will send, when each flow's count or rate and end are known (else None)."""
    from netlab.workload.spec import Constant, OnOff, Poisson, Trace

    total = 0.0
    until = scenario.run.until_s
    for f in scenario.flows:
        end = min(f.stop_s, until if until is not None else math.inf)
        a = f.arrivals
        if isinstance(a, Trace):
            n = float(sum(1 for t in a.times_s if f.start_s <= t < end))
        elif isinstance(a, Poisson | Constant | OnOff) and math.isfinite(end):
            n = a.rate_pps * max(0.0, end - f.start_s)
        else:
            n = math.inf
        if f.count is not None:
            n = min(n, f.count)
        if math.isinf(n):
            return None
        total += n
    return math.ceil(total)


def estimate_memory(scenario: Scenario, *, in_use: int | None = None) -> MemoryEstimate:
    """The estimated peak memory of running *scenario* in this process (see the module docstring)."""
    topo = scenario.topology
    nodes = len(topo.nodes)
    links = sum(1 for _ in topo.directed_links())
    ends = {f.dst for f in scenario.flows}
    dsts = sum(1 for n in topo.nodes if n.role == "host" or n.name in ends)
    spec = scenario.run
    if spec.bin_s is not None and spec.until_s is not None:
        rows = links * (math.ceil(spec.until_s / spec.bin_s) + 1)
        bins = f"{links:,} links x {rows // max(links, 1):,} bins of {spec.bin_s:g} s"
    else:
        rows = spec.max_link_bins
        if spec.until_s is not None:
            rows = min(rows, links * (math.ceil(spec.until_s) + 1))
        bins = f"{links:,} links x up to {rows // max(links, 1):,} bins"
    parts = [
        ("network", nodes * NODE_BYTES + links * LINK_BYTES, f"{nodes:,} nodes, {links:,} links"),
        ("routing trees", dsts * nodes * TREE_NODE_BYTES, f"{dsts:,} destinations x {nodes:,} nodes"),
        ("link statistics", rows * BIN_ROW_BYTES, bins),
    ]
    if spec.record_packets:
        packets = _expected_packets(scenario)
        if packets is not None:
            parts.append(("packet records", packets * PACKET_RECORD_BYTES, f"{packets:,} packets"))
    return MemoryEstimate(tuple(parts), _resident_bytes() if in_use is None else in_use)


def check_memory(scenario: Scenario) -> MemoryEstimate:
    """Raise :class:`MemoryLimitError` when the estimate exceeds the limit (:func:`memory_limit`)."""
    estimate = estimate_memory(scenario)
    limit = memory_limit(scenario)
    if estimate.total > limit:
        where = f"{scenario.source}: " if scenario.source else ""
        setting = (
            f"run.max_memory = {format_size(limit)}"
            if scenario.run.max_memory_bytes is not None
            else f"this machine's {format_size(limit)} of memory (run.max_memory)"
        )
        raise MemoryLimitError(
            f"{where}the run would need {estimate}, more than {setting}. Shrink what is largest "
            "(link statistics: a wider run.bin or a smaller run.max_link_bins; packet records: "
            "run.record_packets: false; network and trees: a smaller topology or fewer hosts), or raise run.max_memory"
        )
    return estimate
