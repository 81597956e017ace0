"""Live mode: the simulation runs in real time while real mail clients talk to it on loopback.

Three threads share the run. The **simulation thread** runs :meth:`Simulation.execute` on a
:class:`LiveEnvironment`, SimPy's :class:`~simpy.rt.RealtimeEnvironment` (``strict=False``: a slow step delays
the clock instead of failing) that sleeps *outside* the bridge's lock and processes each event *inside* it. The
**socket thread** runs an asyncio loop with the submission port (:mod:`netlab.live.smtp`, the MSA's own SMTP
session) and the POP3 and IMAP ports (:mod:`netlab.live.mailstore`), on 127.0.0.1 only. The **caller's thread**
starts and stops them (``netlab live`` waits there for Ctrl-C or ``--duration``).

Mail crosses from the socket thread into the simulation through a queue of jobs that a SimPy callback drains
every *tick_s* of wall time (50 ms), so the simulation's state changes only in its own thread, at simulated
instants. The POP3/IMAP sessions and the submission policy's checks read the stores and specs from the socket
thread, holding the lock, so they never see a half-processed event.

Use (``tests/test_live.py`` has complete examples)::

    with LiveBridge(scenario, factor=0.1) as live:  # ten simulated seconds per wall second
        smtp = smtplib.SMTP("127.0.0.1", live.ports["smtp"], timeout=5)  # ... then poplib, imaplib
    res = live.results  # the run's Results, as netlab.run() returns them
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self, TypeVar

import simpy
import simpy.rt
from simpy.core import EmptySchedule, Infinity

from netlab.errors import ConfigError
from netlab.experiment.runner import Simulation
from netlab.live.mailstore import IDLE_TIMEOUT_S, InboxPorts, MailDirectory
from netlab.live.smtp import SMTP_IDLE_TIMEOUT_S, LiveStopped, SubmissionPort
from netlab.live.tls import LiveCertificate

if TYPE_CHECKING:
    from netlab.mail.system import MailSystem
    from netlab.results import Results
    from netlab.scenario.model import Scenario

__all__ = ["LOOPBACK", "LiveBridge", "LiveEnvironment", "LiveStopped"]

LOOPBACK = "127.0.0.1"
"""The only address live mode listens on: the submission port takes AUTH without TLS."""

T = TypeVar("T")


class LiveEnvironment(simpy.rt.RealtimeEnvironment):
    """A real-time SimPy environment whose events are processed under *lock* (see the module docstring).

    *factor* is wall seconds per simulated second (SimPy's meaning): 1 is real time, 0.1 runs ten simulated
    seconds per wall second. Never strict: when the simulation falls behind, events run as fast as they can.
    """

    def __init__(self, factor: float = 1.0, lock: threading.RLock | None = None) -> None:
        if not factor > 0:
            raise ConfigError(f"live: factor must be > 0 (wall seconds per simulated second), got {factor!r}")
        super().__init__(factor=factor, strict=False)
        self.lock = lock if lock is not None else threading.RLock()

    def step(self) -> None:
        """Wait until the next event is due in wall time (lock released), then process it (lock held)."""
        when = self.peek()
        if when == Infinity:
            raise EmptySchedule
        delay = self.real_start + (when - self.env_start) * self.factor - time.monotonic()
        if delay > 0:
            time.sleep(delay)  # the wait is at most one tick: the bridge's tick is always scheduled
        with self.lock:
            simpy.Environment.step(self)


class _LiveHold:
    """The bridge as a runner extension: it holds the run (clients may send at any time; only a stop ends it)
    and puts the live counters into ``Results.summary["live"]``."""

    name = "live"

    def __init__(self, bridge: LiveBridge) -> None:
        self.bridge = bridge

    def start(self, sim: Simulation) -> None:
        sim.hold()  # never released: the run ends by stop() or run.until, not idle

    def check(self, sim: Simulation) -> None:
        pass  # the mail system checks the mail conservation, live submissions included

    def tables(self, sim: Simulation) -> dict[str, Any]:
        return {}

    def summary(self, sim: Simulation) -> dict[str, Any]:
        b = self.bridge
        return {**b.stats, **{f"{k}_sessions": v for k, v in b.inbox.sessions.items()}, "factor": b.factor,
                "ports": dict(b.ports)}  # fmt: skip


class LiveBridge:
    """One live run of *scenario*: the simulation in real time plus SMTP, POP3 and IMAP ports on loopback.

    Parameters
    ----------
    scenario
        A scenario with a ``mail`` section that has an msa.
    factor
        Wall seconds per simulated second (1: real time; 0.05: twenty simulated seconds per wall second).
    smtp_port, pop3_port, imap_port
        Ports on 127.0.0.1; 0 lets the OS choose (read them from :attr:`ports` after :meth:`start`).
    tick_s
        Wall seconds between two drains of the job queue (at most 0.05: the issue's bound).
    echo
        Called with each maillog line (Postfix syslog form) as it is written: the lines of the messages
        submitted live, or every line with *echo_all*.
    idle_timeout_s
        Wall seconds a connection may stay silent, ``(smtp, pop3/imap)``: the SMTP session then gets ``421 4.4.2``
        (RFC 5321 §4.5.3.2.7: 5 minutes), POP3 ``-ERR`` and IMAP ``* BYE`` (RFC 1939 §3, RFC 3501 §5.4: 30 minutes).
    tls
        STARTTLS on every port (SMTP ``STARTTLS``, IMAP ``STARTTLS``, POP3 ``STLS``; RFC 3207, RFC 2595) with
        *certificate*, or one generated at start (:attr:`certificate` says where, and its fingerprint).
    certificate
        The certificate and key to use (:meth:`LiveCertificate.load`); default: generated.
    plaintext_auth
        Offer AUTH, LOGIN and USER/PASS before TLS. Default: only with *tls* off, as a mail server with Postfix's
        ``smtpd_tls_auth_only`` and Dovecot's ``disable_plaintext_auth`` does.
    """

    def __init__(self, scenario: Scenario, *, factor: float = 1.0, smtp_port: int = 0, pop3_port: int = 0,
                 imap_port: int = 0, tick_s: float = 0.05, echo: Callable[[str], None] | None = None,
                 echo_all: bool = False, idle_timeout_s: tuple[float, float] = (SMTP_IDLE_TIMEOUT_S, IDLE_TIMEOUT_S),
                 tls: bool = True, certificate: LiveCertificate | None = None,
                 plaintext_auth: bool | None = None) -> None:  # fmt: skip
        if scenario.mail is None:
            raise ConfigError(f"{scenario.source or 'scenario'}: live mode needs a mail section")
        if not 0 < tick_s <= 0.05:
            raise ConfigError(f"live: tick must be in (0, 0.05] s of wall time, got {tick_s!r}")
        if not all(t > 0 for t in idle_timeout_s):
            raise ConfigError(f"live: idle timeouts must be > 0 s of wall time, got {idle_timeout_s!r}")
        self.factor = factor
        self.lock = threading.RLock()
        self.env = LiveEnvironment(factor, self.lock)
        self.sim = Simulation(scenario, env=self.env, extensions=(_LiveHold(self),))
        found = [e for e in self.sim.extensions if e.name == "mail"]
        self.system: MailSystem = found[0]  # type: ignore[assignment]
        self._want = {"smtp": smtp_port, "pop3": pop3_port, "imap": imap_port}
        self.ports: dict[str, int] = {}
        self.tick_s = tick_s
        self.echo, self.echo_all = echo, echo_all
        self.live_mids: set[str] = set()
        self.stats: dict[str, int] = {"sessions": 0, "submitted": 0, "accepted": 0, "refused": 0}
        self.directory = MailDirectory.of(self.system)
        #: The certificate STARTTLS presents (None without *tls*).
        self.certificate = (certificate or LiveCertificate.generate()) if tls else None
        context = self.certificate.context() if self.certificate is not None else None
        plain = not tls if plaintext_auth is None else plaintext_auth
        self.inbox = InboxPorts(self.directory, self.lock, self._retrieved, self.is_open,
                                idle_timeout_s=idle_timeout_s[1], tls=context, plaintext_auth=plain,
                                clock=lambda: float(self.env.now))  # fmt: skip
        self.submission = SubmissionPort(self.system, self.lock, self.call, self.stats, self._accepted, self.is_open,
                                         idle_timeout_s=idle_timeout_s[0], tls=context,
                                         plaintext_auth=plain)  # fmt: skip
        for store in self.system.stores.values():
            store.subscribe(self.inbox.on_delivery)
        self.results: Results | None = None
        self.error: BaseException | None = None
        self.wall_s = 0.0
        self._open = True
        self._jobs: deque[tuple[Callable[[], Any], concurrent.futures.Future[Any]]] = deque()
        self._jobs_lock = threading.Lock()
        self._echoed = 0
        self._done = threading.Event()
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._threads: list[threading.Thread] = []
        self._stopped = False
        self.sim.stop.callbacks.append(self._close)  # runs inside the stop step, under the lock
        self.env.timeout(self._tick_sim).callbacks.append(self._tick)

    def __repr__(self) -> str:
        return f"<LiveBridge factor={self.factor} ports={self.ports} {self.stats}>"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def _tick_sim(self) -> float:
        return self.tick_s / self.factor  # simulated seconds per tick

    # ------------------------------------------------------------------ life
    def start(self, timeout_s: float = 10.0) -> dict[str, int]:
        """Open the ports, then start the simulation clock; return the ports (``smtp``, ``pop3``, ``imap``).

        Raises
        ------
        OSError
            A port could not be bound (in use, or privileged).
        """
        sockets = threading.Thread(target=lambda: asyncio.run(self._serve()), name="netlab-live-sockets",
                                   daemon=True)  # fmt: skip
        sockets.start()
        self._threads.append(sockets)
        if not self._ready.wait(timeout_s) or self._startup_error is not None:
            self._stop_sockets()
            raise self._startup_error or OSError("live: the ports did not open in time")
        self.t0 = time.monotonic()
        sim = threading.Thread(target=self._run_sim, name="netlab-live-simulation", daemon=True)
        self.env.sync()  # simulated time 0 is now
        sim.start()
        self._threads.append(sim)
        return dict(self.ports)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until the simulation ends by itself (its ``run.until``) or *timeout_s*; True if it ended."""
        return self._done.wait(timeout_s)

    def stop(self, reason: str = "live stop", timeout_s: float = 30.0) -> Results:
        """Close the ports (open sessions end as dropped connections), stop the simulation at the next tick,
        check conservation and return the results (the simulation's error, if it failed, is raised)."""
        if not self._stopped:
            self._stopped = True
            self._stop_sockets()
            if not self._done.is_set():
                self.call(lambda: self.sim.finish(reason))  # the runner's own stop path: URGENT at this instant
            self._done.wait(timeout_s)
            self.wall_s = time.monotonic() - getattr(self, "t0", time.monotonic())
            if self._done.is_set() and self.echo is not None:
                self._echo()  # what the last steps logged after the last tick
        if self.error is not None:
            raise self.error
        if self.results is None:
            raise LiveStopped(f"live: the simulation did not stop within {timeout_s} s")
        return self.results

    def is_open(self) -> bool:
        """True until the simulation has stopped (read under the lock)."""
        return self._open

    def call(self, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Run *fn* in the simulation thread at the next tick; its future gets the result or the exception."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._jobs_lock:
            if self._done.is_set():
                future.set_exception(LiveStopped("live: the simulation has stopped"))
            else:
                self._jobs.append((fn, future))
        return future

    def locked_now(self) -> float:
        """The simulated time, read under the lock."""
        with self.lock:
            return float(self.env.now)

    # ------------------------------------------------------------------ the simulation thread
    def _run_sim(self) -> None:
        try:
            self.results = self.sim.execute()
        except BaseException as exc:
            self.error = exc
        finally:
            with self._jobs_lock:
                self._open = False
                self._done.set()
                jobs, self._jobs = list(self._jobs), deque()
            for _fn, future in jobs:
                if future.set_running_or_notify_cancel():
                    future.set_exception(LiveStopped("live: the simulation stopped first"))
            if self._loop is not None and self._stopping is not None:
                # ended by itself (run.until): close the ports too, unless the socket loop already finished
                with contextlib.suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(self._stopping.set)

    def _tick(self, _event: simpy.Event) -> None:
        """Every *tick_s* of wall time: run the queued jobs, echo new maillog lines, schedule the next tick."""
        while True:
            with self._jobs_lock:
                if not self._jobs:
                    break
                fn, future = self._jobs.popleft()
            if not future.set_running_or_notify_cancel():
                continue  # the client went away while waiting
            try:
                future.set_result(fn())
            except Exception as exc:
                future.set_exception(exc)
        if self.echo is not None:
            self._echo()
        self.env.timeout(self._tick_sim).callbacks.append(self._tick)

    def _close(self, _event: simpy.Event) -> None:
        self._open = False

    def _echo(self) -> None:
        assert self.echo is not None
        system = self.system
        log = system.maillog
        for line in itertools.islice(log, self._echoed, None):
            live = line.queue_id and system.tracker.message_id_at(line.host, line.queue_id) in self.live_mids
            if self.echo_all or live:
                self.echo(line.render(system.epoch))
        self._echoed = len(log)

    def _accepted(self, mid: str) -> None:
        self.live_mids.add(mid)

    def _retrieved(self, where: tuple[str, str, str]) -> None:
        # under the lock, between two steps: the tracker is the simulation's, its clock stands still
        self.system.tracker.retrieved(where, self.env.now)

    # ------------------------------------------------------------------ the socket thread
    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop, self._stopping = loop, asyncio.Event()
        servers: list[asyncio.Server] = []
        try:
            servers.append(await self.submission.start(LOOPBACK, self._want["smtp"]))
            servers.extend(await self.inbox.start(LOOPBACK, self._want["pop3"], self._want["imap"]))
        except BaseException as exc:
            self._startup_error = exc
            for s in servers:
                s.close()
            self._ready.set()
            return
        for name, server in zip(("smtp", "pop3", "imap"), servers, strict=True):
            self.ports[name] = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stopping.wait()
        for s in servers:
            s.close()
        await self.submission.close()
        await self.inbox.close()
        for s in servers:
            await s.wait_closed()

    def _stop_sockets(self) -> None:
        if not self._threads:
            return  # never started
        if self._loop is not None and self._stopping is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already finished
                self._loop.call_soon_threadsafe(self._stopping.set)
        self._threads[0].join(10.0)
