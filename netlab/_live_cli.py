"""``netlab live SCENARIO``: the simulation in real time, with SMTP/POP3/IMAP ports on 127.0.0.1 for real clients."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "live_command"]


def add_parser(sub: Any) -> None:
    """Add the ``live`` subcommand to the CLI's subparsers *sub*."""
    live = sub.add_parser("live", help="run a mail scenario in real time with SMTP, POP3 and IMAP ports on "
                          "127.0.0.1 for real mail clients")  # fmt: skip
    live.add_argument("scenario", help="scenario YAML file (with a mail section and an msa)")
    live.add_argument(
        "--factor",
        type=float,
        default=1.0,
        help="wall seconds per simulated second: 1 real time (default), 0.1 ten times faster",
    )
    live.add_argument("--smtp-port", type=int, default=2525, help="submission port (AUTH, SIZE); 0: any free port")
    live.add_argument("--pop3-port", type=int, default=1110, help="POP3 port; 0: any free port")
    live.add_argument("--imap-port", type=int, default=1143, help="IMAP port; 0: any free port")
    live.add_argument("--duration", type=float, help="stop after this many wall seconds (default: Ctrl-C or "
                      "the scenario's run.until)")  # fmt: skip
    live.add_argument("--maillog", action="store_true", help="print every maillog line as it is written "
                      "(default: only the lines of the mail you submit)")  # fmt: skip
    live.add_argument("--cert", help="PEM certificate STARTTLS presents (default: one generated at start for "
                      "localhost and 127.0.0.1, its path and fingerprint printed)")  # fmt: skip
    live.add_argument("--key", help="PEM private key of --cert")
    live.add_argument("--cert-dir", help="write the generated certificate and key here (netlab-live.crt, "
                      "netlab-live.key), for clients to trust; default: a fresh temporary directory")  # fmt: skip
    live.add_argument("--no-tls", action="store_true", help="no STARTTLS/STLS (AUTH and logins then in clear)")
    live.add_argument("--plaintext-auth", action="store_true", help="offer AUTH, LOGIN and USER/PASS before "
                      "STARTTLS too (default: only after it)")  # fmt: skip
    live.add_argument("-s", "--set", action="append", default=[], metavar="KEY=VALUE",
                      help="override a scenario key (dotted); repeatable")  # fmt: skip


def live_command(args: argparse.Namespace) -> int:
    """Run ``netlab live``; returns the exit status."""
    from netlab._run_cli import format_summary
    from netlab.errors import ConfigError
    from netlab.live import LiveBridge, LiveCertificate
    from netlab.scenario.files import load_scenario

    scenario = load_scenario(args.scenario)
    if args.set:
        scenario = scenario.override(*args.set)
    if (args.cert is None) != (args.key is None):
        raise ConfigError("live: --cert and --key go together (a PEM certificate and its private key)")
    if args.no_tls and args.cert is not None:
        raise ConfigError("live: --cert/--key with --no-tls: choose one")
    if args.cert_dir is not None and (args.cert is not None or args.no_tls):
        raise ConfigError("live: --cert-dir is where a generated certificate goes: not with --cert or --no-tls")
    if args.cert is not None:
        certificate = LiveCertificate.load(args.cert, args.key)
    elif args.cert_dir is not None and not args.no_tls:
        where = Path(args.cert_dir)
        try:
            where.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"live: --cert-dir {where}: cannot create it ({exc.strerror})") from None
        certificate = LiveCertificate.generate(where)
    else:
        certificate = None
    bridge = LiveBridge(scenario, factor=args.factor, smtp_port=args.smtp_port, pop3_port=args.pop3_port,
                        imap_port=args.imap_port, echo=lambda line: print(line, flush=True),
                        echo_all=args.maillog, tls=not args.no_tls, certificate=certificate,
                        plaintext_auth=True if args.plaintext_auth or args.no_tls else None)  # fmt: skip
    try:
        ports = bridge.start()
    except OSError as exc:
        print(f"netlab: error: live: cannot open the ports on 127.0.0.1 ({exc}); choose others with --smtp-port, "
              "--pop3-port, --imap-port, or 0 for any free port", file=sys.stderr)  # fmt: skip
        return 2
    print(banner(bridge, ports), flush=True)
    reason = "live stop"
    try:
        ended = bridge.wait(args.duration)
        reason = "run.until" if ended else "duration"
    except KeyboardInterrupt:
        reason = "interrupted"
        print("\ninterrupted: closing the ports and stopping the simulation ...", file=sys.stderr, flush=True)
    res = bridge.stop(f"live: {reason}")
    print()
    print(format_summary(res))
    live = res.summary["live"]
    print(f"live: {live['sessions']} SMTP sessions, {live['submitted']} messages submitted ({live['accepted']} "
          f"accepted, {live['refused']} refused), POP3 sessions {live.get('pop3_sessions', 0)}, IMAP sessions "
          f"{live.get('imap_sessions', 0)}; {res.summary['sim_time_s']:.6g} simulated s in {bridge.wall_s:.1f} "
          f"wall s (factor {bridge.factor:g})")  # fmt: skip
    return 0


def banner(bridge: Any, ports: dict[str, int]) -> str:
    """What the user needs to connect: ports, the users and their passwords and MSAs, how to stop."""
    from netlab.live.smtp import msa_of

    system = bridge.system
    speed = "real time" if bridge.factor == 1 else f"{1 / bridge.factor:g} simulated s per wall s"
    cert = bridge.certificate
    auth = (
        "AUTH PLAIN/LOGIN after STARTTLS"
        if cert is not None and not bridge.submission.plaintext_auth
        else ("STARTTLS, AUTH PLAIN/LOGIN" if cert is not None else "AUTH PLAIN/LOGIN without TLS")
    )
    lines = [
        f"netlab live: scenario {bridge.sim.scenario.name!r}, factor {bridge.factor:g} ({speed}), on 127.0.0.1 only",
        f"  SMTP submission  127.0.0.1:{ports['smtp']}  ({auth}, SIZE)",
        f"  POP3             127.0.0.1:{ports['pop3']}{'  (STLS)' if cert is not None else ''}",
        f"  IMAP             127.0.0.1:{ports['imap']}{'  (STARTTLS)' if cert is not None else ''}",
    ]
    if cert is not None:
        lines += [f"  TLS certificate  {cert.cert}{' (generated for localhost, 127.0.0.1)' if cert.generated else ''}",
                  f"  SHA-256          {cert.fingerprint}"]  # fmt: skip
    lines.append("  users (login = address):")
    for u in system.spec.users:
        msa = msa_of(system, u.address)
        inbox = bridge.directory.route(u.address)
        where = ", ".join(x for x in (f"submits to {msa.host}" if msa else "", f"mailbox on {inbox[0]}" if inbox
                                      else "") if x)  # fmt: skip
        lines.append(f"    {u.address:<28} password {u.password!r:<14} {where}")
    lines.append("Ctrl-C stops and prints a summary.")
    return "\n".join(lines)
