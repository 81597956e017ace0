"""netlab's exceptions: one tree, so ``except NetlabError`` catches everything netlab raises on purpose.

::

    NetlabError
    ├── ConfigError            a scenario, option or value is wrong (names the file, the key, what was expected)
    │   ├── UnitError          a quantity with a missing, unknown or ambiguous unit ("10M")
    │   ├── TopologyError      the topology is inconsistent (unknown node, duplicate node, a path that is no path)
    │   └── MemoryLimitError   the run would need more memory than run.max_memory allows (with the estimate)
    ├── NoRouteError           a route was asked for where none exists
    └── SimulationError        the run itself went wrong (``.results`` holds what the run produced, if it ran)
        └── ConservationError  packets were created or lost without being counted

    NetlabWarning (UserWarning)  a run will work but costs more than it should (a table too big for its limit)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigError",
    "ConservationError",
    "MemoryLimitError",
    "NetlabError",
    "NetlabWarning",
    "NoRouteError",
    "SimulationError",
    "TopologyError",
    "UnitError",
]


class NetlabError(Exception):
    """Base class of every error netlab raises on purpose."""


class ConfigError(NetlabError, ValueError):
    """A scenario, option or value is wrong.

    The message names where (file and key path such as ``links[3].rate``) and what was expected.
    """


class UnitError(ConfigError):
    """A quantity whose unit is missing, unknown or ambiguous (``10M`` could be bits or bytes)."""


class TopologyError(ConfigError):
    """The topology is inconsistent: an unknown or duplicate node, a path that is not a path of the graph."""


class MemoryLimitError(ConfigError):
    """The run would need more memory than ``run.max_memory`` allows; the message gives the estimate, part by part,
    and the settings that shrink it. Raised before anything big is built."""


class NetlabWarning(UserWarning):
    """A run that will work but costs more than its settings intend (say, link statistics past their row limit)."""


class NoRouteError(NetlabError):
    """A route was asked for between nodes that the topology does not connect."""


class SimulationError(NetlabError):
    """The run itself went wrong (as opposed to its input).

    A run that reached its end but failed a check is not thrown away: :attr:`results` holds its
    :class:`~netlab.Results` (with ``summary["check_failed"]`` naming what failed), so a notebook can still look at
    the tables and ``netlab run -o DIR`` still writes them.
    """

    #: The run's results when the error was raised by a check after the event loop, else None.
    results: Any = None


class ConservationError(SimulationError):
    """Packets injected != delivered + dropped + in flight at the end of a run: a model bug, never a user error."""
