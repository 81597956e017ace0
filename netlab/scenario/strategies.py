"""The strategies of a comparison: objects, registry names (``"least_loaded"``), ``"name(key=value, ...)"``
strings or ``{strategy: name, key: value}`` dicts, resolved to ``{label: strategy object}``
(:func:`resolve_strategies`), and back to a label or a plain spec for a saved comparison's ``meta.json``.

>>> split_strategy_list("shortest_hops,k_shortest_least_loaded(k=2, per=flow)")
['shortest_hops', 'k_shortest_least_loaded(k=2, per=flow)']
>>> list(resolve_strategies(["shortest_hops", "ecmp"]))
['shortest_hops', 'ecmp']
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any

from netlab.errors import ConfigError
from netlab.scenario.decode import Ctx, instance
from netlab.scenario.encode import call_text, dump_fields
from netlab.scenario.registry import ROUTING, ROUTING_KIND, named_class, ref_of, split_args, split_call

__all__ = ["resolve_strategies", "split_strategy_list", "strategy_spec"]


def resolve_strategies(strategies: Iterable[Any] | Mapping[str, Any]) -> dict[str, Any]:
    """``{label: strategy object}`` from objects, names (``"least_loaded"``), ``"name(key=value, ...)"`` strings,
    ``{strategy: name, key: value}`` dicts, or a mapping ``{label: any of those}``."""
    items = list(strategies.items()) if isinstance(strategies, Mapping) else [(None, s) for s in strategies]
    out: dict[str, Any] = {}
    for label, spec in items:
        strategy = _strategy(spec)
        name = label if label is not None else (spec if isinstance(spec, str) else _label(strategy))
        if name in out:
            raise ConfigError(f"compare: two strategies are labelled {name!r}; pass a mapping {{label: strategy}}")
        out[str(name)] = strategy
    if not out:
        raise ConfigError("compare: expected at least one strategy")
    return out


def _strategy(spec: Any) -> Any:
    if isinstance(spec, str):
        try:
            name, params = split_call(spec)
        except ConfigError as exc:
            raise ConfigError(f"strategy {exc}") from None
        spec = {"strategy": name, **params}
    if isinstance(spec, Mapping):
        spec = dict(spec)
        name = spec.pop("strategy", None)
        cls = named_class(name, ROUTING, ROUTING_KIND)
        return instance(cls, spec, ROUTING_KIND, Ctx("strategies", path=str(name)))
    for method in ("attach", "next_link", "topology_changed"):
        if not callable(getattr(spec, method, None)):
            raise ConfigError(f"compare: {spec!r} is not a routing strategy (it has no {method}())")
    return spec


def split_strategy_list(text: str) -> list[str]:
    """The command line's ``--strategies a,b(k=2, per=flow),c`` as a list of strategy strings."""
    return [p.strip() for p in split_args(text) if p.strip()]


def _label(strategy: Any) -> str:
    """``name`` or ``name(key=value, ...)`` (non-default keys) for a registered strategy, else the class name."""
    names = [n for n, cls in ROUTING.items() if type(strategy) is cls]
    if not names:
        return type(strategy).__name__
    return call_text(names[0], dump_fields(strategy, compact=True))


def strategy_spec(strategy: Any) -> dict[str, Any] | None:
    """*strategy* as plain JSON-ready data (``{"strategy": "ospf", "reference_bandwidth": "1Gbps"}``, or
    ``{"strategy": "mypkg.routing:Mine", ...}`` for a dataclass of the user's own) for a saved comparison's
    ``meta.json``; None when it has no name a file can give."""
    names = [n for n, cls in ROUTING.items() if type(strategy) is cls]
    if names:
        name = names[0]
    elif dataclasses.is_dataclass(strategy) and not isinstance(strategy, type):
        try:
            name = ref_of(type(strategy), ROUTING_KIND)
        except ConfigError:
            return None
    else:
        return None
    spec = {"strategy": name, **dump_fields(strategy, compact=True)}
    data: dict[str, Any] = json.loads(json.dumps(spec, default=str))  # plain JSON types only
    return data
