"""The names scenario files use for classes: routing strategies, arrival laws and size laws, and
``module:Class(args)`` for a class of the user's own.

Inside netlab, strategies and laws are objects (``OspfCost(...)``, ``Poisson(200.0)``); only scenario files and
the command line name them by string. This module holds the name -> class tables, finds the table a field's
annotation refers to (:func:`kinds_of`), splits ``name(key=value, ...)`` (:func:`split_call`), and imports a
class named ``module:Class`` after checking that it has the methods of the Protocol it stands for
(:func:`load_class`), so a scenario file cannot make an object of just any class. How a field reads and writes is
:mod:`netlab.scenario.decode` and :mod:`netlab.scenario.encode`.

Naming a module in a scenario file imports it, as ``python -c "import module"`` would: read files you did not
write as you would read their code.

>>> ROUTING["ospf"].__name__, ARRIVALS.name_of(Poisson(5.0)), split_call("ecmp(weight=delay, salt=false)")
('OspfCost', 'poisson', ('ecmp', {'weight': 'delay', 'salt': False}))
>>> load_class("netlab.routing.static:ShortestHops", ROUTING_KIND) is ShortestHops
True
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from netlab.errors import ConfigError
from netlab.options import did_you_mean
from netlab.routing.adaptive import KShortestLeastLoaded, LeastLoaded
from netlab.routing.base import RoutingStrategy
from netlab.routing.multipath import Ecmp, Flowlet, Spray, WeightedSplit
from netlab.routing.static import ExplicitPaths, OspfCost, ShortestDelay, ShortestHops
from netlab.routing.widest import ShortestWidest, WidestShortest
from netlab.scenario.fields import union_members
from netlab.transport.congestion import CONGESTION as _CONGESTION
from netlab.transport.congestion import CongestionControl
from netlab.workload.spec import (
    ArrivalLaw,
    Constant,
    EmpiricalSize,
    ExponentialSize,
    FixedSize,
    OnOff,
    Poisson,
    SizeLaw,
    Trace,
)

__all__ = [
    "ARRIVALS",
    "CONGESTION",
    "ROUTING",
    "ROUTING_KIND",
    "SIZES",
    "Kind",
    "Kinds",
    "is_ref",
    "kinds_of",
    "load_class",
    "named_class",
    "ref_of",
    "split_args",
    "split_call",
]

#: Routing strategy name (``routing.strategy``) -> class.
ROUTING: dict[str, type] = {
    "shortest_hops": ShortestHops,
    "shortest_delay": ShortestDelay,
    "ospf": OspfCost,
    "explicit": ExplicitPaths,
    "least_loaded": LeastLoaded,
    "k_shortest_least_loaded": KShortestLeastLoaded,
    "ecmp": Ecmp,
    "spray": Spray,
    "flowlet": Flowlet,
    "weighted_split": WeightedSplit,
    "widest_shortest": WidestShortest,
    "shortest_widest": ShortestWidest,
}


@dataclass(frozen=True)
class Kind:
    """What a class named in a file must be: *what* it is called in messages, the *protocol* its objects
    satisfy, the *methods* its class must have before netlab makes one, and the *attrs* the object must have."""

    what: str
    protocol: type
    methods: tuple[str, ...]
    attrs: tuple[str, ...] = ()

    @property
    def a(self) -> str:
        """*what* with its article: ``an arrival law``."""
        return ("an " if self.what[0] in "aeiou" else "a ") + self.what


ROUTING_KIND = Kind("routing strategy", RoutingStrategy, ("attach", "next_link", "topology_changed"),
                    ("detection_delay_s",))  # fmt: skip


@dataclass(frozen=True)
class Kinds:
    """A tagged union as written in a scenario: ``{kind: value}`` where *kind* names one of *classes*, or
    ``module:Class(args)`` for a class of the user's own that satisfies *kind*'s protocol.

    *bare* is the kind a bare scalar stands for (``size: 1000B`` is ``{fixed: 1000B}``), or None. *call*: the
    value is written ``name(key=value, ...)`` (``cubic``, ``cubic(beta=0.8)``), as a routing strategy is.
    """

    section: str
    classes: dict[str, type]
    kind: Kind
    bare: str | None = None
    call: bool = False

    def name_of(self, obj: object) -> str | None:
        """The kind name of *obj*, or None for a class of the user's own (exact class match: a subclass is not
        silently written as its base)."""
        for name, cls in self.classes.items():
            if type(obj) is cls:
                return name
        return None


ARRIVALS = Kinds("arrivals", {"poisson": Poisson, "constant": Constant, "on_off": OnOff, "trace": Trace},
                 Kind("arrival law", ArrivalLaw, ("times",), ("mean_rate_pps",)))  # fmt: skip
SIZES = Kinds("size", {"fixed": FixedSize, "exponential": ExponentialSize, "empirical": EmpiricalSize},
              Kind("size law", SizeLaw, ("sampler",), ("mean_bytes",)), bare="fixed")  # fmt: skip
#: ``transport.congestion``: ``none``, ``newreno``, ``cubic(beta=0.8)``, ``mypkg.cc:Mine(k=2)``.
CONGESTION = Kinds("congestion", _CONGESTION,
                   Kind("congestion control", CongestionControl, ("init", "on_ack", "on_congestion", "restart")),
                   call=True)  # fmt: skip


def kinds_of(tp: Any = None, *, value: Any = None) -> Kinds | None:
    """The :class:`Kinds` of the annotation *tp* (its Protocol, or a union of exactly its classes), or the one
    that holds the class of *value*."""
    members = union_members(tp)[0] if tp is not None else []
    for kinds in (ARRIVALS, SIZES, CONGESTION):
        classes = list(kinds.classes.values())
        if kinds.kind.protocol in members or type(value) in classes:
            return kinds
        if members and all(m in classes for m in members) and len(members) == len(classes):
            return kinds
    return None


_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def is_ref(name: object) -> bool:
    """True for ``module:Class`` (``mypkg.laws:Bursts``), the name of a class of the user's own."""
    return isinstance(name, str) and _REF.match(name) is not None


def split_call(text: str) -> tuple[str, dict[str, Any]]:
    """``"name(key=value, ...)"`` (or just ``"name"``) -> ``(name, {key: value})``; each value is a YAML scalar
    or flow collection (``2``, ``1s``, ``flow``, ``[a, b]``), left for the class's fields to read."""
    name, paren, rest = text.strip().partition("(")
    params: dict[str, Any] = {}
    if paren:
        if not rest.endswith(")"):
            raise ConfigError(f"{text!r}: expected name(key=value, ...)")
        for part in filter(None, (p.strip() for p in split_args(rest[:-1]))):
            key, sep, value = part.partition("=")
            if not sep:
                raise ConfigError(f"{text!r}: expected key=value, got {part!r}")
            try:
                params[key.strip()] = yaml.safe_load(value)
            except yaml.YAMLError as exc:
                raise ConfigError(f"{text!r}: {key.strip()}: not a YAML value ({exc})") from None
    return name.strip(), params


def split_args(text: str) -> list[str]:
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


def load_class(ref: str, kind: Kind) -> type:
    """The class named *ref* (``module:Class``), imported, if it has *kind*'s methods; ConfigError otherwise."""
    module, _, qualname = ref.partition(":")
    try:
        obj: Any = importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"{kind.what} {ref!r}: cannot import module {module!r} ({exc})") from None
    for part in qualname.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            raise ConfigError(f"{kind.what} {ref!r}: {module} has no {qualname!r}" + did_you_mean(part, names))
        obj = getattr(obj, part)
    if not isinstance(obj, type):
        raise ConfigError(f"{kind.what} {ref!r}: not a class (it is {obj!r:.40})")
    missing = [m for m in kind.methods if not callable(getattr(obj, m, None))]
    if missing:
        raise ConfigError(f"{ref!r} is not {kind.a}: it has no {missing[0]}()")
    return obj


def ref_of(cls: type, kind: Kind) -> str:
    """``"module:Qualname"`` that :func:`load_class` reads back into *cls* (ConfigError if it cannot: a class
    defined inside a function has no importable name)."""
    ref = f"{cls.__module__}:{cls.__qualname__}"
    if "<locals>" in cls.__qualname__:
        raise ConfigError(f"{kind.what} {cls.__qualname__}: a class defined inside a function has no name a file "
                          "can give; define it at the top level of a module")  # fmt: skip
    try:
        back = load_class(ref, kind)
    except ConfigError:
        back = None
    if back is not cls:
        raise ConfigError(f"{kind.what} {cls.__qualname__}: {ref} does not name it (not importable by that name)")
    return ref


def named_class(name: object, table: Mapping[str, type], kind: Kind) -> type:
    """The class a file names: a key of *table* (``ospf``) or ``module:Class``."""
    if is_ref(name):
        return load_class(str(name), kind)
    if not isinstance(name, str) or name not in table:
        raise ConfigError(f"unknown {kind.what} {name!r}" + did_you_mean(name, table))
    return table[name]
