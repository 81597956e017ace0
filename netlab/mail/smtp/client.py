"""The SMTP client session: a sans-IO state machine that drives one mail transaction.

Fed the server's replies, it answers with the commands to send next, from the greeting to QUIT: EHLO (HELO
when the server does not know EHLO), AUTH PLAIN or LOGIN when credentials are given and offered, MAIL with
SIZE=/BODY=8BITMIME when advertised, one RCPT per recipient (going on with the accepted ones), DATA with the
dot-stuffed content, QUIT. With PIPELINING (RFC 2920) MAIL, the RCPTs and DATA go in one batch. The result
gives every recipient a reply: its own RCPT refusal, the end-of-data reply, or the reply of the stage that
failed before it (a queue manager reads 2xx as delivered, 4xx as retry later, 5xx as bounce).

>>> from netlab.mail.content.message import Envelope
>>> c = SmtpClientSession(helo="mta.a.example", envelope=Envelope("a@a.example", ("b@b.example",)), data=b"x\\r\\n")
>>> c.start()
>>> c.on_reply(Reply(220, "mx ESMTP"))
[b'EHLO mta.a.example\\r\\n']
>>> c.on_reply(Reply(250, "mx\\nSIZE 1000"))
[b'MAIL FROM:<a@a.example> SIZE=3\\r\\n']
"""

from __future__ import annotations

import base64
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from netlab.mail.content.message import Envelope, dot_stuff, normalize_crlf
from netlab.mail.errors import ProtocolError
from netlab.mail.smtp.reply import Replies, Reply

__all__ = ["ClientResult", "SmtpClientSession", "Stage"]


class Stage(StrEnum):
    """The step of a client session whose reply is awaited; compares equal to its name (``stage == "dot"``)."""

    GREETING = "greeting"  # the server's 220
    EHLO = "ehlo"
    HELO = "helo"  # the fallback for a server that does not know EHLO
    STARTTLS = "starttls"  # the reply to STARTTLS (220: the TLS handshake follows)
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"  # the reply to DATA (354)
    DOT = "dot"  # the reply to the end of the message: the server owns it or refuses it
    DISCARD = "discard"  # a lone dot ending a data phase no recipient survived (RFC 2920 §3.1)
    RSET = "rset"
    QUIT = "quit"
    DONE = "done"  # nothing more is awaited


@dataclass(frozen=True, slots=True)
class ClientResult:
    """How a transaction ended.

    Attributes
    ----------
    recipients
        ``(rcpt, reply)`` for every envelope recipient, in envelope order: the final word on that recipient.
    rcpt_replies
        ``(rcpt, reply)`` for each RCPT command actually answered.
    data_reply
        The reply to the end of data (or to a refused DATA command); None if the transaction got not so far.
    failed_stage
        ``None`` when the transaction completed, else where it stopped: ``greeting``, ``ehlo``, ``helo``,
        ``auth``, ``mail``, ``rcpt`` (no recipient accepted), ``data``, ``dot`` (refused at end of data), or
        the stage that was waiting when :meth:`SmtpClientSession.abort` was called.
    extensions
        The EHLO keywords the server advertised (upper case, parameters kept: ``SIZE 10240000``).
    """

    recipients: tuple[tuple[str, Reply], ...]
    rcpt_replies: tuple[tuple[str, Reply], ...]
    data_reply: Reply | None
    failed_stage: Stage | None
    extensions: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every recipient got a 2xx."""
        return all(reply.is_positive for _, reply in self.recipients)

    def by_class(self, klass: int) -> tuple[str, ...]:
        """The recipients whose final reply is in class *klass* (2, 4 or 5)."""
        return tuple(rcpt for rcpt, reply in self.recipients if reply.code // 100 == klass)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


class SmtpClientSession:
    """One outgoing SMTP transaction.

    Parameters
    ----------
    helo
        Our name for EHLO/HELO.
    envelope
        Reverse-path and recipients.
    data
        The message content (CRLF or LF line ends); the session dot-stuffs it.
    auth
        ``(user, password)`` to authenticate with when the server offers AUTH; None for none.
    size_ext
        Declare ``SIZE=`` on MAIL when the server advertises SIZE.
    pipelining
        Batch MAIL, RCPTs and DATA when the server advertises PIPELINING.
    crlf
        True when *data* already ends every line with CRLF (as all mail netlab composes or receives): skips the
        check, which costs a pass over the message per transaction.
    starttls
        Start TLS when the server offers ``STARTTLS`` (RFC 3207), as mail programs and Postfix's
        ``smtp_tls_security_level = may`` do; a refused STARTTLS goes on in clear. After the ``220`` the
        session's :attr:`starttls_pending` is True: the driver does the handshake and calls :meth:`tls_started`,
        which greets again.
    """

    def __init__(
        self,
        *,
        helo: str,
        envelope: Envelope,
        data: bytes,
        auth: tuple[str, str] | None = None,
        size_ext: bool = True,
        pipelining: bool = False,
        crlf: bool = False,
        starttls: bool = False,
    ) -> None:
        self.helo = helo
        self.starttls = starttls
        self.starttls_pending = False
        self.secure = False
        self.envelope = envelope
        self.data = data
        self.auth = auth
        self.size_ext = size_ext
        self.pipelining = pipelining
        self.done = False
        self.extensions: dict[str, str] = {}  # keyword -> parameters, from the EHLO reply
        self._crlf = data if crlf else normalize_crlf(data)
        self._size = len(self._crlf)  # RFC 1870: CRLFs counted, dot-stuffing not
        self._expect: deque[tuple[Stage, str | None]] = deque()
        self._rcpt_replies: list[tuple[str, Reply]] = []
        self._rcpt_queue: deque[str] = deque()
        self._data_reply: Reply | None = None
        self._failure: tuple[Stage, Reply] | None = None
        self._auth_step = 0
        self._auth_mech = ""

    # -- public API ------------------------------------------------------------------------------------------

    @property
    def stage(self) -> Stage:
        """The stage whose reply is awaited (``greeting``, ``ehlo``, ``mail``, ...), or ``done``."""
        return Stage.DONE if self.done or not self._expect else self._expect[0][0]

    def start(self) -> None:
        """Begin: the server speaks first, so wait for its greeting."""
        self._expect.append((Stage.GREETING, None))

    def on_reply(self, reply: Reply) -> list[bytes]:
        """Consume the server's next reply; return the commands (or data) to send, possibly none.

        Raises
        ------
        ProtocolError
            A reply arrived while none was expected (before :meth:`start`, or a server that talks too much).
        """
        if self.done:
            return []
        if not self._expect:
            raise ProtocolError(f"unexpected SMTP reply {str(reply)!r}")
        stage, rcpt = self._expect.popleft()
        if stage is Stage.QUIT:
            self.done = True
            return []
        handler = getattr(self, f"_on_{stage}")
        out: list[bytes] = handler(reply, rcpt)
        # After a failure, the replies to commands already pipelined are read and then the session ends.
        if self._failure is not None and not self._expect and stage is not Stage.RSET:
            out.append(self._cmd("QUIT"))
            self._expect.append((Stage.QUIT, None))
        return out

    def tls_started(self) -> list[bytes]:
        """The TLS handshake after STARTTLS is done: forget the extensions and greet again (RFC 3207 §4.2)."""
        if not self.starttls_pending:
            raise ProtocolError("tls_started() without an accepted STARTTLS")
        self.starttls_pending, self.secure = False, True
        self.extensions.clear()
        return [self._send(Stage.EHLO, f"EHLO {self.helo}")]

    def abort(self, reply: Reply | None = None) -> None:
        """The connection broke or timed out: settle the outcome as *reply* (default 451 4.4.2, RFC 5321 §3.8)."""
        if self.done:
            return
        settled = self._failure is not None or (self._data_reply is not None and self._data_reply.is_positive)
        if not settled:
            self._failure = (self.stage, reply or Replies.LOST_CONNECTION)
        self.done = True

    @property
    def result(self) -> ClientResult:
        """The outcome; final once :attr:`done` is True."""
        answered = dict(self._rcpt_replies)
        fallback = self._failure[1] if self._failure else Replies.LOST_CONNECTION
        final: list[tuple[str, Reply]] = []
        for rcpt in self.envelope.rcpt_to:
            own = answered.get(rcpt)
            if own is not None and not own.is_positive:
                final.append((rcpt, own))
            elif own is not None and self._data_reply is not None:
                final.append((rcpt, self._data_reply))
            else:
                final.append((rcpt, fallback))
        extensions = tuple(f"{k} {v}".strip() for k, v in self.extensions.items())
        stage = self._failure[0] if self._failure else None
        return ClientResult(tuple(final), tuple(self._rcpt_replies), self._data_reply, stage, extensions)

    # -- stages ----------------------------------------------------------------------------------------------

    @staticmethod
    def _cmd(text: str) -> bytes:
        return text.encode("utf-8") + b"\r\n"

    def _fail(self, stage: Stage, reply: Reply) -> list[bytes]:
        if self._failure is None:
            self._failure = (stage, reply)
        return []

    def _send(self, stage: Stage, text: str, rcpt: str | None = None) -> bytes:
        self._expect.append((stage, rcpt))
        return self._cmd(text)

    def _on_greeting(self, reply: Reply, _: str | None) -> list[bytes]:
        if not reply.is_positive:
            return self._fail(Stage.GREETING, reply)
        return [self._send(Stage.EHLO, f"EHLO {self.helo}")]

    def _on_ehlo(self, reply: Reply, _: str | None) -> list[bytes]:
        if reply.code in (500, 502):  # an RFC 821 server: fall back to HELO (RFC 5321 §3.2)
            return [self._send(Stage.HELO, f"HELO {self.helo}")]
        if not reply.is_positive:
            return self._fail(Stage.EHLO, reply)
        for line in reply.lines[1:]:
            keyword, _, params = line.strip().partition(" ")
            if keyword:
                self.extensions[keyword.upper()] = params.strip()
        if self.starttls and not self.secure and "STARTTLS" in self.extensions:
            return [self._send(Stage.STARTTLS, "STARTTLS")]
        return self._after_hello()

    def _on_starttls(self, reply: Reply, _: str | None) -> list[bytes]:
        if reply.code == 220:
            self.starttls_pending = True
            return []
        return self._after_hello()  # refused: go on in clear, as an opportunistic client does

    def _on_helo(self, reply: Reply, _: str | None) -> list[bytes]:
        return self._after_hello() if reply.is_positive else self._fail(Stage.HELO, reply)

    def _after_hello(self) -> list[bytes]:
        mechanisms = self.extensions.get("AUTH", "").upper().split()
        if self.auth is None or not mechanisms:
            # Without AUTH on offer we still try: a server that needs it answers MAIL with 530.
            return self._start_mail()
        user, password = self.auth
        if "PLAIN" in mechanisms:
            self._auth_mech = "PLAIN"
            # Initial response in the command saves a round trip (RFC 4954 §4).
            return [self._send(Stage.AUTH, "AUTH PLAIN " + _b64(f"\0{user}\0{password}"))]
        if "LOGIN" in mechanisms:
            self._auth_mech = "LOGIN"
            return [self._send(Stage.AUTH, "AUTH LOGIN")]
        return self._start_mail()

    def _on_auth(self, reply: Reply, _: str | None) -> list[bytes]:
        assert self.auth is not None
        if reply.is_positive:
            return self._start_mail()
        if reply.code != 334:
            return self._fail(Stage.AUTH, reply)
        user, password = self.auth
        self._auth_step += 1
        if self._auth_step > 3:  # a server that keeps challenging: cancel, it answers 501
            return [self._send(Stage.AUTH, "*")]
        if self._auth_mech == "PLAIN":
            return [self._send(Stage.AUTH, _b64(f"\0{user}\0{password}"))]
        return [self._send(Stage.AUTH, _b64(user if self._auth_step == 1 else password))]

    def _start_mail(self) -> list[bytes]:
        params = ""
        if self.size_ext and "SIZE" in self.extensions:
            params += f" SIZE={self._size}"
        if "8BITMIME" in self.extensions and not self.data.isascii():  # in C: this runs per message
            params += " BODY=8BITMIME"
        mail = self._send(Stage.MAIL, f"MAIL FROM:<{self.envelope.mail_from}>{params}")
        self._rcpt_queue = deque(self.envelope.rcpt_to)
        if not (self.pipelining and "PIPELINING" in self.extensions):
            return [mail]
        batch = [mail]
        while self._rcpt_queue:
            rcpt = self._rcpt_queue.popleft()
            batch.append(self._send(Stage.RCPT, f"RCPT TO:<{rcpt}>", rcpt))
        batch.append(self._send(Stage.DATA, "DATA"))
        return batch

    def _on_mail(self, reply: Reply, _: str | None) -> list[bytes]:
        if not reply.is_positive:
            return self._fail(Stage.MAIL, reply)
        return [] if self._expect else self._next_rcpt()  # pipelined: the RCPTs are already on their way

    def _next_rcpt(self) -> list[bytes]:
        if self._rcpt_queue:
            rcpt = self._rcpt_queue.popleft()
            return [self._send(Stage.RCPT, f"RCPT TO:<{rcpt}>", rcpt)]
        if any(reply.is_positive for _, reply in self._rcpt_replies):
            return [self._send(Stage.DATA, "DATA")]
        self._fail(Stage.RCPT, self._rcpt_replies[-1][1] if self._rcpt_replies else Replies.NO_VALID_RECIPIENTS)
        return [self._send(Stage.RSET, "RSET")]

    def _on_rcpt(self, reply: Reply, rcpt: str | None) -> list[bytes]:
        assert rcpt is not None
        if self._failure is not None:  # MAIL failed in a pipelined batch: these 503s say nothing of rcpt
            return []
        if reply.code == 552:  # RFC 5321 §4.5.3.1.10: 552 here means "too many recipients", temporary
            enhanced = f"4{reply.enhanced[1:]}" if reply.enhanced else None
            reply = Reply(452, reply.text, enhanced)
        self._rcpt_replies.append((rcpt, reply))
        return [] if self._expect else self._next_rcpt()

    def _on_data(self, reply: Reply, _: str | None) -> list[bytes]:
        accepted = any(r.is_positive for _, r in self._rcpt_replies)
        if reply.code == 354 and (self._failure is not None or not accepted):
            # RFC 2920 §3.1: a 354 after every RCPT failed still needs the data phase ended: send a lone dot.
            self._fail(Stage.RCPT, self._rcpt_replies[-1][1] if self._rcpt_replies else reply)
            return [self._send(Stage.DISCARD, ".")]
        if self._failure is not None:
            return []
        if reply.code == 354:
            self._expect.append((Stage.DOT, None))
            return [dot_stuff(self._crlf, crlf=True)]
        if not accepted:
            return self._fail(Stage.RCPT, self._rcpt_replies[-1][1] if self._rcpt_replies else reply)
        self._data_reply = reply
        return self._fail(Stage.DATA, reply)

    def _on_dot(self, reply: Reply, _: str | None) -> list[bytes]:
        self._data_reply = reply
        if not reply.is_positive:
            return self._fail(Stage.DOT, reply)
        self._expect.append((Stage.QUIT, None))
        return [self._cmd("QUIT")]

    def _on_discard(self, reply: Reply, _: str | None) -> list[bytes]:
        return []

    def _on_rset(self, reply: Reply, _: str | None) -> list[bytes]:
        return [self._send(Stage.QUIT, "QUIT")]
