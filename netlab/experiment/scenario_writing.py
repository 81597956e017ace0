"""Writing a scenario as YAML-ready data, the inverse of :mod:`netlab.experiment.scenario_reading`: compact for
files (defaults left out, shared link values moved into ``defaults.link``, shorthands for nodes, links and
strategies), or complete with plain numbers for :mod:`netlab.experiment.overrides` to edit.

>>> from netlab.experiment.scenario_reading import scenario_from_data
>>> s = scenario_from_data({"nodes": ["a", "b"], "links": [["a", "b"]], "routing": "ospf"}, where="x.yaml")
>>> scenario_to_data(s)
{'name': 'scenario', 'seed': 1, 'nodes': ['a', 'b'], 'links': [['a', 'b']], 'routing': 'ospf'}
"""

from __future__ import annotations

import dataclasses
from typing import Any

from netlab.errors import ConfigError
from netlab.experiment.registry import ROUTING
from netlab.experiment.scenario import Scenario
from netlab.experiment.scenario_topology import _LINK_ENDS
from netlab.experiment.spec_writing import FlowMap, FlowSeq, dump_fields
from netlab.routing.base import RoutingStrategy
from netlab.topology.spec import LinkSpec, NodeSpec

__all__ = ["scenario_to_data"]


def scenario_to_data(scenario: Scenario, *, compact: bool = True) -> dict[str, Any]:
    """*scenario* as plain YAML-ready data; :func:`scenario_from_data` reads it back into an equal scenario.

    ``compact`` (for files) leaves out defaults and writes unit strings and shorthands; otherwise every key is
    present with plain numbers in base units, which is the tree :func:`apply_overrides` edits.
    """
    data: dict[str, Any] = {"name": scenario.name, "seed": scenario.seed}
    links = scenario.topology.links
    common: dict[str, Any] = {}
    if compact and len(links) >= 2:
        for f in dataclasses.fields(LinkSpec):
            values = {getattr(link, f.name) for link in links}
            if f.name not in _LINK_ENDS and len(values) == 1 and values != {f.default}:
                common[f.name] = values.pop()
    if common:  # written like a link whose ends are left out
        body = dump_fields(LinkSpec("", "", **common), compact)
        data["defaults"] = {"link": FlowMap({k: v for k, v in body.items() if k not in _LINK_ENDS})}
    data["nodes"] = [_dump_node(n, compact) for n in scenario.topology.nodes]
    data["links"] = []
    for link in links:
        body = dump_fields(link, compact, base=common)
        data["links"].append(FlowSeq([link.a, link.b]) if compact and list(body) == ["a", "b"] else body)
    if scenario.flows or not compact:
        data["flows"] = [dump_fields(f, compact) for f in scenario.flows]
    data["routing"] = _dump_routing(scenario.routing, compact)
    if scenario.faults or not compact:
        data["faults"] = [dump_fields(f, compact) for f in scenario.faults]
    run = dump_fields(scenario.run, compact)
    if run or not compact:
        data["run"] = run
    if scenario.mail is not None:
        data["mail"] = dict(dump_fields(scenario.mail, compact))  # block style: one key per line
    return data


def _dump_node(node: NodeSpec, compact: bool) -> Any:
    body = dump_fields(node, compact)
    return node.name if compact and list(body) == ["name"] else body


def _dump_routing(routing: RoutingStrategy, compact: bool) -> Any:
    names = [name for name, cls in ROUTING.items() if type(routing) is cls]
    if not names:
        if compact:
            known = ", ".join(ROUTING)
            raise ConfigError(f"cannot write routing strategy {routing!r} to YAML: it is not one of {known}")
        return routing  # overrides pass a user-defined strategy through untouched
    body = dump_fields(routing, compact)
    if compact and not body:
        return names[0]
    return FlowMap({"strategy": names[0], **body})
