"""The strategies of a comparison: objects, registry names (``"least_loaded"``), ``"name(key=value, ...)"``
strings or ``{strategy: name, key: value}`` dicts, resolved to ``{label: strategy object}``
(:func:`resolve_strategies`), and back to a label or a plain spec for a saved comparison's ``meta.json``.

>>> split_strategy_list("shortest_hops,k_shortest_least_loaded(k=2, per=flow)")
['shortest_hops', 'k_shortest_least_loaded(k=2, per=flow)']
>>> list(resolve_strategies(["shortest_hops", "ecmp"]))
['shortest_hops', 'ecmp']
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from netlab.errors import ConfigError
from netlab.scenario.decode import Ctx, build
from netlab.scenario.encode import dump_fields
from netlab.scenario.registry import ROUTING, did_you_mean

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
        text = spec.strip()
        name, _, rest = text.partition("(")
        params: dict[str, Any] = {}
        if rest:
            if not rest.endswith(")"):
                raise ConfigError(f"strategy {spec!r}: expected name(key=value, ...)")
            for part in filter(None, (p.strip() for p in _split(rest[:-1]))):
                key, sep, value = part.partition("=")
                if not sep:
                    raise ConfigError(f"strategy {spec!r}: expected key=value, got {part!r}")
                params[key.strip()] = yaml.safe_load(value)
        spec = {"strategy": name.strip(), **params}
    if isinstance(spec, Mapping):
        spec = dict(spec)
        name = spec.pop("strategy", None)
        if name not in ROUTING:
            raise ConfigError(f"unknown routing strategy {name!r}" + did_you_mean(name, ROUTING))
        return build(ROUTING[name], spec, Ctx("strategies", path=str(name)))
    for method in ("attach", "next_link", "topology_changed"):
        if not callable(getattr(spec, method, None)):
            raise ConfigError(f"compare: {spec!r} is not a routing strategy (it has no {method}())")
    return spec


def _split(text: str) -> list[str]:
    """Split at commas outside brackets: ``"a=1, b={x: 1, y: 2}"`` -> two parts."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [*parts, cur]


def split_strategy_list(text: str) -> list[str]:
    """The command line's ``--strategies a,b(k=2, per=flow),c`` as a list of strategy strings."""
    return [p.strip() for p in _split(text) if p.strip()]


def _label(strategy: Any) -> str:
    """``name`` or ``name(key=value, ...)`` (non-default keys) for a registered strategy, else the class name."""
    names = [n for n, cls in ROUTING.items() if type(strategy) is cls]
    if not names:
        return type(strategy).__name__
    body = dump_fields(strategy, compact=True)
    if not body:
        return names[0]
    args = ", ".join(f"{k}={yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...').strip()}"
                     for k, v in body.items())  # fmt: skip
    return f"{names[0]}({args})"


def strategy_spec(strategy: Any) -> dict[str, Any] | None:
    """*strategy* as plain JSON-ready data (``{"strategy": "ospf", "reference_bandwidth": "1Gbps"}``) for a saved
    comparison's ``meta.json``, or None when it has no name the scenario format knows."""
    names = [n for n, cls in ROUTING.items() if type(strategy) is cls]
    if not names:
        return None
    return json.loads(json.dumps({"strategy": names[0], **dump_fields(strategy, compact=True)}, default=str))
