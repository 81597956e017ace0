"""``mail_queues``: each MTA's incoming, active and deferred queue sizes at the run's bin boundaries."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import netlab
from netlab.mail.config import QueueSpec
from netlab.mail.mta.qmgr import QueueEntry, QueueManager, QueueState

SEED = Path(__file__).resolve().parents[1] / "topologies" / "seed.yaml"
SCAN_S = QueueSpec().queue_run_delay_s  # the deferred-queue scan period (300 s): the only way out of deferred


@pytest.fixture(scope="module")
def outage() -> Any:
    """The seed scenario with the primary MX of beta.example down from 5 to 25 min: the backup MX defers its
    mail, retries it at its scans and sends it on once the primary is back. Bins of 7 s, so that a sample
    seldom falls on a scan instant (multiples of 300 s) or a fault."""
    s = netlab.load_scenario(SEED).override(
        "run.until=40min", "run.bin=7s",
        "faults=[{at: 5min, node: mx-b1, action: down}, {at: 25min, node: mx-b1, action: up}]",
    )  # fmt: skip
    return netlab.run(s)


def _from_maillog(log: Any, host: str) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Per queue file of *host*, from its maillog lines alone: when it was in the queue (cleanup's
    ``message-id=`` line to qmgr's ``removed``) and when deferred (from an attempt's ``status=deferred`` lines
    to the scan that started the next attempt: the last scan instant at or before the next line)."""
    queued, deferred = [], []
    for _, lines in log[(log.host == host) & log.queue_id.notna()].groupby("queue_id"):
        times = sorted(set(lines.time_s))
        start = lines[lines.program == "cleanup"].time_s.min()
        removed = lines[lines.text == "removed"].time_s
        queued.append((start, removed.iloc[0] if len(removed) else math.inf))
        for t1 in sorted(set(lines[lines.status == "deferred"].time_s)):
            later = [t for t in times if t > t1]
            deferred.append((t1, math.floor(later[0] / SCAN_S) * SCAN_S if later else math.inf))
    return queued, deferred


def test_queue_sizes_agree_with_the_maillog(outage: Any) -> None:
    """At every sample, an MTA's deferred count is the number of its queue files the maillog shows deferred then,
    and incoming + active the rest of those in its queue (samples on an interval's end are left out: which side
    of an event a sample at its very instant falls on is not what this test is about)."""
    q, log = outage.mail_queues, outage.maillog
    hosts = sorted(set(q.mta))
    assert q.time_s.nunique() == len(outage.link_bins.bin_start_s.unique()) + 1  # every boundary and the end
    assert len(q) == q.time_s.nunique() * len(hosts)
    checked = 0
    for host in hosts:
        queued, deferred = _from_maillog(log, host)
        ends = {t for span in queued + deferred for t in span}
        for row in q[q.mta == host].itertuples():
            t = row.time_s
            if t in ends:
                continue
            n_queued = sum(a < t < b for a, b in queued)
            n_deferred = sum(a < t < b for a, b in deferred)
            assert (row.deferred, row.incoming + row.active) == (n_deferred, n_queued - n_deferred), (host, t)
            checked += 1
    assert checked > 0.99 * len(q)
    b2 = q[q.mta == "mx-b2"]
    assert b2.deferred.max() > 50 and b2[b2.time_s < 300].deferred.max() == 0  # mail piled up during the outage


def test_a_message_deferred_from_t1_to_t2_is_deferred_in_the_bins_between(outage: Any) -> None:
    """The first message the backup MX deferred and later sent on: deferred at every sample from its first
    deferral to the scan that sent it."""
    log, q = outage.maillog, outage.mail_queues
    at_b2 = log[log.host == "mx-b2"]
    sent_on = set(at_b2[at_b2.status == "sent"].queue_id)
    first = at_b2[(at_b2.status == "deferred") & at_b2.queue_id.isin(sent_on)].iloc[0]
    lines = at_b2[at_b2.queue_id == first.queue_id]
    t1 = first.time_s
    sent = lines[lines.status == "sent"].time_s.min()
    t2 = math.floor(sent / SCAN_S) * SCAN_S
    left = lines[lines.text == "removed"].time_s.max()
    assert t1 + 600 < t2 < left  # it waited through scans while mx-b1 was down
    b2 = q[q.mta == "mx-b2"]
    between = b2[(b2.time_s > t1) & (b2.time_s < t2)]
    assert len(between) > 80 and (between.deferred >= 1).all()


def test_a_crash_puts_active_messages_back_in_incoming() -> None:
    """Postfix's qmgr on a restart: what was active is incoming again until the queue manager takes it up; the
    queue sizes at an instant are those after every move made at it."""
    import simpy

    env = simpy.Environment()

    class Never:
        def destination(self, rcpt: str) -> str:
            return "b.test"

        def deliver(self, job: Any) -> Any:
            yield env.timeout(1000)
            return []

    qm = QueueManager(env, QueueSpec(), Never(), lambda *a: None, lambda e: None)
    env.run(until=1)
    qm.enqueue(QueueEntry("A1", "a@a.test", ["b@b.test"], b"x", arrival=1.0))
    env.run(until=2)
    qm.crash()
    env.run(until=3)
    qm.restart()
    assert [qm.sizes_at(t) for t in (0.5, 1, 2, 2.5, 3)] == [(0, 0, 0), (0, 1, 0), (1, 0, 0), (1, 0, 0), (0, 1, 0)]
    assert qm.entries["A1"].state is QueueState.ACTIVE
