"""Run a scenario: build the network, start the flows, run the event loop, check conservation, collect results.

>>> import netlab
>>> topo = netlab.Topology((netlab.NodeSpec("a", "host"), netlab.NodeSpec("b", "host")),
...                        (netlab.LinkSpec("a", "b", rate_bps=8e6, delay_s=0.001),))
>>> flow = netlab.FlowSpec("f", "a", "b", arrivals=netlab.Constant(100.0), size=netlab.FixedSize(1000), count=10)
>>> res = netlab.run(netlab.Scenario(topo, flows=(flow,)))
>>> int(res.flows.loc[0, "rx_packets"]), round(float(res.flows.loc[0, "delay_mean_s"]), 9)
(10, 0.002)
"""

from __future__ import annotations

import copy
import dataclasses
import math
import resource
import time
import warnings
from array import array
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import simpy

from netlab import simkit
from netlab.errors import ConfigError, ConservationError, NetlabWarning, SimulationError
from netlab.experiment.memory import BIN_ROW_BYTES, check_memory
from netlab.network.link import Link
from netlab.network.network import DROP_REASONS, Network
from netlab.results import Results, build_results
from netlab.scenario.model import Scenario
from netlab.workload.sources import FlowRecord, FlowSource

if TYPE_CHECKING:
    # Only for the annotations: netlab.pcap (and scapy) load when a capture is made.
    from netlab.pcap import Capture

__all__ = ["Simulation", "run"]


class Extension(Protocol):
    """Something a run carries beside the packet flows (the transport stack and mail system, say).

    Its life: :meth:`start` once the network is built (schedule its own processes; call ``sim.hold()`` for
    every piece of work that must finish before the run may end idle, ``sim.release()`` when it has), then
    after the event loop :meth:`check` (its own conservation, raising a :class:`netlab.SimulationError`
    subclass) and :meth:`tables` / :meth:`summary` for the results.
    """

    name: str

    def start(self, sim: Simulation) -> None: ...

    def check(self, sim: Simulation) -> None: ...

    def tables(self, sim: Simulation) -> dict[str, Any]: ...

    def summary(self, sim: Simulation) -> dict[str, Any]: ...


class Simulation:
    """One run of a scenario, step by step: ``Simulation(s).execute()`` is what :func:`run` does.

    Kept separate so tests can reach inside (swap the link class, inspect the network after the run).
    The run ends idle once nothing holds it (every flow finished, every extension released) and no packet is
    in the network.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        link_class: type[Link] = Link,
        extensions: Sequence[Extension] = (),
        capture: Capture | None = None,
        env: simpy.Environment | None = None,
    ) -> None:
        t0 = time.perf_counter()
        self.scenario = scenario
        spec = scenario.run
        _check_bounded(scenario)
        check_memory(scenario)  # before anything big is built: a run that cannot fit fails now, not by the OOM killer
        self.capture = capture
        if capture is not None:
            # The capture taps the links it concerns through a Link subclass: runs without one pay nothing.
            link_class = capture.link_class(scenario, link_class)
            extensions = (*extensions, capture)
        # A fresh event loop by default; live mode passes a real-time one (netlab.live.LiveEnvironment).
        self.env = env if env is not None else simpy.Environment()
        self.net = Network(self.env, scenario.topology, seed=scenario.seed, flows=scenario.flows, link_class=link_class)
        # Each run gets its own copy: strategies keep tables and state from attach() on.
        self.strategy = copy.deepcopy(scenario.routing)
        self.net.attach(self.strategy)
        self.net.schedule_faults(scenario.faults)
        self.stop = self.env.event()
        self.stop_reason = "idle"
        self.target = spec.stop_after_delivered
        self.counted = 0
        self.packet_records: list[tuple[Any, ...]] | None = [] if spec.record_packets else None
        self.records = [FlowRecord(f, self) for f in scenario.flows]
        self.sources = [
            FlowSource(f, self.net, r, self, spec.warmup_s) for f, r in zip(scenario.flows, self.records, strict=True)
        ]
        self.holds = len(self.sources)  # one per running flow, plus what extensions hold
        self.extensions: list[Extension] = [*_scenario_extensions(scenario), *extensions]
        names = [ext.name for ext in self.extensions]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:  # each names its summary section: the second would silently replace the first's
            raise ConfigError(f"Simulation(extensions=...): two extensions are named {twice[0]!r} "
                              f"({', '.join(repr(e) for e in self.extensions if e.name == twice[0])}); give each "
                              "its own name")  # fmt: skip
        # Link statistics: cumulative counters of every link at the start of each bin (one flat array a snapshot).
        self.snapshots: list[tuple[float, array[float]]] = []
        self.warmup_snapshot: array[float] | None = None
        self.bin_s = spec.bin_s if spec.bin_s is not None else 1.0
        self.auto_bins = spec.bin_s is None  # the default: the width doubles to keep links x bins bounded
        self._bins_warned = False
        _warn_bins(self, scenario)
        if spec.until_s is not None:
            # Urgent, like SimPy's own run(until=t): the run covers [0, until), nothing at exactly `until` happens.
            at_until = self.env.event()
            at_until.callbacks.append(lambda _e: self._finish("until"))
            simkit.trigger(self.env, at_until, delay_s=spec.until_s)
        if spec.warmup_s > 0:
            self.env.timeout(spec.warmup_s).callbacks.append(self._take_warmup_snapshot)
        self._sample(None)
        self.holds += 1  # while starting: nothing may end the run before everything has started
        for ext in self.extensions:
            ext.start(self)
        for src in self.sources:
            src.start()
        self.release()
        self.setup_s = time.perf_counter() - t0
        self.run_s = 0.0

    # ------------------------------------------------------------------ callbacks from flows and network
    def counted_delivery(self) -> None:
        self.counted += 1
        if self.counted == self.target:
            self._finish("stop_after_delivered")

    def hold(self) -> None:
        """Keep the run from ending idle until a matching :meth:`release`."""
        self.holds += 1
        self.net.on_idle = None

    def release(self) -> None:
        """Undo one :meth:`hold`; with none left and an empty network the run ends (reason ``idle``)."""
        self.holds -= 1
        if self.holds == 0:
            self.net.on_idle = self._idle
            if self.net.in_flight == 0 and not self.net.deferred:
                self._finish("idle")

    def source_finished(self) -> None:
        self.release()

    def _idle(self) -> None:
        self._finish("idle")

    def finish(self, reason: str) -> None:
        """End the run at the current instant (before any other event now), recording *reason*."""
        self._finish(reason)

    def _finish(self, reason: str) -> None:
        if not self.stop.triggered:
            self.stop_reason = reason
            # Urgent: the stop is processed before any other event at this instant (a second delivery at the
            # same time as the N-th must not count).
            simkit.trigger(self.env, self.stop)

    # ------------------------------------------------------------------ statistics sampling
    def _snapshot(self) -> array[float]:
        """Every link's cumulative ``packets, bytes, busy s, packet-seconds, drops`` and drops by reason, flat."""
        now = self.env.now
        out = array("d")
        for link in self.net.links:
            out.extend(link.snapshot(now))
            drops = link.drops
            out.extend([drops.get(r, 0) for r in DROP_REASONS])
        return out

    def _sample(self, ev: Any) -> None:
        if ev is not None and self.env.peek() == math.inf:
            # Only this sampler is left: nothing can happen any more. Without this a run whose in-flight count
            # never reaches zero (a leak) would sample forever instead of failing the conservation check.
            self._finish("idle")
            return
        now = self.env.now
        self.snapshots.append((now, self._snapshot()))
        rows = len(self.snapshots) * len(self.net.links)
        limit = self.scenario.run.max_link_bins
        if rows > limit and len(self.snapshots) > 1:
            if self.auto_bins:
                # Twice as wide: every other boundary goes (the counters are cumulative, so nothing is lost).
                self.snapshots = self.snapshots[::2]
                self.bin_s *= 2.0
            elif not self._bins_warned:
                self._bins_warned = True
                warnings.warn(_bins_message(len(self.net.links), self.bin_s, rows, limit, "holds"),
                              NetlabWarning, stacklevel=2)  # fmt: skip
        last = self.snapshots[-1][0]
        delay = self.bin_s if last == now else last + self.bin_s - now  # after widening: back on the new grid
        self.env.timeout(delay).callbacks.append(self._sample)

    def _take_warmup_snapshot(self, _ev: Any) -> None:
        self.warmup_snapshot = self._snapshot()

    # ------------------------------------------------------------------ run
    def execute(self) -> Results:
        """Run the event loop to the stop condition, check conservation, return the results."""
        t0 = time.perf_counter()
        try:
            self.env.run(until=self.stop)
        finally:
            if self.capture is not None:
                self.capture.close()  # also when the run fails: the packets up to the failure are the evidence
        self.run_s = time.perf_counter() - t0
        # A failed check does not throw the run away: every check runs, the results are built, and the first
        # failure is raised carrying them (SimulationError.results), so the tables can still be read and saved.
        failures: list[SimulationError] = []
        try:
            books = self.net.check_conservation()
        except ConservationError as exc:
            failures.append(exc)
            books = getattr(exc, "books", {})
        for ext in self.extensions:
            try:
                ext.check(self)
            except SimulationError as exc:
                failures.append(exc)
        end = (self.env.now, self._snapshot())
        if not self.snapshots or self.snapshots[-1][0] < end[0]:
            self.snapshots.append(end)
        timing = {
            "setup_s": self.setup_s,
            "run_s": self.run_s,
            "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "bin_s": self.bin_s,
        }
        if not failures:
            return build_results(self, books, timing)
        try:
            results = build_results(self, books, timing)
        except Exception as exc:  # the state that failed the check may not build every table; say so, keep the error
            failures[0].add_note(f"(the results could not be built: {type(exc).__name__}: {exc})")
            raise failures[0] from None
        results.summary["check_failed"] = [str(f) for f in failures]
        failures[0].results = results
        raise failures[0]


def _scenario_extensions(scenario: Scenario) -> list[Extension]:
    """The extensions a scenario's own sections ask for: the mail system when it has a ``mail`` section."""
    if scenario.mail is None:
        return []
    # Imported here: packet-only runs never load the mail modules.
    from netlab.mail.system import MailSystem

    return [MailSystem(scenario.mail)]


def _bins_message(links: int, bin_s: float, rows: int, limit: int, verb: str) -> str:
    return (f"link_bins {verb} {rows:,} rows ({links:,} links x {rows // max(links, 1):,} bins of {bin_s:g} s, "
            f"about {rows * BIN_ROW_BYTES / 1e6:,.0f} MB), more than run.max_link_bins = {limit:,}: set run.bin wider "
            "(or leave it out: the default widens to fit), or raise run.max_link_bins")  # fmt: skip


def _warn_bins(sim: Simulation, s: Scenario) -> None:
    """A run.bin the user set that will overflow run.max_link_bins (when the run's length is known): say so now."""
    spec = s.run
    if sim.auto_bins or spec.until_s is None:
        return
    links = sum(1 for _ in s.topology.directed_links())
    rows = links * (math.ceil(spec.until_s / sim.bin_s) + 1)
    if rows > spec.max_link_bins:
        sim._bins_warned = True
        warnings.warn(_bins_message(links, sim.bin_s, rows, spec.max_link_bins, "would hold"), NetlabWarning,
                      stacklevel=3)  # fmt: skip


def _check_bounded(s: Scenario) -> None:
    spec = s.run
    if spec.until_s is None and spec.stop_after_delivered is None:
        endless = [f.name for f in s.flows if not f.finite]
        if endless:
            where = f"{s.source}: " if s.source else ""
            raise ConfigError(
                f"{where}run: the run would never end: flow(s) {', '.join(endless)} have no stop or count; "
                "set run.until, run.stop_after_delivered, or give each flow a stop or count"
            )
    if spec.until_s is not None and not math.isfinite(spec.until_s):
        raise ConfigError("run.until must be finite")


def run(scenario: Scenario, *, capture: Capture | None = None, **overrides: Any) -> Results:
    """Run *scenario* once and return its :class:`Results`.

    Keyword *overrides* replace parts first: a top-level field given as an object (``routing=OspfCost()``,
    ``seed=2``) replaces it; dicts and strings go through :meth:`Scenario.override` (``run={"until": "5s"}``).
    *capture* (a :class:`netlab.pcap.Capture`) writes pcap files of the run.
    """
    direct = {k: v for k, v in overrides.items() if not isinstance(v, Mapping | str)}
    other = {k: v for k, v in overrides.items() if k not in direct}
    if direct:
        names = {f.name for f in dataclasses.fields(scenario)}
        unknown = set(direct) - names
        if unknown:
            raise ConfigError(f"run(): unknown scenario field(s) {sorted(unknown)}; expected some of {sorted(names)}")
        scenario = dataclasses.replace(scenario, **direct)
    if other:
        scenario = scenario.override(**other)
    return Simulation(scenario, capture=capture).execute()
