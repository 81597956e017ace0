"""The few SimPy internals netlab relies on, in one place (``tests/test_simkit.py`` pins each one against the
installed SimPy, so an upgrade that changes them fails there and not somewhere deep in a run).

netlab's data path schedules its own objects on SimPy's event heap instead of allocating a ``Timeout`` per
packet-hop (DESIGN.md, performance rules): a packet crossing a link, a flow's next arrival and a connection's
timer are each one heap entry whose "event" is the object itself. That needs three things SimPy does not
publish:

* the heap ``env._queue`` of ``(time, priority, id, event)`` entries and the id counter ``env._eid`` that
  keeps entries at the same time and priority in FIFO order (:func:`event_heap`, :func:`schedule_at`);
* what ``Environment.step`` asks of an event: ``callbacks`` (a sequence of callables, each called with the
  event, then set to None) and ``_ok`` (True: the event succeeded, so no exception is re-raised).
  :class:`Entry` is that much of an event;
* an event marked succeeded without being scheduled at NORMAL priority, so it can be scheduled URGENT
  (:func:`trigger`): how the runner ends a run before anything else happens at the same instant.

The clock ``env._now`` is what ``env.now`` returns; code off the hot path uses ``env.now``. The per-hop and
per-segment paths read ``env._now`` directly (a property call costs as much as the rest of a small method) and
say so where they do; the contract test covers that attribute too.

>>> import simpy
>>> env = simpy.Environment()
>>> class Beep(Entry):
...     __slots__ = ()
>>> beep = Beep(); beep.callbacks = (lambda ev: print("beep at", env.now),)
>>> schedule_at(env, beep, 2.5); env.run()
beep at 2.5
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from heapq import heappush
from typing import Any, Final

import simpy
from simpy.events import NORMAL as _SIMPY_NORMAL
from simpy.events import URGENT as _SIMPY_URGENT

__all__ = ["NORMAL", "URGENT", "Entry", "HeapEntry", "event_heap", "schedule_at", "trigger"]

#: SimPy's priority of ordinary events (``simpy.events.NORMAL``), as a plain int: tuples on the heap compare it.
NORMAL: Final[int] = int(_SIMPY_NORMAL)
#: SimPy's priority of events processed before every ordinary event at the same time (``simpy.events.URGENT``).
URGENT: Final[int] = int(_SIMPY_URGENT)

#: One entry of SimPy's event heap: ``(time_s, priority, id, event)``; the event is a SimPy event or an
#: :class:`Entry` (SimPy types its heap for events only).
HeapEntry = tuple[float, int, int, object]


class Entry:
    """The part of a SimPy event that ``Environment.step`` uses: ``callbacks``, and ``_ok`` always True.

    Subclasses (a packet, a flow source, a connection's timer) set ``callbacks`` to a tuple of callables taking
    the entry, and push themselves with :func:`schedule_at`; ``step`` sets ``callbacks`` to None when it
    processes the entry, so the same object can be pushed again for its next hop.
    """

    __slots__ = ("callbacks",)
    callbacks: Sequence[Callable[[Any], object]] | None
    #: ``Environment.step`` reads ``_ok`` of every processed event: these always succeed.
    _ok = True


def event_heap(env: simpy.Environment) -> tuple[list[HeapEntry], Iterator[int]]:
    """SimPy's event heap and its id counter, for code that pushes entries itself on the hot path.

    Push ``(time_s, NORMAL, next(ids), entry)`` with :func:`heapq.heappush`; both objects live as long as *env*.
    """
    heap: list[HeapEntry] = env._queue  # type: ignore[assignment]  # it holds Entry objects too
    return heap, env._eid


def schedule_at(env: simpy.Environment, entry: Entry | simpy.Event, at_s: float, priority: int = NORMAL) -> None:
    """Schedule *entry* at the absolute simulated time *at_s* (seconds).

    ``env.schedule`` takes a delay and adds it to ``now``; an absolute time keeps the exact float a computation
    gave (``depart + delay``), which the grid6 check values depend on.
    """
    heap: list[HeapEntry] = env._queue  # type: ignore[assignment]  # it holds Entry objects too
    heappush(heap, (at_s, priority, next(env._eid), entry))


def trigger(env: simpy.Environment, event: simpy.Event, *, priority: int = URGENT, delay_s: float = 0.0) -> None:
    """Mark *event* succeeded (value None) and schedule it *delay_s* from now at *priority* (default URGENT).

    ``event.succeed()`` would schedule it at NORMAL priority, after events already due at the same instant.
    """
    event._ok = True
    event._value = None
    env.schedule(event, priority, delay_s)  # type: ignore[arg-type]  # SimPy types it as its EventPriority
