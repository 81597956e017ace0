"""SMTP state machines: replies, the server alone, client against server in memory, and the server under smtplib."""

from __future__ import annotations

import base64
import random
import smtplib
import socket
import socketserver
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import simpy

from netlab.mail.content.message import Envelope, normalize_crlf
from netlab.mail.errors import ProtocolError
from netlab.mail.smtp import (
    Replies,
    Reply,
    ReplyReader,
    SmtpClientSession,
    SmtpServerSession,
    converse,
    parse_reply_lines,
)
from netlab.mail.smtp.drivers import run_client, serve
from netlab.mail.smtp.server import LINE_LIMIT
from netlab.testing import RecordingPolicy, stream_pair
from netlab.transport import ConnectionReset

MSG = b"From: a@a.example\r\nTo: b@b.example\r\nSubject: hi\r\n\r\nhello\r\n"


def server(policy: RecordingPolicy | None = None, **kwargs: Any) -> SmtpServerSession:
    policy = policy if policy is not None else RecordingPolicy(local_domains={"b.example"})
    return SmtpServerSession(policy, hostname="mx.b.example", peer_ip="10.0.0.1", **kwargs)


def client(*rcpts: str, data: bytes = MSG, sender: str = "a@a.example", **kwargs: Any) -> SmtpClientSession:
    return SmtpClientSession(helo="mta.a.example", envelope=Envelope(sender, rcpts), data=data, **kwargs)


def talk(s: SmtpServerSession, *lines: str) -> list[str]:
    return [str(r) for line in lines for r in s.feed(line.encode() + b"\r\n")]


def codes(c: SmtpClientSession) -> dict[str, int]:
    return {rcpt: reply.code for rcpt, reply in c.result.recipients}


def sent(transcript: list[tuple[str, bytes]]) -> bytes:
    return b"".join(chunk for who, chunk in transcript if who == "C")


# -- replies ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [Reply(250, "Ok", "2.0.0"), Reply(250, "mx\nPIPELINING\nSIZE 100"), Reply(334, ""), Reply(550, "a\nb", "5.1.1")],
)
def test_reply_wire_round_trip(reply: Reply) -> None:
    wire = bytes(reply)
    assert wire.endswith(b"\r\n") and wire.count(b"\r\n") == len(reply.lines)
    assert ReplyReader().feed(wire) == [reply]


def test_multiline_reply_repeats_enhanced_code_on_each_line() -> None:
    assert bytes(Reply(550, "one\ntwo", "5.7.1")) == b"550-5.7.1 one\r\n550 5.7.1 two\r\n"
    assert str(Reply(550, "one\ntwo", "5.7.1")) == "550 5.7.1 one two"


@pytest.mark.parametrize("lines", [[], [b"hello"], [b"250-a", b"251 b"], [b"250-a"], [b"250 a", b"250 b"]])
def test_malformed_replies_raise_protocol_error(lines: list[bytes]) -> None:
    with pytest.raises(ProtocolError):
        parse_reply_lines(lines)


def test_reply_classes() -> None:
    assert Replies.OK.is_positive and Replies.START_DATA.is_intermediate
    assert Replies.TOO_MANY_RECIPIENTS.is_transient and Replies.AUTH_REQUIRED.is_permanent


# -- server alone ----------------------------------------------------------------------------------------------


def test_ehlo_advertises_extensions_auth_only_on_submission() -> None:
    relay = server()
    assert str(relay.greeting()) == "220 mx.b.example ESMTP netlab"
    (ehlo,) = relay.feed(b"EHLO c.example\r\n")
    assert ehlo.lines == ("mx.b.example", "PIPELINING", "SIZE 10240000", "8BITMIME", "ENHANCEDSTATUSCODES")
    (ehlo,) = server(submission=True).feed(b"EHLO c.example\r\n")
    assert "AUTH PLAIN LOGIN" in ehlo.lines
    assert talk(relay, "AUTH PLAIN AGEAYg==") == ["503 5.5.1 Error: authentication not enabled"]


def test_command_sequence_errors() -> None:
    s = server()
    out = talk(s, "MAIL FROM:<a@a.example>", "RCPT TO:<bob@b.example>", "DATA")
    assert out == ["503 5.5.1 Error: send HELO/EHLO first"] * 3
    s = server()
    out = talk(s, "HELO c", "RCPT TO:<bob@b.example>", "DATA", "MAIL FROM:<a@a.example>", "MAIL FROM:<a@a.example>")
    assert out == [
        "250 mx.b.example",
        "503 5.5.1 Error: need MAIL command",
        "503 5.5.1 Error: need RCPT command",
        "250 2.1.0 Ok",
        "503 5.5.1 Error: nested MAIL command",
    ]
    assert talk(s, "DATA") == ["503 5.5.1 Error: need RCPT command"]
    assert talk(s, "RCPT TO:<x@far.example>", "DATA") == [
        "554 5.7.1 <x@far.example>: Relay access denied",
        "554 5.5.1 Error: no valid recipients",
    ]


def test_syntax_errors_and_simple_commands() -> None:
    s = server()
    assert talk(s, "EHLO", "XYZZY", "STARTTLS") == [
        "501 5.5.4 Syntax: EHLO hostname",
        "500 5.5.2 Error: command not recognized",
        "502 5.5.1 Error: command not implemented",
    ]
    assert talk(s, "EHLO c", "MAIL <a@a.example>", "MAIL FROM:<a b@x>", "MAIL FROM:<a@a.example> FOO=1") == [
        talk(server(), "EHLO c")[0],
        "501 5.5.4 Syntax: MAIL FROM:<address>",
        "501 5.1.7 Bad sender address syntax",
        "555 5.5.4 Unsupported option: FOO",
    ]
    assert talk(s, "NOOP", "VRFY bob", "RSET", "HELP")[:3] == [
        "250 2.0.0 Ok",
        "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery",
        "250 2.0.0 Ok",
    ]
    assert s.feed(b"NOOP " + b"x" * 1200 + b"\r\n") == [Replies.LINE_TOO_LONG]
    assert talk(s, "QUIT") == ["221 2.0.0 Bye"] and s.closed
    assert s.feed(b"NOOP\r\n") == []


def test_null_sender_postmaster_and_bare_lf_are_accepted() -> None:
    policy = RecordingPolicy()
    s = server(policy)
    out = talk(s, "EHLO c", "MAIL FROM:<>", "RCPT TO:<Postmaster>", "DATA")
    assert out[1:] == ["250 2.1.0 Ok", "250 2.1.5 Ok", "354 End data with <CR><LF>.<CR><LF>"]
    assert [str(r) for r in s.feed(b"Subject: x\n\nbody\n.\n")] == ["250 2.0.0 Ok: queued as 0000000001"]
    envelope, data = policy.messages[0]
    assert envelope == Envelope("", ("postmaster",)) and data == b"Subject: x\r\n\r\nbody\r\n"


def test_recipient_limit_gives_452() -> None:
    s = server(RecordingPolicy(), recipient_limit=2)
    out = talk(s, "EHLO c", "MAIL FROM:<a@a>", "RCPT TO:<x@b>", "RCPT TO:<y@b>", "RCPT TO:<z@b>")
    assert out[-1] == "452 4.5.3 Error: too many recipients" and s.rcpt_to == ["x@b", "y@b"]


def test_auth_login_exchange_and_abort() -> None:
    s = server(RecordingPolicy(users={"alice": "pw"}), submission=True)
    assert talk(s, "EHLO c", "MAIL FROM:<a@a>")[1] == "530 5.7.0 Authentication required"
    assert talk(s, "AUTH LOGIN", "YWxpY2U=", "cHc=") == ["334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6",
                                                          "235 2.7.0 Authentication successful"]  # fmt: skip
    assert s.authenticated_user == "alice" and s.protocol == "ESMTPA"
    assert talk(s, "AUTH PLAIN") == ["503 5.5.1 Error: already authenticated"]
    s = server(RecordingPolicy(users={"alice": "pw"}), submission=True)
    assert talk(s, "EHLO c", "AUTH PLAIN", "*")[1:] == ["334", "501 5.7.0 Authentication aborted"]
    assert talk(s, "AUTH PLAIN !!notbase64") == ["501 5.5.2 Invalid base64 data in continued response"]
    assert talk(s, "AUTH CRAM-MD5") == ["504 5.5.4 Unrecognized authentication type"]
    assert talk(s, "AUTH PLAIN AGFsaWNlAHdyb25n") == ["535 5.7.8 Error: authentication failed"]
    assert s.authenticated_user is None and s.state == "ready"


def test_server_survives_random_input() -> None:
    rng = random.Random(20260101)
    words = [b"EHLO", b"HELO", b"MAIL FROM:", b"RCPT TO:", b"DATA", b"RSET", b"AUTH PLAIN", b"AUTH LOGIN", b"QUIT",
             b".", b"NOOP", b"VRFY", b"<>", b"<a@b>", b"SIZE=", b"BODY=8BITMIME", b"*", b"=", b"\xff\xfe"]  # fmt: skip
    for _ in range(300):
        s = server(RecordingPolicy(users={"u": "p"}), submission=rng.random() < 0.5, size_limit=rng.choice([0, 50]))
        for _ in range(40):
            if rng.random() < 0.5:
                line = b" ".join(rng.choice(words) for _ in range(rng.randint(0, 4)))
            else:
                line = bytes(rng.randrange(256) for _ in range(rng.randint(0, 80)))
            ending = rng.choice([b"\r\n", b"\n", b"", b"\r"])
            feeder = s.feed if rng.random() < 0.5 else s.feed_line
            for reply in feeder(line + ending):
                assert isinstance(reply, Reply)
                assert ReplyReader().feed(bytes(reply)) == [reply]


# -- client against server in memory ---------------------------------------------------------------------------


def test_success_with_several_recipients() -> None:
    policy = RecordingPolicy(local_domains={"b.example"})
    c = client("bob@b.example", "carol@b.example", "dave@b.example")
    transcript = converse(c, server(policy))
    assert c.done and c.result.ok and c.result.failed_stage is None
    assert {str(r) for _, r in c.result.recipients} == {"250 2.0.0 Ok: queued as 0000000001"}
    assert policy.messages == [(Envelope("a@a.example", ("bob@b.example", "carol@b.example", "dave@b.example")), MSG)]
    assert f"MAIL FROM:<a@a.example> SIZE={len(MSG)}".encode() in sent(transcript)
    assert sent(transcript).endswith(b"QUIT\r\n")


def test_auth_required_and_bad_and_good_credentials() -> None:
    users = {"alice": "s3cret"}
    c = client("bob@b.example")
    converse(c, server(RecordingPolicy(users=users), submission=True))
    assert c.result.failed_stage == "mail" and str(c.result.recipients[0][1]) == "530 5.7.0 Authentication required"
    c = client("bob@b.example", auth=("alice", "wrong"))
    converse(c, server(RecordingPolicy(users=users), submission=True))
    assert c.result.failed_stage == "auth"
    assert str(c.result.recipients[0][1]) == "535 5.7.8 Error: authentication failed"
    s = server(RecordingPolicy(users=users, local_domains={"b.example"}), submission=True)
    c = client("bob@b.example", "x@far.example", auth=("alice", "s3cret"))
    transcript = converse(c, s)
    assert c.result.ok and s.authenticated_user == "alice"  # authenticated: relaying to far.example is allowed
    assert b"AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n" in sent(transcript)


def test_size_limit_at_mail_and_at_end_of_data() -> None:
    big = MSG + b"x" * 200 + b"\r\n"
    c = client("bob@b.example", data=big)
    transcript = converse(c, server(size_limit=100))
    assert c.result.failed_stage == "mail"
    assert str(c.result.recipients[0][1]) == "552 5.3.4 Message size exceeds fixed limit"
    assert b"DATA" not in sent(transcript)
    policy = RecordingPolicy()
    c = client("bob@b.example", data=big, size_ext=False)
    transcript = converse(c, server(policy, size_limit=100))
    assert b"SIZE=" not in sent(transcript) and c.result.failed_stage == "dot"
    assert str(c.result.data_reply) == "552 5.3.4 Message size exceeds fixed limit" and policy.messages == []


def test_relay_refused_ends_with_rset_and_quit() -> None:
    c = client("x@far.example", "y@far.example")
    transcript = converse(c, server())
    assert c.result.failed_stage == "rcpt"
    assert codes(c) == {"x@far.example": 554, "y@far.example": 554}
    assert str(c.result.recipients[0][1]) == "554 5.7.1 <x@far.example>: Relay access denied"
    assert sent(transcript).endswith(b"RSET\r\nQUIT\r\n") and b"DATA" not in sent(transcript)


@pytest.mark.parametrize("pipelining", [False, True])
def test_partial_recipient_failures(pipelining: bool) -> None:
    policy = RecordingPolicy(
        local_domains={"b.example"},
        rcpt_replies={
            "ghost@b.example": Replies.unknown_user("ghost@b.example"),
            "grey@b.example": Reply(450, "try later", "4.7.1"),
        },
    )
    c = client("bob@b.example", "ghost@b.example", "grey@b.example", "x@far.example", pipelining=pipelining)
    converse(c, server(policy))
    assert codes(c) == {"bob@b.example": 250, "ghost@b.example": 550, "grey@b.example": 450, "x@far.example": 554}
    assert c.result.by_class(2) == ("bob@b.example",) and c.result.by_class(4) == ("grey@b.example",)
    assert c.result.failed_stage is None and policy.messages[0][0].rcpt_to == ("bob@b.example",)


def test_dot_stuffing_round_trip() -> None:
    data = b"Subject: dots\r\n\r\n.\r\n..two\r\n.hidden\r\nend.\r\n"
    policy = RecordingPolicy()
    c = client("bob@b.example", data=data.replace(b"\r\n", b"\n"))  # bare LF input is sent as CRLF
    transcript = converse(c, server(policy))
    assert b"\r\n..\r\n...two\r\n..hidden\r\nend.\r\n.\r\n" in sent(transcript)
    assert policy.messages[0][1] == data and c.result.ok


def test_pipelining_sends_one_batch() -> None:
    c = client("bob@b.example", "carol@b.example", pipelining=True)
    c.start()
    assert c.on_reply(Reply(220, "mx")) == [b"EHLO mta.a.example\r\n"]
    batch = c.on_reply(Reply(250, "mx\nPIPELINING\nSIZE 0"))
    assert [cmd.split(b":")[0].split(b"\r")[0] for cmd in batch] == [b"MAIL FROM", b"RCPT TO", b"RCPT TO", b"DATA"]
    without = client("bob@b.example", "carol@b.example", pipelining=True)
    without.start()
    without.on_reply(Reply(220, "mx"))
    assert len(without.on_reply(Reply(250, "mx\nSIZE 0"))) == 1  # not advertised: one command at a time
    c2 = client("bob@b.example", "carol@b.example", pipelining=True)
    converse(c2, server())
    assert c2.result.ok


def test_pipelined_mail_refusal_applies_to_every_recipient() -> None:
    c = client("bob@b.example", "carol@b.example", pipelining=True)
    converse(c, server(RecordingPolicy(), submission=True))
    assert c.result.failed_stage == "mail" and set(codes(c).values()) == {530}


def test_pipelined_all_recipients_refused() -> None:
    c = client("x@far.example", pipelining=True)
    converse(c, server())
    assert c.result.failed_stage == "rcpt" and codes(c) == {"x@far.example": 554} and c.done


def test_ehlo_falls_back_to_helo_and_greeting_refusal() -> None:
    c = client("bob@b.example")
    c.start()
    c.on_reply(Reply(220, "old"))
    assert c.on_reply(Reply(502, "Command not implemented")) == [b"HELO mta.a.example\r\n"]
    assert c.on_reply(Reply(250, "old")) == [b"MAIL FROM:<a@a.example>\r\n"]  # no extensions: no SIZE=
    c = client("bob@b.example")
    c.start()
    assert c.on_reply(Reply(554, "go away", "5.7.1")) == [b"QUIT\r\n"]
    c.on_reply(Replies.BYE)
    assert c.done and c.result.failed_stage == "greeting" and codes(c) == {"bob@b.example": 554}
    with pytest.raises(ProtocolError):
        client("bob@b.example").on_reply(Reply(220, "not started"))


def test_552_at_rcpt_is_taken_as_temporary() -> None:
    policy = RecordingPolicy(rcpt_replies={"z@b.example": Reply(552, "Too many recipients", "5.5.3")})
    c = client("bob@b.example", "z@b.example")
    converse(c, server(policy))
    assert codes(c) == {"bob@b.example": 250, "z@b.example": 452}


def test_abort_and_server_shutdown() -> None:
    c = client("bob@b.example")
    c.start()
    c.on_reply(Reply(220, "mx"))
    c.abort()
    assert c.done and c.result.failed_stage == "ehlo"
    assert str(c.result.recipients[0][1]) == "451 4.4.2 Error: lost connection"
    policy = RecordingPolicy(data_reply=Replies.shutdown("mx.b.example"))
    s = server(policy)
    c = client("bob@b.example")
    converse(c, s)
    assert s.closed and c.done and c.result.failed_stage == "dot" and codes(c) == {"bob@b.example": 421}


# -- the server under Python's smtplib, over real TCP -----------------------------------------------------------


class _Handler(socketserver.BaseRequestHandler):
    server: _LoopbackServer

    def handle(self) -> None:
        session = SmtpServerSession(self.server.policy, hostname="mx.b.example", peer_ip=self.client_address[0],
                                    **self.server.session_kwargs)  # fmt: skip
        self.request.settimeout(5.0)
        self.request.sendall(bytes(session.greeting()))
        while not session.closed:
            try:
                data = self.request.recv(65536)
            except OSError:
                break
            if not data:
                break
            out = b"".join(bytes(reply) for reply in session.feed(data))
            if out:
                self.request.sendall(out)


class _LoopbackServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, policy: RecordingPolicy, **session_kwargs: Any) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.policy = policy
        self.session_kwargs = session_kwargs


@pytest.fixture
def loopback() -> Iterator[Any]:
    servers: list[_LoopbackServer] = []
    threads: list[threading.Thread] = []

    def start(policy: RecordingPolicy, **kwargs: Any) -> int:
        srv = _LoopbackServer(policy, **kwargs)
        thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        servers.append(srv)
        threads.append(thread)
        return int(srv.server_address[1])

    yield start
    for srv, thread in zip(servers, threads, strict=True):
        srv.shutdown()
        srv.server_close()
        thread.join(5.0)


def _smtp(port: int) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", port, local_hostname="client.example", timeout=5.0)


def test_smtplib_submission_login_and_refusals(loopback: Any) -> None:
    policy = RecordingPolicy(users={"alice": "s3cret"},
                             rcpt_replies={"ghost@b.example": Replies.unknown_user("ghost@b.example")})  # fmt: skip
    port = loopback(policy, submission=True)
    body = "Subject: hi\r\n\r\n.leading dot\r\nbye\r\n"
    with _smtp(port) as smtp:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.sendmail("alice@a.example", ["bob@b.example"], body)
        assert refused.value.smtp_code == 530
        smtp.rset()
        assert smtp.login("alice", "s3cret")[0] == 235
        failed = smtp.sendmail("alice@a.example", ["bob@b.example", "ghost@b.example"], body)
        assert failed == {
            "ghost@b.example": (
                550,
                b"5.1.1 <ghost@b.example>: Recipient address rejected: User unknown in local recipient table",
            )
        }
    envelope, data = policy.messages[0]
    assert envelope == Envelope("alice@a.example", ("bob@b.example",)) and data == body.encode()
    with _smtp(port) as smtp, pytest.raises(smtplib.SMTPAuthenticationError) as bad:
        smtp.login("alice", "wrong")  # smtplib tries PLAIN, then LOGIN: both exchanges end in 535
    assert bad.value.smtp_code == 535


def test_smtplib_relay_and_size_limits(loopback: Any) -> None:
    policy = RecordingPolicy(local_domains={"b.example"})
    port = loopback(policy, size_limit=200)
    with _smtp(port) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as relay:
            smtp.sendmail("a@a.example", ["x@far.example"], "Subject: x\r\n\r\nhi\r\n")
        assert relay.value.recipients == {"x@far.example": (554, b"5.7.1 <x@far.example>: Relay access denied")}
        with pytest.raises(smtplib.SMTPSenderRefused) as size:
            smtp.sendmail("a@a.example", ["bob@b.example"], "Subject: x\r\n\r\n" + "y" * 300 + "\r\n")
        assert size.value.smtp_code == 552 and b"5.3.4 Message size exceeds fixed limit" in size.value.smtp_error
        assert smtp.noop()[0] == 250
    assert policy.messages == []


def test_smtplib_sees_line_oriented_replies(loopback: Any) -> None:
    port = loopback(RecordingPolicy())
    with socket.create_connection(("127.0.0.1", port), timeout=5.0) as sock:
        reader = ReplyReader()
        replies: list[Reply] = []
        sock.sendall(b"EHLO c\r\nMAIL FROM:<a@a>\r\nRCPT TO:<b@b>\r\nDATA\r\n")  # a pipelined batch
        while len(replies) < 5:
            chunk = sock.recv(4096)
            assert chunk, "server closed early"
            replies += reader.feed(chunk)
        assert [r.code for r in replies] == [220, 250, 250, 250, 354]
        sock.sendall(b"x\r\n.\r\nQUIT\r\n")
        while len(replies) < 7:
            replies += reader.feed(sock.recv(4096))
        assert [str(r) for r in replies[5:]] == ["250 2.0.0 Ok: queued as 0000000001", "221 2.0.0 Bye"]
    assert normalize_crlf(b"x\n") == b"x\r\n"


def test_data_command_refused_is_reported_for_accepted_recipients() -> None:
    c = client("bob@b.example", "x@far.example")
    c.start()
    script = [Reply(220, "mx"), Reply(250, "mx"), Replies.MAIL_OK, Replies.RCPT_OK]
    script.append(Replies.relay_denied("x@far.example"))
    for reply in script:
        c.on_reply(reply)
    assert c.on_reply(Reply(451, "Error: queue file write error", "4.3.0")) == [b"QUIT\r\n"]
    c.on_reply(Replies.BYE)
    assert c.done and c.result.failed_stage == "data" and codes(c) == {"bob@b.example": 451, "x@far.example": 554}


def _data_session() -> tuple[SmtpServerSession, RecordingPolicy]:
    policy = RecordingPolicy()
    s = server(policy)
    for line in ("EHLO c.example", "MAIL FROM:<a@a.example>", "RCPT TO:<b@b.example>", "DATA"):
        s.feed_line(line.encode() + b"\r\n")
    return s, policy


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("line_end", [b"\r\n", b"\n"])
def test_data_in_any_chunking_equals_line_by_line(seed: int, line_end: bytes) -> None:
    """The block fast path for DATA (whole CRLF messages) and the line path agree on content, size and replies,
    however the bytes are split, with dot-stuffed lines, a terminator split across chunks, and a second message
    pipelined behind the first."""
    rng = random.Random(seed)
    lines = [rng.choice([b".", b"..x", b"a" * rng.randint(0, 90), b"", b". leading dot"]) for _ in range(60)]
    body = b"".join((b"." + ln if ln.startswith(b".") else ln) + line_end for ln in lines)
    wire = body + b"." + line_end + b"MAIL FROM:<c@a.example>\r\n"
    expected = b"".join(ln + b"\r\n" for ln in lines)
    s1, p1 = _data_session()
    r1 = [r for ln in wire.splitlines(keepends=True) for r in s1.feed_line(ln)]
    s2, p2 = _data_session()
    cuts = sorted(rng.sample(range(1, len(wire)), 8))
    r2 = [r for a, b in zip([0, *cuts], [*cuts, len(wire)], strict=True) for r in s2.feed(wire[a:b])]
    assert p1.messages[0][1] == p2.messages[0][1] == expected
    assert [r.code for r in r1] == [r.code for r in r2] == [250, 250]


def test_oversized_data_is_counted_not_held() -> None:
    s, policy = _data_session()
    s.size_limit = 10_000
    chunk = b"x" * 998 + b"\r\n"
    replies = [r for _ in range(100) for r in s.feed(chunk)]
    assert not replies and len(s._buffer) < 20_000  # switched to counting line by line
    assert [r.code for r in s.feed(b".\r\n")] == [552]
    assert not policy.messages


@pytest.mark.parametrize("crlf", [False, True])
def test_client_told_data_is_crlf_sends_the_same(crlf: bool) -> None:
    """``crlf=True`` only skips the line-end check: a CRLF message goes out the same, dot-stuffed, same SIZE."""
    data = b"Subject: dots\r\n\r\n.\r\n..two\r\n.hidden\r\nend.\r\n"
    policy = RecordingPolicy()
    c = client("bob@b.example", data=data, crlf=crlf)
    transcript = converse(c, server(policy))
    assert b"\r\n..\r\n...two\r\n..hidden\r\nend.\r\n.\r\n" in sent(transcript)
    assert f"SIZE={len(data)}".encode() in sent(transcript)
    assert policy.messages[0][1] == data and c.result.ok


# -- the drivers over a stream (netlab.testing.stream_pair: no network) ---------------------------------------------


def _over_pipe(c: SmtpClientSession, s: SmtpServerSession, **client_kwargs: Any) -> tuple[Any, bytes, bytes]:
    """Run *c* with ``run_client`` and *s* with ``serve`` over an in-memory pipe; (outcome, client bytes, server
    bytes)."""
    env = simpy.Environment()
    a, b = stream_pair(env, delay_s=0.001)
    env.process(serve(b, s, timeout_s=30.0))
    out = env.run(until=env.process(run_client(a, c, **client_kwargs)))
    return out, bytes(a.sent), bytes(b.sent)


@pytest.mark.parametrize("pipelining", [False, True])
def test_drivers_over_a_stream_say_what_converse_says(pipelining: bool) -> None:
    rcpts = ("bob@b.example", "eve@c.example", "carol@b.example")
    expected = converse(client(*rcpts, pipelining=pipelining), server())
    c = client(*rcpts, pipelining=pipelining)
    out, client_bytes, server_bytes = _over_pipe(c, server())
    assert out.error == "" and codes(c) == {"bob@b.example": 250, "eve@c.example": 554, "carol@b.example": 250}
    assert client_bytes == sent(expected)
    assert server_bytes == b"".join(chunk for who, chunk in expected if who == "S")


def test_run_client_ends_a_session_with_a_peer_that_does_not_speak_smtp() -> None:
    env = simpy.Environment()
    a, b = stream_pair(env)
    b.send(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    c = client("bob@b.example")
    out = env.run(until=env.process(run_client(a, c)))
    assert out.error.startswith("protocol error: malformed SMTP reply line")
    assert c.done and codes(c) == {"bob@b.example": 451}  # lost connection: try again later
    env.run()
    with pytest.raises(ConnectionReset):
        b.send(b"more")  # the client reset the connection


def test_run_client_gives_up_on_a_silent_server_after_the_command_timeout() -> None:
    env = simpy.Environment()
    a, _b = stream_pair(env)
    c = client("bob@b.example")
    out = env.run(until=env.process(run_client(a, c, timeout_s=5.0)))
    assert env.now == 5.0 and out.error.endswith("nothing to read within 5 s") and c.result.failed_stage == "greeting"


def test_serve_ends_when_the_client_goes_away_without_quit() -> None:
    env = simpy.Environment()
    a, b = stream_pair(env)
    policy = RecordingPolicy()
    done = env.process(serve(b, SmtpServerSession(policy, hostname="mx", peer_ip="10.0.0.1")))
    a.send(b"EHLO a\r\nMAIL FROM:<a@a.example>\r\n")
    a.close()
    env.run(until=done)
    lines = bytes(b.sent).split(b"\r\n")
    assert lines[0].startswith(b"220 ") and lines[-2] == b"250 2.1.0 Ok" and not policy.messages
    assert env.run(until=a.recv()) == bytes(b.sent)  # the client reads what it was told, then the FIN
    assert env.run(until=a.recv()) == b""


def test_an_endless_data_line_over_the_size_limit_is_counted_not_held() -> None:
    # Issue 12 item 8: a 300 MB DATA was buffered whole before the 552; a line without an end was still held
    policy = RecordingPolicy(users={"a@a.test": "pw"})
    s = SmtpServerSession(policy, hostname="msa", peer_ip="10.0.0.9", submission=True, size_limit=1000)
    plain = base64.b64encode(b"\0a@a.test\0pw").decode()
    s.feed(f"EHLO x\r\nAUTH PLAIN {plain}\r\nMAIL FROM:<a@a.test>\r\nRCPT TO:<b@b.test>\r\nDATA\r\n".encode())
    for _ in range(20):
        s.feed(b"x" * 1_000_000)  # 20 MB in one line, never a line end
        assert len(s._buffer) <= 2 * LINE_LIMIT + 1_000_000  # at most what one read brings, never the sum
    assert [str(r) for r in s.feed(b"\r\n.\r\n")] == ["552 5.3.4 Message size exceeds fixed limit"]
    assert policy.messages == [] and s.state == "ready"
