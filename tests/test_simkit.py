"""The SimPy contract: every SimPy internal netlab relies on (``netlab.simkit``), checked against the installed
SimPy, so an upgrade that changes one fails here, by name, and not as wrong numbers deep in a run."""

from __future__ import annotations

import itertools
from heapq import heappush

import pytest
import simpy
import simpy.events

from netlab import simkit
from netlab.network.packet import Packet


class Beep(simkit.Entry):
    __slots__ = ()


def test_priorities_are_simpys() -> None:
    assert (simkit.URGENT, simkit.NORMAL) == (simpy.events.URGENT, simpy.events.NORMAL) == (0, 1)


def test_the_clock_is_the_now_attribute() -> None:
    """The hot path reads ``env._now``: it must be what ``env.now`` returns, before and after a step."""
    env = simpy.Environment(initial_time=1.5)
    assert env._now == env.now == 1.5
    env.timeout(2.0)
    env.step()
    assert env._now == env.now == 3.5


def test_heap_entries_are_time_priority_id_event() -> None:
    """``event_heap`` gives the live heap and id counter; SimPy's own schedule() pushes the same 4-tuples."""
    env = simpy.Environment()
    heap, ids = simkit.event_heap(env)
    assert heap is env._queue and isinstance(ids, itertools.count)
    ev = env.timeout(2.0)
    (t, prio, eid, event), *_ = heap
    assert (t, prio, event) == (2.0, simkit.NORMAL, ev) and next(ids) == eid + 1


def test_an_entry_is_processed_like_an_event_and_can_be_pushed_again() -> None:
    """netlab pushes a Packet itself on SimPy's event queue with a callback tuple; Environment.step must process
    it like an event (it needs only ``callbacks`` and ``_ok``), in FIFO order with events at the same time."""
    env = simpy.Environment()
    seen: list[tuple[float, object]] = []
    pkt = Packet(src=None, dst=None, size=100, created=0.0)  # type: ignore[arg-type]  # no node needed here
    pkt.callbacks = (lambda ev: seen.append((env.now, ev)),)
    other = env.timeout(2.5)
    other.callbacks.append(lambda ev: seen.append((env.now, "timeout")))
    simkit.schedule_at(env, pkt, 2.5)  # same time, later: after the timeout (FIFO by id)
    assert env.peek() == 2.5
    env.step()
    env.step()
    assert seen == [(2.5, "timeout"), (2.5, pkt)]
    assert pkt.callbacks is None  # step() took the callbacks, as it does for a real event
    # Re-usable: the next hop pushes the same object again, here by hand as the hot path does.
    pkt.callbacks = (lambda ev: seen.append((env.now, "again")),)
    heap, ids = simkit.event_heap(env)
    heappush(heap, (4.0, simkit.NORMAL, next(ids), pkt))
    env.run()
    assert seen[-1] == (4.0, "again") and env.now == 4.0


def test_schedule_at_keeps_the_absolute_time_exactly() -> None:
    """``env.schedule`` adds a delay to now; an absolute time must come out bit for bit (grid6 depends on it)."""
    now, at = 0.2579690924717717, 34.164417796853165
    env = simpy.Environment(initial_time=now)
    assert now + (at - now) != at  # what a relative delay would give
    beep = Beep()
    beep.callbacks = (lambda _ev: None,)
    simkit.schedule_at(env, beep, at)
    env.step()
    assert env.now == at


def test_a_failed_event_crashes_but_an_entry_never_does() -> None:
    """``step`` re-raises a failed event's exception unless it is defused; an Entry's ``_ok`` is always True."""
    env = simpy.Environment()
    env.event().fail(ValueError("boom"))
    with pytest.raises(ValueError, match="boom"):
        env.step()
    assert Beep._ok is True and not hasattr(Beep(), "_defused")


def test_trigger_is_urgent_and_succeeds_with_none() -> None:
    """``trigger`` runs an event before the ordinary events due at the same instant; its value is None."""
    env = simpy.Environment()
    order: list[str] = []
    env.timeout(1.0).callbacks.append(lambda _e: order.append("timeout"))
    stop = env.event()
    stop.callbacks.append(lambda e: order.append(f"stop {e.value}"))
    simkit.trigger(env, stop, delay_s=1.0)
    assert stop.triggered and stop.ok
    env.run()
    assert order == ["stop None", "timeout"]
