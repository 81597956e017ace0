"""The sender's mail program: submits a message to its MSA on port 587 with AUTH, over real SMTP.

A submission that fails for now (connection refused or timed out, 4xx, lost connection) is tried again every
``mail.submit_retry`` until ``mail.submit_give_up``; a 5xx refusal (530 without AUTH, 535 bad password, 552 too
big, 550 5.7.1 sender not owned, spam) is final: those recipients are *rejected*. Until the MSA answers, the
recipients are *in transit* in the program's hands. A ``direct`` program (a spam bot) skips submission: it looks
up the recipient domain's MX and talks to port 25 without AUTH.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from netlab.mail.content.message import Envelope, normalize_crlf
from netlab.mail.dns import DnsError, mx_targets
from netlab.mail.smtp import SmtpClientSession
from netlab.mail.smtp.drivers import connect, run_client
from netlab.mail.tracker import HopRecord, MessageRow, message_id_of
from netlab.transport import TransportError

if TYPE_CHECKING:
    from netlab.mail.system import MailSystem

__all__ = ["Mua"]

_QUEUED = re.compile(r"queued as ([0-9A-Za-z]+)")


class Mua:
    """Mail programs on client *host* (one per host; each submission is its own process)."""

    def __init__(self, system: MailSystem, host: str) -> None:
        self.system = system
        self.host = host
        self.env = system.env
        self.holding: dict[int, list[MessageRow]] = {}  # token -> rows still in our hands
        self._tokens = 0
        self.submitted = 0

    def __repr__(self) -> str:
        return f"<Mua {self.host} {len(self.holding)} submissions in progress>"

    def in_transit(self) -> set[int]:
        """``id()`` of the rows not yet handed to a server (for the conservation check)."""
        return {id(r) for rows in self.holding.values() for r in rows if not r.status}

    def submit(self, sender: str, rcpts: list[str], raw: bytes, *, auth: tuple[str, str] | None,
               msa: str | None, kind: str = "mail") -> simpy.Process:  # fmt: skip
        """Start submitting *raw* from *sender* to *rcpts*: to *msa* (port 587) with *auth*, or, with *msa*
        None, straight to the recipient domain's MX on port 25 (no AUTH)."""
        self._tokens += 1
        token = self._tokens
        raw = normalize_crlf(raw)  # once here, not at every attempt: SMTP sends CRLF lines
        mid = message_id_of(raw)
        rows = self.system.tracker.create((self.host, token), sender, rcpts, self.env.now, len(raw), kind=kind,
                                          message_id=mid)  # fmt: skip
        self.holding[token] = rows
        self.submitted += 1
        return self.env.process(self._run(token, sender, list(rcpts), raw, auth, msa, rows))

    def _run(self, token: int, sender: str, rcpts: list[str], raw: bytes, auth: tuple[str, str] | None,
             msa: str | None, rows: list[MessageRow]) -> Generator[simpy.Event, Any, None]:  # fmt: skip
        system, env = self.system, self.env
        tracker = system.tracker
        give_up = env.now + system.spec.submit_give_up_s
        pending = {r.rcpt: r for r in rows}
        why = ""
        while pending:
            target = yield from self._target(msa, next(iter(pending)))
            if isinstance(target, str):
                why = target
            else:
                name, ip, port = target
                outcome = yield from self._once(sender, list(pending), raw, auth, name, ip, port)
                if isinstance(outcome, str):
                    why = outcome
                else:
                    outcome, server = outcome
                    qid = ""
                    for rcpt, reply in outcome.recipients:
                        row = pending[rcpt]
                        if reply.is_positive:
                            m = _QUEUED.search(reply.text)
                            qid = m.group(1) if m else ""
                            del pending[rcpt]
                        elif reply.is_permanent:
                            tracker.finish(row, "rejected", env.now, reply.enhanced or "5.0.0", str(reply))
                            del pending[rcpt]
                        else:
                            why = str(reply)
                    if qid:
                        mid = system.accepted_mid(server, qid)
                        tracker.bind((self.host, token), mid)
            if not pending:
                break
            if env.now + system.spec.submit_retry_s > give_up:
                for row in pending.values():
                    tracker.finish(row, "rejected", env.now, "4.4.1", f"submission gave up: {why}")
                break
            yield env.timeout(system.spec.submit_retry_s)
        del self.holding[token]

    def _target(self, msa: str | None, rcpt: str) -> Generator[simpy.Event, Any, tuple[str, str, int] | str]:
        if msa is not None:
            return msa, self.system.net.nodes[msa].ip, 587
        domain = rcpt.rpartition("@")[2]
        try:
            mxs = yield mx_targets(self.system.resolver(self.host), domain, rng=self.system.net.stream(
                "mail", self.host, "mx"))  # fmt: skip
        except DnsError as exc:
            return f"MX lookup for {domain} failed: {exc}"
        best = mxs[0]
        return best.host, best.ips[0], 25

    def _once(self, sender: str, rcpts: list[str], raw: bytes, auth: tuple[str, str] | None, name: str, ip: str,
              port: int) -> Generator[simpy.Event, Any, Any]:  # fmt: skip
        """One SMTP session; returns the ClientResult, or a string saying why it failed for now."""
        system, env = self.system, self.env
        t0 = env.now
        try:
            conn = yield from connect(system.stack, self.host, (ip, port), system.spec.queue.connect_timeout_s)
        except TransportError as exc:
            system.tracker.transaction(HopRecord(self.host, name, port, t0, env.now, 0, "", message_id_of(raw),
                                                 tuple(rcpts), 0, len(raw), None, str(exc)))  # fmt: skip
            return f"connect to {name}[{ip}]:{port}: {exc}"
        session = SmtpClientSession(helo=f"{self.host}.client", envelope=Envelope(sender, tuple(rcpts)), data=raw,
                                    auth=auth, pipelining=True, crlf=True)  # fmt: skip
        out = yield from run_client(conn, session, timeout_s=system.spec.queue.command_timeout_s)
        res = session.result
        code = res.data_reply.code if res.data_reply is not None else (out.last_reply.code if out.last_reply else 0)
        accepted = sum(1 for _, r in res.recipients if r.is_positive)
        mid = message_id_of(raw)
        if res.data_reply is not None and res.data_reply.is_positive:
            m = _QUEUED.search(res.data_reply.text)
            if m and not mid:
                mid = system.accepted_mid(conn.remote.name, m.group(1))
        system.tracker.transaction(HopRecord(self.host, conn.remote.name, port, t0, env.now, code,
                                             (res.data_reply.enhanced or "") if res.data_reply else "", mid,
                                             tuple(rcpts), accepted, len(raw), conn, out.error))  # fmt: skip
        return res, conn.remote.name
