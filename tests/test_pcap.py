"""Packet captures (netlab.pcap) read back by tshark: SMTP, DNS, POP3 and IMAP dissect, the submitted message
exports intact, TCP numbers and retransmissions are the transport's own.

tshark is a test tool like pytest: under CI=true a missing tshark fails these tests (tests/conftest.py).
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import mail_helpers as mh
import pytest
import simpy
import yaml

import netlab
from netlab.errors import ConfigError
from netlab.experiment.runner import Simulation
from netlab.network.link import Link
from netlab.pcap import Capture, ipv4_bytes, parse_links, parse_window
from netlab.transport.segment import ACK, FIN, PSH, RST, SYN, Datagram, Segment

EPOCH_S = 1767225600  # 2026-01-01T00:00:00Z, the mail epoch
BODY = "Hi Bob,\n.a line that starts with a dot\n..and one with two\n.\nbye\n"
USERS = [
    {"address": "alice@a.test", "password": "pw", "client": "pc"},
    {
        "address": "bob@b.test",
        "password": "bpw",
        "client": "relay2",
        "fetch": {"protocol": "pop3", "interval": "10s", "delete": True},
    },
    {
        "address": "carol@b.test",
        "password": "cpw",
        "client": "relay2",
        "fetch": {"protocol": "imap", "interval": "10s"},
    },
]
# Packet checks that are not errors: window updates, and (lossy runs only) what real loss causes.
LOSS_FLAGS = "tcp.analysis.duplicate_ack || tcp.analysis.lost_segment || tcp.analysis.out_of_order"
RETRANSMISSION = ("tcp.analysis.retransmission || tcp.analysis.fast_retransmission || "
                  "tcp.analysis.spurious_retransmission")  # fmt: skip


def tshark(*args: str) -> str:
    exe = shutil.which("tshark") or pytest.skip("tshark is not installed (apt-get install tshark)")
    done = subprocess.run([exe, *args], capture_output=True, text=True, check=True, timeout=60)
    return done.stdout


def fields(path: Path, display_filter: str, *names: str) -> list[list[str]]:
    args = ["-r", str(path), "-Y", display_filter, "-T", "fields"]
    for n in names:
        args += ["-e", n]
    return [line.split("\t") for line in tshark(*args).splitlines()]


class Captured:
    """A mail run with a capture: its directory, results, mail system and the messages the MUA submitted."""

    def __init__(self, directory: Path, mode: str = "host", loss: float = 0.0, **capture: Any) -> None:
        top: dict[str, Any] = {"run": {"until": "40s", "bin": "1000s"}}
        if loss:
            top["defaults"] = {"link": {"rate": "10Mbps", "delay": "2ms", "loss": loss}}
        send = mh.send(["bob@b.test", "carol@b.test"], at=1.0, subject="capture", body=BODY,
                       attachment="120KB" if loss else 0)  # fmt: skip
        sim = Simulation(mh.scenario({"users": USERS, "send": [send]}, **top),
                         capture=Capture(directory, mode=mode, **capture))  # fmt: skip
        self.dir = directory
        self.system = system = sim.extensions[0]
        self.submitted: list[bytes] = []
        mua = system.mua("pc")
        submit = mua.submit

        def recording_submit(sender: str, rcpts: list[str], raw: bytes, **kw: Any) -> Any:
            self.submitted.append(raw)
            return submit(sender, rcpts, raw, **kw)

        mua.submit = recording_submit

        def a_lookup() -> Generator[simpy.Event, Any, None]:
            # The MTAs get their A records as MX glue; one explicit A query shows that type on the wire too.
            yield sim.env.timeout(0.5)
            self.a_records = yield system.resolver("pc").query("mx1.a.test", "A")
            sim.release()

        sim.hold()
        sim.env.process(a_lookup())
        self.res = sim.execute()
        self.net = sim.net

    def ip(self, host: str) -> str:
        return str(self.net.nodes[host].ip)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Captured:
    return Captured(tmp_path_factory.mktemp("pcap"))


@pytest.fixture(scope="module")
def lossy(tmp_path_factory: pytest.TempPathFactory) -> Captured:
    return Captured(tmp_path_factory.mktemp("lossy"), loss=0.03)


# ---------------------------------------------------------------------- tshark on a host capture
def test_smtp_commands_and_reply_codes(run: Captured) -> None:
    rows = fields(run.dir / "pc.pcap", "smtp", "smtp.req.command", "smtp.response.code")
    commands = {c for r in rows for c in r[0].split(",") if c}
    codes = {c for r in rows for c in r[1].split(",") if c}
    assert {"EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"} <= commands
    assert {"220", "250", "235", "354", "221"} <= codes
    relay = fields(run.dir / "mx1.pcap", "smtp && tcp.dstport == 25", "smtp.req.command")
    assert {"EHLO", "MAIL", "RCPT", "DATA", "QUIT"} <= {c for r in relay for c in r[0].split(",") if c}


def test_exported_message_is_the_submitted_one(run: Captured, tmp_path: Path) -> None:
    tshark("-r", str(run.dir / "pc.pcap"), "-q", "--export-objects", f"imf,{tmp_path}")
    (eml,) = tmp_path.iterdir()
    exported = eml.read_bytes()
    assert b"\r\n..a line that starts" in exported  # tshark keeps the DATA dot-stuffing
    unstuffed = b"\r\n".join(line[1:] if line.startswith(b".") else line for line in exported.split(b"\r\n"))
    (submitted,) = run.submitted
    assert unstuffed == submitted


def test_dns_mx_and_a_queries_with_answers(run: Captured) -> None:
    rows = fields(run.dir / "dns.pcap", "dns.flags.response == 1", "dns.qry.type", "dns.a", "dns.mx.mail_exchange")
    mx = [r for r in rows if r[0] == "15"]
    a = [r for r in rows if r[0] == "1"]
    assert mx and all("mx1.a.test" in r[2] for r in mx)
    assert a and a[0][1] == run.ip("mx1") and [r.value for r in run.a_records] == [run.ip("mx1")]


def test_pop3_and_imap_dissect(run: Captured) -> None:
    pop = {r[0].upper() for r in fields(run.dir / "relay2.pcap", "pop.request", "pop.request.command")}
    imap = {w.upper() for r in fields(run.dir / "relay2.pcap", "imap.request", "imap.request.command") for w in r}
    assert {"USER", "PASS", "RETR", "DELE", "QUIT"} <= pop
    assert {"LOGIN", "SELECT", "LOGOUT"} <= imap and any("FETCH" in w for w in imap)
    retr = fields(run.dir / "relay2.pcap", "pop.response", "pop.response.indicator")
    assert retr and all(r[0] == "+OK" for r in retr)


@pytest.mark.parametrize("host", ["pc", "msa", "relay2", "mx1", "dns"])
def test_no_malformed_packets_and_no_tcp_errors(run: Captured, host: str) -> None:
    path = run.dir / f"{host}.pcap"
    assert tshark("-r", str(path)).strip()
    assert fields(path, "_ws.malformed || _ws.expert.severity == error", "frame.number") == []
    assert fields(path, "tcp.analysis.flags && !tcp.analysis.window_update", "frame.number") == []


def test_tcp_numbers_addresses_and_timestamps_are_the_simulations(run: Captured) -> None:
    conns = run.res.tables["connections"]
    client = conns[(conns.flow.str.startswith("tcp pc:")) & (conns.rport == 587)].iloc[0]
    rows = fields(run.dir / "pc.pcap", "tcp.flags.syn == 1 && tcp.flags.ack == 0", "frame.time_epoch", "ip.src",
                  "ip.dst", "tcp.seq_raw", "tcp.options.mss_val", "ip.ttl")  # fmt: skip
    t, src, dst, seq, mss, ttl = rows[0]
    assert float(t) == pytest.approx(EPOCH_S + 1.0, abs=1e-9)  # submitted at 1 s
    assert (src, dst) == (run.ip("pc"), run.ip("msa"))
    assert int(seq) == client.isn and mss == "1460" and ttl == "64"
    # Received packets carry the TTL left after the routers: pc -> r1 -> msa is two links.
    assert {r[0] for r in fields(run.dir / "msa.pcap", f"ip.src == {run.ip('pc')}", "ip.ttl")} == {"63"}
    # The default 1 MiB window is announced with a window scale, so tshark computes the real one.
    assert {r[0] for r in fields(run.dir / "pc.pcap", "tcp.flags.syn == 0", "tcp.window_size")} == {"1048576"}


def test_checksums_verify(run: Captured) -> None:
    opts = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"]
    for host in ("pc", "dns", "mx1"):
        out = tshark("-r", str(run.dir / f"{host}.pcap"), *opts, "-Y",
                     "ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0")  # fmt: skip
        assert out == ""


def test_pcap_files_table(run: Captured) -> None:
    table = run.res.tables["pcap_files"]
    assert set(table.capture) == {"pc", "msa", "relay", "relay2", "mx1", "mx2", "dns"}
    assert table.set_index("capture").loc["relay", "packets"] == 0
    assert run.res.summary["pcap"]["packets"] == table.packets.sum() > 0


# ---------------------------------------------------------------------- retransmissions as they happened
def test_retransmissions_in_the_capture_are_the_transports(lossy: Captured) -> None:
    conns = lossy.res.tables["connections"]
    assert (lossy.res.messages.status == "delivered").all()
    total = 0
    for host in ("pc", "msa", "relay2", "mx1"):
        path = lossy.dir / f"{host}.pcap"
        ip = lossy.ip(host)
        # tshark calls a retransmission sent soon after the segment before it "out-of-order"; from the sender's
        # own capture that can only be a retransmission.
        resent = f"ip.src == {ip} && ({RETRANSMISSION} || tcp.analysis.out_of_order)"
        seen = len(fields(path, resent, "frame.number"))
        sent = int(conns[conns.flow.str.startswith(f"tcp {host}:")].retransmissions.sum())
        assert seen == sent, host
        total += sent
        others = f"tcp.analysis.flags && !tcp.analysis.window_update && !({RETRANSMISSION}) && !({LOSS_FLAGS})"
        assert fields(path, others, "frame.number") == []
        # A retransmission carries the bytes sent the first time.
        sent_bytes: dict[tuple[str, str], set[str]] = {}
        for stream, seq, payload in fields(path, f"ip.src == {ip} && tcp.len > 0", "tcp.stream", "tcp.seq_raw",
                                           "tcp.payload"):  # fmt: skip
            sent_bytes.setdefault((stream, seq), set()).add(payload)
        assert all(len(p) == 1 for p in sent_bytes.values())
        # With its default preferences tshark 4.0 reports a "reassembly error" when a retransmitted segment spans
        # the end of an application message it has already reassembled (IMAP FETCH here), although the bytes are
        # the same (checked above); its out-of-order reassembly handles such segments.
        assert tshark("-r", str(path), "-o", "tcp.reassemble_out_of_order:TRUE", "-Y", "_ws.malformed") == ""
    assert total > 0
    assert fields(lossy.dir / "pc.pcap", "tcp.options.sack_le", "frame.number")  # SACK blocks on the wire


# ---------------------------------------------------------------------- link mode, limits
def test_link_mode_window_and_chosen_links(tmp_path: Path) -> None:
    cap = Captured(tmp_path, mode="link", links=parse_links("r1<->r2, pc->r1"), window=(1.0, 1.5))
    assert sorted(p.name for p in tmp_path.glob("*.pcap")) == ["pc_to_r1.pcap", "r1_to_r2.pcap", "r2_to_r1.pcap"]
    times = [float(r[0]) - EPOCH_S for r in fields(tmp_path / "pc_to_r1.pcap", "frame", "frame.time_epoch")]
    assert times and all(1.0 <= t < 1.5 for t in times)
    # msa -> mx1 crosses r1 -> r2 as its second link (msa->r1, r1->r2, r2->mx1): TTL 63.
    smtp = fields(tmp_path / "r1_to_r2.pcap", "smtp.req.command", "ip.src", "ip.ttl", "smtp.req.command")
    assert {(r[0], r[1]) for r in smtp} == {(cap.ip("msa"), "63")}


def test_hosts_limit_and_untapped_links_stay_plain(tmp_path: Path) -> None:
    s = mh.scenario({"send": [mh.send(["bob@b.test"], at=1.0)]})
    assert {type(link) for link in Simulation(s).net.links} == {Link}
    sim = Simulation(s, capture=Capture(tmp_path, hosts=["pc"]))
    tapped = {link.name for link in sim.net.links if type(link) is not Link}
    assert tapped == {"pc->r1", "r1->pc"}
    sim.execute()
    assert [p.name for p in tmp_path.iterdir()] == ["pc.pcap"]


def test_background_packets_as_udp_headers_or_skipped(tmp_path: Path, two_hosts: netlab.Topology) -> None:
    flow = netlab.FlowSpec("f", "a", "b", arrivals=netlab.Constant(100.0), size=netlab.FixedSize(1000), count=5)
    s = netlab.Scenario(two_hosts, flows=(flow,))
    netlab.run(s, capture=Capture(tmp_path / "with"))
    rows = fields(tmp_path / "with" / "b.pcap", "udp", "frame.time_epoch", "udp.dstport", "ip.len", "frame.cap_len")
    assert [round(float(r[0]) - EPOCH_S, 6) for r in rows] == [0.002, 0.012, 0.022, 0.032, 0.042]  # delivery
    assert {tuple(r[1:]) for r in rows} == {("9", "1000", "28")}
    netlab.run(s, capture=Capture(tmp_path / "without", background=False))
    assert fields(tmp_path / "without" / "b.pcap", "frame", "frame.number") == []


# ---------------------------------------------------------------------- bytes, options and the CLI
def _segments() -> list[Any]:
    syn = Segment(None, None, 0.0, None, "f", 64, 49152, 25, 0xFFFFFFF0, 0, SYN, 65536, b"", None)
    syn.mss = 1460
    return [
        syn,
        Segment(None, None, 0.0, None, "f", 64, 25, 49152, 7, 0xFFFFFFF1, SYN | ACK, 65535, b"", None),
        Segment(None, None, 0.0, None, "f", 64, 49152, 25, 1, 8, ACK | PSH, 65536, b"EHLO x\r\n", None),
        Segment(None, None, 0.0, None, "f", 64, 25, 49152, 8, 1, ACK, 65536, b"", ((100, 200), (300, 400))),
        Segment(None, None, 0.0, None, "f", 64, 49152, 25, 9, 8, FIN | ACK, 65536, b"x" * 1461, None),
        Segment(None, None, 0.0, None, "f", 64, 25, 49152, 0, 9, RST | ACK, 0, b"", None),
        Datagram(None, None, 0.0, None, "d", 64, 5353, 53, b"\x12\x34" + bytes(15)),
    ]


@pytest.mark.parametrize("pkt", _segments(), ids=repr)
def test_bytes_rebuilt_by_scapy_are_identical(pkt: Any) -> None:
    from scapy.layers.inet import IP, TCP, UDP

    src, dst = ipaddress.IPv4Address("10.0.0.1").packed, ipaddress.IPv4Address("10.0.0.2").packed
    data, wire = ipv4_bytes(pkt, src, dst, 61)
    assert wire == len(data)
    ip = IP(data)
    assert (ip.src, ip.dst, ip.ttl, ip.len) == ("10.0.0.1", "10.0.0.2", 61, len(data))
    layer = ip[TCP] if isinstance(pkt, Segment) else ip[UDP]
    assert (layer.sport, layer.dport, bytes(layer.payload)) == (pkt.sport, pkt.dport, pkt.payload)
    if isinstance(pkt, Segment):
        assert (layer.seq, layer.ack, int(layer.flags)) == (pkt.seq, pkt.ack, pkt.flags)
    del ip.chksum, ip.len, layer.chksum
    if isinstance(pkt, Datagram):
        del layer.len
    assert bytes(ip) == data  # scapy computes the same lengths and checksums


def test_options_and_errors() -> None:
    assert parse_window("1min:") == (60.0, float("inf"))
    with pytest.raises(ConfigError, match="START:END"):
        parse_window("10s")
    with pytest.raises(ConfigError, match="A->B"):
        parse_links("a-b")
    with pytest.raises(ConfigError, match="mode"):
        Capture("x", mode="wire")
    with pytest.raises(ConfigError, match="only with mode='link'"):
        Capture("x", links=[("a", "b")])
    with pytest.raises(ConfigError, match="window"):
        Capture("x", window=(5.0, 1.0))
    with pytest.raises(ConfigError, match="no link r2->pc"):
        Simulation(mh.scenario(), capture=Capture("x", mode="link", links=[("r2", "pc")]))


def test_import_netlab_does_not_load_scapy() -> None:
    code = "import sys, netlab; print('scapy' in sys.modules, 'netlab.pcap' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_cli_run_with_pcap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from netlab.cli import main

    data = yaml.safe_load(mh.scenario({"send": [mh.send(["bob@b.test"], at=1.0)]}).to_yaml())
    path = tmp_path / "mail.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "pcap"
    assert main(["run", str(path), "--pcap", str(out), "--pcap-hosts", "pc,mx1", "--pcap-window", ":30s"]) == 0
    assert "pcap files written to" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["mx1.pcap", "pc.pcap"]
    assert {r[0] for r in fields(out / "pc.pcap", "smtp.req.command", "smtp.req.command")} >= {"EHLO", "QUIT"}
    assert main(["run", str(path), "--pcap-window", "1s:2s"]) == 2
    assert "need --pcap DIR" in capsys.readouterr().err


def test_capturing_changes_nothing_in_the_run(tmp_path: Path) -> None:
    s = mh.scenario({"users": USERS, "send": [mh.send(["bob@b.test", "carol@b.test"], at=1.0)]})
    plain = Simulation(s).execute()
    captured = Simulation(s, capture=Capture(tmp_path, mode="link")).execute()
    assert captured.connections.equals(plain.connections)
    assert captured.summary["delivered"] == plain.summary["delivered"]
    assert captured.summary["pcap"]["packets"] > 0


@pytest.mark.parametrize(("blocks", "dsack"), [(((20000, 21460), (30000, 40000)), True), (((60000, 61460),), False)])
def test_a_dsack_block_is_one_tshark_reads_as_dsack(tmp_path: Path, blocks: tuple[tuple[int, int], ...],
                                                     dsack: bool) -> None:  # fmt: skip
    # RFC 2883: a first block below the cumulative ACK (50000) reports a duplicate; tshark says "D-SACK Sequence"
    seg = Segment(None, None, 0.0, None, "f", 64, 80, 49152, 1000, 50000, ACK, 65536, b"", blocks)
    data, wire = ipv4_bytes(seg, bytes([10, 0, 0, 2]), bytes([10, 0, 0, 1]), 64)
    path = tmp_path / "dsack.pcap"
    head = (0xA1B2C3D4).to_bytes(4, "little") + bytes([2, 0, 4, 0]) + bytes(8) + (65535).to_bytes(4, "little")
    rec = b"".join(x.to_bytes(4, "little") for x in (0, 0, len(data), wire))
    path.write_bytes(head + (101).to_bytes(4, "little") + rec + data)  # LINKTYPE_RAW: one IPv4 packet
    assert bool(fields(path, "tcp.options.sack.dsack", "frame.number")) is dsack
    assert fields(path, "tcp.options.sack_le", "frame.number")  # still a valid SACK option
