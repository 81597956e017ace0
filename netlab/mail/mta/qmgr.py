"""The queue manager of one MTA, after Postfix's qmgr: incoming -> active -> deferred, backoff, expiry.

A message enters ``incoming`` and is made active at once (room permitting); its recipients are grouped by
destination (next-hop domain or smarthost) into delivery *jobs*, as many running per destination as its
concurrency window allows (:mod:`netlab.mail.mta.scheduler`: slow start from 5 up to
``destination_concurrency_limit``; a destination whose connections or greetings keep failing is *dead* and its jobs
are deferred at once, ``delivery temporarily suspended``, until ``minimal_backoff`` has passed). When every job of
an attempt has finished, recipients that were sent or bounced leave the message; the rest are deferred.
Postfix's backoff rule (``qmgr_active.c``), in whole seconds as its queue-file times are::

    next = now + clamp(now - arrival, minimal_backoff, maximal_backoff)

and a deferred message is picked up by the first deferred-queue scan (every ``queue_run_delay`` from the
start of the queue manager) at or after ``next``. So with the defaults the attempts fall at 0, 5, 10, 20, 40, 80,
150, 220 min, then every 70 min. A message still undelivered after a failed attempt at or past
``arrival + maximal_queue_lifetime`` (``bounce_queue_lifetime`` when the sender is ``<>``) expires: its recipients
bounce (4.4.7). Timers are cheap: one scan timer while anything is deferred, one SimPy process per running job.

The queue survives a crash of its host (:meth:`QueueManager.crash`): running jobs are abandoned (their outcome
ignored), active messages go back to incoming, and :meth:`QueueManager.restart` resumes from there.

>>> retry_schedule(QueueSpec(), attempts=10)
[0, 300, 600, 1200, 2400, 4800, 9000, 13200, 17400, 21600]
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict, deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import simpy

from netlab.mail.config.servers import QueueSpec
from netlab.mail.maillog import format_delivery
from netlab.mail.mta.scheduler import DestinationWindow

__all__ = ["SITE_FAILURE_DSNS", "Deliverer", "Job", "Outcome", "OutcomeKind", "QueueEntry", "QueueManager",
           "QueueState", "backoff_s", "delivery_log", "retry_schedule"]  # fmt: skip

SITE_FAILURE_DSNS = frozenset({"4.4.1", "4.4.2"})
"""Deferrals that are negative concurrency feedback: no answer from the host, bad connection (RFC 3463 X.4.1,
X.4.2), i.e. the attempt failed at connection or greeting. A 4xx from a server that took the session is not."""


def backoff_s(spec: QueueSpec, now_i: int, arrival_i: int) -> int:
    """Seconds to wait after a failure at whole second *now_i* for a message that arrived at *arrival_i*."""
    return int(min(max(now_i - arrival_i, spec.minimal_backoff_s), spec.maximal_backoff_s))


def retry_schedule(spec: QueueSpec, attempts: int, *, arrival: int = 0) -> list[int]:
    """Attempt times (s) of a message that fails every time, delivery attempts taking no time (idealised)."""
    qrd = spec.queue_run_delay_s
    out, t = [arrival], arrival
    while len(out) < attempts:
        ready = t + backoff_s(spec, t, arrival)
        t = int(math.ceil(ready / qrd) * qrd)
        out.append(t)
    return out


class OutcomeKind(StrEnum):
    """What a delivery attempt did for one recipient; compares equal to its name (``outcome.kind == "sent"``)."""

    SENT = "sent"  # delivered (locally) or handed on (2xx): the recipient leaves the queue
    DEFER = "defer"  # failed for now (4xx, no answer): retried after the backoff
    BOUNCE = "bounce"  # failed for good (5xx, expired): the recipient leaves the queue, a DSN goes back

    @property
    def status(self) -> str:
        """The word a delivery agent logs (``status=sent``, ``deferred``, ``bounced``)."""
        return _STATUS[self]


_STATUS = {"sent": "sent", "defer": "deferred", "bounce": "bounced"}
_LEAVE = frozenset({OutcomeKind.SENT, OutcomeKind.BOUNCE})  # the outcomes that take a recipient out of the queue


class QueueState(StrEnum):
    """Where a message is in its MTA's queue (Postfix's queue directories, plus ``removed``)."""

    INCOMING = "incoming"  # queued, waiting for the queue manager (also after a crash)
    ACTIVE = "active"  # its delivery jobs are running or waiting for a slot
    DEFERRED = "deferred"  # an attempt left recipients: waiting for its retry time and a scan
    REMOVED = "removed"  # every recipient sent or bounced (or expired)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one delivery attempt did for one recipient (see :class:`OutcomeKind`), with the enhanced status
    code, the text the maillog and the DSN give, the relay (``host[ip]:port``, ``local`` or ``none``) and the
    SMTP reply code (0 without one)."""

    rcpt: str
    kind: OutcomeKind
    dsn: str
    text: str
    relay: str = "none"
    code: int = 0


@dataclass(slots=True, eq=False)
class QueueEntry:
    """A message in an MTA's queue (mutable: recipients leave it as they are sent or bounced)."""

    qid: str
    sender: str
    rcpts: list[str]
    raw: bytes
    arrival: float
    message_id: str = ""
    state: QueueState = QueueState.INCOMING
    next_i: int = 0
    jobs: int = 0
    attempts: int = 0
    activated_at: float = 0.0
    last: dict[str, Outcome] = field(default_factory=dict)
    info: dict[str, object] = field(default_factory=dict)  # notes for the curious: client, expired

    @property
    def arrival_i(self) -> int:
        """Arrival in whole seconds (queue-file times have one-second resolution)."""
        return int(self.arrival)

    @property
    def size(self) -> int:
        """Message size in bytes."""
        return len(self.raw)


@dataclass(slots=True, eq=False)
class Job:
    """One delivery attempt: *rcpts* of *entry* to destination *dest*."""

    entry: QueueEntry
    dest: str
    rcpts: list[str]
    generation: int


def delivery_log(entry: QueueEntry, outcome: Outcome, now: float,
                 delays: tuple[float, float, float, float] | None = None) -> str:  # fmt: skip
    """A delivery agent's log text for *outcome* of *entry* at *now*: ``to=<..>, relay=.., delay=..,
    delays=a/b/c/d, dsn=.., status=.. (reply)``. *delays* default to the wait in the queue alone (no connection
    was made)."""
    if delays is None:
        delays = (entry.activated_at - entry.arrival, 0.0, 0.0, 0.0)
    return format_delivery(to=outcome.rcpt, relay=outcome.relay, delay=now - entry.arrival, delays=delays,
                           dsn=outcome.dsn, status=_STATUS[outcome.kind], reply=outcome.text)  # fmt: skip


class Deliverer(Protocol):
    """What the MTA gives its queue manager: the destination of a recipient and a delivery process."""

    def destination(self, rcpt: str) -> str: ...

    def deliver(self, job: Job) -> Generator[simpy.Event, Any, list[Outcome]]: ...


class QueueManager:
    """Incoming, active and deferred queues of one MTA; see the module docstring for the rules.

    Parameters
    ----------
    env : simpy.Environment
    spec : QueueSpec
        Backoff, lifetimes, scan interval (s), per-destination concurrency.
    deliverer : Deliverer
        Maps a recipient to its destination and runs a job (a generator returning one Outcome per recipient).
    on_done : callable
        ``on_done(entry, outcomes)`` after each job, with the outcomes that are final (sent, bounced, expired);
        the MTA logs them, sends DSNs and tells the tracker.
    on_removed : callable
        ``on_removed(entry)`` when the last recipient has left the message.
    on_deferred : callable, optional
        ``on_deferred(entry, last_outcomes)`` when an attempt ends with recipients left.
    on_reactivated : callable, optional
        ``on_reactivated(entry)`` when a message that had an attempt enters the active queue again.
    on_suspended : callable, optional
        ``on_suspended(entry, outcomes)`` for a job deferred without an attempt (its destination is dead).
    """

    def __init__(self, env: simpy.Environment, spec: QueueSpec, deliverer: Deliverer,
                 on_done: Callable[[QueueEntry, list[Outcome], float], None],
                 on_removed: Callable[[QueueEntry], None],
                 on_deferred: Callable[[QueueEntry, list[Outcome]], None] | None = None,
                 on_suspended: Callable[[QueueEntry, list[Outcome]], None] | None = None,
                 on_reactivated: Callable[[QueueEntry], None] | None = None) -> None:  # fmt: skip
        self.env = env
        self.spec = spec
        self.deliverer = deliverer
        self.on_done = on_done
        self.on_removed = on_removed
        self.on_deferred = on_deferred
        self.on_suspended = on_suspended
        self.on_reactivated = on_reactivated
        self.entries: dict[str, QueueEntry] = {}
        self.up = True
        self.generation = 0
        self.t0 = env.now
        self._ready: deque[QueueEntry] = deque()
        self._running: dict[str, int] = defaultdict(int)
        self._blocked: dict[str, deque[Job]] = defaultdict(deque)
        self.windows: dict[str, DestinationWindow] = {}  # per destination, made at its first job
        self._dead_why: dict[str, Outcome] = {}  # the failure that made a destination dead
        self._scan_pending = False
        self.scans = 0
        self.attempt_log: list[tuple[float, str, str]] = []  # (time, qid, destination) of every job started
        # The queue sizes over time: (t, incoming, active, deferred) after the last change at instant t, one
        # record per instant with a change (so a run's memory grows with its queue moves, not with its length).
        self.history: list[tuple[float, int, int, int]] = []
        self._sizes = dict.fromkeys((QueueState.INCOMING, QueueState.ACTIVE, QueueState.DEFERRED), 0)

    def __repr__(self) -> str:
        return f"<QueueManager {len(self.entries)} messages, {self.count(QueueState.DEFERRED)} deferred>"

    # ------------------------------------------------------------------ queues
    def count(self, state: QueueState) -> int:
        """Messages in queue *state* (incoming, active, deferred)."""
        return sum(1 for e in self.entries.values() if e.state == state)

    def sizes_at(self, t: float) -> tuple[int, int, int]:
        """(incoming, active, deferred) messages at time *t*: after every change made at *t* or before."""
        i = bisect.bisect_right(self.history, t, key=lambda h: h[0])
        return self.history[i - 1][1:] if i else (0, 0, 0)

    def _move(self, entry: QueueEntry, state: QueueState, *, new: bool = False) -> None:
        """Put *entry* in queue *state* (REMOVED: out of the queue) and book the queue sizes now."""
        sizes = self._sizes
        if not new:
            sizes[entry.state] -= 1
        entry.state = state
        if state is not QueueState.REMOVED:
            sizes[state] += 1
        now = self.env.now
        record = (now, sizes[QueueState.INCOMING], sizes[QueueState.ACTIVE], sizes[QueueState.DEFERRED])
        if self.history and self.history[-1][0] == now:
            self.history[-1] = record
        else:
            self.history.append(record)

    def enqueue(self, entry: QueueEntry) -> None:
        """A new message (its bytes are safe on "disk": the server may now answer 250)."""
        self._move(entry, QueueState.INCOMING, new=True)
        self.entries[entry.qid] = entry
        if self.up:
            self._ready.append(entry)
            self._dispatch()

    # ------------------------------------------------------------------ crash and restart
    def crash(self) -> None:
        """The host went down: abandon running jobs; active messages go back to incoming."""
        self.up = False
        self.generation += 1
        self._ready.clear()
        self._running.clear()
        self._blocked.clear()
        self.windows.clear()  # the scheduler's feedback lives in memory: a restarted qmgr starts afresh
        self._dead_why.clear()
        for e in self.entries.values():
            e.jobs = 0
            if e.state is QueueState.ACTIVE:
                self._move(e, QueueState.INCOMING)

    def restart(self) -> None:
        """The host is back: incoming messages are tried now, deferred ones at their scan."""
        self.up = True
        self.t0 = self.env.now
        self._scan_pending = False
        for e in sorted(self.entries.values(), key=lambda e: (e.arrival, e.qid)):
            if e.state is QueueState.INCOMING:
                self._ready.append(e)
        self._dispatch()
        self._arm_scan()

    # ------------------------------------------------------------------ scheduling
    def _dispatch(self) -> None:
        ready = self._ready
        while ready:
            entry = ready.popleft()
            if entry.qid not in self.entries or entry.state is QueueState.ACTIVE:
                continue
            self._move(entry, QueueState.ACTIVE)
            entry.activated_at = self.env.now
            if entry.attempts and self.on_reactivated is not None:
                # Postfix's qmgr logs "(queue active)" each time it reads the file into the active queue: a
                # retry from deferred, or a message an MTA crash put back in incoming (cleanup logs the first)
                self.on_reactivated(entry)
            entry.attempts += 1
            groups: dict[str, list[str]] = {}
            for rcpt in entry.rcpts:
                groups.setdefault(self.deliverer.destination(rcpt), []).append(rcpt)
            entry.jobs = len(groups)
            for dest, rcpts in groups.items():
                job = Job(entry, dest, rcpts, self.generation)
                window = self._window(dest)
                if window.dead:
                    self._suspend(job)
                elif self._running[dest] < window.window:
                    self._start(job)
                else:
                    self._blocked[dest].append(job)
            if not groups:
                self._finish_attempt(entry)

    def _window(self, dest: str) -> DestinationWindow:
        window = self.windows.get(dest)
        if window is None:
            spec = self.spec
            window = self.windows[dest] = DestinationWindow(
                spec.destination_concurrency_limit, spec.initial_destination_concurrency,
                spec.destination_concurrency_failed_cohort_limit)  # fmt: skip
        return window

    def _start(self, job: Job) -> None:
        self._running[job.dest] += 1
        self.attempt_log.append((self.env.now, job.entry.qid, job.dest))
        self.env.process(self._run(job))

    def _run(self, job: Job) -> Generator[simpy.Event, Any, None]:
        outcomes: list[Outcome] = yield from self.deliverer.deliver(job)
        if job.generation != self.generation:
            return  # the host crashed meanwhile: this attempt never happened as far as the queue knows
        dest = job.dest
        self._running[dest] -= 1
        window = self._window(dest)
        if outcomes and all(o.kind == OutcomeKind.DEFER and o.dsn in SITE_FAILURE_DSNS for o in outcomes):
            if window.failure():
                self._dead_why[dest] = outcomes[0]
                deaths, gen = window.deaths, self.generation
                self.env.timeout(self.spec.minimal_backoff_s).callbacks.append(
                    lambda _e: self._revive(dest, deaths, gen))  # fmt: skip
        else:
            window.success(self._running[dest])
        self._drain(dest)
        self._complete(job, outcomes)

    def _drain(self, dest: str) -> None:
        """Start the blocked jobs of *dest* its window now has room for; all of them are deferred if it died."""
        blocked = self._blocked.get(dest)
        window = self.windows[dest]
        while blocked and window.dead:
            self._suspend(blocked.popleft())
        while blocked and self._running[dest] < window.window:
            self._start(blocked.popleft())

    def _revive(self, dest: str, deaths: int, gen: int) -> None:
        window = self.windows.get(dest)
        if gen == self.generation and window is not None and window.dead and window.deaths == deaths:
            window.revive(self._running[dest])
            self._drain(dest)

    def _suspend(self, job: Job) -> None:
        """Defer *job* without an attempt: its destination is dead (logged ``delivery temporarily suspended``)."""
        why = self._dead_why[job.dest]
        text = f"delivery temporarily suspended: {why.text}"
        outcomes = [Outcome(r, OutcomeKind.DEFER, why.dsn, text, "none", why.code) for r in job.rcpts]
        if self.on_suspended is not None:
            self.on_suspended(job.entry, outcomes)
        self._complete(job, outcomes)

    def _complete(self, job: Job, outcomes: list[Outcome]) -> None:
        """Apply the *outcomes* of *job* to its message; the attempt ends with the message's last job."""
        entry = job.entry
        final = [o for o in outcomes if o.kind in _LEAVE]
        gone = {o.rcpt for o in final}
        entry.rcpts = [r for r in entry.rcpts if r not in gone]
        for o in outcomes:
            entry.last[o.rcpt] = o
        if final:
            self.on_done(entry, final, self.env.now)
        entry.jobs -= 1
        if entry.jobs == 0:
            self._finish_attempt(entry)

    def _finish_attempt(self, entry: QueueEntry) -> None:
        now = self.env.now
        if not entry.rcpts:
            self._remove(entry)
            return
        lifetime = self.spec.bounce_queue_lifetime_s if entry.sender == "" else self.spec.maximal_queue_lifetime_s
        if now >= entry.arrival + lifetime:
            expired = []
            for r in entry.rcpts:
                last = entry.last.get(r)
                why = last.text if last is not None else "no delivery attempt"
                expired.append(Outcome(r, OutcomeKind.BOUNCE, "4.4.7", f"delivery time expired (last: {why})",
                                       last.relay if last is not None else "none", 0))  # fmt: skip
            entry.rcpts = []
            self.on_done(entry, expired, now)
            self._remove(entry, expired=True)
            return
        now_i = int(now)
        entry.next_i = now_i + backoff_s(self.spec, now_i, entry.arrival_i)
        self._move(entry, QueueState.DEFERRED)
        if self.on_deferred is not None:
            self.on_deferred(entry, [entry.last[r] for r in entry.rcpts if r in entry.last])
        self._arm_scan()

    def _remove(self, entry: QueueEntry, expired: bool = False) -> None:
        del self.entries[entry.qid]
        self._move(entry, QueueState.REMOVED)
        entry.info["expired"] = expired
        self.on_removed(entry)

    def _arm_scan(self) -> None:
        """Run the deferred scan at the next multiple of queue_run_delay (from t0), while anything is deferred."""
        if self._scan_pending or not self.up or not any(e.state is QueueState.DEFERRED for e in self.entries.values()):
            return
        qrd = self.spec.queue_run_delay_s
        k = math.floor((self.env.now - self.t0) / qrd) + 1
        at = self.t0 + k * qrd
        if at <= self.env.now:
            # (t0 + k*qrd - t0) / qrd can round to just below k: at a scan's own instant that names the scan
            # itself, and a zero-delay re-arm would repeat it for ever with the clock stopped
            at += qrd
        self._scan_pending = True
        gen = self.generation
        self.env.timeout(at - self.env.now).callbacks.append(lambda _e: self._scan(gen))

    def _scan(self, gen: int) -> None:
        if gen != self.generation:
            return
        self._scan_pending = False
        self.scans += 1
        now = self.env.now
        due = [e for e in self.entries.values() if e.state is QueueState.DEFERRED and e.next_i <= now + 1e-9]
        due.sort(key=lambda e: (e.next_i, e.arrival, e.qid))
        self._ready.extend(due)
        self._dispatch()
        self._arm_scan()
