"""The names scenario files use for classes: routing strategies, arrival kinds and size kinds.

Inside netlab, strategies and distributions are objects (``OspfCost(...)``, ``Poisson(200.0)``); only scenario
files and the command line name them by string. This module holds those name -> class tables, finds the table
a field's annotation refers to (:func:`kinds_of`), and suggests the closest name when one is unknown
(:func:`did_you_mean`). How a field reads and writes is :mod:`netlab.scenario.decode` and
:mod:`netlab.scenario.encode`.

>>> ROUTING["ospf"].__name__, ARRIVALS.name_of(Poisson(5.0)), did_you_mean("rat", ["rate", "delay"])
('OspfCost', 'poisson', "; did you mean 'rate'?")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netlab.options import did_you_mean
from netlab.routing.adaptive import KShortestLeastLoaded, LeastLoaded
from netlab.routing.multipath import Ecmp, Spray, WeightedSplit
from netlab.routing.static import ExplicitPaths, OspfCost, ShortestDelay, ShortestHops
from netlab.routing.widest import ShortestWidest, WidestShortest
from netlab.scenario.fields import union_members
from netlab.workload.spec import (
    Constant,
    EmpiricalSize,
    ExponentialSize,
    FixedSize,
    OnOff,
    Poisson,
    Trace,
)

__all__ = ["ARRIVALS", "ROUTING", "SIZES", "Kinds", "did_you_mean", "kinds_of"]

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
    "weighted_split": WeightedSplit,
    "widest_shortest": WidestShortest,
    "shortest_widest": ShortestWidest,
}


@dataclass(frozen=True)
class Kinds:
    """A tagged union as written in a scenario: ``{kind: value}`` where *kind* names one of *classes*.

    *bare* is the kind a bare scalar stands for (``size: 1000B`` is ``{fixed: 1000B}``), or None.
    """

    section: str
    classes: dict[str, type]
    bare: str | None = None

    def name_of(self, obj: object) -> str:
        """The kind name of *obj* (exact class match; a subclass is not silently written as its base)."""
        for name, cls in self.classes.items():
            if type(obj) is cls:
                return name
        raise KeyError(type(obj).__name__)


ARRIVALS = Kinds("arrivals", {"poisson": Poisson, "constant": Constant, "on_off": OnOff, "trace": Trace})
SIZES = Kinds("size", {"fixed": FixedSize, "exponential": ExponentialSize, "empirical": EmpiricalSize}, bare="fixed")


def kinds_of(tp: Any = None, *, value: Any = None) -> Kinds | None:
    """The :class:`Kinds` whose classes make up the union annotation *tp*, or that holds the class of *value*."""
    members = union_members(tp)[0] if tp is not None else []
    for kinds in (ARRIVALS, SIZES):
        classes = list(kinds.classes.values())
        if (members and all(m in classes for m in members) and len(members) == len(classes)) or type(value) in classes:
            return kinds
    return None
