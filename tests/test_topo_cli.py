"""``netlab topo validate|show|draw``, run in-process through netlab.cli.main."""

from __future__ import annotations

from pathlib import Path

import pytest

from netlab.cli import main

ROOT = Path(__file__).resolve().parent.parent
ABILENE = ROOT / "topologies" / "abilene.graphml"
DEMO = ROOT / "topologies" / "demo.yaml"
SEED = ROOT / "topologies" / "seed.yaml"
TINY = Path(__file__).parent / "data" / "tiny.gml"


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        (ABILENE, "OK: 11 nodes, 14 links (28 directed links), 0 flows"),
        (TINY, "OK: 3 nodes, 2 links (4 directed links), 0 flows"),
        (DEMO, "OK: 8 nodes, 8 links (16 directed links), 3 flows"),
    ],
)
def test_validate(file: Path, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topo", "validate", str(file)]) == 0
    assert capsys.readouterr().out.strip() == expected


def test_validate_generated_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "fat.yaml"
    path.write_text("name: fat\ndefaults:\n  link: {rate: 10Mbps}\ntopology: {generator: fat_tree, k: 4, delay: 1ms}\n")
    assert main(["topo", "validate", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "OK: 36 nodes, 48 links (96 directed links), 0 flows"


def test_show_graphml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topo", "show", str(ABILENE)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["name", "role", "ip"]
    assert lines[3].split() == ["New", "York", "router", "10.0.0.1"]
    header = next(i for i, line in enumerate(lines) if line.startswith("a "))
    assert lines[header].split() == ["a", "b", "rate", "delay", "queue", "loss"]
    first = lines[header + 2]
    assert first.startswith("New York") and "Chicago" in first and "9.92Gbps" in first and "unlimited" in first
    assert lines[header - 1] == "14 links"
    # Columns are aligned: every link row puts its rate where the header does.
    column = lines[header].index("rate")
    assert all(line[column:].startswith("9.92Gbps") for line in lines[header + 2 :])


def test_show_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topo", "show", str(DEMO)]) == 0
    out = capsys.readouterr().out
    assert "h1    host    10.0.0.1" in out
    assert any(line.split() == ["r1", "<->", "r4", "2Mbps", "5ms", "50", "pkts", "0"] for line in out.splitlines())


def _node_rows(out: str) -> dict[str, list[str]]:
    """The node table of ``topo show``: name -> the other cells (split on runs of two or more spaces)."""
    import re

    lines = out.splitlines()
    end = lines.index("")
    return {cells[0]: cells[1:] for cells in (re.split(r"\s{2,}", line) for line in lines[3:end])}


def test_show_gives_each_node_the_address_the_run_gives_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A node's own ip as given; the others the next free address of 10.0.0.1, 10.0.0.2, ... in node order,
    skipping one taken by a given address, as the run's Network assigns them."""
    from netlab.network.network import Network
    from netlab.scenario.files import load_scenario

    path = tmp_path / "ips.yaml"
    path.write_text("nodes: [{name: a, role: host}, {name: b, role: host, ip: 10.0.0.2}, c]\nlinks: [[a, c], [b, c]]\n")
    assert main(["topo", "show", str(path)]) == 0
    rows = _node_rows(capsys.readouterr().out)
    assert {name: cells[1] for name, cells in rows.items()} == {"a": "10.0.0.1", "b": "10.0.0.2", "c": "10.0.0.3"}
    import simpy

    net = Network(simpy.Environment(), load_scenario(str(path)).topology)
    assert {name: node.ip for name, node in net.nodes.items()} == {"a": "10.0.0.1", "b": "10.0.0.2", "c": "10.0.0.3"}


@pytest.mark.parametrize(("node", "cells"), [
    ("pc1", ["host", "10.0.0.1", "client"]),
    ("msa-a", ["host", "10.0.0.4", "msa"]),
    ("relay-g1", ["host", "10.0.0.7", "relay"]),
    ("mx-a", ["host", "10.0.0.9", "mx"]),
    ("mx-b2", ["host", "10.0.0.11", "relay"]),  # the backup MX relays to the primary: a relay, not a final mx
    ("dns1", ["host", "10.0.0.12", "dns"]),
    ("pc4", ["host", "10.0.0.21", "client"]),  # beta's users only receive: still their mail program's host
    ("bg1", ["host", "10.0.0.13"]),
    ("r-core", ["router", "10.0.0.17"]),
])  # fmt: skip
def test_show_mail_scenario_gives_ips_and_mail_roles(node: str, cells: list[str],
                                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert main(["topo", "show", str(SEED)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].split() == ["name", "role", "ip", "mail"]
    assert _node_rows(out)[node] == cells


def test_mail_roles_of_a_host_with_two_parts() -> None:
    """One host may be the DNS server and an MX, and host a user's mail program: every part, server first."""
    from netlab.mail.config import MailSpec, ServerSpec, UserSpec

    spec = MailSpec(dns_server="mx1", servers=(ServerSpec("msa", role="msa"), ServerSpec("mx1", role="mx")),
                    users=(UserSpec("bob@b.test", client="mx1"), UserSpec("al@b.test", client="mx1")))  # fmt: skip
    assert spec.host_roles() == {"msa": ("msa",), "mx1": ("mx", "dns", "client")}


@pytest.mark.parametrize("source", [ABILENE, DEMO])
def test_draw_writes_png(source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "topo.png"
    assert main(["topo", "draw", str(source), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 1000


def test_draw_defaults_to_file_with_png_suffix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "tiny.gml"
    source.write_text(TINY.read_text())
    assert main(["topo", "draw", str(source)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "tiny.png")
    assert (tmp_path / "tiny.png").stat().st_size > 1000


@pytest.mark.parametrize("command", ["validate", "show", "draw"])
@pytest.mark.parametrize(("name", "content"), [("missing.graphml", None), ("bad.gml", "graph [ node [ id 0")])
def test_bad_file_exit_status_2(command: str, name: str, content: str | None, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    assert main(["topo", command, str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("netlab: error: ")
    assert str(path) in captured.err


def test_missing_rate_exit_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "norate.gml"
    path.write_text('graph [ node [ id 0 label "A" Longitude 0 Latitude 0 ] node [ id 1 label "B" Longitude 1 '
                    "Latitude 0 ] edge [ source 0 target 1 ] ]")  # fmt: skip
    assert main(["topo", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "A - B" in err and "LinkSpeedRaw" in err
