"""The queue manager alone, with a fake deliverer: Postfix's backoff schedule, expiry, concurrency, crash."""

from __future__ import annotations

from typing import Any

import pytest
import simpy

from netlab.mail.config.servers import QueueSpec
from netlab.mail.mta.qmgr import QueueEntry, QueueManager, retry_schedule
from netlab.testing import FakeDeliverer


def make(env: simpy.Environment, spec: QueueSpec, deliverer: FakeDeliverer) -> tuple[QueueManager, list[Any]]:
    done: list[Any] = []
    qm = QueueManager(env, spec, deliverer, on_done=lambda e, o, t: done.append((t, [x.kind for x in o])),
                      on_removed=lambda e: done.append(("removed", e.qid)))  # fmt: skip
    return qm, done


def test_default_schedule_is_postfix_idealised() -> None:
    minutes = [t // 60 for t in retry_schedule(QueueSpec(), attempts=10)]
    assert minutes == [0, 5, 10, 20, 40, 80, 150, 220, 290, 360]


def test_attempts_follow_the_backoff_and_expire_with_a_bounce() -> None:
    env = simpy.Environment()
    spec = QueueSpec(maximal_queue_lifetime_s=6 * 3600.0)
    d = FakeDeliverer(env)
    qm, done = make(env, spec, d)
    env.timeout(0.05).callbacks.append(lambda _e: qm.enqueue(QueueEntry("A1", "a@x", ["b@y"], b"m", env.now)))
    env.run(until=2 * 86400)
    times = [round(t) for t, _, _ in d.attempts]
    expected = retry_schedule(spec, attempts=len(times))
    assert times == expected
    # The first failed attempt at or after 6 h ends it: bounced (expired), removed.
    assert times[-1] >= 6 * 3600 and times[-2] < 6 * 3600
    assert done[-2][1] == ["bounce"] and done[-1] == ("removed", "A1")
    assert not qm.entries


def test_null_sender_uses_the_bounce_lifetime() -> None:
    env = simpy.Environment()
    spec = QueueSpec(maximal_queue_lifetime_s=86400.0, bounce_queue_lifetime_s=3600.0)
    d = FakeDeliverer(env)
    qm, done = make(env, spec, d)
    qm.enqueue(QueueEntry("B1", "", ["a@x"], b"dsn", 0.0))
    env.run(until=86400)
    # Expiry is checked after a failed attempt: the first one at or past 1 h (at 80 min) ends it.
    assert [round(t) for t, _, _ in d.attempts] == [0, 300, 600, 1200, 2400, 4800]
    assert done[-1] == ("removed", "B1")


def test_recovery_after_a_few_deferrals() -> None:
    env = simpy.Environment()
    d = FakeDeliverer(env, ok_after=1000.0)
    qm, done = make(env, QueueSpec(), d)
    qm.enqueue(QueueEntry("C1", "a@x", ["b@y", "c@y"], b"m", 0.0))
    env.run(until=10000)
    assert [round(t) for t, _, _ in d.attempts] == [0, 300, 600, 1200]
    assert d.attempts[-1][2] == ("b@y", "c@y")  # both recipients at one destination: one job
    assert done == [(pytest.approx(1200.2), ["sent", "sent"]), ("removed", "C1")]


def test_concurrency_limit_per_destination() -> None:
    env = simpy.Environment()
    d = FakeDeliverer(env, kind="sent", took=1.0)
    qm, _ = make(env, QueueSpec(destination_concurrency_limit=3), d)
    for i in range(10):
        qm.enqueue(QueueEntry(f"D{i}", "a@x", ["b@y"], b"m", 0.0))
    env.run()
    assert d.peak == 3 and len(d.attempts) == 10 and not qm.entries
    assert env.now == pytest.approx(4.0)  # ceil(10 / 3) rounds of 1 s


def test_crash_keeps_the_queue_and_restart_resumes() -> None:
    env = simpy.Environment()
    d = FakeDeliverer(env, kind="sent", took=5.0)
    qm, done = make(env, QueueSpec(), d)
    qm.enqueue(QueueEntry("E1", "a@x", ["b@y"], b"m", 0.0))
    env.timeout(1.0).callbacks.append(lambda _e: qm.crash())
    env.timeout(100.0).callbacks.append(lambda _e: qm.restart())
    env.run()
    # The job running at the crash is forgotten (its result ignored); the message is tried again at restart.
    assert [t for t, _, _ in d.attempts] == [0.0, 100.0]
    assert done == [(105.0, ["sent"]), ("removed", "E1")]


def site(env: simpy.Environment, ok_after: float = 0.0) -> FakeDeliverer:
    """Connection failures (4.4.1, 1 s each) until *ok_after*, then 250."""
    return FakeDeliverer(env, "defer", took=1.0, ok_after=ok_after, refused=True)


def burst(qm: QueueManager, n: int, at: float = 0.0) -> None:
    for i in range(n):
        qm.enqueue(QueueEntry(f"S{i}", "a@x", ["b@y"], b"m", at))


def test_slow_start_begins_at_five_and_grows_to_the_limit() -> None:
    """A burst to a new destination: 5 at once, then +1 per delivery that worked, never above 20."""
    env = simpy.Environment()
    d = site(env)
    qm, _ = make(env, QueueSpec(), d)
    burst(qm, 200)
    env.run()
    assert d.parallel[:5] == [1, 2, 3, 4, 5] and max(d.parallel[:6]) == 5
    assert max(d.parallel) == 20 and len(d.attempts) == 200 and not qm.entries
    # Per round of 1 s: 5, then 10, then 20 (the window doubles per pseudo-cohort).
    per_second = [sum(1 for t, _, _ in d.attempts if s <= t < s + 1) for s in range(4)]
    assert per_second == [5, 10, 20, 20]


@pytest.mark.parametrize(("initial", "limit", "first"), [(1, 20, 1), (5, 3, 3), (8, 20, 8)])
def test_initial_concurrency_is_configurable_and_capped(initial: int, limit: int, first: int) -> None:
    env = simpy.Environment()
    d = site(env)
    qm, _ = make(env, QueueSpec(initial_destination_concurrency=initial, destination_concurrency_limit=limit), d)
    burst(qm, 50)
    env.run()
    assert sum(1 for t, _, _ in d.attempts if t == 0.0) == first and max(d.parallel) <= limit


def test_a_dead_destination_defers_its_mail_without_attempts_and_revives() -> None:
    """Connections refused: 4 failures from a window of 5 (1/5+1/4+1/3+1/2 >= 1 cohort) make it dead; the other
    46 messages are deferred at once, without a connection; after minimal_backoff a new attempt is made."""
    env = simpy.Environment()
    d = site(env, ok_after=250.0)
    suspended: list[tuple[str, str]] = []
    qm = QueueManager(env, QueueSpec(), d, on_done=lambda e, o, t: None, on_removed=lambda e: None,
                      on_suspended=lambda e, o: suspended.extend((e.qid, x.text) for x in o))  # fmt: skip
    burst(qm, 50)
    env.run(until=1.5)
    assert len(d.attempts) == 5  # the first window; the 4th failure at t=1 killed it
    assert qm.windows["y"].dead and len(suspended) == 45
    assert all(text.startswith("delivery temporarily suspended: connect to") for _, text in suspended)
    env.run(until=299.0)
    assert len(d.attempts) == 5  # new mail would be suspended too; the scan at 300 s retries
    env.run()
    assert not qm.entries and not qm.windows["y"].dead


def test_a_new_message_for_a_dead_destination_is_deferred_at_once() -> None:
    env = simpy.Environment()
    d = site(env, ok_after=10_000.0)
    qm, _ = make(env, QueueSpec(initial_destination_concurrency=1), d)
    qm.enqueue(QueueEntry("A", "a@x", ["b@y"], b"m", 0.0))
    env.run(until=2.0)  # window 1: one failure is a whole cohort
    assert qm.windows["y"].dead
    qm.enqueue(QueueEntry("B", "a@x", ["b@y", "c@z"], b"m", env.now))
    env.run(until=3.5)
    dests = [dest for _, dest, _ in d.attempts]
    assert dests == ["y", "z"]  # B's recipient at y was not tried; the one at z was
    assert qm.entries["B"].last["b@y"].text.startswith("delivery temporarily suspended")


def test_a_4xx_from_a_server_that_answered_is_not_a_site_failure() -> None:
    """451 after the greeting is the message's problem, not the site's: the destination never dies."""
    env = simpy.Environment()
    d = FakeDeliverer(env, kind="defer", took=1.0)
    qm, _ = make(env, QueueSpec(), d)
    for i in range(30):
        qm.enqueue(QueueEntry(f"F{i}", "a@x", ["b@y"], b"m", 0.0))
    env.run(until=10.0)
    assert len(d.attempts) == 30 and not qm.windows["y"].dead


def test_failed_cohort_limit_zero_never_declares_dead() -> None:
    env = simpy.Environment()
    d = site(env, ok_after=10_000.0)
    qm, _ = make(env, QueueSpec(destination_concurrency_failed_cohort_limit=0), d)
    burst(qm, 30)
    env.run(until=100.0)
    assert len(d.attempts) == 30 and qm.windows["y"].window == 1


@pytest.mark.parametrize("restart_at", [92.3, 92.2, 17.7, 1e-3])
def test_the_deferred_scan_always_moves_the_clock_on(restart_at: float) -> None:
    # t0 + k*qrd - t0 can round below k*qrd; the scan at that instant used to re-arm itself at zero delay for ever
    # (a host back up at 92.3 s: scan k = 27 at 8192.3 s). Step by hand so a regression fails instead of hanging.
    env = simpy.Environment()
    spec = QueueSpec(maximal_queue_lifetime_s=5 * 86400.0)
    qm, _ = make(env, spec, FakeDeliverer(env))
    qm.enqueue(QueueEntry("Q1", "a@x", ["b@y"], b"m", 0.0))
    env.timeout(restart_at / 2).callbacks.append(lambda _e: qm.crash())
    env.timeout(restart_at).callbacks.append(lambda _e: qm.restart())
    horizon, steps = 40_000.0, 0
    while env.peek() < horizon:
        env.step()
        steps += 1
        assert steps < 10_000, f"clock stuck at {env.now} s after {qm.scans} scans"
    # one scan per queue_run_delay while the message is deferred, none twice at one instant
    assert qm.scans <= (horizon - restart_at) / spec.queue_run_delay_s + 1
