"""Live mode: the simulation in real time, with real SMTP, POP3 and IMAP clients on loopback (``netlab live``).

:class:`LiveBridge` runs a scenario on a :class:`LiveEnvironment` (SimPy's real-time environment) and opens, on
127.0.0.1 only, a submission port served by the simulated MSA's own SMTP server session
(:class:`SubmissionPort`), and POP3 and IMAP ports served by the inbox state machines over the mx message stores.
Every port runs the same sans-IO session a simulated client talks to; nothing here parses a protocol twice.
"""

from __future__ import annotations

from netlab.live.bridge import LOOPBACK, LiveBridge, LiveEnvironment, LiveStopped
from netlab.live.mailstore import InboxPorts, MailDirectory
from netlab.live.smtp import SubmissionPort
from netlab.live.tls import LiveCertificate

__all__ = ["LOOPBACK", "InboxPorts", "LiveBridge", "LiveCertificate", "LiveEnvironment", "LiveStopped", "MailDirectory",
           "SubmissionPort"]  # fmt: skip
