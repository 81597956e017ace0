"""The mail log, in Postfix's words: what each MTA did with each message, one syslog line at a time.

Agents append :class:`LogLine` records (time, host, program, queue id, text) with the texts built by the
``format_*`` functions, which follow Postfix's ``log_adhoc.c`` field order and delay rounding so the output can
be read with the usual Postfix log tools and compared with a real server's. :meth:`MailLog.text` renders
syslog lines; :meth:`MailLog.frame` a DataFrame (pandas is imported only there).

>>> log = MailLog()
>>> text = format_delivery(to="bob@b.example", relay=relay_name("mx.b.example", "10.0.0.2", 25), delay=0.314,
...                        delays=(0.01, 0.0, 0.1, 0.204), dsn="2.0.0", status="sent",
...                        reply="250 2.0.0 Ok: queued as 9A8B7C6D5E")
>>> _ = log.add(5.0, "mta1", "smtp", "3F2A1B4C5D", text)
>>> print(log.text(), end="")  # doctest: +NORMALIZE_WHITESPACE
Jan  1 00:00:05 mta1 postfix/smtp[33596]: 3F2A1B4C5D: to=<bob@b.example>, relay=mx.b.example[10.0.0.2]:25,
    delay=0.31, delays=0.01/0/0.1/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9A8B7C6D5E)
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from netlab.mail.content.message import DEFAULT_EPOCH

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ATTEMPT_COLUMNS",
    "FIELD_RE",
    "SYSLOG_RE",
    "LogLine",
    "MailLog",
    "attempts_frame",
    "format_client",
    "format_delay",
    "format_delivery",
    "format_expired",
    "format_message_id",
    "format_qmgr_active",
    "parse_fields",
    "queue_files",
    "relay_name",
]

SYSLOG_RE = re.compile(
    r"(?P<stamp>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (?P<host>\S+) (?P<program>[\w/.-]+)\[(?P<pid>\d+)\]: "
    r"(?:(?P<queue_id>[0-9A-F]{6,}): )?(?P<text>.*)"
)
"""One syslog line as :meth:`MailLog.text` writes it."""

FIELD_RE = re.compile(r"(?P<key>[a-z_]+)=(?P<value><[^>]*>|[^,\s]*)(?: \((?P<reply>.*)\))?(?:, |$)")
"""One ``key=value`` field of a log text; ``status=`` may carry the reply in parentheses."""


def format_delay(seconds: float) -> str:
    """Postfix's rounding of a delay: integer from 100 s up, else 2 significant digits (at most 2 decimals).

    Trailing zeros are dropped, so 0.10 prints ``0.1`` and anything under 5 ms prints ``0``.

    >>> [format_delay(x) for x in (0, 0.004, 0.0123, 0.314, 1.27, 12.5, 99.4, 123.7)]
    ['0', '0', '0.01', '0.31', '1.3', '12', '99', '124']
    """
    if not math.isfinite(seconds) or seconds <= 0:
        return "0"
    # Decimals for two significant digits, capped at 2 like Postfix's delay_logging_resolution_limit.
    decimals = min(2, max(0, 1 - math.floor(math.log10(seconds))))
    text = f"{seconds:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def relay_name(host: str, ip: str | None = None, port: int | None = None) -> str:
    """``host[ip]:port`` as in ``relay=`` (``local`` and ``none`` pass through when no ip is given)."""
    if ip is None:
        return host
    return f"{host}[{ip}]" + (f":{port}" if port is not None else "")


def format_delivery(
    *,
    to: str,
    relay: str,
    delay: float,
    delays: Sequence[float],
    dsn: str,
    status: str,
    reply: str,
    orig_to: str | None = None,
    conn_use: int | None = None,
) -> str:
    """A delivery agent's line (smtp, local): ``to=<..>, relay=.., delay=.., delays=a/b/c/d, dsn=.., status=..
    (reply)``.

    *delays* are (a) arrival to last active-queue entry, (b) queue to connection setup, (c) connection setup,
    (d) transmission; *status* is ``sent``, ``deferred`` or ``bounced``.
    """
    if len(delays) != 4:
        raise ValueError(f"delays needs 4 parts (a/b/c/d), got {len(delays)}")
    fields = [f"to=<{to}>"]
    if orig_to is not None:
        fields.append(f"orig_to=<{orig_to}>")
    fields.append(f"relay={relay}")
    if conn_use is not None:
        fields.append(f"conn_use={conn_use}")
    fields += [
        f"delay={format_delay(delay)}",
        f"delays={'/'.join(format_delay(d) for d in delays)}",
        f"dsn={dsn}",
        f"status={status} ({reply})",
    ]
    return ", ".join(fields)


def format_qmgr_active(*, sender: str, size: int, nrcpt: int) -> str:
    """qmgr taking a message into the active queue: ``from=<..>, size=N, nrcpt=N (queue active)``."""
    return f"from=<{sender}>, size={size}, nrcpt={nrcpt} (queue active)"


def format_expired(sender: str) -> str:
    """qmgr giving up at ``maximal_queue_lifetime``: ``from=<..>, status=expired, returned to sender``."""
    return f"from=<{sender}>, status=expired, returned to sender"


def format_client(host: str, ip: str, *, sasl_method: str | None = None, sasl_username: str | None = None) -> str:
    """smtpd's first line for a transaction: ``client=host[ip][, sasl_method=.., sasl_username=..]``."""
    text = f"client={host}[{ip}]"
    if sasl_method is not None:
        text += f", sasl_method={sasl_method}, sasl_username={sasl_username or ''}"
    return text


def format_message_id(message_id: str) -> str:
    """cleanup's line: ``message-id=<..>``."""
    return f"message-id={message_id if message_id.startswith('<') else f'<{message_id}>'}"


def parse_fields(text: str) -> dict[str, str]:
    """The ``key=value`` fields of a log text (angle brackets stripped; ``status`` reply under ``reply``).

    >>> parse_fields("to=<b@x>, relay=none, delay=0.5, delays=0/0/0.5/0, dsn=4.4.1, status=deferred (timeout)")
    ... # doctest: +NORMALIZE_WHITESPACE
    {'to': 'b@x', 'relay': 'none', 'delay': '0.5', 'delays': '0/0/0.5/0', 'dsn': '4.4.1', 'status': 'deferred',
     'reply': 'timeout'}
    """
    out: dict[str, str] = {}
    for match in FIELD_RE.finditer(text):
        value = match["value"]
        out[match["key"]] = value[1:-1] if value.startswith("<") else value
        if match["reply"] is not None:
            out["reply"] = match["reply"]
    return out


def _pid(host: str, program: str) -> int:
    # A stable, process-independent pid per (host, program): logs of two runs diff cleanly.
    return 1000 + zlib.crc32(f"{host}/{program}".encode()) % 60000


@dataclass(frozen=True, slots=True)
class LogLine:
    """One log record; *program* is the Postfix daemon (``smtpd``, ``cleanup``, ``qmgr``, ``smtp``, ``local``)."""

    time_s: float
    host: str
    program: str
    queue_id: str | None
    text: str

    def render(self, epoch: datetime = DEFAULT_EPOCH) -> str:
        """The syslog line: ``Jan  1 00:00:05 host postfix/smtp[pid]: QID: text``."""
        when = epoch + timedelta(seconds=self.time_s)
        stamp = f"{when:%b} {when.day:2d} {when:%H:%M:%S}"
        program = self.program if "/" in self.program or self.program in OWN_NAMES else f"postfix/{self.program}"
        prefix = f"{self.queue_id}: " if self.queue_id else ""
        return f"{stamp} {self.host} {program}[{_pid(self.host, self.program)}]: {prefix}{self.text}"


#: Daemons beside Postfix, which log under their own names (``opendkim[pid]:``, not ``postfix/opendkim``).
OWN_NAMES = frozenset({"opendkim", "opendmarc", "policyd-spf", "postgrey"})


@dataclass
class MailLog:
    """An append-only collection of :class:`LogLine` records (kept in the order added)."""

    epoch: datetime = DEFAULT_EPOCH
    _lines: list[LogLine] = field(default_factory=list, repr=False)

    def add(self, time_s: float, host: str, program: str, queue_id: str | None, text: str) -> LogLine:
        """Record one line and return it."""
        line = LogLine(float(time_s), host, program, queue_id, text)
        self._lines.append(line)
        return line

    def append(self, line: LogLine) -> None:
        """Record an already-built line."""
        self._lines.append(line)

    @property
    def lines(self) -> tuple[LogLine, ...]:
        """All records, in order."""
        return tuple(self._lines)

    def __len__(self) -> int:
        return len(self._lines)

    def __iter__(self) -> Iterator[LogLine]:
        return iter(self._lines)

    def text(self) -> str:
        """The log as Postfix syslog lines, one per record, newline-terminated."""
        return "".join(line.render(self.epoch) + "\n" for line in self._lines)

    def frame(self) -> pd.DataFrame:
        """One row per record: ``time_s, host, program, queue_id, text`` plus the parsed ``to``, ``relay``,
        ``delay``, ``dsn``, ``status`` fields (None where a line has none)."""
        import pandas as pd  # only here: the mail core must import without pandas

        # Rows as tuples: a day of mail logs over a million lines, and a dict per line would hold a gigabyte at once
        # (pandas infers each column's type from the same values either way).
        rows = []
        for line in self._lines:
            fields = parse_fields(line.text)
            rows.append((line.time_s, line.host, line.program, line.queue_id, line.text,
                         *[fields.get(key) for key in ("to", "relay", "delay", "dsn", "status")]))  # fmt: skip
        columns = ["time_s", "host", "program", "queue_id", "text", "to", "relay", "delay", "dsn", "status"]
        return pd.DataFrame(rows, columns=columns)


def queue_files(messages: pd.DataFrame) -> pd.DataFrame:
    """One row per (message, recipient, MTA that took it) of a ``Results.messages`` table: ``message_id``,
    ``rcpt_to``, ``hop`` (1 for the first MTA), ``host``, ``queue_id`` and ``received_s`` (when that MTA took it,
    in s). ``maillog`` lines are keyed by (``host``, ``queue_id``) too, so a merge on those gives each message's
    lines along its whole path; ``messages.host`` and ``messages.queue_id`` are the last hop alone.

    >>> import pandas as pd
    >>> m = pd.DataFrame({"message_id": ["<1@a>"], "rcpt_to": ["bob@b"], "queue_ids": ["msa:A1B2C3 mx:D4E5F6"],
    ...                   "hop_times_s": ["1.000000 1.250000"]})
    >>> queue_files(m).to_dict("records")[1]
    {'message_id': '<1@a>', 'rcpt_to': 'bob@b', 'hop': 2, 'host': 'mx', 'queue_id': 'D4E5F6', 'received_s': 1.25}
    """
    import pandas as pd

    rows = []
    for mid, rcpt, qids, times in zip(messages["message_id"], messages["rcpt_to"], messages["queue_ids"],
                                      messages["hop_times_s"], strict=True):  # fmt: skip
        if not isinstance(qids, str):  # never taken by an MTA, read back from CSV ("" became NaN)
            continue
        for hop, (where, t) in enumerate(zip(qids.split(), str(times).split(), strict=True), 1):
            host, _, qid = where.rpartition(":")  # a queue id is hex; a host name might hold a colon
            rows.append((mid, rcpt, hop, host, qid, float(t)))
    return pd.DataFrame(rows, columns=["message_id", "rcpt_to", "hop", "host", "queue_id", "received_s"])


ATTEMPT_COLUMNS = ["time_s", "host", "queue_id", "message_id", "rcpt", "attempt", "program", "dest_host", "dest_ip",
                   "dest_port", "result", "dsn", "reply"]  # fmt: skip
_RELAY_RE = re.compile(r"(?P<name>[^\[\s]+)(?:\[(?P<ip>[^\]]*)\](?::(?P<port>\d+))?)?")
_RESULTS = ("sent", "deferred", "bounced")


def attempts_frame(maillog: pd.DataFrame) -> pd.DataFrame:
    """``Results.mail_attempts``: one row per delivery attempt of one recipient of one queue file, read from the
    delivery agents' ``status=sent|deferred|bounced`` lines of a ``Results.maillog`` table (so it is built from
    what the MTAs logged, and works on loaded results too). ``time_s`` is when the attempt ended (s), ``host`` and
    ``queue_id`` the MTA and its queue file (the key of ``maillog``), ``message_id`` from cleanup's line of that
    queue file, ``attempt`` counts from 1 per (host, queue_id, rcpt), ``dest_host``/``dest_ip``/``dest_port`` the
    relay (``local`` or ``none`` with no IP when no connection was made; port 0 then), ``result`` the logged
    status, ``dsn`` its enhanced code and ``reply`` the text in parentheses. qmgr's ``status=expired`` lines
    are not attempts (nothing was tried) and are left out.

    >>> import pandas as pd
    >>> log = pd.DataFrame({"time_s": [1.0, 2.5], "host": ["mx", "mx"], "program": ["cleanup", "smtp"],
    ...     "queue_id": ["A1B2C3", "A1B2C3"], "status": [None, "deferred"],
    ...     "text": ["message-id=<1@a>", "to=<b@x>, relay=mx.x[10.0.0.2]:25, delay=1.5, delays=0/0/1.5/0, "
    ...              "dsn=4.4.1, status=deferred (timed out)"]})
    >>> attempts_frame(log).iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'time_s': 2.5, 'host': 'mx', 'queue_id': 'A1B2C3', 'message_id': '<1@a>', 'rcpt': 'b@x', 'attempt': 1,
     'program': 'smtp', 'dest_host': 'mx.x', 'dest_ip': '10.0.0.2', 'dest_port': 25, 'result': 'deferred',
     'dsn': '4.4.1', 'reply': 'timed out'}
    """
    import pandas as pd

    cleanup = maillog[(maillog["program"] == "cleanup") & maillog["text"].astype(str).str.startswith("message-id=")]
    ids = {(h, q): t[len("message-id=") :]
           for h, q, t in zip(cleanup["host"], cleanup["queue_id"], cleanup["text"], strict=True)}  # fmt: skip
    rows = []
    seen: dict[tuple[str, str, str], int] = {}
    mine = maillog[maillog["status"].isin(_RESULTS)]
    for t, host, program, qid, text in zip(mine["time_s"], mine["host"], mine["program"], mine["queue_id"],
                                           mine["text"], strict=True):  # fmt: skip
        f = parse_fields(str(text))
        rcpt = f.get("to", "")
        key = (host, qid, rcpt)
        seen[key] = seen.get(key, 0) + 1
        relay = _RELAY_RE.fullmatch(f.get("relay", "")) or _RELAY_RE.fullmatch("none")
        assert relay is not None  # "none" always matches
        rows.append((float(t), host, qid, ids.get((host, qid), ""), rcpt, seen[key], program, relay["name"],
                     relay["ip"] or "", int(relay["port"] or 0), f["status"], f.get("dsn", ""),
                     f.get("reply", "")))  # fmt: skip
    frame = pd.DataFrame(rows, columns=ATTEMPT_COLUMNS)
    return frame.astype({"attempt": "int64", "dest_port": "int64"})
