"""netlab: a network lab on SimPy and networkx.

Virtual hosts and routers sit on a topology; a SimPy core moves every packet across it (one event per
packet-hop); routing strategies choose the paths. Build or load a :class:`Scenario`, :func:`run` it, read the
pandas tables of the :class:`Results`.

>>> import netlab
>>> sorted(netlab.__all__) == netlab.__all__
True
"""

from __future__ import annotations

from netlab.errors import (
    ConfigError,
    ConservationError,
    NetlabError,
    NoRouteError,
    SimulationError,
    TopologyError,
    UnitError,
)
from netlab.experiment.compare import compare
from netlab.experiment.comparison import Comparison, load_comparison
from netlab.experiment.runner import run
from netlab.experiment.stats import mean_ci
from netlab.experiment.sweep import save_sweep, scale_load, sweep
from netlab.network.faults import FaultSpec
from netlab.results import Results, load_results
from netlab.routing.adaptive import KShortestLeastLoaded, LeastLoaded
from netlab.routing.base import RoutingStrategy
from netlab.routing.multipath import Ecmp, Flowlet, Spray, WeightedSplit
from netlab.routing.static import ExplicitPaths, OspfCost, ShortestDelay, ShortestHops
from netlab.routing.tracking import PathTracker
from netlab.routing.widest import ShortestWidest, WidestShortest
from netlab.scenario.model import RunSpec, Scenario
from netlab.topology.spec import LinkSpec, NodeSpec, Topology
from netlab.transport import (
    ConnectionRefused,
    ConnectionReset,
    ConnectionTimeout,
    TcpConfig,
    TransportError,
    TransportStack,
)
from netlab.units import parse_rate, parse_size, parse_time
from netlab.workload.spec import (
    Constant,
    EmpiricalSize,
    ExponentialSize,
    FixedSize,
    FlowSpec,
    OnOff,
    Poisson,
    Trace,
)

__version__ = "0.1.0"


def load_scenario(path: str) -> Scenario:
    """Read a scenario YAML file (see docs/scenario-reference.md); errors name the file, line and key."""
    from netlab.scenario.files import load_scenario as _load

    return _load(path)


def topology_from_graph(G: object, **kwargs: object) -> Topology:
    """A :class:`Topology` from a networkx graph (node attr ``role``; edge attrs ``rate_bps``, ``delay_s``, ...)."""
    from netlab.topology.convert import topology_from_graph as _convert

    return _convert(G, **kwargs)  # type: ignore[arg-type]


__all__ = [
    "Comparison",
    "ConfigError",
    "ConnectionRefused",
    "ConnectionReset",
    "ConnectionTimeout",
    "ConservationError",
    "Constant",
    "Ecmp",
    "EmpiricalSize",
    "ExplicitPaths",
    "ExponentialSize",
    "FaultSpec",
    "FixedSize",
    "FlowSpec",
    "Flowlet",
    "KShortestLeastLoaded",
    "LeastLoaded",
    "LinkSpec",
    "NetlabError",
    "NoRouteError",
    "NodeSpec",
    "OnOff",
    "OspfCost",
    "PathTracker",
    "Poisson",
    "Results",
    "RoutingStrategy",
    "RunSpec",
    "Scenario",
    "ShortestDelay",
    "ShortestHops",
    "ShortestWidest",
    "SimulationError",
    "Spray",
    "TcpConfig",
    "Topology",
    "TopologyError",
    "Trace",
    "TransportError",
    "TransportStack",
    "UnitError",
    "WeightedSplit",
    "WidestShortest",
    "compare",
    "load_comparison",
    "load_results",
    "load_scenario",
    "mean_ci",
    "parse_rate",
    "parse_size",
    "parse_time",
    "run",
    "save_sweep",
    "scale_load",
    "sweep",
    "topology_from_graph",
]
