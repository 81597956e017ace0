"""``netlab animate SCENARIO_OR_RESULTS --message ID | --links -o out.html``: a standalone HTML animation (matplotlib's
``to_jshtml``: embedded PNG frames and JavaScript, no ffmpeg) of one message's life or of link load over time."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netlab.errors import ConfigError

if TYPE_CHECKING:
    from netlab.results import Results

__all__ = ["add_parser", "animate_command"]


def add_parser(sub: Any) -> None:
    """Add the ``animate`` subcommand to *sub* (an argparse subparsers object)."""
    a = sub.add_parser("animate", help="write a standalone HTML animation of a message's life or of link load")
    a.add_argument("source", help="scenario YAML file (run first) or a directory written by netlab run -o")
    what = a.add_mutually_exclusive_group(required=True)
    what.add_argument("--message", metavar="ID", help="the Message-ID to follow (with or without <>)")
    what.add_argument("--links", action="store_true", help="link utilisation over time, one frame per bin")
    a.add_argument("--rcpt", help="with --message: the recipient (default: a delivered one)")
    a.add_argument("-o", "--out", required=True, help="HTML file to write")
    a.add_argument("-s", "--set", action="append", default=[], metavar="KEY=VALUE",
                   help="for a scenario: override a key (dotted); repeatable")  # fmt: skip


def _results(args: argparse.Namespace) -> Results:
    import netlab

    src = Path(args.source)
    if src.is_dir():
        if args.set:
            raise ConfigError(f"{src}: --set applies to a scenario file, not to saved results")
        return netlab.load_results(src)
    scenario = netlab.load_scenario(args.source)
    return netlab.run(scenario.override(*args.set) if args.set else scenario)


def message_id_of(res: Results, given: str) -> str:
    """*given* as a Message-ID of *res*'s mail (``<..>`` added when missing), or a ConfigError naming a few."""
    messages = res.tables.get("messages")
    if messages is None or not len(messages):
        raise ConfigError("--message: these results have no mail (no 'messages' table)")
    mail = messages[messages["kind"] == "mail"]
    ids = list(dict.fromkeys(mail["message_id"]))
    for candidate in (given, f"<{given.strip('<>')}>"):
        if candidate in ids:
            return candidate
    some = ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")
    raise ConfigError(f"--message: unknown message id {given!r}; these results have {len(ids)} (e.g. {some})")


def animate_command(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")  # the command line draws off screen (the library itself never sets a backend)
    import matplotlib.pyplot as plt

    from netlab.plots.animate import animate_links, animate_message

    if args.links and args.rcpt is not None:
        raise ConfigError("--rcpt: chooses the recipient of --message; --links draws every link, not a message")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise ConfigError(f"-o/--out: {out.parent} is not a directory")
    res = _results(args)
    message = None if args.links else message_id_of(res, args.message)  # an unknown id fails before any drawing
    anim = animate_links(res) if message is None else animate_message(res, message, rcpt=args.rcpt)
    fig = plt.gcf()  # the animation's own figure, the one just made (FuncAnimation keeps it private)
    try:
        # to_jshtml drops the frames beyond animation.embed_limit (20 MB by default) with only a log message: a
        # file asked for on the command line gets every frame (set for this call only: main() also runs in-process)
        with matplotlib.rc_context({"animation.embed_limit": 1000.0}):
            html = anim.to_jshtml()
    finally:
        plt.close(fig)
    out.write_text(html)
    print(f"animation written to {out} ({html.count('data:image/png;base64')} frames)")
    return 0
