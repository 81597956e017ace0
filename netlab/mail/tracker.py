"""The books of a mail run: one row per (message, recipient), one per SMTP transaction, and mail conservation.

Agents report what they did (a submission accepted or refused, a message received by an MTA, relayed, delivered,
bounced); the tracker never drives anything. A row is keyed by (Message-ID, envelope recipient); before the MSA
has answered, a submission is known by a token of its mail program, and events that arrive for a Message-ID not
yet bound are kept until it is. Every row holds the run (``sim.hold()``) until its fate is final.

Conservation (DESIGN.md): per (message, recipient), submitted = delivered + bounced + rejected + discarded +
queued + in transit, where queued is *counted* by walking the MTAs' queues and in transit are submissions still in
a mail program's hands; DSNs are rows of their own (``kind == "dsn"``). Delivered ends in a mailbox: the MDA files
the row under (inbox host, user, ``UIDVALIDITY.UID``), and the mail system checks that each delivered row is
still in its mailbox or was retrieved by the recipient's mail program before it was deleted.

A row follows its recipient as the servers rewrite it: an MSA qualifies a bare ``bob`` with its own domain and
folds the domain's case (``bob@B.TEST`` is ``bob@b.test``), and the server that took the message reports each
rewrite (:meth:`Tracker.alias`) before it books the message, so the row is re-keyed under the address the MTAs use
(and events reported later under the old address find it too).
A recipient listed twice is one (message, recipient): the second row is merged into the first -- whether the mail
program listed it twice, two spellings became one address at the MSA, or the final MX's cleanup found two
recipients to be one user (``BOB@b.test`` and ``bob@b.test`` with ``fold_local_parts``; Postfix's cleanup removes
duplicate recipients the same way, and the log says ``duplicate recipient <..> removed``). A merged row leaves the
books (``Results.messages`` has one row, the first spelling's; the summary counts ``merged_recipients``) but is
kept in :attr:`Tracker.merged_rows` with the row it went into, and conservation checks that row: each scripted
pair is final, queued, in transit, or merged into a pair that is.

A row filed for a user whose mail program fetches is held until the program has retrieved it, so a run that ends
idle ends with the mail on the recipient's screen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from netlab.errors import SimulationError
from netlab.mail.config.users import FetchMode, FetchProtocol

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FINAL", "ConnectionCounts", "FetchRecord", "FinalCounts", "HopRecord", "MailConservationError",
           "MailStatus", "MessageKind", "MessageRow", "RowKey", "SubmissionToken", "Tracker",
           "message_id_of"]  # fmt: skip


class MailStatus(StrEnum):
    """Where one (message, recipient) ended, or stands when the run ends (``Results.messages.status``)."""

    DELIVERED = "delivered"  # filed in the recipient's mailbox
    BOUNCED = "bounced"  # failed for good; a DSN went to the sender
    REJECTED = "rejected"  # refused at submission (5xx), or the mail program gave up
    DISCARDED = "discarded"  # a bounce that bounced: dropped, never returned (RFC 5321 §6.1)
    QUEUED = "queued"  # still in an MTA's queue at the end of the run
    IN_TRANSIT = "in_transit"  # still in a mail program's hands (the MSA has not answered)


FINAL = (MailStatus.DELIVERED, MailStatus.BOUNCED, MailStatus.REJECTED, MailStatus.DISCARDED)
"""The statuses a row ends in (the others describe a run that stopped first)."""


class MessageKind(StrEnum):
    """What a row's message is: mail a user wrote, or a delivery status notification an MTA wrote."""

    MAIL = "mail"
    DSN = "dsn"


RowKey = tuple[str, str]
"""(Message-ID, envelope recipient): a row's key once its Message-ID is known."""
SubmissionToken = tuple[str, int]
"""(mail program, serial): a submission before the MSA has named its Message-ID."""
_MID = re.compile(rb"^message-id:[ \t]*(.*?)\r?$", re.IGNORECASE | re.MULTILINE)


class MailConservationError(SimulationError):
    """A (message, recipient) is neither final, queued nor in transit: mail was lost without a trace.

    The message lists each unaccounted pair with its last known place and its maillog lines; :attr:`lost` holds
    the (Message-ID, recipient) pairs."""

    lost: list[RowKey]

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.lost = []


def message_id_of(raw: bytes) -> str:
    """The Message-ID of *raw* ('' if it has none); looks at the header section only."""
    end = raw.find(b"\r\n\r\n")
    m = _MID.search(raw, 0, end if end >= 0 else len(raw))
    return m.group(1).strip().decode("ascii", "replace") if m else ""


@dataclass(slots=True, eq=False)
class MessageRow:
    """What happened to one message for one recipient (times in seconds)."""

    key: RowKey | None
    sender: str
    rcpt: str
    kind: MessageKind
    submitted_s: float
    size_bytes: int
    message_id: str = ""
    hops: list[tuple[str, str, float]] = field(default_factory=list)  # (host, queue id, received at)
    accepted_by_final_mx_s: float = float("nan")
    delivered_s: float = float("nan")
    status: MailStatus | None = None  # None until final
    dsn: str = ""
    reason: str = ""
    final_s: float = float("nan")
    spam_score: float = float("nan")
    auth: tuple[str, str, str] = ("", "", "")  # SPF, DKIM, DMARC results at the last hop that checked
    transactions: list[HopRecord] = field(default_factory=list)
    origin: str = ""  # the Message-ID a DSN reports on
    mailbox_s: float = float("nan")  # the MDA filed it
    retrieved_s: float = float("nan")  # the recipient's mail program had it all (first retrieval)
    mailbox: tuple[str, str, str] | None = None  # (inbox host, user address, "UIDVALIDITY.UID")
    folder: str = ""  # the mailbox it was filed into: INBOX, or Junk when quarantined ("" until filed)
    awaiting_fetch: bool = False  # holds the run until retrieved
    given_rcpt: str = ""  # the recipient as the mail program wrote it, when a server rewrote it (else "")
    client: str = ""  # the mail program's host that submitted it ("" for a DSN)
    batch: int = 0  # the serial of the create() call that made it: rows of one submission share it
    merged_into: MessageRow | None = None  # the row of the same (message, recipient) this one was merged into
    subject: str = ""  # Subject: as its writer (mail program or bounce) wrote it, decoded
    trace_row: int | None = None  # its 1-based row of mail.send (the data row of a send file); None otherwise
    mix: str = ""  # what the random workload made it: genuine, spam, forged, listed, unsigned ("" for other mail)


class ConnectionCounts(Protocol):
    """What the books read of a transaction's connection once the run is over (a transport Connection has them)."""

    @property
    def segments_sent(self) -> int: ...

    @property
    def segments_received(self) -> int: ...

    @property
    def retransmissions(self) -> int: ...


@dataclass(frozen=True, slots=True)
class FinalCounts:
    """What a transaction's row reads of its connection, kept in its place once the connection closed (the
    connection itself, buffers and all, is then let go: a day of mail makes hundreds of thousands)."""

    segments_sent: int
    segments_received: int
    retransmissions: int

    @classmethod
    def of(cls, conn: ConnectionCounts) -> FinalCounts:
        """The counts of *conn* now."""
        return cls(conn.segments_sent, conn.segments_received, conn.retransmissions)


@dataclass(slots=True, eq=False)
class HopRecord:
    """One SMTP transaction as the client saw it."""

    client: str
    server: str
    port: int
    start_s: float
    end_s: float
    code: int
    dsn: str
    message_id: str
    recipients: tuple[str, ...]
    accepted: int
    size_bytes: int
    conn: ConnectionCounts | None = None  # read for the tables after the run (segments, retransmissions)
    error: str = ""


@dataclass(slots=True, eq=False)
class FetchRecord:
    """One POP3 or IMAP session of a fetching mail program, as the client saw it (times in s, bytes of payload)."""

    client: str
    server: str
    user: str
    protocol: FetchProtocol
    mode: FetchMode
    start_s: float
    end_s: float = float("nan")  # nan: still open when the run ended
    commands: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    messages: int = 0
    error: str = ""


class Tracker:
    """Rows, transactions and the conservation check of one mail run.

    Parameters
    ----------
    hold, release : callables
        ``sim.hold`` / ``sim.release`` of the run: one hold per row until the row is final.
    """

    def __init__(self, hold: Callable[[], None], release: Callable[[], None]) -> None:
        self._hold = hold
        self._release = release
        self.rows: list[MessageRow] = []
        self.by_key: dict[RowKey, MessageRow] = {}
        self.hops: list[HopRecord] = []
        self.fetches: list[FetchRecord] = []
        self.by_mailbox: dict[tuple[str, str, str], MessageRow] = {}
        self._early_retrieved: dict[tuple[str, str, str], float] = {}
        self._early: dict[RowKey, list[Callable[[MessageRow], None]]] = {}
        self._token_rows: dict[SubmissionToken | None, list[MessageRow]] = {}
        self._queue_files: dict[tuple[str, str], str] = {}
        self._aliases: dict[RowKey, str] = {}  # (Message-ID, recipient as given) -> as a server rewrote it
        self.duplicates = 0
        self.merged_rows: list[MessageRow] = []  # rows merged into another of the same (message, recipient)
        self._batches = 0

    @property
    def merged(self) -> int:
        """Rows merged into another of the same (message, recipient) (the summary's ``merged_recipients``)."""
        return len(self.merged_rows)

    # ------------------------------------------------------------------ rows
    def create(self, token: SubmissionToken | None, sender: str, rcpts: Iterable[str], t: float, size: int, *,
               kind: MessageKind = MessageKind.MAIL, message_id: str = "", origin: str = "", subject: str = "",
               trace_row: int | None = None, mix: str = "") -> list[MessageRow]:  # fmt: skip
        """New rows for a message about to be submitted (or a DSN just made): one per recipient. Without
        *message_id* they wait under *token* until :meth:`bind` names it. *mix* is the random workload's class of
        the message (``Results.messages.mix``)."""
        rows = []
        client = token[0] if token is not None else ""
        self._batches += 1
        seen: dict[str, MessageRow] = {}
        for r in rcpts:
            row = MessageRow(None, sender, r, kind, t, size, message_id=message_id, origin=origin, client=client,
                             batch=self._batches, subject=subject, trace_row=trace_row, mix=mix)  # fmt: skip
            if r in seen:  # listed twice: one (message, recipient), the mail program sends it once
                row.merged_into = seen[r]
                self.merged_rows.append(row)
                continue
            seen[r] = row
            self.rows.append(row)
            self._hold()
            rows.append(row)
            if message_id:
                self._bind(row, message_id)
        if not message_id:
            self._token_rows[token] = rows
        return rows

    def _bind(self, row: MessageRow, mid: str) -> None:
        row.message_id = mid
        rcpt = self.rewritten(mid, row.rcpt)
        if rcpt != row.rcpt:
            row.given_rcpt = row.given_rcpt or row.rcpt
            row.rcpt = rcpt
        row.key = key = (mid, rcpt)
        first = self.by_key.get(key)
        if first is row:
            return
        if first is not None:
            if row.batch == first.batch:  # one submission naming one recipient twice (two spellings)
                if first.status is None and not first.hops and self.rows.index(row) < self.rows.index(first):
                    row, first = first, row  # nothing happened to either yet: keep the one listed first
                    self.by_key[key] = first
                self._merge(row, first)
            else:
                self.duplicates += 1  # the same Message-ID submitted twice to one recipient: keep the first row
            return
        self.by_key[key] = row
        for fn in self._early.pop(key, ()):
            fn(row)

    def _merge(self, row: MessageRow, into: MessageRow) -> None:
        """*row* is the same (message, recipient) as *into*, a row already booked: it leaves the books."""
        self.rows.remove(row)
        for rows in self._token_rows.values():
            if row in rows:
                rows.remove(row)
        row.merged_into = into
        self.merged_rows.append(row)
        for other in self.merged_rows:  # rows merged into this one go with it
            if other.merged_into is row:
                other.merged_into = into
        if row.status is None:  # its hold goes with it (a final row released its hold already)
            self._release()

    def alias(self, mid: str, given: str, rcpt: str) -> None:
        """A server accepted *given* for message *mid* as the recipient *rcpt* (qualified, case-folded); called
        before the server books the message, so the row is found under *rcpt* from then on."""
        if given == rcpt:
            return
        self._aliases[(mid, given)] = rcpt
        row = self.by_key.get((mid, given))
        if row is not None:
            del self.by_key[(mid, given)]
            self._bind(row, mid)

    def rewritten(self, mid: str, rcpt: str) -> str:
        """*rcpt* of message *mid* as the servers last rewrote it (qualified at the MSA, then perhaps merged into
        another spelling of the user at the mx); *rcpt* itself if nobody did."""
        seen = {rcpt}
        while (mid, rcpt) in self._aliases:
            rcpt = self._aliases[(mid, rcpt)]
            if rcpt in seen:  # a cycle (a -> b, then b -> a) ends where it started
                break
            seen.add(rcpt)
        return rcpt

    def bind(self, token: SubmissionToken, mid: str) -> None:
        """The MSA accepted the submission *token* as Message-ID *mid*."""
        for row in self._token_rows.pop(token, ()):
            self._bind(row, mid)

    def token_rows(self, token: SubmissionToken) -> list[MessageRow]:
        """Rows of a submission not yet bound to a Message-ID."""
        return self._token_rows.get(token, [])

    def _on(self, mid: str, rcpt: str, fn: Callable[[MessageRow], None]) -> None:
        rcpt = self.rewritten(mid, rcpt)
        row = self.by_key.get((mid, rcpt))
        if row is None:
            self._early.setdefault((mid, rcpt), []).append(fn)
        else:
            fn(row)

    def finish(self, row: MessageRow, status: MailStatus, t: float, dsn: str = "", reason: str = "") -> None:
        """Row *row* reached its final *status* at *t* (the first final event wins; later ones are duplicates)."""
        if row.status is not None:
            self.duplicates += 1
            return
        row.status, row.final_s, row.dsn, row.reason = status, t, dsn, reason
        if status == MailStatus.DELIVERED:
            row.delivered_s = t
        self._release()

    # ------------------------------------------------------------------ events reported by agents
    def queue_file(self, host: str, qid: str, mid: str) -> None:
        """The MTA on *host* queued the message *mid* as *qid* (its ``250 ... queued as`` names *qid*)."""
        self._queue_files[(host, qid)] = mid

    def message_id_at(self, host: str, qid: str) -> str:
        """The Message-ID of what *host* queued as *qid* (``""`` if unknown)."""
        return self._queue_files.get((host, qid), "")

    def received(self, mid: str, rcpt: str, host: str, qid: str, t: float, *, final: bool,
                 spam_score: float | None = None, auth: tuple[str, str, str] | None = None) -> None:  # fmt: skip
        """An MTA on *host* took responsibility (250 after DATA) for *mid* to *rcpt* as queue id *qid*."""

        def apply(row: MessageRow) -> None:
            row.hops.append((host, qid, t))
            if final and row.accepted_by_final_mx_s != row.accepted_by_final_mx_s:
                row.accepted_by_final_mx_s = t
            if auth is not None:
                row.auth = auth
            if spam_score is not None:
                row.spam_score = spam_score if row.spam_score != row.spam_score else max(row.spam_score, spam_score)

        self._on(mid, rcpt, apply)

    def authentication(self, mid: str, rcpts: Iterable[str], auth: tuple[str, str, str]) -> None:
        """The (SPF, DKIM, DMARC) results a receiving MTA found for *mid* (also for mail it then refused)."""

        def apply(row: MessageRow) -> None:
            row.auth = auth

        for rcpt in rcpts:
            self._on(mid, rcpt, apply)

    def final(self, mid: str, rcpt: str, status: MailStatus, t: float, dsn: str = "", reason: str = "") -> None:
        """*mid* to *rcpt* is delivered, bounced or discarded."""
        self._on(mid, rcpt, lambda row: self.finish(row, status, t, dsn, reason))

    def filed(
        self, mid: str, rcpt: str, where: tuple[str, str, str], t: float, *, fetched: bool, folder: str = "INBOX"
    ) -> None:
        """The MDA filed *mid* to *rcpt* at *where* = (inbox host, user, ``UIDVALIDITY.UID``) in the mailbox
        *folder* at *t*; with *fetched* (the user's mail program fetches it) the row holds the run until retrieved."""

        def apply(row: MessageRow) -> None:
            row.mailbox_s, row.mailbox, row.folder = t, where, folder
            self.by_mailbox[where] = row
            early = self._early_retrieved.pop(where, None)
            if early is not None:
                row.retrieved_s = early
            elif fetched:
                row.awaiting_fetch = True
                self._hold()

        self._on(mid, rcpt, apply)

    def retrieved(self, where: tuple[str, str, str], t: float) -> None:
        """The mail program of the user has retrieved the message filed at *where* (the first time counts)."""
        row = self.by_mailbox.get(where)
        if row is None:
            self._early_retrieved.setdefault(where, t)
            return
        if row.retrieved_s != row.retrieved_s:
            row.retrieved_s = t
        if row.awaiting_fetch:
            row.awaiting_fetch = False
            self._release()

    def stop_waiting(self, server: str, user: str) -> None:
        """The mail program of *user* gives up for now: its unretrieved mail no longer holds the run."""
        for where, row in self.by_mailbox.items():
            if row.awaiting_fetch and where[:2] == (server, user):
                row.awaiting_fetch = False
                self._release()

    def transaction(self, rec: HopRecord) -> None:
        """One SMTP transaction (client side), attributed to each of its recipients."""
        self.hops.append(rec)
        _counts_when_closed(rec)

        def apply(row: MessageRow) -> None:
            if not row.transactions or row.transactions[-1] is not rec:  # two spellings of one row: booked once
                row.transactions.append(rec)

        if rec.message_id:
            for r in rec.recipients:
                self._on(rec.message_id, r, apply)

    # ------------------------------------------------------------------ conservation
    def check(self, queued: set[RowKey], in_transit: set[int],
              log_of: Callable[[MessageRow], list[str]] | None = None) -> dict[str, int]:  # fmt: skip
        """Raise :class:`MailConservationError` unless every row is final, queued or in transit; return counts.

        *queued* holds (Message-ID, recipient) pairs found by walking the queues; *in_transit* the ``id()`` of
        rows still in a mail program's hands (submission not yet answered). The error lists each unaccounted pair
        with its last known place and, given *log_of* (a row's maillog lines), what the log says of it.
        """
        counts = dict.fromkeys([s.value for s in MailStatus], 0)
        in_mua = in_transit
        lost = []
        booked = {id(row) for row in self.rows}
        for row in self.rows:
            if row.status is not None:
                counts[row.status] += 1
            elif row.key is not None and row.key in queued:
                counts["queued"] += 1
            elif id(row) in in_mua:
                counts["in_transit"] += 1
            else:
                lost.append(row)
        # a merged pair is as accounted for as the row it went into (a row of the books, checked above)
        lost.extend(r for r in self.merged_rows if r.merged_into is None or id(r.merged_into) not in booked)
        if lost:
            err = MailConservationError(
                f"mail conservation violated: {len(lost)} (message, recipient) pair(s) are neither delivered, "
                "bounced, rejected, discarded, queued nor in transit:\n" + self.diagnosis(lost, log_of)
            )
            err.lost = [(r.message_id, r.rcpt) for r in lost]
            raise err
        counts["submitted"] = len(self.rows)
        counts["merged"] = len(self.merged_rows)
        return counts

    def diagnosis(self, rows: list[MessageRow], log_of: Callable[[MessageRow], list[str]] | None = None, *,
                  limit: int = 10, lines: int = 12) -> str:  # fmt: skip
        """Each of *rows* (the first *limit*) with its last known place and its maillog lines (the last *lines*)."""
        out = []
        for row in rows[:limit]:
            given = f" (written <{row.given_rcpt}>)" if row.given_rcpt else ""
            out.append(f"  {row.message_id or '(no Message-ID yet)'} to <{row.rcpt}>{given}, submitted at "
                       f"{row.submitted_s:.6g} s: {self.last_place(row)}")  # fmt: skip
            log = log_of(row) if log_of is not None else []
            if not log:
                out.append("    maillog: no line names it")
            out.extend(f"    maillog: {line}" for line in log[-lines:])
            if len(log) > lines:
                out.insert(len(out) - lines, f"    maillog: ({len(log) - lines} earlier lines)")
        if len(rows) > limit:
            out.append(f"  ... and {len(rows) - limit} more (Results.messages lists every pair)")
        return "\n".join(out)

    def last_place(self, row: MessageRow) -> str:
        """Where *row* was last seen: the last MTA that took it, else its last SMTP transaction, else its mail
        program (times in s)."""
        if row.merged_into is not None:
            into = row.merged_into
            return f"merged into <{into.rcpt}> of the same message, a row no longer in the books"
        if row.hops:
            host, qid, t = row.hops[-1]
            return f"last taken by {host} as queue file {qid} at {t:.6g} s, no longer in its queue"
        if row.transactions:
            h = row.transactions[-1]
            said = f"answered {h.code}" if h.code else f"failed: {h.error or 'no reply'}"
            return f"never taken by an MTA; last SMTP transaction {h.client} -> {h.server}:{h.port} {said}"
        if row.client:
            return f"never taken by an MTA; its mail program on {row.client} no longer holds it"
        return "never taken by an MTA"

    def status_of(self, row: MessageRow, queued: set[RowKey]) -> MailStatus:
        """The row's status for the results: final status, else queued or in_transit."""
        if row.status is not None:
            return row.status
        return MailStatus.QUEUED if row.key is not None and row.key in queued else MailStatus.IN_TRANSIT

    # ------------------------------------------------------------------ tables
    def messages_frame(self, queued: set[RowKey]) -> pd.DataFrame:
        """``Results.messages``: one row per (message, recipient). ``host`` and ``queue_id`` are the last MTA that
        took it and its queue file there (where it was delivered, bounced or still waits; ``""`` if no MTA took it),
        the key of its lines in ``maillog``; ``queue_ids`` lists every hop."""
        import pandas as pd

        out = []  # rows as tuples in column order: a dict per row of a day of mail would be hundreds of MB at once
        for row in self.rows:
            tx = row.transactions
            packets = sum(_segments(h.conn) for h in tx)
            retrans = sum(h.conn.retransmissions for h in tx if h.conn is not None)
            out.append(_in_order({
                "message_id": row.message_id, "kind": row.kind.value, "mail_from": row.sender, "rcpt_to": row.rcpt,
                "size_bytes": row.size_bytes, "submitted_s": row.submitted_s,
                "queue_ids": " ".join(f"{h}:{q}" for h, q, _ in row.hops),
                "hop_hosts": " ".join(h for h, _, _ in row.hops),
                "hop_times_s": " ".join(f"{t:.6f}" for _, _, t in row.hops),
                "first_mta_s": row.hops[0][2] if row.hops else float("nan"),
                "accepted_by_final_mx_s": row.accepted_by_final_mx_s, "delivered_s": row.delivered_s,
                "delay_s": row.delivered_s - row.submitted_s,
                "status": self.status_of(row, queued).value, "dsn": row.dsn, "reason": row.reason,
                "final_s": row.final_s, "mail_hops": len(row.hops), "smtp_transactions": len(tx),
                "packets": packets, "retransmissions": retrans, "spam_score": row.spam_score,
                "origin_message_id": row.origin, "mailbox_s": row.mailbox_s, "retrieved_s": row.retrieved_s,
                "mailbox_uid": row.mailbox[2] if row.mailbox else "", "folder": row.folder,
                "spf": row.auth[0], "dkim": row.auth[1], "dmarc": row.auth[2],
                "host": row.hops[-1][0] if row.hops else "", "queue_id": row.hops[-1][1] if row.hops else "",
                "subject": row.subject, "trace_row": row.trace_row, "mix": row.mix,
            }, MESSAGE_COLUMNS))  # fmt: skip
        frame = pd.DataFrame(out, columns=MESSAGE_COLUMNS)
        frame["trace_row"] = frame["trace_row"].astype("Int64")  # a whole number, or <NA> for unscripted mail
        return frame

    def hops_frame(self) -> pd.DataFrame:
        """``Results.mail_hops``: one row per SMTP transaction."""
        import pandas as pd

        out = [_in_order({
            "client": h.client, "server": h.server, "port": h.port, "start_s": h.start_s, "end_s": h.end_s,
            "duration_s": h.end_s - h.start_s, "code": h.code, "dsn": h.dsn, "message_id": h.message_id,
            "recipients": " ".join(h.recipients), "n_recipients": len(h.recipients), "accepted": h.accepted,
            "size_bytes": h.size_bytes, "segments": _segments(h.conn),
            "retransmissions": h.conn.retransmissions if h.conn is not None else 0, "error": h.error,
        }, HOP_COLUMNS) for h in self.hops]  # fmt: skip
        return pd.DataFrame(out, columns=HOP_COLUMNS)

    def fetches_frame(self) -> pd.DataFrame:
        """``Results.fetch_sessions``: one row per POP3 or IMAP session of a fetching mail program."""
        import pandas as pd

        out = [{
            "client": f.client, "server": f.server, "user": f.user, "protocol": f.protocol.value,
            "fetch_mode": f.mode.value,
            "start_s": f.start_s, "end_s": f.end_s, "duration_s": f.end_s - f.start_s, "commands": f.commands,
            "bytes_sent": f.bytes_sent, "bytes_received": f.bytes_received, "messages": f.messages, "error": f.error,
        } for f in self.fetches]  # fmt: skip
        return pd.DataFrame(out, columns=FETCH_COLUMNS)


def _in_order(row: dict[str, object], columns: list[str]) -> tuple[object, ...]:
    """*row*'s values in the order of *columns* (a table's rows are kept as tuples until the frame is built)."""
    return tuple(row[c] for c in columns)


def _counts_when_closed(rec: HopRecord) -> None:
    """Replace *rec*'s connection by its :class:`FinalCounts` once it is closed (its counts are final then)."""
    conn = rec.conn
    closed = getattr(conn, "closed", None)  # a transport connection's CLOSED event (a test's fake may have none)
    if conn is None or closed is None:
        return
    if closed.callbacks is None:  # processed already
        rec.conn = FinalCounts.of(conn)
    else:
        closed.callbacks.append(lambda _ev: setattr(rec, "conn", FinalCounts.of(conn)))


def _segments(conn: ConnectionCounts | None) -> int:
    return 0 if conn is None else int(conn.segments_sent + conn.segments_received)


MESSAGE_COLUMNS = ["message_id", "kind", "mail_from", "rcpt_to", "size_bytes", "submitted_s", "queue_ids",
                   "hop_hosts", "hop_times_s", "first_mta_s", "accepted_by_final_mx_s", "delivered_s", "delay_s",
                   "status", "dsn", "reason", "final_s", "mail_hops", "smtp_transactions", "packets",
                   "retransmissions", "spam_score", "origin_message_id", "mailbox_s", "retrieved_s",
                   "mailbox_uid", "folder", "spf", "dkim", "dmarc", "host", "queue_id", "subject",
                   "trace_row", "mix"]  # fmt: skip
HOP_COLUMNS = [
    "client",
    "server",
    "port",
    "start_s",
    "end_s",
    "duration_s",
    "code",
    "dsn",
    "message_id",
    "recipients",
    "n_recipients",
    "accepted",
    "size_bytes",
    "segments",
    "retransmissions",
    "error",
]
FETCH_COLUMNS = ["client", "server", "user", "protocol", "fetch_mode", "start_s", "end_s", "duration_s", "commands",
                 "bytes_sent", "bytes_received", "messages", "error"]  # fmt: skip
