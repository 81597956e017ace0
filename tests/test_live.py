"""Live mode with the real clients: smtplib, poplib and imaplib against ``LiveBridge`` on 127.0.0.1.

Every socket has a timeout, every bridge is stopped; the shared bridge runs twenty simulated seconds per wall
second (factor 0.05), one test runs in real time (factor 1: the issue's two-second bound).
"""

from __future__ import annotations

import base64
import copy
import imaplib
import poplib
import smtplib
import socket
import textwrap
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
from mail_helpers import BASE, raw_session, scenario

from netlab.cli import main
from netlab.errors import ConfigError
from netlab.live import LiveBridge
from netlab.mail.content.message import parse
from netlab.mail.smtp import Replies

# msa -> relay -> mx1: three MTA hops, so the Received chain and the maillog show a relay on the way.
MAIL: dict[str, Any] = {
    "servers": [
        {"host": "msa", "role": "msa", "domains": ["a.test"], "smarthost": "relay", "size_limit": "64KB"},
        {"host": "relay", "role": "relay", "trusted": ["msa"]},
        {"host": "mx1", "role": "mx", "domains": ["a.test", "b.test"], "spam_action": "tag"},
        {"host": "mx2", "role": "relay", "relay_domains": ["b.test"]},
    ],
    "users": [
        {"address": "alice@a.test", "password": "pw", "client": "pc"},
        {"address": "bob@b.test", "password": "bobpw"},
        {"address": "carol@b.test", "password": "carolpw"},
        {"address": "dave@b.test", "password": "davepw"},
        {"address": "erin@b.test", "password": "erinpw"},
    ],
}
TIMEOUT = 5.0
TRACE = {"received", "return-path", "delivered-to", "x-spam-status"}
AUTH_OK = base64.b64encode(b"\0alice@a.test\0pw").decode()
AUTH_BAD = base64.b64encode(b"\0alice@a.test\0wrong").decode()


@pytest.fixture(scope="module")
def live() -> Iterator[LiveBridge]:
    bridge = LiveBridge(scenario(MAIL), factor=0.05, tls=False)  # the simulated MSA exactly: no STARTTLS
    bridge.start()
    try:
        yield bridge
    finally:
        bridge.stop()


def message(to: str, subject: str, body: str = "Hello,\n.a line with a leading dot\n") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "alice@a.test", to, subject
    msg["Date"] = "Thu, 01 Jan 2026 00:00:00 +0000"
    msg["Message-ID"] = f"<{subject.replace(' ', '.')}@pc.a.test>"
    msg.set_content(body)
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def submit(bridge: LiveBridge, to: str, raw: bytes) -> tuple[int, bytes]:
    """Log in as alice and send *raw* to *to*; return the reply to the end of DATA."""
    with smtplib.SMTP("127.0.0.1", bridge.ports["smtp"], timeout=TIMEOUT) as s:
        s.login("alice@a.test", "pw")
        assert s.mail("alice@a.test", [f"SIZE={len(raw)}"])[0] == 250
        assert s.rcpt(to)[0] == 250
        return s.data(raw)


def wait_for(bridge: LiveBridge, address: str, count: int = 1, timeout: float = TIMEOUT) -> list[bytes]:
    """Poll *address*'s mailbox (under the bridge's lock) until it holds *count* messages; return them."""
    end = time.monotonic() + timeout
    while True:
        with bridge.lock:
            raws = [e.raw for e in bridge.directory.mailbox(address).entries]
        if len(raws) >= count or time.monotonic() > end:
            assert len(raws) >= count, f"{address}: {len(raws)} messages after {timeout} s"
            return raws
        time.sleep(0.01)


def assert_same_plus_trace(fetched: bytes, sent: bytes) -> None:
    """*fetched* is *sent* with only trace header fields prepended (byte for byte, then field by field)."""
    assert fetched.endswith(sent)
    got, want = parse(fetched), parse(sent)
    assert {k.lower() for k in got} - {k.lower() for k in want} <= TRACE
    assert [(k, str(v)) for k, v in got.items() if k.lower() not in TRACE] == [(k, str(v)) for k, v in want.items()]
    assert got.get_content() == want.get_content()


# ---------------------------------------------------------------------------------------------------- SMTP
def test_smtplib_login_and_sendmail(live: LiveBridge) -> None:
    with smtplib.SMTP("127.0.0.1", live.ports["smtp"], timeout=TIMEOUT) as s:
        s.ehlo("laptop.example")
        assert s.has_extn("size") and s.esmtp_features["size"] == str(64 * 1000)
        assert s.login("alice@a.test", "pw") == (235, b"2.7.0 Authentication successful")
        assert s.sendmail("alice@a.test", ["dave@b.test"], message("dave@b.test", "smtplib sendmail")) == {}
    stored = wait_for(live, "dave@b.test")[0]
    # the loopback hop is the MSA's Received line, then the relay's and the MX's above it
    received = parse(stored).get_all("Received")
    assert [r.split("by ")[1].split()[0] for r in received] == ["mx1.a.test", "relay.net.test", "msa.a.test"]
    # RFC 3848: ESMTPA, authenticated without TLS (the loopback port has none)
    assert "from laptop.example (localhost [127.0.0.1])" in received[-1] and "with ESMTPA id" in received[-1]


def test_data_reply_is_the_msa_queue_id(live: LiveBridge) -> None:
    code, text = submit(live, "dave@b.test", message("dave@b.test", "queue id"))
    assert code == 250 and text.startswith(b"2.0.0 Ok: queued as ")
    qid = text.split()[-1].decode()
    with live.lock:
        assert live.system.accepted_mid("msa", qid) == "<queue.id@pc.a.test>"


def _live_replies(bridge: LiveBridge, lines: list[bytes]) -> list[bytes]:
    """Send *lines* one by one on a raw socket, each after the previous reply; return the replies' lines."""
    got: list[bytes] = []
    with socket.create_connection(("127.0.0.1", bridge.ports["smtp"]), timeout=TIMEOUT) as sock:
        f = sock.makefile("rb")
        got.append(f.readline())
        for line in lines:
            sock.sendall(line)
            while True:
                reply = f.readline()
                got.append(reply)
                if reply[3:4] != b"-":
                    break
        sock.sendall(b"QUIT\r\n")
        f.readline()
        f.close()
    return got


AUTH_AS_BOB = base64.b64encode(b"bob@b.test\0alice@a.test\0pw").decode()  # authzid of another user


@pytest.mark.parametrize(("lines", "code"), [
    ([b"EHLO laptop\r\n", b"MAIL FROM:<alice@a.test>\r\n"], 530),
    ([b"EHLO laptop\r\n", f"AUTH PLAIN {AUTH_BAD}\r\n".encode()], 535),
    ([b"EHLO laptop\r\n", f"AUTH PLAIN {AUTH_OK}\r\n".encode(), b"MAIL FROM:<alice@a.test> SIZE=100000\r\n"], 552),
    ([b"EHLO laptop\r\n", f"AUTH PLAIN {AUTH_OK}\r\n".encode(), b"MAIL FROM:<bob@b.test>\r\n"], 550),
    ([b"EHLO laptop\r\n", f"AUTH PLAIN {AUTH_OK}\r\n".encode(), b"MAIL FROM:<alice>\r\n",
      b"RCPT TO:<bob@b.test>\r\n", b"RSET\r\n"], 250),
    ([b"EHLO laptop\r\n", f"auth plain {AUTH_OK}\r\n".encode()], 235),  # RFC 4954 §7: any case
    ([b"EHLO laptop\r\n", f"AUTH PLAIN {AUTH_AS_BOB}\r\n".encode()], 535),  # RFC 4616 §2: not bob's right
    ([b"EHLO laptop\r\n", f"AUTH PLAIN {AUTH_OK}\r\n".encode(), b"MAIL FROM:<alice@a.test> AUTH=<>\r\n"], 250),
    ([b"EHLO laptop\r\n", f"AUTH PLAIN {AUTH_OK}\r\n".encode(), b"MAIL FROM:<>\r\n"], 550),  # null sender
    ([b"HELP\r\n"], 214),
    ([b"NOOP\r\n", b"RCPT TO:<bob@b.test>\r\n", b"DATA\r\n", b"XYZZY\r\n", b"VRFY bob\r\n"], 252),
    ([b"EHLO laptop\r\n", b"AUTH LOGIN\r\n", base64.b64encode(b"alice@a.test") + b"\r\n",
      base64.b64encode(b"pw") + b"\r\n"], 235),
    ([b"EHLO laptop\r\n", b"x" * 2000 + b"\r\n", f"AUTH PLAIN {AUTH_OK}\r\n".encode(), b"MAIL FROM:\r\n"], 501),
], ids=["530-no-auth", "535-bad-password", "552-size", "550-sender-not-owned", "bare-name-qualified",
        "auth-lower-case", "plain-authzid-of-another-user", "auth-param", "null-sender", "help-214",
        "sequence-errors", "auth-login", "long-line"])  # fmt: skip
def test_live_port_replies_are_the_simulated_msa_replies_byte_for_byte(live: LiveBridge, lines: list[bytes],
                                                                        code: int) -> None:  # fmt: skip
    # One SMTP parser: the live port runs the MSA's own session, so greeting, EHLO keywords, every reply and its
    # text are the simulated MSA's (the former aiosmtpd port differed in all of these).
    got = _live_replies(live, lines)
    assert got == raw_session(MAIL, "msa", 587, lines)
    assert int(got[-1][:3]) == code


def test_ehlo_keywords_are_the_msa_extensions(live: LiveBridge) -> None:
    with smtplib.SMTP("127.0.0.1", live.ports["smtp"], timeout=TIMEOUT) as s:
        s.ehlo("laptop")
        assert set(s.esmtp_features) == {"pipelining", "size", "8bitmime", "enhancedstatuscodes", "auth"}
        assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]


def test_a_client_that_half_closes_after_quit_gets_every_reply_and_its_mail_is_queued(live: LiveBridge) -> None:
    # RFC 5321 §4.1.1.10: the server answers everything it received; a pipelined message then a half-close
    raw = message("dave@b.test", "half close")
    with live.lock:
        before = len(live.directory.mailbox("dave@b.test"))
    script = (f"EHLO laptop\r\nAUTH PLAIN {AUTH_OK}\r\nMAIL FROM:<alice@a.test>\r\nRCPT TO:<dave@b.test>\r\n"
              "DATA\r\n").encode() + raw + b".\r\nQUIT\r\n"  # fmt: skip
    with socket.create_connection(("127.0.0.1", live.ports["smtp"]), timeout=TIMEOUT) as sock:
        sock.sendall(script)
        sock.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
    codes = [line[:4] for line in got.split(b"\r\n") if line[3:4] == b" "]
    assert codes == [b"220 ", b"250 ", b"235 ", b"250 ", b"250 ", b"354 ", b"250 ", b"221 "]
    assert any(b"<half.close@pc.a.test>" in m for m in wait_for(live, "dave@b.test", count=before + 1))


def test_a_silent_client_is_timed_out_with_421_bye_and_err() -> None:
    # RFC 5321 §4.5.3.2.7 (SMTP 421), RFC 3501 §5.4 (IMAP BYE), RFC 1939 §3 (POP3): an idle client is
    # disconnected with a word, not left holding a connection for ever
    with LiveBridge(scenario(MAIL), factor=0.05, idle_timeout_s=(0.3, 0.3)) as bridge:
        for kind, last in (("smtp", b"421 4.4.2 msa.a.test Error: timeout exceeded\r\n"),
                           ("imap", b"* BYE Disconnected for inactivity.\r\n"),
                           ("pop3", b"-ERR Disconnected for inactivity.\r\n")):  # fmt: skip
            with socket.create_connection(("127.0.0.1", bridge.ports[kind]), timeout=TIMEOUT) as sock:
                f = sock.makefile("rb")
                f.readline()  # the greeting
                assert f.readline() == last
                assert f.readline() == b""  # then closed
                f.close()


@pytest.mark.parametrize("kind", ["imap", "pop3"])
def test_a_line_over_64_kib_gets_bye_before_the_close(live: LiveBridge, kind: str) -> None:
    with socket.create_connection(("127.0.0.1", live.ports[kind]), timeout=TIMEOUT) as sock:
        f = sock.makefile("rb")
        f.readline()
        sock.sendall(b"a1 NOOP " + b"x" * 70_000 + b"\r\n")
        assert f.readline() == (b"* BYE line too long\r\n" if kind == "imap" else b"-ERR line too long\r\n")
        f.close()


def test_smtplib_refusals(live: LiveBridge) -> None:
    port = live.ports["smtp"]
    with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as s:
        with pytest.raises(smtplib.SMTPSenderRefused) as no_auth:
            s.sendmail("alice@a.test", ["bob@b.test"], message("bob@b.test", "no auth"))
        assert no_auth.value.smtp_code == 530
        with pytest.raises(smtplib.SMTPAuthenticationError) as bad:
            s.login("alice@a.test", "wrong")
        assert (bad.value.smtp_code, bad.value.smtp_error) == (535, b"5.7.8 Error: authentication failed")
    big = message("bob@b.test", "too big", body=("x" * 70 + "\n") * 1000)  # 71 kB, over the MSA's 64 KB
    with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as s:
        s.login("alice@a.test", "pw")
        with pytest.raises(smtplib.SMTPSenderRefused) as size:
            s.sendmail("alice@a.test", ["bob@b.test"], big)  # smtplib sends SIZE=: refused at MAIL
        assert (size.value.smtp_code, size.value.smtp_error) == (552, b"5.3.4 Message size exceeds fixed limit")
        # without SIZE= the limit is enforced on the data itself, with the same reply
        s.rset()
        s.mail("alice@a.test")
        s.rcpt("bob@b.test")
        assert s.data(big) == (552, b"5.3.4 Message size exceeds fixed limit")
        # 554: the MSA's hop limit (Received lines beyond it: a loop) at the end of DATA, in the simulation thread
        looped = b"".join(b"Received: from x by y; Thu, 01 Jan 2026 00:00:00 +0000\r\n" for _ in range(60))
        s.mail("alice@a.test")
        s.rcpt("bob@b.test")
        hops = Replies.TOO_MANY_HOPS
        assert s.data(looped + message("bob@b.test", "loop")) == (554, f"{hops.enhanced} {hops.text}".encode())
    with live.lock:
        rows = [r for r in live.system.tracker.rows if r.message_id == "<loop@pc.a.test>"]
    assert [(r.status, r.dsn) for r in rows] == [("rejected", "5.4.0")]


# ---------------------------------------------------------------------------------------------------- POP3, IMAP
def test_poplib_stat_retr_dele_quit(live: LiveBridge) -> None:
    sent = message("bob@b.test", "for poplib")
    assert submit(live, "bob@b.test", sent)[0] == 250
    wait_for(live, "bob@b.test")
    pop = poplib.POP3("127.0.0.1", live.ports["pop3"], timeout=TIMEOUT)
    try:
        pop.user("bob@b.test")
        pop.pass_("bobpw")
        count, size = pop.stat()
        assert count == 1
        resp, lines, octets = pop.retr(1)
        fetched = b"\r\n".join(lines) + b"\r\n"
        assert resp.startswith(b"+OK") and octets == size == len(fetched)
        assert_same_plus_trace(fetched, sent)
        assert pop.dele(1).startswith(b"+OK")
    finally:
        assert pop.quit().startswith(b"+OK")
    with live.lock:
        assert len(live.directory.mailbox("bob@b.test")) == 0
        (row,) = [r for r in live.system.tracker.rows if r.message_id == "<for.poplib@pc.a.test>"]
        assert row.status == "delivered" and row.retrieved_s == row.retrieved_s  # taken before it was deleted


def test_imaplib_login_select_search_fetch(live: LiveBridge) -> None:
    sent = message("carol@b.test", "for imaplib")
    assert submit(live, "carol@b.test", sent)[0] == 250
    wait_for(live, "carol@b.test")
    imap = imaplib.IMAP4("127.0.0.1", live.ports["imap"], timeout=TIMEOUT)
    try:
        assert imap.login("carol@b.test", "carolpw")[0] == "OK"
        assert imap.select("INBOX") == ("OK", [b"1"])
        assert imap.search(None, "ALL") == ("OK", [b"1"])
        assert imap.search(None, "UNSEEN") == ("OK", [b"1"])
        status, data = imap.fetch("1", "(RFC822)")
        assert status == "OK" and isinstance(data[0], tuple)
        assert_same_plus_trace(data[0][1], sent)
        assert imap.search(None, "UNSEEN") == ("OK", [b""])
    finally:
        imap.logout()


def test_imap_idle_gets_new_mail_pushed(live: LiveBridge) -> None:
    """A live IMAP session waiting in IDLE (RFC 2177) hears of a delivery the simulation makes."""
    with socket.create_connection(("127.0.0.1", live.ports["imap"]), timeout=TIMEOUT) as sock:
        f = sock.makefile("rb")
        f.readline()
        for command in (b"a1 LOGIN erin@b.test erinpw\r\n", b"a2 SELECT INBOX\r\n"):
            sock.sendall(command)
            while not f.readline().startswith(command[:3]):
                pass
        sock.sendall(b"a3 IDLE\r\n")
        assert f.readline().startswith(b"+ ")
        assert submit(live, "erin@b.test", message("erin@b.test", "while idling"))[0] == 250
        assert f.readline() == b"* 1 EXISTS\r\n"
        sock.sendall(b"DONE\r\n")
        while not (line := f.readline()).startswith(b"a3 "):
            pass
        assert line.startswith(b"a3 OK")
        f.close()


def test_logins_in_any_case_as_the_simulated_stores(live: LiveBridge) -> None:
    pop = poplib.POP3("127.0.0.1", live.ports["pop3"], timeout=TIMEOUT)
    pop.user("BOB@B.TEST")
    assert pop.pass_("bobpw").startswith(b"+OK")
    pop.quit()
    imap = imaplib.IMAP4("127.0.0.1", live.ports["imap"], timeout=TIMEOUT)
    assert imap.login("Carol@b.TEST", "carolpw")[0] == "OK"
    imap.logout()


def test_bad_logins(live: LiveBridge) -> None:
    pop = poplib.POP3("127.0.0.1", live.ports["pop3"], timeout=TIMEOUT)
    pop.user("bob@b.test")
    with pytest.raises(poplib.error_proto):
        pop.pass_("nope")
    pop.quit()
    imap = imaplib.IMAP4("127.0.0.1", live.ports["imap"], timeout=TIMEOUT)
    with pytest.raises(imaplib.IMAP4.error):
        imap.login("carol@b.test", "nope")
    imap.logout()


@pytest.mark.parametrize("hostile", [b"a1 {\r\n", b"a1 LOGIN a\rb c\r\n"])
def test_hostile_imap_bytes_do_not_freeze_the_other_ports(live: LiveBridge, hostile: bytes) -> None:
    # Six unauthenticated bytes used to send the IMAP tokenizer into an endless loop under the simulation lock:
    # every port stopped greeting and the simulated clock stopped. Now a tagged BAD, and everything else answers.
    with socket.create_connection(("127.0.0.1", live.ports["imap"]), timeout=TIMEOUT) as sock:
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"* OK")
        sock.sendall(hostile)
        assert reader.readline().startswith(b"a1 BAD ")
        sock.sendall(b"a2 NOOP\r\n")
        assert reader.readline().startswith(b"a2 OK")
    with smtplib.SMTP("127.0.0.1", live.ports["smtp"], timeout=TIMEOUT) as s:
        assert s.noop()[0] == 250
    pop = poplib.POP3("127.0.0.1", live.ports["pop3"], timeout=TIMEOUT)
    assert pop.getwelcome().startswith(b"+OK")
    pop.quit()
    with live.lock:
        before = live.env.now
    time.sleep(0.2)
    with live.lock:
        assert live.env.now > before  # the simulated clock still runs


# ---------------------------------------------------------------------------------------------------- real time
def test_real_time_sent_to_mailbox_within_two_seconds() -> None:
    """The issue's Done-when: at factor 1, smtplib -> mailbox in < 2 s of wall time, every simulated hop in the
    Received chain and the maillog, read back with poplib and imaplib."""
    sent = message("bob@b.test", "real time")
    with LiveBridge(scenario(MAIL), factor=1.0, tls=False) as bridge:
        t0 = time.monotonic()
        with smtplib.SMTP("127.0.0.1", bridge.ports["smtp"], timeout=TIMEOUT) as s:
            s.login("alice@a.test", "pw")
            s.sendmail("alice@a.test", ["bob@b.test"], sent)
        (stored,) = wait_for(bridge, "bob@b.test", timeout=2.0)
        elapsed = time.monotonic() - t0
        imap = imaplib.IMAP4("127.0.0.1", bridge.ports["imap"], timeout=TIMEOUT)
        imap.login("bob@b.test", "bobpw")
        imap.select("INBOX")
        via_imap = imap.fetch("1", "(BODY.PEEK[])")[1][0]
        imap.logout()
        pop = poplib.POP3("127.0.0.1", bridge.ports["pop3"], timeout=TIMEOUT)
        pop.user("bob@b.test")
        pop.pass_("bobpw")
        via_pop = b"\r\n".join(pop.retr(1)[1]) + b"\r\n"
        pop.quit()
        res = bridge.stop()
    assert elapsed < 2.0
    assert isinstance(via_imap, tuple) and via_imap[1] == via_pop == stored
    assert_same_plus_trace(stored, sent)
    hosts = [r.split("by ")[1].split()[0] for r in parse(stored).get_all("Received")]
    assert hosts == ["mx1.a.test", "relay.net.test", "msa.a.test"]
    (row,) = res.messages[res.messages.message_id == "<real.time@pc.a.test>"].itertuples()
    assert (row.status, row.hop_hosts) == ("delivered", "msa relay mx1")
    log = res.maillog
    for host, qid in (q.split(":") for q in row.queue_ids.split()):
        mine = log[(log.host == host) & (log.queue_id == qid)]
        assert (mine.status == "sent").sum() == 1, mine.line.tolist()  # each hop passed it on (or filed it)
    assert res.summary["live"]["accepted"] == 1


# ---------------------------------------------------------------------------------------------------- CLI
def _scenario_file(tmp_path: Path) -> Path:
    data = copy.deepcopy(BASE)
    data["mail"].update(copy.deepcopy(MAIL))
    path = tmp_path / "live.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_cli_live_prints_ports_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ports = ["--smtp-port", "0", "--pop3-port", "0", "--imap-port", "0"]
    assert main(["live", str(_scenario_file(tmp_path)), "--factor", "0.05", "--duration", "0.3", *ports]) == 0
    out = capsys.readouterr().out
    assert "SMTP submission  127.0.0.1:" in out and "POP3             127.0.0.1:" in out
    assert "alice@a.test" in out and "(stop: live: duration)" in out
    assert "live: 0 SMTP sessions, 0 messages submitted" in out


def test_cli_ctrl_c_stops_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    def interrupted(self: LiveBridge, timeout_s: float | None = None) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(LiveBridge, "wait", interrupted)
    ports = ["--smtp-port", "0", "--pop3-port", "0", "--imap-port", "0"]
    assert main(["live", str(_scenario_file(tmp_path)), "--factor", "0.05", *ports]) == 0
    captured = capsys.readouterr()
    assert "interrupted" in captured.err and "(stop: live: interrupted)" in captured.out


def test_tick_and_factor_are_checked() -> None:
    with pytest.raises(ConfigError, match="tick"):
        LiveBridge(scenario(MAIL), tick_s=0.1)
    with pytest.raises(ConfigError, match="factor"):
        LiveBridge(scenario(MAIL), factor=0)


def test_the_readmes_live_example_runs(tmp_path: Path) -> None:
    """The README's live-mode snippets, as printed there, against the bundled seed scenario (only the ports and
    the certificate directory are the test's own)."""
    import re

    from netlab.live import LiveCertificate
    from netlab.scenario.files import load_scenario

    root = Path(__file__).resolve().parents[1]
    section = (root / "README.md").read_text().split("## Live mode", 1)[1].split("\n## ", 1)[0]
    snippets = [textwrap.dedent(m) for m in re.findall(r"    python - <<'PY'\n(.*?)    PY\n", section, re.DOTALL)]
    assert len(snippets) == 2 and "netlab live topologies/seed.yaml --cert-dir /tmp/netlab-tls" in section
    cert = LiveCertificate.generate(tmp_path)
    with LiveBridge(load_scenario(root / "topologies" / "seed.yaml"), factor=0.05, certificate=cert) as bridge:
        for snippet in snippets:
            code = snippet.replace("/tmp/netlab-tls/netlab-live.crt", str(cert.cert))
            for name, default in (("smtp", 2525), ("pop3", 1110), ("imap", 1143)):
                code = code.replace(f'"127.0.0.1", {default}', f'"127.0.0.1", {bridge.ports[name]}')
            exec(compile(code, "README.md", "exec"), {})  # the README's own example
            end = time.monotonic() + 30.0
            while "smtplib" in code and not arrived(bridge, b"Hello from outside"):
                assert time.monotonic() < end, "the README's message never reached heidi's mailbox"
                time.sleep(0.05)


def arrived(bridge: LiveBridge, text: bytes, user: str = "heidi@beta.example") -> bool:
    with bridge.lock:
        return any(text in e.raw for e in bridge.directory.mailbox(user).entries)


def test_under_load_100_imap_sessions_and_50_submissions_are_all_served() -> None:
    """The issue's load bound: 100 concurrent IMAP sessions and 50 concurrent submissions on loopback, every one
    served, every accepted message in its mailbox, mail conservation checked at the end (stop() raises if not)."""
    from concurrent.futures import ThreadPoolExecutor

    users = [("bob@b.test", "bobpw"), ("carol@b.test", "carolpw"), ("dave@b.test", "davepw"), ("erin@b.test", "erinpw")]

    def send(n: int) -> int:
        to = users[n % 4][0]
        return submit(bridge, to, message(to, f"load {n}"))[0]

    def read(n: int) -> str:
        user, password = users[n % 4]
        imap = imaplib.IMAP4("127.0.0.1", bridge.ports["imap"], timeout=30.0)
        try:
            imap.login(user, password)
            imap.select("INBOX")
            return imap.search(None, "ALL")[0]
        finally:
            imap.logout()

    with LiveBridge(scenario(MAIL), factor=0.05, tls=False) as bridge, ThreadPoolExecutor(150) as pool:
        sends = [pool.submit(send, n) for n in range(50)]
        reads = [pool.submit(read, n) for n in range(100)]
        assert [f.result(timeout=60.0) for f in sends] == [250] * 50
        assert [f.result(timeout=60.0) for f in reads] == ["OK"] * 100
        for n in range(50):
            to = users[n % 4][0]
            end = time.monotonic() + 30.0
            while not arrived(bridge, f"<load.{n}@pc.a.test>".encode(), to):
                assert time.monotonic() < end, f"load {n} never reached {to}"
                time.sleep(0.02)
        res = bridge.stop()
    live = res.summary["live"]
    assert (live["sessions"], live["accepted"], live["imap_sessions"]) == (50, 50, 100)
