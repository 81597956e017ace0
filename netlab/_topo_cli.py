"""``netlab topo validate|show|draw FILE``: check, print or draw a scenario's or a GraphML/GML topology.

Each function takes the parsed arguments (``args.file``; ``args.out`` for draw) and returns the exit status.
Errors are raised as :class:`~netlab.errors.ConfigError`; :func:`netlab.cli.main` prints them and returns 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from netlab.errors import ConfigError
from netlab.topology.spec import LinkSpec, Topology
from netlab.units import format_rate, format_size, format_time

if TYPE_CHECKING:
    from netlab.mail.config import MailSpec

__all__ = ["draw", "show", "validate"]

_SCENARIO_SUFFIXES = (".yaml", ".yml")


def _load(file: str) -> tuple[Topology, int, MailSpec | None]:
    """The topology in *file*, its number of flows and its mail section (0 and None for a bare GraphML/GML
    topology)."""
    if Path(file).suffix.lower() in _SCENARIO_SUFFIXES:
        from netlab.scenario.files import load_scenario

        scenario = load_scenario(file)
        return scenario.topology, len(scenario.flows), scenario.mail
    from netlab.topology.zoo import read_topology_file

    return read_topology_file(file), 0, None


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain-text columns, each as wide as its widest cell."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _queue(link: LinkSpec) -> str:
    parts = []
    if link.queue_packets is not None:
        parts.append(f"{link.queue_packets} pkts")
    if link.queue_bytes is not None:
        parts.append(format_size(link.queue_bytes))
    return ", ".join(parts) or "unlimited"


def validate(args: argparse.Namespace) -> int:
    """Load ``args.file`` (scenario YAML, GraphML or GML) and print a one-line summary."""
    topology, flows, _ = _load(args.file)
    directed = sum(1 for _ in topology.directed_links())
    print(f"OK: {len(topology.nodes)} nodes, {len(topology.links)} links ({directed} directed links), {flows} flows")
    return 0


def show(args: argparse.Namespace) -> int:
    """Print the nodes and the links of ``args.file`` as aligned plain-text tables: each node with the IPv4
    address the run gives it (the scenario's, else the one assigned in node order) and, for a scenario with a
    ``mail:`` section, what it runs for mail (``msa``, ``mx``, ``relay``, ``dns``, ``client``)."""
    from netlab.network.network import assign_ips

    topology, _, mail = _load(args.file)
    ips = assign_ips(topology)
    header: tuple[str, ...] = ("name", "role", "ip")
    nodes: list[tuple[str, ...]] = [(n.name, n.role, ips[n.name]) for n in topology.nodes]
    if mail is not None:
        roles = mail.host_roles()
        header = (*header, "mail")
        nodes = [(*row, ", ".join(roles.get(row[0], ()))) for row in nodes]
    links = [(link.a, "->" if link.directed else "<->", link.b, format_rate(link.rate_bps),
              format_time(link.delay_s), _queue(link), f"{link.loss:g}") for link in topology.links]  # fmt: skip
    print(f"{args.file}: {len(topology.nodes)} nodes")
    print(_table(header, nodes))
    print()
    print(f"{len(topology.links)} links")
    print(_table(("a", "", "b", "rate", "delay", "queue", "loss"), links))
    return 0


def draw(args: argparse.Namespace) -> int:
    """Draw ``args.file`` to a PNG (``args.out``, default the file with suffix ``.png``); print its path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from netlab.plots.topology import draw_topology

    out = Path(args.out) if getattr(args, "out", None) else Path(args.file).with_suffix(".png")
    if out.is_dir():
        raise ConfigError(f"-o/--out {out}: is a directory; expected an image file name such as topology.png")
    if not out.parent.is_dir():
        raise ConfigError(
            f"-o/--out {out}: folder {out.parent} does not exist; expected an image file in an existing folder"
        )
    topology, _, _ = _load(args.file)
    # A bare Figure on the Agg canvas: no pyplot, so no GUI backend and no global figure state.
    fig = Figure(figsize=(10, 7), layout="tight")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    draw_topology(topology, ax)
    ax.set_title(Path(args.file).name)
    fig.savefig(out, dpi=100)
    print(out)
    return 0
