"""The life of one message as a timeline: submission, each SMTP transaction between MTAs, the queue waits in
between, filing into the mailbox and retrieval by the recipient's client.

Takes :class:`netlab.Results` of a run with mail and an optional Axes, returns the Axes; matplotlib is imported
inside, so ``import netlab`` never pays for it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from netlab.errors import ConfigError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from netlab.results import Results

__all__ = ["message_stages", "plot_message_timeline"]


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def message_stages(
    results: Results, message_id: str | None = None, rcpt: str | None = None
) -> list[tuple[str, float, float]]:
    """The stages of one (message, recipient) as ``(label, start_s, end_s)``, in time order.

    Waits are ``queue at HOST``; SMTP transactions carrying the message are ``SMTP CLIENT -> SERVER``; then
    ``file into mailbox`` and ``wait for the client`` (until ``retrieved_s``). Default: the first delivered mail.
    """
    if "messages" not in results.tables:
        raise ConfigError("message timeline: these results have no mail (no 'messages' table)")
    m = results.tables["messages"]
    rows = m[m["kind"] == "mail"]
    if message_id is not None:
        rows = rows[rows["message_id"] == message_id]
    if rcpt is not None:
        rows = rows[rows["rcpt_to"] == rcpt]
    delivered = rows[rows["status"] == "delivered"]
    if len(delivered):
        rows = delivered
    if not len(rows):
        raise ConfigError(f"message timeline: no mail row for message_id={message_id!r}, rcpt={rcpt!r}")
    row = rows.iloc[0]
    hosts = str(row["hop_hosts"]).split() if isinstance(row["hop_hosts"], str) else []
    times = [float(t) for t in str(row["hop_times_s"]).split()] if isinstance(row["hop_times_s"], str) else []
    stages: list[tuple[str, float, float]] = []
    hops = results.tables.get("mail_hops")
    mine = hops[hops["message_id"] == row["message_id"]] if hops is not None and len(hops) else None
    t_prev, where = float(row["submitted_s"]), "client"
    for host, t in zip(hosts, times, strict=False):
        # The transaction that brought the message to *host*: the last one to it that had started by the time
        # *host* took responsibility (its 250 after DATA, time *t*); what follows (QUIT) is not this message's.
        tx = None
        if mine is not None:
            cands = mine[(mine["server"] == host) & (mine["start_s"] <= t + 1e-9)].sort_values("start_s")
            tx = cands.iloc[-1] if len(cands) else None
        start = float(tx["start_s"]) if tx is not None else t_prev
        if start > t_prev:
            stages.append((f"queue at {where}", t_prev, start))
        stages.append((f"SMTP {tx['client'] if tx is not None else where} -> {host}", max(start, t_prev), t))
        where, t_prev = host, t
    mailbox = _num(row.get("mailbox_s", math.nan))
    end = mailbox if not math.isnan(mailbox) else _num(row["delivered_s"])
    if not math.isnan(end) and end >= t_prev - 1e-6:  # hop times are printed to the microsecond
        end = max(end, t_prev)
        stages.append(("file into mailbox", t_prev, end))
        retrieved = _num(row.get("retrieved_s", math.nan))
        if not math.isnan(retrieved) and retrieved >= end:
            stages.append(("wait for the client", end, retrieved))
    return stages


def plot_message_timeline(results: Results, message_id: str | None = None, rcpt: str | None = None,
                          ax: Axes | None = None) -> Axes:  # fmt: skip
    """A Gantt-style timeline of one message's stages (seconds since submission on the x axis)."""
    stages = message_stages(results, message_id, rcpt)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(9, 0.45 * len(stages) + 1.5))
    t0 = stages[0][1] if stages else 0.0
    colours = {"queue": "#bbbbbb", "SMTP": "#1f77b4", "file": "#2ca02c", "wait": "#ff7f0e"}
    for i, (label, start, end) in enumerate(stages):
        ax.barh(i, max(end - start, 1e-6), left=start - t0, color=colours.get(label.split()[0], "#9467bd"))
        ax.annotate(f"{end - start:.3g} s", (end - t0, i), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=7)  # fmt: skip
    spans = sorted(end - start for _, start, end in stages if end > start)
    if spans and spans[-1] > 100 * spans[len(spans) // 2]:
        # Minutes waiting for the client next to milliseconds on the wire: a log-like axis shows both.
        ax.set_xscale("symlog", linthresh=max(spans[0], 1e-3))
    ax.set_yticks(range(len(stages)), [s[0] for s in stages], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since submission")
    ax.set_title("one message's life")
    return ax
