"""Scheduled faults: a link or a node goes down or comes back up at a given time.

>>> FaultSpec(at_s=10.0, action="down", link=("r1", "r2"))
FaultSpec(at_s=10.0, action='down', link=('r1', 'r2'), node=None)
"""

from __future__ import annotations

from dataclasses import dataclass

from netlab.errors import ConfigError
from netlab.options import Choice, key_aliases, option

__all__ = ["FaultAction", "FaultSpec"]


class FaultAction(Choice):
    """What a fault does to its link or node at its time."""

    DOWN = "down"
    UP = "up"


@key_aliases
@dataclass(frozen=True, slots=True)
class FaultSpec:
    """At ``at_s`` seconds, take a link (both directions unless it is directed) or a node ``down`` or ``up``.

    A link going down drops what is queued on it and on its wire (reason ``link_down``); a node going down takes
    all its links with it and drops packets that reach it (``node_down``). Routing learns of it after the
    strategy's detection delay.
    """

    at_s: float = option(key="at", unit="time", doc="when")
    action: FaultAction | str = option(FaultAction.DOWN, doc="down or up")  # a str is read as its FaultAction
    link: tuple[str, str] | None = option(None, doc="[a, b]: the link between a and b")
    node: str | None = option(None, doc="a node name")

    def __post_init__(self) -> None:
        if self.link is not None:
            object.__setattr__(self, "link", tuple(self.link))
        object.__setattr__(self, "action", FaultAction.parse(self.action, f"fault at {self.at_s} s: action"))
        if (self.link is None) == (self.node is None):
            raise ConfigError(f"fault at {self.at_s} s: give exactly one of link or node")
        if self.link is not None and len(self.link) != 2:
            raise ConfigError(f"fault at {self.at_s} s: link must be [a, b], got {self.link!r}")
