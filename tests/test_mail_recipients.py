"""The books follow a recipient through the servers' rewrites, and a lost one is reported with where it was last seen.

A recipient listed twice, an upper-case domain, a bare local part in ``to:``: the MSA qualifies (RFC 6409 §4.2),
folds the domain's case (DNS names compare case-insensitively, RFC 4343) and queues a recipient once (Postfix's
cleanup removes duplicates), and the run ends with every (message, recipient) accounted for. At the mx a local
part's case does not matter either (``mail.fold_local_parts``, default true, as Postfix's local(8) folds it):
``BOB@b.test`` is delivered to bob, and listed beside ``bob@b.test`` it is one delivery.
"""

from __future__ import annotations

import copy
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
import simpy
import yaml
from mail_helpers import BASE, mailbox, run, scenario, scripted, send, users

import netlab
from netlab.experiment.runner import Simulation
from netlab.mail.clients.mua import Mua
from netlab.mail.tracker import MailConservationError, Tracker


@pytest.mark.parametrize("headers", [True, False], ids=["message-id-from-client", "message-id-from-msa"])
@pytest.mark.parametrize(
    ("to", "expected", "merged"),
    [
        (["bob@b.test", "bob@b.test"], [("bob@b.test", "delivered")], 1),
        (["bob@B.TEST"], [("bob@b.test", "delivered")], 0),
        (["bob@B.test", "carol@b.test", "bob@b.test"], [("bob@b.test", "delivered"), ("carol@b.test", "delivered")], 1),
        (["alice"], [("alice@a.test", "delivered")], 0),  # qualified with the MSA's domain: alice's own box
        (["alice@A.test", "alice@a.test"], [("alice@a.test", "delivered")], 1),
        (["bob"], [("bob@a.test", "bounced"), ("alice@a.test", "delivered")], 0),  # bob@a.test: no such user
        # local parts fold at the mx: one user, one delivery, the row under the spelling listed first
        (["BOB@b.test"], [("BOB@b.test", "delivered")], 0),
        (["bob@b.test", "BOB@b.test"], [("bob@b.test", "delivered")], 1),
        (
            ["Carol@B.TEST", "carol@b.test", "CAROL"],
            [("Carol@b.test", "delivered"), ("CAROL@a.test", "bounced"), ("alice@a.test", "delivered")],
            1,
        ),
        (["ALICE", "alice@a.test"], [("ALICE@a.test", "delivered")], 1),  # the MSA's own domain: folded at mx1
    ],
)
def test_rewritten_and_repeated_recipients_are_followed(
    to: list[str], expected: list[tuple[str, str]], merged: int, headers: bool
) -> None:
    res, system = run({"send": [send(to, headers=headers)]})
    rows = res.messages
    assert sorted(zip(rows.rcpt_to, rows.status, strict=True)) == sorted(expected)
    assert res.summary["mail"]["merged_recipients"] == merged
    delivered = {rcpt.lower() for rcpt, status in expected if status == "delivered" and rcpt.endswith("b.test")}
    for rcpt in delivered:  # one copy in the mailbox, however often (and in whatever case) it was listed
        assert len(mailbox(system, "mx1", rcpt)) == 1


def test_the_queue_file_holds_a_recipient_listed_twice_once() -> None:
    res, _ = run({"send": [send(["bob@b.test", "BOB@b.test", "bob@B.test"])]})
    qmgr = [line for line in res.maillog.line if " msa postfix/qmgr" in line and "from=<alice@a.test>" in line]
    assert len(qmgr) == 1 and "nrcpt=2" in qmgr[0]  # bob@b.test and BOB@b.test (local parts keep their case)


def _exact(fold: bool) -> dict[str, bool]:
    """The mail section's key for exact local parts; folding is the default (so nothing is written for it)."""
    return {} if fold else {"fold_local_parts": False}


@pytest.mark.parametrize(
    ("fold", "to", "expected", "copies"),
    [
        (True, ["BOB@b.test"], [("BOB@b.test", "delivered")], 1),
        (False, ["BOB@b.test"], [("BOB@b.test", "bounced"), ("alice@a.test", "delivered")], 0),  # 550 5.1.1
        (
            False,
            ["bob@b.test", "BOB@b.test"],
            [("bob@b.test", "delivered"), ("BOB@b.test", "bounced"), ("alice@a.test", "delivered")],
            1,
        ),
    ],
)
def test_fold_local_parts_false_compares_local_parts_exactly(
    fold: bool, to: list[str], expected: list[tuple[str, str]], copies: int
) -> None:
    res, system = run({**_exact(fold), "send": [send(to)]})
    assert sorted(zip(res.messages.rcpt_to, res.messages.status, strict=True)) == sorted(expected)
    assert len(mailbox(system, "mx1", "bob@b.test")) == copies


def test_the_mx_logs_the_duplicate_it_removes() -> None:
    res, _ = run({"send": [send(["bob@b.test", "BOB@b.test"])]})
    log = list(res.maillog.line)
    (removed,) = [line for line in log if "duplicate recipient" in line]
    assert " mx1 postfix/cleanup[" in removed and removed.endswith(": duplicate recipient <BOB@b.test> removed (same "
                                                                  "as <bob@b.test>)")  # fmt: skip
    qid = removed.split(": ")[1]
    assert any(" mx1 postfix/qmgr[" in line and f"{qid}: " in line and "nrcpt=1 " in line for line in log)
    assert len([line for line in log if " mx1 postfix/local[" in line]) == 1


def test_rcpt_in_upper_case_at_the_mx_is_delivered_to_the_user() -> None:
    """RCPT TO:<BOB@B.TEST> on port 25: 250 (not 550 5.1.1 User unknown), filed in bob@b.test's mailbox."""
    commands = [b"EHLO far.test\r\n", b"MAIL FROM:<x@far.test>\r\n", b"RCPT TO:<BOB@B.TEST>\r\n", b"DATA\r\n",
                b"Subject: shout\r\n\r\nhi\r\n.\r\n", b"QUIT\r\n"]  # fmt: skip

    def script(env: simpy.Environment, system: Any) -> Generator[simpy.Event, Any, list[bytes]]:
        yield env.timeout(1.0)
        conn = yield system.stack.connect("relay", ("mx1", 25)).connected
        got = [(yield conn.recv_line())]
        for line in commands:
            conn.send(line)
            reply = yield conn.recv_line()
            while reply[3:4] == b"-":  # EHLO's lines: keep the last
                reply = yield conn.recv_line()
            got.append(reply)
        conn.close()
        return got

    _, system, replies = scripted({"send": [send(["carol@b.test"], at=50.0)]}, script)  # the send keeps the run going
    assert [r[:3] for r in replies] == [b"220", b"250", b"250", b"250", b"354", b"250", b"221"]
    (raw,) = mailbox(system, "mx1", "bob@b.test")
    assert raw.startswith(b"Delivered-To: bob@b.test\r\nReturn-Path: <x@far.test>\r\n")


@pytest.mark.parametrize(("login", "sender", "fold", "code"), [
    (b"alice@a.test", b"ALICE@ALPHA.TEST", True, b"550"),  # another domain is another address
    (b"alice@a.test", b"ALICE@A.TEST", True, b"250"),
    (b"ALICE@A.TEST", b"alice@a.test", True, b"250"),
    (b"Alice@a.test", b"aLiCe@A.test", True, b"250"),
    (b"alice@a.test", b"alice@A.test", False, b"250"),  # the domain compares case-insensitively either way
    (b"alice@a.test", b"ALICE@a.test", False, b"550"),  # 5.7.1: with exact local parts someone else's address
])  # fmt: skip
def test_mail_from_in_another_case_is_the_users_own(login: bytes, sender: bytes, fold: bool, code: bytes) -> None:
    import base64

    from mail_helpers import raw_session

    auth = b"AUTH PLAIN " + base64.b64encode(b"\0" + login + b"\0pw") + b"\r\n"
    lines = raw_session(_exact(fold), "msa", 587, [b"EHLO pc\r\n", auth, b"MAIL FROM:<" + sender + b">\r\n"])
    assert lines[-2].startswith(b"235") and lines[-1].startswith(code)


@pytest.mark.parametrize(("login", "fold", "code"), [
    (b"ALICE@A.TEST", True, b"235"), (b"alice@A.TEST", False, b"235"), (b"ALICE@a.test", False, b"535"),
])  # fmt: skip
def test_smtp_auth_login_in_any_case(login: bytes, fold: bool, code: bytes) -> None:
    import base64

    from mail_helpers import raw_session

    auth = b"AUTH PLAIN " + base64.b64encode(b"\0" + login + b"\0pw") + b"\r\n"
    lines = raw_session(_exact(fold), "msa", 587, [b"EHLO pc\r\n", auth])
    assert lines[-1].startswith(code)


def test_a_fetching_user_retrieves_mail_sent_to_another_case() -> None:
    """The copy is booked under bob@b.test's mailbox, where his POP3 client finds it (the row is released)."""
    res, _ = run({"users": users(bob={"protocol": "pop3", "interval": "30s"}), "send": [send(["BOB@b.test"])]})
    (row,) = res.messages.itertuples()
    assert row.status == "delivered" and row.retrieved_s == row.retrieved_s and row.retrieved_s >= row.delivered_s


_MIXED = ["bob@b.test", "bob@b.test", "carol@B.TEST", "alice", "BOB@b.test"]


def _mixed_scenario(tmp_path: Path, how: str) -> Path:
    """One message from alice to bob (three times, one in upper case), carol with an upper-case domain and a bare
    ``alice``, scripted in YAML or in a CSV trace, and a second message to bob alone."""
    data = copy.deepcopy(BASE)
    if how == "yaml":
        data["mail"]["send"] = [send(_MIXED, at=1.0), send(["bob@b.test"], at=2.0)]
    else:
        to = "; ".join(_MIXED)
        (tmp_path / "day.csv").write_text(f'at,from,to\n1,alice@a.test,"{to}"\n2,alice@a.test,bob@b.test\n')
        data["mail"]["send"] = {"file": "day.csv"}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("how", ["yaml", "csv"])
def test_repeated_folded_and_bare_recipients_are_one_delivery_each(tmp_path: Path, how: str) -> None:
    sim = Simulation(netlab.load_scenario(_mixed_scenario(tmp_path, how)))
    res = sim.execute()  # raises MailConservationError if a pair is unaccounted for
    system = sim.extensions[0]
    rows = res.messages
    first = rows[rows.submitted_s == 1.0]
    assert sorted(zip(first.rcpt_to, first.status, strict=True)) == [
        ("alice@a.test", "delivered"), ("bob@b.test", "delivered"), ("carol@b.test", "delivered")]  # fmt: skip
    assert res.summary["mail"]["merged_recipients"] == 2  # bob@b.test again, and BOB@b.test (at mx1)
    assert sim.extensions[0].counts["merged"] == 2 and res.summary["mail"]["messages"] == {"delivered": 4}
    # one copy of the first message per distinct recipient, and bob has the second message too
    assert [len(mailbox(system, "mx1", u)) for u in ("alice@a.test", "bob@b.test", "carol@b.test")] == [1, 2, 1]


def test_a_merged_pair_is_lost_with_the_row_it_went_into() -> None:
    """Conservation is a real check for merged pairs too: they are accounted for only through their row."""
    holds: list[int] = []
    tracker = Tracker(lambda: holds.append(1), lambda: holds.append(-1))
    bob, _ = tracker.create(None, "alice@a.test", ["bob@b.test", "BOB@b.test", "bob@b.test"], 0.0, 100,
                            message_id="<m@a.test>")  # fmt: skip
    tracker.alias("<m@a.test>", "BOB@b.test", "bob@b.test")  # the mx's cleanup: one user
    assert [r.rcpt for r in tracker.rows] == ["bob@b.test"] and tracker.merged == 2 and sum(holds) == 1
    queued = {("<m@a.test>", "bob@b.test")}
    assert tracker.check(queued, set())["merged"] == 2
    tracker.rows.remove(bob)  # a model bug: the row the others went into vanishes
    with pytest.raises(MailConservationError) as info:
        tracker.check(queued, set())
    assert info.value.lost == [("<m@a.test>", "bob@b.test")] * 2  # listed twice, and as BOB@b.test
    text = str(info.value)
    assert "2 (message, recipient) pair(s)" in text and "to <bob@b.test> (written <BOB@b.test>)" in text
    assert "merged into <bob@b.test> of the same message, a row no longer in the books" in text


def _leaky(sim: Simulation, host: str, at: float) -> None:
    """At *at* the MTA on *host* loses its queue files without a word (a model bug the check must catch)."""
    system = sim.extensions[0]

    def leak() -> Generator[simpy.Event, Any, None]:
        yield sim.env.timeout(at)
        system.mtas[host].queue.entries.clear()

    sim.env.process(leak())


def test_a_lost_pair_is_reported_with_its_maillog_lines_and_last_place() -> None:
    mail = {"queue": {"connect_timeout": "5s"}, "send": [send(["bob@b.test", "carol@b.test"], at=1.0)]}
    faults = [{"at": "0.01s", "node": node, "action": "down"} for node in ("mx1", "mx2")]
    sim = Simulation(scenario(mail, faults=faults, run={"until": "200s", "bin": "1000s"}))
    _leaky(sim, "msa", 100.0)
    with pytest.raises(MailConservationError) as info:
        sim.execute()
    err = info.value
    text = str(err)
    assert "2 (message, recipient) pair(s)" in text
    assert sorted(rcpt for _, rcpt in err.lost) == ["bob@b.test", "carol@b.test"]
    qid = sim.extensions[0].tracker.rows[0].hops[-1][1]
    assert f"last taken by msa as queue file {qid} at 1." in text
    assert "maillog: " in text and "postfix/cleanup" in text and f"{qid}: message-id=" in text
    # the run is not thrown away: the results are there, and say which check failed
    assert isinstance(err.results, netlab.Results)
    assert err.results.summary["check_failed"] == [text]
    assert sorted(err.results.messages.status) == ["in_transit", "in_transit"]


def test_a_pair_lost_before_any_mta_names_its_mail_program(monkeypatch: pytest.MonkeyPatch) -> None:
    def forgetful(self: Mua, token: int, *_: object) -> Generator[simpy.Event, Any, None]:
        del self.holding[token]  # the mail program drops the submission without a word
        yield self.env.timeout(0)

    monkeypatch.setattr(Mua, "_run", forgetful)
    with pytest.raises(MailConservationError) as info:
        run({"send": [send(["bob@b.test"], at=1.0)]})
    assert "to <bob@b.test>, submitted at 1 s: never taken by an MTA; its mail program on pc no longer holds it" in (
        str(info.value)
    )
    assert "maillog: no line names it" in str(info.value)


@pytest.mark.parametrize("reported", [("BOB",), ("BOB@a.test",), ("bob@a.test",), ("BOB", "BOB@a.test", "bob@a.test")])
def test_events_under_an_old_spelling_find_the_row_once(reported: tuple[str, ...]) -> None:
    """A rewrite chain (the MSA qualifies BOB, the mx folds BOB@a.test into bob@a.test): a transaction reported
    under any spelling, or all of them, is the row's once."""
    from netlab.mail.tracker import HopRecord

    tracker = Tracker(lambda: None, lambda: None)
    bob, upper = tracker.create(None, "x@a.test", ["bob@a.test", "BOB"], 0.0, 10, message_id="<m@a.test>")
    tracker.alias("<m@a.test>", "BOB", "BOB@a.test")
    tracker.alias("<m@a.test>", "BOB@a.test", "bob@a.test")
    assert tracker.rows == [bob] and upper.merged_into is bob and tracker.rewritten("<m@a.test>", "BOB") == "bob@a.test"
    rec = HopRecord("msa", "mx1", 25, 0.0, 1.0, 250, "2.0.0", "<m@a.test>", reported, len(reported), 10)
    tracker.transaction(rec)
    assert bob.transactions == [rec]
