"""The public API: exactly the curated names, each documented, and ``import netlab`` stays light."""

from __future__ import annotations

import subprocess
import sys

import netlab

EXPECTED = sorted(
    [
        "ConfigError",
        "ConservationError",
        "Constant",
        "EmpiricalSize",
        "ExplicitPaths",
        "ExponentialSize",
        "FaultSpec",
        "FixedSize",
        "FlowSpec",
        "LinkSpec",
        "NetlabError",
        "NoRouteError",
        "NodeSpec",
        "OnOff",
        "OspfCost",
        "Poisson",
        "Results",
        "RoutingStrategy",
        "RunSpec",
        "Scenario",
        "ShortestDelay",
        "ShortestHops",
        "SimulationError",
        "Topology",
        "TopologyError",
        "Trace",
        "UnitError",
        "load_results",
        "load_scenario",
        "parse_rate",
        "parse_size",
        "parse_time",
        "run",
        "topology_from_graph",
        "LeastLoaded",
        "Flowlet",
        "KShortestLeastLoaded",
        "Ecmp",
        "Spray",
        "WeightedSplit",
        "WidestShortest",
        "ShortestWidest",
        "PathTracker",
        "Comparison",
        "compare",
        "load_comparison",
        "sweep",
        "scale_load",
        "save_sweep",
        "mean_ci",
        "TransportStack",
        "TcpConfig",
        "TransportError",
        "ConnectionRefused",
        "ConnectionReset",
        "ConnectionTimeout",
    ]
)


def test_all_is_exactly_the_curated_api() -> None:
    assert netlab.__all__ == EXPECTED


def test_every_public_name_exists_and_is_documented() -> None:
    for name in netlab.__all__:
        obj = getattr(netlab, name)
        assert obj.__doc__ and obj.__doc__.strip(), name


def test_errors_form_one_tree() -> None:
    for name in ("ConfigError", "UnitError", "TopologyError", "NoRouteError", "SimulationError", "ConservationError"):
        assert issubclass(getattr(netlab, name), netlab.NetlabError)
    assert issubclass(netlab.UnitError, netlab.ConfigError)


def test_import_does_not_load_heavy_optional_modules() -> None:
    code = (
        "import sys, netlab; print(sorted(m for m in ('matplotlib', 'pandas', 'scapy', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_version_is_a_string() -> None:
    assert isinstance(netlab.__version__, str)
