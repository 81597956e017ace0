"""``netlab run SCENARIO``: run, print a summary, save results and (with --plot) figures."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from netlab._rows import rows
from netlab.errors import ConfigError, SimulationError
from netlab.experiment.runner import run
from netlab.results import Results
from netlab.scenario.files import load_scenario

__all__ = ["format_summary", "run_command"]


def format_summary(res: Results) -> str:
    """A plain-text summary: run totals, a per-flow table, the five busiest links."""
    s = res.summary
    drops = ", ".join(f"{k} {v}" for k, v in s["dropped_by_reason"].items() if v) or "none"
    lines = [
        f"scenario {res.meta['scenario_name']!r}  seed {res.meta['seed']}  routing {res.meta['routing']}",
        f"simulated {s['sim_time_s']:.6g} s (stop: {s['stop_reason']}) in {res.meta['run_s']:.3f} s of wall time",
        (
            f"packets: injected {s['injected']}, delivered {s['delivered']}, dropped {s['dropped']} ({drops}), "
            f"in flight {s['in_flight']}  [conservation checked]"
        ),
        "",
        f"{'flow':<10} {'src->dst':<16} {'tx':>8} {'rx':>8} {'lost':>7} {'delay ms':>9} {'jitter ms':>9} {'hops':>5}",
    ]
    lines.extend(
        f"{r.flow:<10} {r.src + '->' + r.dst:<16} {r.tx_packets:>8} {r.rx_packets:>8} {r.lost_packets:>7} "
        f"{r.delay_mean_s * 1e3:>9.3f} {r.jitter_mean_s * 1e3:>9.3f} {r.hops_mean:>5.2f}"
        for r in rows(res.flows)
    )
    lines += ["", f"{'busiest links':<22} {'util':>6} {'queue':>7} {'packets':>9} {'drops':>6}"]
    for r in rows(res.links.sort_values("utilisation", ascending=False).head(5)):
        lines.append(f"{r.link:<22} {r.utilisation:>6.1%} {r.queue_mean_packets:>7.3f} {r.packets:>9} {r.drops:>6}")
    if "mail" in s:
        lines += ["", *format_mail_summary(res)]
    return "\n".join(lines)


def format_mail_summary(res: Results) -> list[str]:
    """Mail statistics: counts by status, where delivered mail ended, the fetch sessions, and the time from
    submission to the recipient's screen split by stage (percentiles), then the wait per kind of mail program."""
    m = res.summary["mail"]
    msgs = res.messages
    mail = msgs[msgs.kind == "mail"]
    counts = ", ".join(f"{k} {v}" for k, v in sorted(m["messages"].items())) or "none"
    dsns = ", ".join(f"{k} {v}" for k, v in sorted(m["dsns"].items())) or "none"
    lines = [
        (f"mail: {m['submissions']} submissions, {len(mail)} (message, recipient) pairs: {counts}  "
         "[mail conservation checked]"),
        (f"bounces (DSNs): {dsns}; SMTP transactions {m['smtp_transactions']}, DNS queries {m['dns_queries']}, "
         f"still queued {m['queued_messages']} messages"),
    ]  # fmt: skip
    if m.get("scripted_after_until"):
        lines.insert(1, f"not submitted: {m['scripted_after_until']} scripted messages at or after run.until")
    fetches = res.tables.get("fetch_sessions")
    if fetches is not None and len(fetches):
        per = [f"{str(p).upper()} {len(g)} ({int(g.commands.sum())} commands, {_mb(g)} MB)"
               for p, g in fetches.groupby("protocol")]  # fmt: skip
        ends = m.get("delivered_ends", {})
        lines.append(
            f"delivered pairs (DSNs too) still in a mailbox {ends.get('in_mailboxes', 0)}, read and deleted "
            f"{ends.get('retrieved_and_deleted', 0)}, deleted unread {ends.get('deleted_unread', 0)}"
        )
        lines.append(f"fetch sessions: {', '.join(per)}; retrieved {m.get('retrieved', 0)} pairs")
    done = mail[mail.status == "delivered"]
    if not len(done):
        return lines
    seen = done[done.retrieved_s.notna()]
    stages = {
        "submission (MUA -> MSA queued)": seen.first_mta_s - seen.submitted_s,
        "transfer (MSA -> final MX)": seen.accepted_by_final_mx_s - seen.first_mta_s,
        "delivery (final MX -> mailbox)": seen.mailbox_s - seen.accepted_by_final_mx_s,
        "waiting (mailbox -> fetched)": seen.retrieved_s - seen.mailbox_s,
        "end to end (to the screen)": seen.retrieved_s - seen.submitted_s,
    }
    if len(seen):
        lines.append(f"{f'time to the screen (s), {len(seen)} pairs':<34} {'p50':>9} {'p95':>9} {'p99':>9} {'max':>9}")
        lines += [_quantiles(name, x) for name, x in stages.items()]
    lines.append(_quantiles(f"to the mailbox, all {len(done)} delivered", done.delivered_s - done.submitted_s))
    programs = _programs(res)
    if len(seen) and programs:
        lines.append(f"{'waiting, by mail program (s)':<34} {'p50':>9} {'p95':>9} {'p99':>9} {'max':>9}")
        label = seen.rcpt_to.map(lambda a: programs.get(_account(a), "none"))
        for name, group in (seen.retrieved_s - seen.mailbox_s).groupby(label):
            lines.append(_quantiles(f"{name} ({len(group)})", group))
    lines.append(f"mean MTA hops {done.mail_hops.mean():.2f}, retransmissions {int(mail.retransmissions.sum())}")
    return lines


def _quantiles(name: str, x: Any) -> str:
    from netlab._quantile import percentiles  # the definition of compare's metrics and the run summary

    p50, p95, p99 = percentiles(x, (50, 95, 99))
    return f"{name:<34} {p50:>9.3f} {p95:>9.3f} {p99:>9.3f} {x.max():>9.3f}"


def _mb(group: Any) -> str:
    return f"{(group.bytes_sent.sum() + group.bytes_received.sum()) / 1e6:.2f}"


def _account(address: str) -> str:
    from netlab.mail.mailbox.store import account

    return account(address)


def _programs(res: Results) -> dict[str, str]:
    """User -> how the user's mail program fetches (``imap idle``, ``pop3 poll 60 s, delete``), from the scenario."""
    mail = res.scenario.mail if res.scenario is not None else None
    out = {}
    for u in mail.users if mail is not None else ():
        if u.fetch is not None:
            how = "idle" if u.fetch.idle else f"poll {u.fetch.interval_s:g} s"
            out[_account(u.address)] = f"{u.fetch.protocol} {how}{', delete' if u.fetch.delete else ''}"
    return out


def check_output_dir(path: str | None, option: str) -> None:
    """Refuse, before any work, an output directory that cannot be one: an existing file, or a place where it
    cannot be created or written (a run of an hour must not end with its results lost)."""
    if not path:
        return
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{option} {path}: is a file; expected a directory (created if missing)")
    parent = out if out.exists() else next((p for p in out.parents if p.exists()), Path("."))
    if not parent.is_dir():
        raise ConfigError(f"{option} {path}: {parent} is a file; expected a directory (created if missing)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {path}: {parent} is not writable; expected a directory netlab may write into")


def run_command(args: argparse.Namespace) -> int:
    check_output_dir(args.out, "-o/--out")
    check_output_dir(args.pcap, "--pcap")
    scenario = load_scenario(args.scenario)
    sets = list(args.set)
    if args.seed is not None:
        sets.append(f"seed={args.seed}")
    if sets:
        scenario = scenario.override(*sets)
    failed: SimulationError | None = None
    try:
        res = run(scenario, capture=_capture(args))
    except SimulationError as exc:
        if exc.results is None:
            raise
        # a failed check keeps the run: print and save what it produced, then say it failed (exit status 1)
        failed, res = exc, exc.results
    try:
        print(format_summary(res))
    except Exception as exc:  # a run that failed its checks may lack what the summary reads; the error says why
        if failed is None:
            raise
        print(f"(no summary: {type(exc).__name__}: {exc})")
    if args.pcap:
        print(f"\npcap files written to {args.pcap}/ (read them with tshark -r FILE or Wireshark)")
    if args.out:
        out = res.save(args.out)
        if "maillog" in res.tables:
            # The Postfix-style text log beside maillog.csv (the table's ``line`` column holds the same lines).
            (out / "maillog.txt").write_text("".join(line + "\n" for line in res.maillog["line"]))
        if failed is not None:
            (out / "error.txt").write_text(f"{failed}\n")
        print(f"\nresults saved to {out}/")
        if args.plot and failed is None:
            for path in save_plots(res, Path(out)):
                print(f"plot written to {path}")
    if failed is not None:
        print(f"netlab: run failed its checks: {failed}", file=sys.stderr)
        if not args.out:
            print("netlab: (give -o DIR to keep the results of a failed run)", file=sys.stderr)
        return 1
    return 0


def save_plots(res: Results, out: Path) -> list[Path]:
    """Write the standard figures of *res* as PNG files into *out* (for a mail scenario also the delivery-time
    CDF, the first delivered message's timeline, the MTA queue lengths and, when some mail was deferred, the retry
    Gantt); returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from netlab.plots.network import plot_flow_delays, plot_link_utilisation

    figures: list[tuple[str, Any]] = [("link_utilisation.png", plot_link_utilisation),
                                      ("flow_delays.png", plot_flow_delays)]  # fmt: skip
    messages = res.tables.get("messages")
    if messages is not None and (messages["kind"] == "mail").any():  # a mail scenario: its figures too
        from netlab.plots.mail import plot_mail_delivery_cdf, plot_mail_queues, plot_message_timeline, plot_retries

        figures.append(("mail_delivery_cdf.png", plot_mail_delivery_cdf))
        if (messages["status"] == "delivered").any():
            figures.append(("message_timeline.png", plot_message_timeline))
        if "mail_queues" in res.tables:
            figures.append(("mail_queues.png", plot_mail_queues))
        attempts = res.tables.get("mail_attempts")  # absent from results saved before it existed
        if attempts is not None and (attempts["result"] == "deferred").any():  # a Gantt of nothing says nothing
            figures.append(("mail_retries.png", plot_retries))
    paths = []
    for name, fn in figures:
        fig, ax = plt.subplots(figsize=(9, 4.5))
        try:
            fn(res, ax=ax)
            fig.tight_layout()
            fig.savefig(out / name, dpi=100)
        finally:
            plt.close(fig)
        paths.append(out / name)
    return paths


def _capture(args: argparse.Namespace) -> Any:
    """The :class:`netlab.pcap.Capture` the ``--pcap*`` options ask for, or None (scapy loads only then)."""
    if not args.pcap:
        if args.pcap_hosts or args.pcap_links or args.pcap_window:
            raise ConfigError("--pcap-hosts, --pcap-links and --pcap-window need --pcap DIR")
        return None
    from netlab.pcap import Capture, parse_links, parse_window

    hosts = [h.strip() for h in args.pcap_hosts.split(",") if h.strip()] if args.pcap_hosts else None
    return Capture(args.pcap, mode=args.pcap_mode, hosts=hosts,
                   links=parse_links(args.pcap_links) if args.pcap_links else None,
                   window=parse_window(args.pcap_window) if args.pcap_window else None)  # fmt: skip
