"""``mail_attempts`` (one row per delivery attempt, from the maillog) and the queue and retry figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import netlab
from netlab.mail.maillog import parse_fields

SEED = Path(__file__).resolve().parents[1] / "topologies" / "seed.yaml"


@pytest.fixture(scope="module")
def pulled() -> Any:
    """The seed scenario with mx-b1's cable pulled from 5 s to 15 min (notebook 10's fault): relay-a falls back to
    mx-b2, which defers beta's mail and retries it at its scans until the cable is back."""
    s = netlab.load_scenario(SEED).override(
        "run.until=30min",
        "faults=[{at: 5s, link: [mx-b1, r-beta], action: down}, {at: 15min, link: [mx-b1, r-beta], action: up}]",
    )
    return netlab.run(s)


def test_attempts_match_the_status_lines_one_to_one(pulled: Any) -> None:
    """Every delivery agent's ``status=sent|deferred|bounced`` line is one attempt row, in order, with its host,
    queue id, recipient, result, DSN and reply; attempt numbers count 1, 2, ... per (host, queue id, rcpt)."""
    log, att = pulled.maillog, pulled.mail_attempts
    lines = log[log.status.isin(["sent", "deferred", "bounced"])]
    assert len(att) == len(lines) > 0
    assert set(att.result) == {"sent", "deferred", "bounced"}  # the fault deferred some, 4 bounced
    for (_, line), row in zip(lines.iterrows(), att.itertuples(), strict=True):
        f = parse_fields(line.text)
        assert (row.time_s, row.host, row.queue_id, row.rcpt, row.result, row.dsn, row.reply) == (
            line.time_s, line.host, line.queue_id, f["to"], f["status"], f["dsn"], f["reply"])  # fmt: skip
        relay = f["relay"]
        expected = relay if row.dest_ip == "" else f"{row.dest_host}[{row.dest_ip}]:{row.dest_port}"
        assert relay == expected
    counts = att.groupby(["host", "queue_id", "rcpt"]).attempt.agg(list)
    assert all(a == list(range(1, len(a) + 1)) for a in counts)
    assert counts.map(len).max() > 1  # some recipient was retried
    # a deferred attempt towards the unreachable primary MX names its IP and the timeout
    dead = att[(att.result == "deferred") & (att.dest_host == "mx-b1.beta.example")]
    assert len(dead) and (dead.dest_ip == "10.0.0.10").all() and dead.reply.str.contains("timed out").all()


def test_attempts_carry_the_message_id_of_their_queue_file(pulled: Any) -> None:
    """``message_id`` joins ``messages``: each attempt's (host, queue id) is one of that message's hops."""
    from netlab.mail.maillog import queue_files

    hops = queue_files(pulled.messages)[["message_id", "host", "queue_id"]].drop_duplicates()
    att = pulled.mail_attempts
    joined = att.merge(hops, on=["host", "queue_id"], how="left", suffixes=("", "_hop"))
    assert len(joined) == len(att) and (joined.message_id == joined.message_id_hop).all()


def test_retry_gantt_draws_one_bar_per_deferred_queue_file(pulled: Any) -> None:
    import matplotlib.pyplot as plt

    from netlab.plots.mail import plot_retries

    att = pulled.mail_attempts
    deferred = (att[att.result == "deferred"].host + ":" + att[att.result == "deferred"].queue_id).nunique()
    fig, ax = plt.subplots()
    try:
        assert plot_retries(pulled, ax=ax, limit=10_000) is ax
        bars = [p for p in ax.patches if p.get_gid() != "fault"]  # the pulled cable is hatched as a fault too
        assert len(bars) == deferred > 0 and len(ax.patches) - len(bars) == 1
        assert ax.get_yticklabels()[0].get_text().startswith(("mx-b2:", "relay-a:", "msa-"))
        assert ax.get_xlabel() == "simulated time (s)"
    finally:
        plt.close(fig)
    fig, ax = plt.subplots()
    try:
        plot_retries(pulled, ax=ax, limit=3)
        bars = [p for p in ax.patches if p.get_gid() != "fault"]
        assert len(bars) == min(3, deferred) and f"first 3 of {deferred}" in ax.get_title()
    finally:
        plt.close(fig)


def test_queue_plot_draws_the_busy_mtas(pulled: Any) -> None:
    import matplotlib.pyplot as plt

    from netlab.plots.mail import plot_mail_queues

    fig, ax = plt.subplots()
    try:
        assert plot_mail_queues(pulled, ax=ax) is ax
        labels = [line.get_label() for line in ax.get_lines()]
        assert "mx-b2 deferred" in labels  # the backup MX piled up deferred mail
        q = pulled.mail_queues
        b2 = next(line for line in ax.get_lines() if line.get_label() == "mx-b2 (all)")
        assert max(b2.get_ydata()) == (q[q.mta == "mx-b2"][["incoming", "active", "deferred"]].sum(axis=1)).max()
        assert ax.get_ylabel() == "messages in queue"
    finally:
        plt.close(fig)


def test_run_plot_writes_the_queue_and_retry_figures(tmp_path: Path, capsys: Any) -> None:
    from netlab.cli import main

    assert main(["run", str(SEED), "-o", str(tmp_path), "--plot", "--set", "run.until=20min", "--set",
                 "faults=[{at: 5s, link: [mx-b1, r-beta], action: down}]"]) == 0  # fmt: skip
    for png in ("mail_queues.png", "mail_retries.png"):
        assert (tmp_path / png).stat().st_size > 5000, png
    capsys.readouterr()
