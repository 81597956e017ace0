"""STARTTLS on every port: the SMTP and POP3 sessions' protocol step (RFC 3207, RFC 2595) and the live ports with
Python's smtplib.starttls(), poplib.stls() and imaplib.starttls() trusting the certificate generated at start."""

from __future__ import annotations

import base64
import imaplib
import poplib
import smtplib
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from mail_helpers import scenario, send
from mail_helpers import scenario as sim_scenario
from test_live import MAIL, TIMEOUT, _scenario_file, message, wait_for

import netlab
from netlab.cli import main
from netlab.errors import ConfigError
from netlab.live import LiveBridge, LiveCertificate
from netlab.mail.content.message import parse
from netlab.mail.mailbox.store import MessageStore
from netlab.mail.pop3 import Pop3ServerSession
from netlab.mail.smtp import SmtpServerSession
from netlab.testing import RecordingPolicy

AUTH = base64.b64encode(b"\0alice@a.test\0pw").decode()


def smtp(**kwargs: bool) -> SmtpServerSession:
    return SmtpServerSession(
        RecordingPolicy(users={"alice@a.test": "pw"}),
        hostname="msa.a.test",
        peer_ip="127.0.0.1",
        submission=True,
        **kwargs,
    )


def lines(session: SmtpServerSession, data: bytes) -> list[str]:
    return [str(r) for r in session.feed(data)]


# ---------------------------------------------------------------------------------------------------- SMTP session
@pytest.mark.parametrize(("kwargs", "ehlo", "auth"), [
    ({}, ["PIPELINING", "SIZE 10240000", "8BITMIME", "ENHANCEDSTATUSCODES", "AUTH PLAIN LOGIN"], "334"),
    ({"tls": True}, ["PIPELINING", "SIZE 10240000", "8BITMIME", "ENHANCEDSTATUSCODES", "AUTH PLAIN LOGIN",
                     "STARTTLS"], "334"),
    ({"tls": True, "plaintext_auth": False}, ["PIPELINING", "SIZE 10240000", "8BITMIME", "ENHANCEDSTATUSCODES",
                                              "STARTTLS"],
     "538 5.7.11 Encryption required for requested authentication mechanism"),
], ids=["no-tls", "tls-plaintext-auth", "tls-auth-only-after"])  # fmt: skip
def test_smtp_ehlo_offers_starttls_and_auth_per_configuration(kwargs: dict[str, bool], ehlo: list[str],
                                                              auth: str) -> None:  # fmt: skip
    s = smtp(**kwargs)
    reply = s.feed(b"EHLO pc\r\n")[0]
    assert reply.text.split("\n")[1:] == ehlo
    assert lines(s, b"AUTH PLAIN\r\n")[0].startswith(auth)


@pytest.mark.parametrize(("kwargs", "command", "reply"), [
    ({}, b"STARTTLS\r\n", "502 5.5.1 Error: command not implemented"),
    ({"tls": True}, b"STARTTLS now\r\n", "501 5.5.4 Syntax: STARTTLS"),
    ({"tls": True}, b"starttls\r\n", "220 2.0.0 Ready to start TLS"),
], ids=["not-offered", "argument", "any-case"])  # fmt: skip
def test_smtp_starttls_replies(kwargs: dict[str, bool], command: bytes, reply: str) -> None:
    s = smtp(**kwargs)
    s.feed(b"EHLO pc\r\n")
    assert lines(s, command) == [reply]


def test_smtp_starttls_discards_pipelined_plaintext_and_starts_over() -> None:
    # RFC 3207 §4.2 (the client greets again, the server forgets what it knew) and CVE-2011-0411 (commands sent
    # in clear after STARTTLS must not run as if they had come through TLS)
    s = smtp(tls=True, plaintext_auth=False)
    assert lines(s, f"EHLO pc\r\nSTARTTLS\r\nAUTH PLAIN {AUTH}\r\nMAIL FROM:<x@a.test>\r\n".encode())[1:] == [
        "220 2.0.0 Ready to start TLS"]  # fmt: skip
    assert s.starttls_pending and s.feed(b"NOOP\r\n") == []  # nothing is read before the handshake
    s.tls_started()
    assert (s.state, s.helo, s.secure, s.authenticated_user) == ("connected", None, True, None)
    assert lines(s, b"MAIL FROM:<alice@a.test>\r\n") == ["503 5.5.1 Error: send HELO/EHLO first"]
    ehlo = s.feed(b"EHLO pc\r\n")[0].text.split("\n")
    assert "AUTH PLAIN LOGIN" in ehlo and "STARTTLS" not in ehlo
    assert lines(s, f"AUTH PLAIN {AUTH}\r\nSTARTTLS\r\n".encode()) == [
        "235 2.7.0 Authentication successful",
        "554 5.5.1 Error: TLS already active",
    ]
    assert s.protocol == "ESMTPSA"  # RFC 3848


def test_smtp_tls_started_without_starttls_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError, match="STARTTLS"):
        smtp(tls=True).tls_started()


# ---------------------------------------------------------------------------------------------------- POP3 session
@pytest.fixture
def store() -> MessageStore:
    return MessageStore({"bob": "pw"}, domain="b.test")


@pytest.mark.parametrize(("kwargs", "capa", "user"), [
    ({}, ["USER", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "IMPLEMENTATION netlab"], b"+OK"),
    ({"tls": True}, ["USER", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "IMPLEMENTATION netlab", "STLS"], b"+OK"),
    ({"tls": True, "plaintext_auth": False}, ["TOP", "UIDL", "RESP-CODES", "PIPELINING", "IMPLEMENTATION netlab",
                                              "STLS"], b"-ERR [AUTH] Plaintext authentication disallowed"),
], ids=["no-tls", "tls-plaintext-auth", "tls-auth-only-after"])  # fmt: skip
def test_pop3_capa_offers_stls_and_user_per_configuration(store: MessageStore, kwargs: dict[str, bool],
                                                          capa: list[str], user: bytes) -> None:  # fmt: skip
    pop = Pop3ServerSession(store, **kwargs)
    assert pop.feed_line(b"CAPA\r\n").split(b"\r\n")[1:-2] == [c.encode() for c in capa]
    assert pop.feed_line(b"USER bob@b.test\r\n").startswith(user)


def test_pop3_stls_then_login(store: MessageStore) -> None:
    # RFC 2595 §4: STLS in the AUTHORIZATION state; after TLS, STLS is gone from CAPA and refused
    pop = Pop3ServerSession(store, tls=True, plaintext_auth=False)
    assert pop.feed_line(b"STLS\r\n") == b"+OK Begin TLS negotiation now\r\n"
    pop.tls_started()
    assert b"STLS" not in pop.feed_line(b"CAPA\r\n")
    assert pop.feed_line(b"STLS\r\n") == b"-ERR Command not permitted when TLS active\r\n"
    assert pop.feed_line(b"USER bob\r\n").startswith(b"+OK")
    assert pop.feed_line(b"PASS pw\r\n").startswith(b"+OK maildrop has 0 messages")
    assert pop.feed_line(b"STLS\r\n") == b"-ERR command not valid in this state\r\n"


def test_pop3_stls_not_offered(store: MessageStore) -> None:
    assert Pop3ServerSession(store).feed_line(b"STLS\r\n").startswith(b"-ERR unknown command")


# ---------------------------------------------------------------------------------------------------- live ports
@pytest.fixture(scope="module")
def live() -> Iterator[LiveBridge]:
    bridge = LiveBridge(scenario(MAIL), factor=0.05)  # the defaults: STARTTLS everywhere, AUTH only after it
    bridge.start()
    try:
        yield bridge
    finally:
        bridge.stop()


def trusting(bridge: LiveBridge) -> ssl.SSLContext:
    assert bridge.certificate is not None
    return ssl.create_default_context(cafile=str(bridge.certificate.cert))  # verifies name and chain


def test_smtplib_starttls_then_login_and_send(live: LiveBridge) -> None:
    with smtplib.SMTP("127.0.0.1", live.ports["smtp"], timeout=TIMEOUT) as s:
        s.ehlo("laptop")
        assert s.has_extn("starttls") and not s.has_extn("auth")
        with pytest.raises(smtplib.SMTPNotSupportedError):
            s.login("alice@a.test", "pw")  # AUTH is not offered in clear
        assert s.starttls(context=trusting(live))[0] == 220
        s.ehlo("laptop")
        assert s.has_extn("auth") and not s.has_extn("starttls")
        s.login("alice@a.test", "pw")
        assert s.sendmail("alice@a.test", ["carol@b.test"], message("carol@b.test", "over tls")) == {}
    stored = [m for m in wait_for(live, "carol@b.test") if b"<over.tls@pc.a.test>" in m]
    assert "with ESMTPSA id" in parse(stored[0]).get_all("Received")[-1]  # RFC 3848: TLS and AUTH


def test_smtp_auth_in_clear_is_refused_with_538(live: LiveBridge) -> None:
    with smtplib.SMTP("127.0.0.1", live.ports["smtp"], timeout=TIMEOUT) as s:
        s.ehlo("laptop")
        refused = b"5.7.11 Encryption required for requested authentication mechanism"
        assert s.docmd("AUTH", f"PLAIN {AUTH}") == (538, refused)


def test_live_starttls_drops_plaintext_sent_before_the_handshake(live: LiveBridge) -> None:
    with socket.create_connection(("127.0.0.1", live.ports["smtp"]), timeout=TIMEOUT) as raw:
        f = raw.makefile("rb")
        f.readline()
        raw.sendall(b"EHLO x\r\n")
        while f.readline()[3:4] == b"-":
            pass
        raw.sendall(b"STARTTLS\r\nNOOP\r\n")  # the NOOP is injected in clear
        assert f.readline() == b"220 2.0.0 Ready to start TLS\r\n"
        f.close()
        with trusting(live).wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"EHLO x\r\n")
            assert tls.recv(4096).startswith(b"250-msa.a.test")  # not the injected NOOP's "250 2.0.0 Ok"
            tls.sendall(b"QUIT\r\n")


def test_poplib_stls_then_login(live: LiveBridge) -> None:
    pop = poplib.POP3("127.0.0.1", live.ports["pop3"], timeout=TIMEOUT)
    try:
        assert "STLS" in pop.capa() and "USER" not in pop.capa()
        with pytest.raises(poplib.error_proto, match="Plaintext authentication disallowed"):
            pop.user("bob@b.test")
        pop.stls(context=trusting(live))
        pop.user("bob@b.test")
        assert pop.pass_("bobpw").startswith(b"+OK")
    finally:
        pop.quit()


def test_imaplib_starttls_then_login(live: LiveBridge) -> None:
    imap = imaplib.IMAP4("127.0.0.1", live.ports["imap"], timeout=TIMEOUT)
    try:
        assert "LOGINDISABLED" in imap.capabilities and "STARTTLS" in imap.capabilities
        assert imap.starttls(ssl_context=trusting(live))[0] == "OK"
        assert "LOGINDISABLED" not in imap.capabilities
        assert imap.login("carol@b.test", "carolpw")[0] == "OK"
    finally:
        imap.logout()


def test_a_failed_handshake_ends_only_that_connection(live: LiveBridge) -> None:
    with socket.create_connection(("127.0.0.1", live.ports["imap"]), timeout=TIMEOUT) as raw:
        f = raw.makefile("rb")
        f.readline()
        raw.sendall(b"a1 STARTTLS\r\n")
        assert f.readline().startswith(b"a1 OK")
        raw.sendall(b"this is not a TLS ClientHello\r\n")
        raw.settimeout(TIMEOUT)
        while raw.recv(4096):  # a TLS alert at most, then the server closes the connection
            pass
        f.close()
    imap = imaplib.IMAP4("127.0.0.1", live.ports["imap"], timeout=TIMEOUT)
    assert imap.noop()[0] == "OK"  # the port still serves
    imap.logout()


# ---------------------------------------------------------------------------------------------------- certificates
def test_generated_certificate_is_valid_for_localhost_and_127_0_0_1(tmp_path: Path) -> None:
    cert = LiveCertificate.generate(tmp_path)
    assert cert.generated and (cert.key.stat().st_mode & 0o077) == 0  # the key is the user's only
    client = ssl.create_default_context(cafile=str(cert.cert))
    for name in ("localhost", "127.0.0.1"):
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            port = listener.getsockname()[1]
            server = cert.context()
            conn = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            accepted, _ = listener.accept()
            t = threading.Thread(target=lambda a=accepted, c=server: c.wrap_socket(a, server_side=True).close())
            t.start()
            client.wrap_socket(conn, server_hostname=name).close()  # raises on a name mismatch
            t.join(TIMEOUT)


def test_own_certificate_is_loaded_and_checked(tmp_path: Path) -> None:
    made = LiveCertificate.generate(tmp_path)
    loaded = LiveCertificate.load(made.cert, made.key)
    assert loaded.fingerprint == made.fingerprint and not loaded.generated
    with pytest.raises(ConfigError, match=r"--key .*no such file"):
        LiveCertificate.load(made.cert, tmp_path / "missing.key")
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match="not a PEM certificate and its key"):
        LiveCertificate.load(bad, made.key)


# ---------------------------------------------------------------------------------------------------- the CLI
def test_cli_prints_the_certificate_it_wrote_to_cert_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ports = ["--smtp-port", "0", "--pop3-port", "0", "--imap-port", "0"]
    where = tmp_path / "tls"
    args = ["live", str(_scenario_file(tmp_path)), "--factor", "0.05", "--duration", "0.2", "--cert-dir", str(where)]
    assert main([*args, *ports]) == 0
    out = capsys.readouterr().out
    fingerprint = LiveCertificate.load(where / "netlab-live.crt", where / "netlab-live.key").fingerprint
    assert f"TLS certificate  {where / 'netlab-live.crt'} (generated for localhost, 127.0.0.1)" in out
    assert f"SHA-256          {fingerprint}" in out and "AUTH PLAIN/LOGIN after STARTTLS" in out


@pytest.mark.parametrize(("extra", "error"), [
    (["--cert", "x.crt"], "--cert and --key go together"),
    (["--no-tls", "--cert", "x.crt", "--key", "x.key"], "--cert/--key with --no-tls"),
    (["--cert", "missing.crt", "--key", "missing.key"], "--cert missing.crt: no such file"),
    (["--no-tls", "--cert-dir", "d"], "--cert-dir is where a generated certificate goes"),
], ids=["cert-without-key", "cert-and-no-tls", "missing-file", "cert-dir-and-no-tls"])  # fmt: skip
def test_cli_certificate_options_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
                                             error: str) -> None:  # fmt: skip
    assert main(["live", str(_scenario_file(tmp_path)), "--duration", "0.1", *extra]) == 2
    assert error in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------- simulation
def _submission(starttls: bool) -> tuple[netlab.Results, float]:
    mail = {"servers": [{"host": "msa", "role": "msa", "domains": ["a.test"], "starttls": starttls},
                        {"host": "mx1", "role": "mx", "domains": ["a.test", "b.test"], "spam_action": "tag",
                         "starttls": starttls},
                        {"host": "mx2", "role": "relay", "relay_domains": ["b.test"]}],
            "send": [send(["bob@b.test"], at=1.0, subject="over tls")]}  # fmt: skip
    res = netlab.run(sim_scenario(mail))
    hops = res.tables["mail_hops"]
    (submit_s,) = hops[hops.client == "pc"].duration_s
    return res, float(submit_s)


def test_simulated_starttls_costs_its_round_trips_and_bytes_and_delivers() -> None:
    # pc -r1- msa: 4 ms each way. STARTTLS adds the STARTTLS exchange, the handshake's round trip and the second
    # EHLO: three round trips of 8 ms, plus the handshake's 159 + 683 + 64 octets and 22 per record at 100 Mb/s
    plain, t_plain = _submission(False)
    tls, t_tls = _submission(True)
    for res in (plain, tls):
        assert res.messages.status.tolist() == ["delivered"]
    extra = t_tls - t_plain
    assert 3 * 0.008 <= extra < 3 * 0.008 + 0.002, extra
    with_tls = tls.tables["mail_hops"]
    assert (with_tls.code == 250).all()


def test_simulated_starttls_in_the_capture_is_tls_to_tshark(tmp_path: Path) -> None:
    import shutil

    exe = shutil.which("tshark") or pytest.skip("tshark is not installed (apt-get install tshark)")
    from netlab.pcap import Capture

    mail = {"servers": [{"host": "msa", "role": "msa", "domains": ["a.test"], "starttls": True},
                        {"host": "mx1", "role": "mx", "domains": ["a.test", "b.test"], "spam_action": "tag"},
                        {"host": "mx2", "role": "relay", "relay_domains": ["b.test"]}],
            "send": [send(["bob@b.test"], at=1.0)]}  # fmt: skip
    netlab.run(sim_scenario(mail), capture=Capture(tmp_path, mode="host", hosts=["pc"]))
    fields = subprocess.run([exe, "-r", str(tmp_path / "pc.pcap"), "-T", "fields", "-e", "smtp.req.command",
                             "-e", "tls.handshake.type", "-e", "tls.record.opaque_type"], capture_output=True,
                            text=True, timeout=60, check=True).stdout  # fmt: skip
    rows = [line.split("\t") for line in fields.splitlines()]
    commands = [r[0] for r in rows if r[0]]
    assert commands == ["EHLO", "STAR"]  # tshark names commands by four letters; after STARTTLS all is TLS
    handshakes = [r[1] for r in rows if r[1]]
    assert handshakes == ["1", "2"]  # ClientHello, ServerHello (the rest of the handshake is protected)
    assert sum(r[2].count("23") for r in rows) >= 8  # protected records: the handshake's, then the session's
