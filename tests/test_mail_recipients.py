"""The books follow a recipient through the MSA's rewrites, and a lost one is reported with where it was last seen.

A recipient listed twice, an upper-case domain, a bare local part in ``to:``: the MSA qualifies (RFC 6409 §4.2),
folds the domain's case (DNS names compare case-insensitively, RFC 4343) and queues a recipient once (Postfix's
cleanup removes duplicates), and the run ends with every (message, recipient) accounted for.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
import simpy
from mail_helpers import mailbox, run, scenario, send

import netlab
from netlab.experiment.runner import Simulation
from netlab.mail.clients.mua import Mua
from netlab.mail.tracker import MailConservationError


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
    ],
)
def test_rewritten_and_repeated_recipients_are_followed(
    to: list[str], expected: list[tuple[str, str]], merged: int, headers: bool
) -> None:
    res, system = run({"send": [send(to, headers=headers)]})
    rows = res.messages
    assert sorted(zip(rows.rcpt_to, rows.status, strict=True)) == sorted(expected)
    assert res.summary["mail"]["merged_recipients"] == merged
    delivered = {rcpt for rcpt, status in expected if status == "delivered" and rcpt.endswith("b.test")}
    for rcpt in delivered:  # one copy in the mailbox, however often it was listed
        assert len(mailbox(system, "mx1", rcpt)) == 1


def test_the_queue_file_holds_a_recipient_listed_twice_once() -> None:
    res, _ = run({"send": [send(["bob@b.test", "BOB@b.test", "bob@B.test"])]})
    qmgr = [line for line in res.maillog.line if " msa postfix/qmgr" in line and "from=<alice@a.test>" in line]
    assert len(qmgr) == 1 and "nrcpt=2" in qmgr[0]  # bob@b.test and BOB@b.test (local parts keep their case)


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
