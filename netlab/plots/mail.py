"""Mail figures: the life of one message as a timeline (submission, each SMTP transaction between MTAs, the
queue waits in between, filing into the mailbox and retrieval by the recipient's client), and the delivery-time
CDF over every (message, recipient) pair, per strategy of a comparison; each MTA's queue lengths over time and a
Gantt chart of the retries of every deferred queue file.

Takes :class:`netlab.Results` of a run with mail and an optional Axes, returns the Axes; matplotlib is imported
inside, so ``import netlab`` never pays for it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, cast

from netlab.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from netlab.experiment.comparison import Comparison
    from netlab.results import Results

__all__ = [
    "mail_pairs",
    "message_stages",
    "plot_mail_delivery_cdf",
    "plot_mail_queues",
    "plot_message_timeline",
    "plot_retries",
]


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
    row = chosen_message(results, message_id, rcpt)
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
    """A Gantt-style timeline of one message's stages (seconds since submission on the x axis); node and link
    faults of the scenario during the message's life are hatched red and named in the legend."""
    from netlab.plots.bars import bars
    from netlab.plots.network import mark_faults

    stages = message_stages(results, message_id, rcpt)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(9, 0.45 * len(stages) + 1.5))
    t0 = stages[0][1] if stages else 0.0
    colours = {"queue": "#bbbbbb", "SMTP": "#1f77b4", "file": "#2ca02c", "wait": "#ff7f0e"}
    lengths = [max(end - start, 0.0) for _, start, end in stages]
    bars(ax, range(len(stages)), lengths, start=[s - t0 for _, s, _ in stages], labels=[f"{d:.3g} s" for d in lengths],
         horizontal=True, color=[colours.get(label.split()[0], "#9467bd") for label, _, _ in stages])  # fmt: skip
    spans = sorted(end - start for _, start, end in stages if end > start)
    if spans and spans[-1] > 100 * spans[len(spans) // 2]:
        # Minutes waiting for the client next to milliseconds on the wire: a log-like axis shows both.
        ax.set_xscale("symlog", linthresh=max(spans[0], 1e-3))
    ax.set_yticks(range(len(stages)), [s[0] for s in stages], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("time since submission (s" + (", symlog scale)" if ax.get_xscale() != "linear" else ")"))
    row = chosen_message(results, message_id, rcpt)
    ax.set_title(f"{row['message_id']} to {row['rcpt_to']}", fontsize=9)
    if stages:  # the faults that could have touched this message: those during its life
        mark_faults(ax, getattr(results, "scenario", None), stages[-1][2], start_s=t0, origin_s=t0, legend=True)
    from matplotlib.patches import Patch

    # a colour key for the stage kinds drawn, below the axes so it never covers a bar
    names = {"queue": "queue wait", "SMTP": "SMTP transaction", "file": "filing into the mailbox",
             "wait": "waiting for the mail program"}  # fmt: skip
    kinds = list(dict.fromkeys(label.split()[0] for label, _, _ in stages))
    handles = [Patch(color=colours.get(k, "#9467bd"), label=names.get(k, k)) for k in kinds]
    handles += [p for p in ax.patches if p.get_gid() == "fault"]
    if handles:
        fig = ax.get_figure(root=True)
        height_in = ax.get_position().height * (fig.get_figheight() if fig is not None else 4.0)  # below the x label
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.6 / max(height_in, 0.5)),
                  ncol=min(len(handles), 4), fontsize=8, frameon=False)  # fmt: skip
    return ax


def mail_pairs(source: Results | Comparison) -> pd.DataFrame:
    """Every (message, recipient) pair of mail: ``strategy, status, delivery_s`` (s, NaN unless delivered), from a
    comparison's ``mail`` table (all replications) or a run's ``messages`` (strategy: the run's routing)."""
    import pandas as pd

    mail = getattr(source, "mail", None)
    if isinstance(mail, pd.DataFrame):  # a Comparison
        return mail[["strategy", "status", "delivery_s"]]
    tables = getattr(source, "tables", {})
    if "messages" not in tables:
        raise ConfigError("mail delivery CDF: these results have no mail (no 'messages' table)")
    m = tables["messages"]
    m = m[m["kind"] == "mail"]
    delay = (m["delivered_s"] - m["submitted_s"]).where(m["status"] == "delivered")
    label = str(getattr(source, "meta", {}).get("routing", "run")).split("(")[0]
    return pd.DataFrame({"strategy": label, "status": m["status"].astype(str), "delivery_s": delay.astype(float)})


def plot_mail_delivery_cdf(source: Results | Comparison, ax: Axes | None = None, *,
                           strategies: list[str] | None = None, log: bool = True) -> Axes:  # fmt: skip
    """The fraction of all (message, recipient) pairs delivered within t seconds of submission, one line per
    strategy (replications pooled).

    Every pair counts in the denominator, so a curve ends at the delivered share: the gap below 1 is the pairs
    that bounced, were rejected or are still queued when the run ends, and the legend says how many of each.
    *log*: a log time axis (default), since delivery times run from milliseconds to the queue's retry minutes.
    """
    import numpy as np

    pairs = mail_pairs(source)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 4.5))
    labels = strategies if strategies is not None else list(dict.fromkeys(pairs["strategy"]))
    for label in labels:
        mine = pairs[pairs["strategy"] == label]
        if not len(mine):
            continue
        d = np.sort(mine["delivery_s"].dropna().to_numpy(dtype=float))
        y = np.arange(1, len(d) + 1) / len(mine)
        others = mine.loc[mine["status"] != "delivered", "status"].value_counts()
        gap = ", ".join(f"{n} {st}" for st, n in others.items()) or "none undelivered"
        text = f"{label}: {len(d)}/{len(mine)} delivered ({gap})"
        if len(d):
            # start the step at the first delivery so the curve shows the jump to its first fraction
            ax.step(np.r_[d[0], d], np.r_[0.0, y], where="post", label=text)
        else:
            ax.plot([], [], label=text)
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    if log:
        ax.set_xscale("log")
    ax.set_xlabel("submission to mailbox (s" + (", log scale)" if log else ")"))
    ax.set_ylabel("fraction of all (message, recipient) pairs")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0, -0.18), frameon=False)
    ax.set_title("mail delivery time (gap below 1: bounced, rejected or still queued)")
    return ax


def chosen_message(results: Results, message_id: str | None = None, rcpt: str | None = None) -> Any:
    """The ``messages`` row of one (message, recipient): of *message_id* and *rcpt* where given, a delivered one
    first (default: the first delivered mail); a ConfigError when there is none."""
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
    return rows.iloc[0]


def _table(results: Results, name: str, what: str) -> pd.DataFrame:
    table = getattr(results, "tables", {}).get(name)
    if table is None:
        raise ConfigError(f"{what}: these results have no mail (no {name!r} table)")
    return cast("pd.DataFrame", table)


def plot_mail_queues(results: Results, ax: Axes | None = None, *, mtas: list[str] | None = None) -> Axes:
    """Messages (queue files) in each MTA's queue over time, from ``Results.mail_queues``: one line per MTA
    (incoming + active + deferred, solid) and its deferred part (dashed, same colour). MTAs whose queue stays
    empty are left out unless named in *mtas*; the legend says how many."""
    q = _table(results, "mail_queues", "mail queues")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(9, 4))
    total = q["incoming"] + q["active"] + q["deferred"]
    names = mtas if mtas is not None else [m for m in dict.fromkeys(q["mta"]) if total[q["mta"] == m].max() > 0]
    for name in names:
        mine = q["mta"] == name
        (line,) = ax.step(q.loc[mine, "time_s"], total[mine], where="post", label=f"{name} (all)")
        if q.loc[mine, "deferred"].max() > 0:
            ax.step(q.loc[mine, "time_s"], q.loc[mine, "deferred"], where="post", ls="--", color=line.get_color(),
                    label=f"{name} deferred")  # fmt: skip
    empty = q["mta"].nunique() - len(names)
    if empty > 0 and mtas is None:
        ax.plot([], [], " ", label=f"({empty} MTAs with an empty queue throughout not drawn)")
    if len(q):  # a crashed MX is why a queue grows: show when it was down
        from netlab.plots.network import mark_faults

        mark_faults(ax, getattr(results, "scenario", None), float(q["time_s"].max()),
                    start_s=float(q["time_s"].min()), legend=True)  # fmt: skip
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("messages in queue")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.set_title("MTA queue lengths (sampled at each bin boundary)")
    return ax


_RESULT_STYLE = {"sent": ("#2ca02c", "o"), "deferred": ("#ff7f0e", "x"), "bounced": ("#d62728", "s")}


def plot_retries(results: Results, ax: Axes | None = None, *, host: str | None = None, limit: int = 40) -> Axes:
    """A retry Gantt from ``Results.mail_attempts``: one row per queue file (host:queue_id) that was deferred at
    least once (of *host* only, if given; the first *limit* by first attempt), a grey bar from its first deferral
    to its last attempt (the time it waited in the deferred queue between attempts), and each attempt marked at its
    time with its result (sent, deferred, bounced; one mark per attempt, the recipients of one attempt merged)."""
    a = _table(results, "mail_attempts", "retry chart")
    if host is not None:
        a = a[a["host"] == host]
    keys = a["host"] + ":" + a["queue_id"]
    deferred = list(dict.fromkeys(keys[a["result"] == "deferred"]))
    shown = deferred[:limit]
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(9, 0.25 * len(shown) + 1.8))
    from netlab.plots.bars import bars
    from netlab.plots.network import mark_faults

    firsts, waits = [], []
    for i, key in enumerate(shown):
        mine = a[keys == key]
        first = float(mine.loc[mine["result"] == "deferred", "time_s"].min())
        firsts.append(first)
        waits.append(float(mine["time_s"].max()) - first)
        for result, (colour, marker) in _RESULT_STYLE.items():
            times = sorted(set(mine.loc[mine["result"] == result, "time_s"]))
            ax.scatter(times, [i] * len(times), color=colour, marker=marker, s=18, zorder=3)
    # a file deferred once and not tried again before the run ended waited 0 s between attempts: "0 s"
    bars(ax, range(len(shown)), waits, start=firsts, horizontal=True, zero_label="0 s", height=0.5, color="#cccccc")
    from matplotlib.patches import Patch

    handles: list[Any] = [ax.scatter([], [], color=colour, marker=marker, label=f"attempt {result}")
                          for result, (colour, marker) in _RESULT_STYLE.items()]  # fmt: skip
    handles.append(Patch(color="#cccccc", label="waiting in deferred"))  # a patch: an empty barh has no colour
    if shown:  # the faults while they waited (what deferred them, most likely)
        end = max(f + w for f, w in zip(firsts, waits, strict=True))
        mark_faults(ax, getattr(results, "scenario", None), end, start_s=min(firsts), legend=True)
        handles += [p for p in ax.patches if p.get_gid() == "fault"]
    ax.set_yticks(range(len(shown)), shown, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("simulated time (s)")
    more = f", first {limit} of {len(deferred)} shown" if len(deferred) > limit else ""
    ax.set_title(f"retries per deferred queue file ({len(deferred)} deferred{more})")
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return ax
