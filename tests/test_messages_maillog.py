"""``messages`` joined to ``maillog`` on (host, queue_id); the subject and trace row of each message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import netlab
from netlab.mail.maillog import queue_files

SEED = Path(__file__).resolve().parents[1] / "topologies" / "seed.yaml"


@pytest.fixture(scope="module")
def seed_run() -> Any:
    """The bundled mail scenario for 30 minutes: relays, the backup MX while mx-b1 is down, bounces and DSNs."""
    return netlab.run(netlab.load_scenario(SEED).override("run.until=30min"))


def test_every_delivered_pair_finds_its_delivery_line(seed_run: Any) -> None:
    """A delivered (message, recipient)'s (host, queue_id) is the final MX's queue file: merged with the
    maillog it finds exactly one line of local's, ``to=<rcpt>, relay=local, ... status=sent``, naming its UID."""
    m, log = seed_run.messages, seed_run.maillog
    delivered = m[m.status == "delivered"]
    assert len(delivered) > 50 and (delivered.kind == "dsn").any()
    joined = delivered.merge(log, on=["host", "queue_id"], suffixes=("", "_log"))
    local = joined[(joined.program == "local") & (joined.to == joined.rcpt_to) & (joined.status_log == "sent")]
    assert local.groupby(["message_id", "rcpt_to"]).size().to_dict() == dict.fromkeys(
        zip(delivered.message_id, delivered.rcpt_to, strict=True), 1
    )
    uid = local.mailbox_uid.str.split(".").str[1]
    assert all(text.endswith(f"as UID {u})") for text, u in zip(local.text, uid, strict=True))


def test_the_last_hop_is_where_an_unfinished_or_refused_pair_stands(seed_run: Any) -> None:
    """Bounced: the MTA that gave up logged ``status=bounced`` for the recipient in that queue file; rejected at
    submission: no MTA took it, so no key (and no maillog line matches an empty one)."""
    m, log = seed_run.messages, seed_run.maillog
    bounced = m[m.status == "bounced"].merge(log, on=["host", "queue_id"], suffixes=("", "_log"))
    assert len(bounced) and set(bounced[bounced.to == bounced.rcpt_to].status_log.dropna()) >= {"bounced"}
    rejected = m[m.status == "rejected"]
    assert len(rejected) and (rejected.host == "").all() and (rejected.queue_id == "").all()
    assert rejected.merge(log, on=["host", "queue_id"]).empty


def test_queue_files_join_every_hop_to_its_lines(seed_run: Any) -> None:
    """Each MTA a pair passed logged cleanup's ``message-id=`` for it under the hop's queue id at the time the
    tracker booked; every hop but the last logged the relay's ``status=sent`` (or a deferral) for the recipient."""
    m, log = seed_run.messages, seed_run.maillog
    hops = queue_files(m[m.kind == "mail"])
    assert len(hops) == m[m.kind == "mail"].mail_hops.sum() and hops.hop.max() >= 4
    cleanup = hops.merge(log[log.program == "cleanup"], on=["host", "queue_id"])
    assert len(cleanup.drop_duplicates(["message_id", "rcpt_to", "hop"])) == len(hops)
    assert (cleanup.text == "message-id=" + cleanup.message_id).all()
    assert (cleanup.time_s - cleanup.received_s).abs().max() < 1e-6  # hop_times_s keeps microseconds
    last = hops.groupby(["message_id", "rcpt_to"]).hop.transform("max")
    relayed = hops[hops.hop < last].merge(log[log.program == "smtp"], on=["host", "queue_id"])
    relayed = relayed[relayed.to == relayed.rcpt_to]
    assert set(relayed.status.dropna()) <= {"sent", "deferred"}
    assert len(relayed[relayed.status == "sent"].drop_duplicates(["message_id", "rcpt_to", "hop"])) == (
        len(hops[hops.hop < last])
    )


def test_subjects_are_as_written(seed_run: Any) -> None:
    m = seed_run.messages
    mail, dsn = m[m.kind == "mail"], m[m.kind == "dsn"]
    assert mail.subject.str.fullmatch(r"Message \d+").all()
    assert set(dsn.subject) == {"Undelivered Mail Returned to Sender"}
    assert m.trace_row.isna().all() and str(m.trace_row.dtype) == "Int64"  # the workload's mail has no trace row


def test_traced_mail_carries_its_trace_row_and_subject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A send file's messages carry their data row (the header not counted, a blank line skipped, as the
    reader's errors count rows) and their Subject: decoded, also after save and load."""
    (tmp_path / "day.csv").write_text(
        "at,from,to,subject\n"
        "5,alice@alpha.example,dave@beta.example erin@beta.example,Grüße aus alpha\n"
        "\n"
        "20,frank@gamma.example,heidi@beta.example,\n"
        "40,bob@alpha.example,nobody@beta.example,lost\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    s = netlab.load_scenario(SEED).override("mail.workload=null", "mail.send={file: day.csv}", "run.until=5min")
    res = netlab.run(s)
    res.save(tmp_path / "out")
    for m in (res.messages, netlab.load_results(tmp_path / "out").messages):
        mail = m[m.kind == "mail"].set_index("rcpt_to")
        assert mail.trace_row.to_dict() == {"dave@beta.example": 1, "erin@beta.example": 1,
                                            "heidi@beta.example": 2, "nobody@beta.example": 3}  # fmt: skip
        greeting = "Grüße aus alpha"
        assert mail.subject.to_dict() == {"dave@beta.example": greeting, "erin@beta.example": greeting,
                                          "heidi@beta.example": "Hello", "nobody@beta.example": "lost"}  # fmt: skip
        assert m[m.kind == "dsn"].trace_row.isna().all()
