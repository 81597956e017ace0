"""A scenario: topology, traffic, routing, faults and run settings, as one frozen value.

Load one from YAML with :func:`netlab.load_scenario`, build one in Python (``Scenario.from_graph``), change
parts with :meth:`Scenario.override` (dotted keys, as on the command line) and run it with :func:`netlab.run`.

>>> from netlab import LinkSpec, NodeSpec, Scenario, Topology
>>> s = Scenario(Topology((NodeSpec("a", "host"), NodeSpec("b", "host")), (LinkSpec("a", "b"),)))
>>> s.seed, s.routing
(1, ShortestHops(detection_delay_s=0.0))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from netlab.errors import ConfigError, TopologyError
from netlab.network.faults import FaultSpec
from netlab.options import did_you_mean, key_aliases
from netlab.routing.base import RoutingStrategy
from netlab.routing.static import ShortestHops
from netlab.scenario.numbers import check_numbers
from netlab.topology.spec import Topology, option
from netlab.transport.config import TcpConfig
from netlab.workload.spec import FlowSpec

if TYPE_CHECKING:
    from netlab.mail.config import MailSpec

__all__ = ["RunSpec", "Scenario"]


@key_aliases
@dataclass(frozen=True, slots=True)
class RunSpec:
    """When a run stops and what it records.

    The run ends at ``until_s``, at the ``stop_after_delivered``-th counted delivery, or when every flow has
    ended and the network is empty, whichever comes first. Statistics count packets created at or after
    ``warmup_s``; link totals cover ``[warmup_s, end]``.
    """

    until_s: float | None = option(None, key="until", unit="time", doc="stop at this simulated time")
    warmup_s: float = option(0.0, key="warmup", unit="time", doc="statistics ignore packets created before this")
    stop_after_delivered: int | None = option(None, doc="stop at the N-th delivered (counted) packet")
    bin_s: float | None = option(None, key="bin", unit="time",
                                 doc="width of the time bins of link statistics (default: 1 s, doubled while "
                                     "links x bins would exceed run.max_link_bins)")  # fmt: skip
    max_link_bins: int = option(500_000,
                                doc="rows the link_bins table may hold (about 400 bytes each at the peak): "
                                    "the default bin widens to fit; a run.bin that overflows it warns")  # fmt: skip
    max_memory_bytes: int | None = option(None, key="max_memory", unit="size",
                                          doc="refuse to start a run estimated to need more memory (default: the "
                                              "machine's physical memory)")  # fmt: skip
    record_packets: bool = option(False, doc="keep one record per delivered or dropped packet (costs memory)")

    def __post_init__(self) -> None:
        if self.until_s is not None and not self.until_s > 0:
            raise ConfigError(f"run.until must be > 0 s, got {self.until_s!r}")
        if self.stop_after_delivered is not None and not (
            isinstance(self.stop_after_delivered, int) and self.stop_after_delivered >= 1
        ):
            raise ConfigError(
                f"run.stop_after_delivered must be a whole number >= 1, got {self.stop_after_delivered!r}"
            )
        if self.bin_s is not None and not (self.bin_s > 0 and math.isfinite(self.bin_s)):
            raise ConfigError(f"run.bin must be a positive time, got {self.bin_s!r}")
        if isinstance(self.max_link_bins, bool) or not isinstance(self.max_link_bins, int) or self.max_link_bins < 1:
            raise ConfigError(f"run.max_link_bins must be a whole number >= 1, got {self.max_link_bins!r}")
        if self.max_memory_bytes is not None and not self.max_memory_bytes > 0:
            raise ConfigError(f"run.max_memory must be a positive size (like '2GB'), got {self.max_memory_bytes!r}")
        if self.until_s is not None and self.warmup_s >= self.until_s:
            raise ConfigError(f"run.warmup ({self.warmup_s} s) must be shorter than run.until ({self.until_s} s)")


@dataclass(frozen=True)
class Scenario:
    """Everything one run needs. Validated on construction: flows and faults name known nodes and links."""

    topology: Topology
    flows: tuple[FlowSpec, ...] = ()
    routing: RoutingStrategy = field(default_factory=ShortestHops)
    faults: tuple[FaultSpec, ...] = ()
    run: RunSpec = field(default_factory=RunSpec)
    seed: int = 1
    name: str = "scenario"
    #: The mail system (domains, servers, users, DNS, workload); None for a packets-only scenario.
    mail: MailSpec | None = None
    #: The TCP parameters of every connection (the mail system's sessions): congestion control, windows, ACKs.
    transport: TcpConfig = field(default_factory=TcpConfig)
    #: The file the scenario came from (for error messages and metadata); None when built in Python.
    #: Not part of equality: the same scenario read from two places is the same scenario.
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        where = f"{self.source}: " if self.source else ""
        self._check_types(where)
        object.__setattr__(self, "flows", tuple(self.flows))
        object.__setattr__(self, "faults", tuple(self.faults))
        try:  # the topology checks its own numbers (LinkSpec, NodeSpec); the rest is walked here
            for key in ("flows", "routing", "faults", "run", "mail"):
                check_numbers(getattr(self, key), key)
        except ConfigError as exc:
            raise ConfigError(f"{where}{exc}") from None
        names = {n.name for n in self.topology.nodes}
        seen: set[str] = set()
        for i, f in enumerate(self.flows):
            if f.name in seen:
                raise ConfigError(f"{where}flows[{i}]: duplicate flow name {f.name!r}")
            seen.add(f.name)
            for key in ("src", "dst"):
                if getattr(f, key) not in names:
                    hint = did_you_mean(getattr(f, key), names)
                    raise TopologyError(f"{where}flows[{i}].{key}: unknown node {getattr(f, key)!r}{hint}")
        pairs = {(u, v) for u, v, _ in self.topology.directed_links()}
        for i, fault in enumerate(self.faults):
            if fault.node is not None and fault.node not in names:
                hint = did_you_mean(fault.node, names)
                raise TopologyError(f"{where}faults[{i}].node: unknown node {fault.node!r}{hint}")
            if fault.link is not None and tuple(fault.link) not in pairs:
                raise TopologyError(f"{where}faults[{i}].link: no link {fault.link[0]} -> {fault.link[1]}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ConfigError(f"{where}seed must be a whole number, got {self.seed!r}")
        if self.mail is not None:
            from netlab.mail.config import validate_mail

            try:
                validate_mail(self.mail, self.topology)
            except ConfigError as exc:
                raise type(exc)(f"{where}{exc}") from None
            w = self.mail.workload
            if w is not None and not w.finite and self.run.until_s is None and self.run.stop_after_delivered is None:
                raise ConfigError(f"{where}mail.workload: the run would never end: give the workload a count or a "
                                  "stop, or set run.until")  # fmt: skip

    def _check_types(self, where: str) -> None:
        """Each part of the right kind (``Scenario(routing=42)`` or ``run(s, routing=42)`` from Python: an error
        naming the argument, not an AttributeError deep in the run)."""
        expected: list[tuple[str, object, type | tuple[type, ...], str]] = [
            ("topology", self.topology, Topology, "a netlab.Topology"),
            ("run", self.run, RunSpec, "a netlab.RunSpec"),
            ("name", self.name, str, "a string"),
        ]
        if self.mail is not None:
            from netlab.mail.config import MailSpec

            expected.append(("mail", self.mail, MailSpec, "a MailSpec or None"))
        for key, value, tp, what in expected:
            if not isinstance(value, tp):
                raise ConfigError(f"{where}{key}: expected {what}, got {value!r:.60}")
        for key, tp, what in (("flows", FlowSpec, "netlab.FlowSpec"), ("faults", FaultSpec, "netlab.FaultSpec")):
            items = getattr(self, key)
            if isinstance(items, str | bytes) or not isinstance(items, tuple | list):
                raise ConfigError(f"{where}{key}: expected a list of {what}, got {items!r:.60}")
            for i, item in enumerate(items):
                if not isinstance(item, tp):
                    raise ConfigError(f"{where}{key}[{i}]: expected a {what}, got {item!r:.60}")
        missing = [m for m in ("attach", "next_link", "topology_changed", "detection_delay_s")
                   if not hasattr(self.routing, m)]  # fmt: skip
        if missing or isinstance(self.routing, type):
            raise ConfigError(f"{where}routing: expected a routing strategy (an object with attach, next_link, "
                              f"topology_changed and detection_delay_s, such as netlab.OspfCost()), got "
                              f"{self.routing!r:.60}")  # fmt: skip

    def override(self, *assignments: str, **values: Any) -> Scenario:
        """A copy with dotted keys replaced: ``s.override("routing.strategy=ospf", "run.until=10s")``.

        Keyword form: ``s.override(seed=2, run={"until": "10s"})``. See docs/scenario-reference.md.
        """
        from netlab.scenario.overrides import apply_overrides

        return apply_overrides(self, assignments, values)

    @classmethod
    def from_graph(cls, G: Any, **kwargs: Any) -> Scenario:
        """A scenario whose topology is the networkx graph *G* (see :func:`netlab.topology_from_graph`)."""
        from netlab.topology.convert import topology_from_graph

        return cls(topology_from_graph(G), **kwargs)

    def to_yaml(self) -> str:
        """The scenario as YAML text that :func:`netlab.load_scenario` reads back into an equal scenario."""
        from netlab.scenario.files import dump_scenario

        return dump_scenario(self)
