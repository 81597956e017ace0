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

from netlab.mail.content.address import Address
from netlab.mail.content.message import Envelope, header_value, normalize_crlf
from netlab.mail.dns import DnsError, mx_targets
from netlab.mail.smtp import ClientResult, SmtpClientSession
from netlab.mail.smtp.drivers import run_client
from netlab.mail.tracker import HopRecord, MailStatus, MessageKind, MessageRow, message_id_of
from netlab.transport import TransportError

if TYPE_CHECKING:
    from netlab.mail.context import MailContext

__all__ = ["Mua"]

_QUEUED = re.compile(r"queued as ([0-9A-Za-z]+)")


class Mua:
    """Mail programs on client *host* (one per host; each submission is its own process).

    Parameters
    ----------
    ctx
        The run as the agent sees it.
    host
        The client node.
    retry_s, give_up_s
        A submission that failed for now is tried again after *retry_s* until *give_up_s* after it began
        (``mail.submit_retry``, ``mail.submit_give_up``).
    connect_timeout_s, command_timeout_s
        Waits for the connection and for each reply (``mail.queue``).
    """

    def __init__(self, ctx: MailContext, host: str, *, retry_s: float, give_up_s: float, connect_timeout_s: float,
                 command_timeout_s: float) -> None:  # fmt: skip
        self.ctx = ctx
        self.host = host
        self.env = ctx.env
        self.retry_s = retry_s
        self.give_up_s = give_up_s
        self.connect_timeout_s = connect_timeout_s
        self.command_timeout_s = command_timeout_s
        self.holding: dict[int, list[MessageRow]] = {}  # token -> rows still in our hands
        self._tokens = 0
        self.submitted = 0

    def __repr__(self) -> str:
        return f"<Mua {self.host} {len(self.holding)} submissions in progress>"

    def in_transit(self) -> set[int]:
        """``id()`` of the rows not yet handed to a server (for the conservation check)."""
        return {id(r) for rows in self.holding.values() for r in rows if not r.status}

    def submit(self, sender: str, rcpts: list[str], raw: bytes, *, auth: tuple[str, str] | None,
               msa: str | None, kind: MessageKind = MessageKind.MAIL, trace_row: int | None = None,
               mix: str = "") -> simpy.Process:  # fmt: skip
        """Start submitting *raw* from *sender* to *rcpts*: to *msa* (port 587) with *auth*, or, with *msa*
        None, straight to the recipient domain's MX on port 25 (no AUTH). *trace_row* is the row of ``mail.send``
        it comes from, *mix* the random workload's class of it (both booked with its rows)."""
        self._tokens += 1
        token = self._tokens
        raw = normalize_crlf(raw)  # once here, not at every attempt: SMTP sends CRLF lines
        mid = message_id_of(raw)
        rows = self.ctx.tracker.create((self.host, token), sender, rcpts, self.env.now, len(raw), kind=kind,
                                       message_id=mid, subject=header_value(raw, "Subject"),
                                       trace_row=trace_row, mix=mix)  # fmt: skip
        self.holding[token] = rows
        self.submitted += 1
        return self.env.process(self._run(token, sender, list(rcpts), raw, auth, msa, rows))

    def _run(self, token: int, sender: str, rcpts: list[str], raw: bytes, auth: tuple[str, str] | None,
             msa: str | None, rows: list[MessageRow]) -> Generator[simpy.Event, Any, None]:  # fmt: skip
        ctx, env = self.ctx, self.env
        tracker = ctx.tracker
        give_up = env.now + self.give_up_s
        pending = {r.rcpt: r for r in rows}
        why = ""
        while pending:
            target = yield from self._target(msa, next(iter(pending)))
            if isinstance(target, str):
                why = target
            else:
                name, ip, port = target
                result = yield from self._once(sender, list(pending), raw, auth, name, ip, port)
                if isinstance(result, str):
                    why = result
                else:
                    outcome, server = result
                    qid = ""
                    for rcpt, reply in outcome.recipients:
                        row = pending[rcpt]
                        if reply.is_positive:
                            m = _QUEUED.search(reply.text)
                            qid = m.group(1) if m else ""
                            del pending[rcpt]
                        elif reply.is_permanent:
                            tracker.finish(row, MailStatus.REJECTED, env.now, reply.enhanced or "5.0.0", str(reply))
                            del pending[rcpt]
                        else:
                            why = str(reply)
                    if qid:
                        mid = tracker.message_id_at(server, qid)
                        tracker.bind((self.host, token), mid)
            if not pending:
                break
            if env.now + self.retry_s > give_up:
                for row in pending.values():
                    tracker.finish(row, MailStatus.REJECTED, env.now, "4.4.1", f"submission gave up: {why}")
                break
            yield env.timeout(self.retry_s)
        del self.holding[token]

    def _target(self, msa: str | None, rcpt: str) -> Generator[simpy.Event, Any, tuple[str, str, int] | str]:
        if msa is not None:
            return msa, self.ctx.ip_of(msa), 587
        domain = Address.split(rcpt).domain
        try:
            mxs = yield mx_targets(self.ctx.resolver(self.host), domain, rng=self.ctx.stream(self.host, "mx"))
        except DnsError as exc:
            return f"MX lookup for {domain} failed: {exc}"
        best = mxs[0]
        return best.host, best.ips[0], 25

    def _once(self, sender: str, rcpts: list[str], raw: bytes, auth: tuple[str, str] | None, name: str, ip: str,
              port: int) -> Generator[simpy.Event, Any, tuple[ClientResult, str] | str]:  # fmt: skip
        """One SMTP session; returns the ClientResult and the server's node, or a string saying why it failed for
        now."""
        ctx, env = self.ctx, self.env
        t0 = env.now
        try:
            conn = yield from ctx.connect(self.host, (ip, port), self.connect_timeout_s)
        except TransportError as exc:
            ctx.tracker.transaction(HopRecord(self.host, name, port, t0, env.now, 0, "", message_id_of(raw),
                                                 tuple(rcpts), 0, len(raw), None, str(exc)))  # fmt: skip
            return f"connect to {name}[{ip}]:{port}: {exc}"
        session = SmtpClientSession(helo=ctx.host_name(self.host), envelope=Envelope(sender, tuple(rcpts)), data=raw,
                                    auth=auth, pipelining=True, crlf=True, starttls=True)  # fmt: skip
        out = yield from run_client(conn, session, timeout_s=self.command_timeout_s)
        res = session.result
        code = res.data_reply.code if res.data_reply is not None else (out.last_reply.code if out.last_reply else 0)
        accepted = sum(1 for _, r in res.recipients if r.is_positive)
        mid = message_id_of(raw)
        server = ctx.host_at(conn.remote_address[0])
        if res.data_reply is not None and res.data_reply.is_positive:
            m = _QUEUED.search(res.data_reply.text)
            if m and not mid:
                mid = ctx.tracker.message_id_at(server, m.group(1))
        ctx.tracker.transaction(HopRecord(self.host, server, port, t0, env.now, code,
                                          (res.data_reply.enhanced or "") if res.data_reply else "", mid,
                                          tuple(rcpts), accepted, len(raw), conn, out.error))  # fmt: skip
        return res, server
