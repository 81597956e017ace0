"""The ``netlab`` command line: ``netlab run``, ``compare``, ``plot``, ``live``, ``animate``,
``topo validate|show|draw``.

Every subcommand calls the same public API a notebook uses. ``main(argv) -> int`` is tested in-process.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from typing import TextIO

from netlab.errors import NetlabError, NetlabWarning

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="netlab", description="A network lab on SimPy and networkx.")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario, print a summary, save the results")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("-o", "--out", help="directory to save results into")
    run.add_argument("-s", "--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a scenario key (dotted, e.g. routing.strategy=ospf); repeatable")  # fmt: skip
    run.add_argument("--seed", type=int, help="root seed (same as --set seed=N)")
    run.add_argument("--plot", action="store_true", help="also write plots into the output directory")
    pcap = run.add_argument_group("packet capture (pcap files for Wireshark/tshark)")
    pcap.add_argument("--pcap", metavar="DIR", help="write pcap files of the run into DIR")
    pcap.add_argument("--pcap-mode", choices=("host", "link"), default="host",
                      help="one file per host (what it sends and receives; default) or per directed link")  # fmt: skip
    pcap.add_argument("--pcap-hosts", metavar="H1,H2", help="capture only these hosts (link mode: their links)")
    pcap.add_argument("--pcap-links", metavar="A->B,C<->D", help="link mode: capture only these directed links")
    pcap.add_argument("--pcap-window", metavar="START:END", help="capture only this simulated time (e.g. 10s:2min)")

    from netlab._compare_cli import add_parsers

    add_parsers(sub)

    from netlab._live_cli import add_parser as add_live_parser

    add_live_parser(sub)

    from netlab._animate_cli import add_parser as add_animate_parser

    add_animate_parser(sub)

    topo = sub.add_parser("topo", help="check, describe or draw a topology or scenario file")
    tsub = topo.add_subparsers(dest="topo_command", required=True)
    for name, text in (("validate", "check a file and report the first problem"),
                       ("show", "print nodes and links as tables"),
                       ("draw", "draw the topology to an image file")):  # fmt: skip
        t = tsub.add_parser(name, help=text)
        t.add_argument("file", help="scenario YAML, GraphML or GML file")
        if name == "draw":
            t.add_argument("-o", "--out", help="image file (default: FILE with .png)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with *argv* (default ``sys.argv[1:]``); returns the exit status."""
    args = _parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        warnings.simplefilter("always", NetlabWarning)  # the command line's job is to say it, once per cause
        return _dispatch(args)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: TextIO | None = None, line: str | None = None) -> None:  # fmt: skip
    """netlab's own warnings as ``netlab: warning: ...`` on stderr (no source line: they are about the input)."""
    if issubclass(category, NetlabWarning):
        print(f"netlab: warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _dispatch(args: argparse.Namespace) -> int:
    try:
        if args.command == "run":
            from netlab._run_cli import run_command

            return run_command(args)
        if args.command == "animate":
            from netlab._animate_cli import animate_command

            return animate_command(args)
        if args.command == "live":
            from netlab._live_cli import live_command

            return live_command(args)
        if args.command in ("compare", "plot"):
            from netlab import _compare_cli

            return int(getattr(_compare_cli, f"{args.command}_command")(args))
        from netlab import _topo_cli

        return int(getattr(_topo_cli, args.topo_command)(args))
    except NetlabError as exc:
        print(f"netlab: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
