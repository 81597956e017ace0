"""Mail programs nobody here wrote, against ``LiveBridge`` on loopback: swaks, curl and neomutt submit with
STARTTLS, curl reads over POP3 (STLS) and lists and fetches over IMAP (STARTTLS), fetchmail retrieves over POP3
with STLS, getmail6 over POP3, mbsync syncs folders, flags and an appended message both ways.

They are test tools like tshark: installed by ``.ci/run`` from Debian where missing, skipped only outside CI
(under CI=true a skip fails, tests/conftest.py). Every program runs with a timeout and verifies the certificate
the bridge generated (``--cacert``, ``sslcertfile``) except getmail6, which has no STARTTLS at all (6.18: plain or
implicit-TLS retrievers only), so it reads in clear from a bridge that allows plaintext logins too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from mail_helpers import scenario
from test_live import MAIL, TIMEOUT, message, submit, wait_for

from netlab.live import LiveBridge
from netlab.mail.content.message import parse

RUN_S = 60.0  # a program's wall-clock bound: each takes well under a second here; this only catches a hang


def program(name: str) -> str:
    return shutil.which(name) or pytest.skip(f"{name} is not installed (.ci/run installs it from Debian)")


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=RUN_S, check=False, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{args[0]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def live() -> Iterator[LiveBridge]:
    # STARTTLS offered everywhere; plaintext logins allowed too, for getmail6 (see the module docstring)
    bridge = LiveBridge(scenario(MAIL), factor=0.05, plaintext_auth=True)
    bridge.start()
    try:
        yield bridge
    finally:
        bridge.stop()


def cacert(bridge: LiveBridge) -> str:
    assert bridge.certificate is not None
    return str(bridge.certificate.cert)


def delivered(bridge: LiveBridge, address: str, mid: bytes) -> bytes:
    """The copy of Message-ID *mid* in *address*'s mailbox, once the simulation has delivered it."""
    with bridge.lock:
        count = len(bridge.directory.mailbox(address))
    for _ in range(50):
        found = [m for m in wait_for(bridge, address, count=max(count, 1)) if mid in m]
        if found:
            return found[0]
        count += 1
    raise AssertionError(f"{mid!r} never reached {address}")


def test_swaks_submits_with_starttls_and_auth(live: LiveBridge) -> None:
    done = run([program("swaks"), "--server", "127.0.0.1", "--port", str(live.ports["smtp"]), "--tls",
                "--tls-verify", "--tls-ca-path", cacert(live), "--auth", "PLAIN", "--auth-user", "alice@a.test",
                "--auth-password", "pw", "--from", "alice@a.test", "--to", "bob@b.test", "--helo", "laptop",
                "--header", "Message-ID: <swaks@pc.a.test>", "--header", "Subject: from swaks",
                "--body", "sent by swaks"])  # fmt: skip
    assert "<-  220 2.0.0 Ready to start TLS" in done.stdout and "<~  250 2.0.0 Ok: queued as " in done.stdout
    stored = delivered(live, "bob@b.test", b"<swaks@pc.a.test>")
    assert "with ESMTPSA" in parse(stored).get_all("Received")[-1]


def test_curl_submits_with_starttls(live: LiveBridge, tmp_path: Path) -> None:
    eml = tmp_path / "msg.eml"
    eml.write_bytes(message("dave@b.test", "curl smtp"))
    run([program("curl"), "--silent", "--show-error", "--ssl-reqd", "--cacert", cacert(live),
         f"smtp://127.0.0.1:{live.ports['smtp']}", "--mail-from", "alice@a.test", "--mail-rcpt", "dave@b.test",
         "--user", "alice@a.test:pw", "--upload-file", str(eml)])  # fmt: skip
    delivered(live, "dave@b.test", b"<curl.smtp@pc.a.test>")


def test_curl_reads_over_pop3_with_stls(live: LiveBridge) -> None:
    assert submit_plain(live, "erin@b.test", "curl pop3") == 250
    delivered(live, "erin@b.test", b"<curl.pop3@pc.a.test>")
    done = run([program("curl"), "--silent", "--show-error", "--ssl-reqd", "--cacert", cacert(live),
                "--user", "erin@b.test:erinpw", f"pop3://127.0.0.1:{live.ports['pop3']}/1"])  # fmt: skip
    assert "Message-ID: <curl.pop3@pc.a.test>" in done.stdout


def test_curl_fetches_over_imap_with_starttls(live: LiveBridge) -> None:
    assert submit_plain(live, "carol@b.test", "curl imap") == 250
    delivered(live, "carol@b.test", b"<curl.imap@pc.a.test>")
    base = [program("curl"), "--silent", "--show-error", "--ssl-reqd", "--cacert", cacert(live),
            "--user", "carol@b.test:carolpw"]  # fmt: skip
    found = run([*base, f"imap://127.0.0.1:{live.ports['imap']}/INBOX", "--request",
                 'SEARCH HEADER Message-ID "<curl.imap@pc.a.test>"'])  # fmt: skip
    (uid,) = found.stdout.split()[2:]  # "* SEARCH n": sequence numbers; INBOX keeps UID = number here
    done = run([*base, f"imap://127.0.0.1:{live.ports['imap']}/INBOX;UID={uid}"])
    assert "Message-ID: <curl.imap@pc.a.test>" in done.stdout
    listed = run([*base, f"imap://127.0.0.1:{live.ports['imap']}/"])  # curl's LIST "" *
    assert '* LIST (\\HasNoChildren \\Sent) "/" Sent' in listed.stdout


@pytest.mark.parametrize("protocol", ["pop3", "imap"])
def test_fetchmail_retrieves_with_stls_or_starttls(live: LiveBridge, tmp_path: Path, protocol: str) -> None:
    subject = f"fetchmail {protocol}"
    mid = f"<fetchmail.{protocol}@pc.a.test>".encode()
    assert submit_plain(live, "dave@b.test", subject) == 250
    delivered(live, "dave@b.test", mid)
    out = tmp_path / "fetched.mbox"
    rc = tmp_path / "fetchmailrc"
    rc.write_text(f'poll 127.0.0.1 service {live.ports[protocol]} protocol {protocol} timeout 10\n'
                  f'  user "dave@b.test" password "davepw" is "dave" here\n'
                  f'  sslproto "TLS1.2+" sslcertck sslcertfile "{cacert(live)}" sslcommonname "localhost"\n'
                  f'  keep mda "/bin/sh -c \'cat >> {out}\'"\n')  # fmt: skip
    rc.chmod(0o600)
    env = {**os.environ, "HOME": str(tmp_path), "FETCHMAILHOME": str(tmp_path)}
    run([program("fetchmail"), "--fetchmailrc", str(rc), "--nodetach", "--all"], env=env)
    assert b"Message-ID: " + mid in out.read_bytes()


@pytest.mark.parametrize("retriever", ["SimplePOP3Retriever", "SimpleIMAPRetriever"])
def test_getmail6_retrieves_over_pop3_and_imap(live: LiveBridge, tmp_path: Path, retriever: str) -> None:
    kind = "pop3" if "POP3" in retriever else "imap"
    mid = f"<getmail.{kind}@pc.a.test>".encode()
    assert submit_plain(live, "bob@b.test", f"getmail {kind}") == 250
    delivered(live, "bob@b.test", mid)
    # getmail6 refuses to deliver as root (CI's containers are) and then delivers as the user named here, who
    # must reach the Maildir: pytest's tmp_path is the owner's only, so the Maildir lives in /tmp itself
    root = os.geteuid() == 0
    with tempfile.TemporaryDirectory(prefix="netlab-getmail-") as where:
        maildir = Path(where) / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (maildir / sub).mkdir(parents=True)
        if root:
            for d in (Path(where), maildir, *(maildir / sub for sub in ("cur", "new", "tmp"))):
                d.chmod(0o777)
        rc = tmp_path / "getmailrc"
        rc.write_text(f"[retriever]\ntype = {retriever}\nserver = 127.0.0.1\nport = {live.ports[kind]}\n"
                      f"username = bob@b.test\npassword = bobpw\n\n[destination]\ntype = Maildir\npath = {maildir}/\n"
                      f"{'user = nobody' if root else ''}\n\n"
                      "[options]\nread_all = true\ndelete = false\nverbose = 0\n")  # fmt: skip
        run([program("getmail"), "--getmaildir", str(tmp_path), "--rcfile", str(rc)])
        assert any(b"Message-ID: " + mid in f.read_bytes() for f in (maildir / "new").iterdir())


def submit_plain(bridge: LiveBridge, to: str, subject: str) -> int:
    """Submit with smtplib (this bridge allows AUTH in clear); the reply code to the end of DATA."""
    return submit(bridge, to, message(to, subject))[0]


assert TIMEOUT < RUN_S


def test_neomutt_sends_with_starttls_and_keeps_a_copy(live: LiveBridge, tmp_path: Path) -> None:
    # neomutt 20220429 in batch mode skips an IMAP Fcc ("not supported in batch mode"): the copy goes to a local
    # mailbox; saving to the server's Sent is covered by mbsync's APPEND
    sent = tmp_path / "sent.mbox"
    rc = tmp_path / "neomuttrc"
    rc.write_text(f'set from = "alice@a.test"\nset smtp_url = "smtp://alice@a.test@127.0.0.1:{live.ports["smtp"]}/"\n'
                  'set smtp_pass = "pw"\nset ssl_starttls = yes\nset ssl_force_tls = yes\n'
                  f'set certificate_file = "{cacert(live)}"\nset record = "{sent}"\nset copy = yes\n'
                  'set hostname = "pc.a.test"\nset use_from = yes\n'
                  'my_hdr Message-ID: <neomutt@pc.a.test>\n')  # fmt: skip
    env = {**os.environ, "HOME": str(tmp_path), "TERM": "dumb"}
    run([program("neomutt"), "-n", "-F", str(rc), "-s", "from neomutt", "--", "carol@b.test"],
        input="sent by neomutt\n", env=env)  # fmt: skip
    delivered(live, "carol@b.test", b"<neomutt@pc.a.test>")
    assert b"Subject: from neomutt" in sent.read_bytes()


def test_mbsync_syncs_folders_flags_and_an_appended_message_both_ways(live: LiveBridge, tmp_path: Path) -> None:
    assert submit_plain(live, "erin@b.test", "for mbsync") == 250
    delivered(live, "erin@b.test", b"<for.mbsync@pc.a.test>")
    local = tmp_path / "Mail"
    local.mkdir()
    rc = tmp_path / "mbsyncrc"
    # Host localhost: mbsync 1.4 matches the certificate by DNS name only (the IP SAN does not count for it)
    rc.write_text(f"IMAPAccount lab\nHost localhost\nPort {live.ports['imap']}\nUser erin@b.test\nPass erinpw\n"
                  f"SSLType STARTTLS\nCertificateFile {cacert(live)}\n\nIMAPStore remote\nAccount lab\n\n"
                  f"MaildirStore local\nPath {local}/\nInbox {local}/INBOX\nSubFolders Verbatim\n\n"
                  "Channel lab\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\nExpunge Both\n"
                  "SyncState *\n")  # fmt: skip
    sync = [program("mbsync"), "-q", "-c", str(rc), "-a"]
    run(sync)
    assert {p.name for p in local.iterdir()} >= {"INBOX", "Sent", "Drafts", "Trash", "Junk"}  # SPECIAL-USE folders
    (fetched,) = [f for f in (local / "INBOX" / "new").iterdir() if b"<for.mbsync@pc.a.test>" in f.read_bytes()]
    # near side changes: read the message, file a sent one, make a folder; then sync again
    (local / "INBOX" / "cur").mkdir(exist_ok=True)
    fetched.rename(local / "INBOX" / "cur" / (fetched.name.split(":")[0] + ":2,S"))
    (local / "Sent" / "new" / "1767225600.M1P1.pc").write_bytes(message("bob@b.test", "kept by mbsync"))
    for sub in ("cur", "new", "tmp"):
        (local / "Projects" / sub).mkdir(parents=True)
    run(sync)
    with live.lock:
        inbox = live.directory.mailbox("erin@b.test")
        (entry,) = [e for e in inbox.entries if b"<for.mbsync@pc.a.test>" in e.raw]
        assert "\\Seen" in entry.flags  # the flag went up (STORE)
        sent = live.directory.mailbox("erin@b.test", "Sent")
        assert any(b"<kept.by.mbsync@pc.a.test>" in e.raw for e in sent.entries)  # APPEND
        assert "Projects" in [b.name for b in live.directory.mailboxes("erin@b.test")]  # CREATE
