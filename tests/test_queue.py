"""The queue manager alone, with a fake deliverer: Postfix's backoff schedule, expiry, concurrency, crash."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
import simpy

from netlab.mail.config import QueueSpec
from netlab.mail.queue import Job, Outcome, QueueEntry, QueueManager, retry_schedule


class FakeDeliverer:
    """Answers every job after *took* seconds with *kind* (defer, sent or bounce); records attempt times."""

    def __init__(self, env: simpy.Environment, kind: str = "defer", took: float = 0.2, ok_after: float | None = None):
        self.env, self.kind, self.took, self.ok_after = env, kind, took, ok_after
        self.attempts: list[tuple[float, str, tuple[str, ...]]] = []
        self.running = 0
        self.peak = 0

    def destination(self, rcpt: str) -> str:
        return rcpt.rpartition("@")[2]

    def deliver(self, job: Job) -> Generator[simpy.Event, Any, list[Outcome]]:
        self.attempts.append((self.env.now, job.dest, tuple(job.rcpts)))
        self.running += 1
        self.peak = max(self.peak, self.running)
        yield self.env.timeout(self.took)
        self.running -= 1
        kind = self.kind
        if self.ok_after is not None and self.env.now >= self.ok_after:
            kind = "sent"
        code = {"defer": 451, "sent": 250, "bounce": 550}[kind]
        return [Outcome(r, kind, f"{code // 100}.0.0", f"{code} test", "mx[10.0.0.1]:25", code) for r in job.rcpts]


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
