"""Benchmark: netlab's TCP side by side with ns-3's on the same dumbbell (issue 14, item 7).

Cases (each for NewReno and CUBIC): one flow over 10 Mbit/s with a 100 ms round trip and a DropTail buffer
of 1 BDP and of BDP/4; one flow with random loss 0.1 % and 1 % (buffer 1 BDP); four flows sharing the
bottleneck (buffer 1 BDP, all starting at 0 s). The dumbbell is ``netlab.testing.bottleneck`` (the
congestion-control tests'): access links 1 Gbit/s with no delay, the bottleneck r1 -> r2 with its rate, 50 ms
one-way delay, queue and loss, the ACK path r2 -> r1 at the same rate and delay without loss. TCP on both
sides: MSS 1460, IW10, delayed ACKs (count 2, 200 ms), SACK, no timestamps, MinRto 1 s, receive window 1 MiB;
ns-3 without HyStart (netlab has none) and with its default PRR recovery (``--ns3-recovery classic`` for
RFC 6675 without PRR).

Per case: goodput (payload bytes delivered in [warmup, duration], summed over flows), bottleneck utilisation
(IP bytes sent on r1 -> r2 over rate x seconds, retransmissions included) and Jain's fairness index over the
flows, each the mean over ``--seeds`` runs with the half-range across runs (the run-to-run spread).

ns-3 (Debian's libns3-dev, 3.37) is never a dependency: ``bench/ns3/dumbbell.cc`` is built on demand with g++
into ``--build-dir`` (rebuilt when the source changes); ``--ns3-skip`` runs netlab alone.

``--ns3-like-cubic`` adds rows ``netlab~``: netlab's TCP with ``bench/ns3_like_cubic.py``, a congestion control
that behaves as ns-3.37's TcpCubic (no Reno-friendly region, whole-segment targets, W_max forgotten after an RTO),
to show how much of a CUBIC gap is the algorithm's variant rather than the rest of the TCP.

Usage: python bench/tcp.py [--seeds N] [--duration S] [--warmup S] [--ns3-skip] [--cases a,b] [--cc newreno,cubic]
       [--ns3-like-cubic]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import simpy

import netlab
from netlab.network.network import Network
from netlab.testing import bottleneck
from netlab.transport import TcpConfig, TransportStack

HERE = Path(__file__).resolve().parent
RATE_BPS = 10e6
DELAY_S = 0.05
BDP_PACKETS = RATE_BPS * 2 * DELAY_S / (1500 * 8)  # 83.3 packets of 1500 bytes


@dataclass(frozen=True)
class Case:
    """One dumbbell set-up: *queue_packets* counts the packet on the wire too (netlab's link limit)."""

    name: str
    flows: int
    queue_packets: int
    loss: float


CASES = (
    Case("1 flow, 1 BDP", 1, round(BDP_PACKETS) + 1, 0.0),
    Case("1 flow, BDP/4", 1, round(BDP_PACKETS / 4) + 1, 0.0),
    Case("1 flow, loss 0.1%", 1, round(BDP_PACKETS) + 1, 0.001),
    Case("1 flow, loss 1%", 1, round(BDP_PACKETS) + 1, 0.01),
    Case("4 flows, 1 BDP", 4, round(BDP_PACKETS) + 1, 0.0),
)


def jain(xs: list[float]) -> float:
    """Jain's fairness index (sum x)^2 / (n sum x^2): 1 when all shares are equal, 1/n when one takes all."""
    return sum(xs) ** 2 / (len(xs) * sum(x * x for x in xs)) if any(xs) else 0.0


def dumbbell(case: Case) -> netlab.Topology:
    return bottleneck(case.flows, rate_bps=RATE_BPS, delay_s=DELAY_S, queue_packets=case.queue_packets, loss=case.loss)


def run_netlab(case: Case, cc: Any, seed: int, duration_s: float, warmup_s: float) -> dict[str, Any]:
    """Long-lived transfers s_i -> d_i whose senders never run dry; the figures of the window after warm-up."""
    env = simpy.Environment()
    net = Network(env, dumbbell(case), seed=seed)
    net.attach(netlab.ShortestHops())
    stack = TransportStack(net, TcpConfig(congestion=cc))
    bottleneck = net.link_between("r1", "r2")
    assert bottleneck is not None
    servers: list[Any] = [None] * case.flows
    at_warmup = [0] * case.flows
    busy_at_warmup = [0.0]
    chunk = 256 * 1024

    def server(i: int) -> Generator[Any, Any, None]:
        conn = yield stack.listen(f"d{i}", 5001).accept()
        servers[i] = conn
        while (yield conn.recv(1 << 20)):
            pass

    def client(i: int) -> Generator[Any, Any, None]:
        conn = yield stack.connect(f"s{i}", (f"d{i}", 5001)).connected
        while True:  # keep about two chunks queued beyond what the receiver has (as ns-3's BulkSend)
            srv = servers[i]
            if conn.app_bytes_sent - (srv.bytes_delivered if srv is not None else 0) < 2 * chunk:
                conn.send(bytes(chunk))
            yield env.timeout(0.01)

    def mark() -> Generator[Any, Any, None]:
        yield env.timeout(warmup_s)
        busy_at_warmup[0] = bottleneck.snapshot(env.now)[2]
        for i, s in enumerate(servers):
            at_warmup[i] = s.bytes_delivered if s is not None else 0

    for i in range(case.flows):
        env.process(server(i))
        env.process(client(i))
    env.process(mark())
    env.run(until=duration_s)
    seconds = duration_s - warmup_s
    delivered = [(s.bytes_delivered if s is not None else 0) - w for s, w in zip(servers, at_warmup, strict=True)]
    goodput = [8 * b / seconds for b in delivered]
    busy = bottleneck.snapshot(env.now)[2] - busy_at_warmup[0]
    return {"goodput_bps": goodput, "utilisation": busy / seconds}


def build_ns3(build_dir: Path) -> Path:
    """Compile bench/ns3/dumbbell.cc against the installed ns-3 (once per source change); return the binary."""
    src = HERE / "ns3" / "dumbbell.cc"
    exe = build_dir / "dumbbell"
    if exe.exists() and exe.stat().st_mtime >= src.stat().st_mtime:
        return exe
    if shutil.which("pkg-config") is None or shutil.which("g++") is None:
        raise SystemExit("bench/tcp.py: ns-3 needs g++ and pkg-config; install them, or pass --ns3-skip")
    mods = ["ns3-core", "ns3-network", "ns3-internet", "ns3-point-to-point", "ns3-applications", "ns3-traffic-control"]
    probe = subprocess.run(["pkg-config", "--cflags", "--libs", *mods], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise SystemExit(
            "bench/tcp.py: ns-3 is not installed (pkg-config finds no ns3-core). Install Debian's libns3-dev "
            "(apt-get install libns3-dev, ns-3.37), or pass --ns3-skip to run netlab alone."
        )
    # Only the -l/-I/-D flags: Debian's .pc files also name libgsl.so by absolute path, absent without libgsl-dev.
    flags = [f for f in probe.stdout.split() if f.startswith(("-I", "-D", "-l", "-L"))]
    build_dir.mkdir(parents=True, exist_ok=True)
    cmd = ["g++", "-O2", "-std=c++17", str(src), "-o", str(exe), *flags]
    print(f"building {exe} (once) ...", file=sys.stderr)
    subprocess.run(cmd, check=True)
    return exe


def run_ns3(exe: Path, case: Case, cc: str, seed: int, duration_s: float, warmup_s: float,
            recovery: str) -> dict[str, Any]:  # fmt: skip
    # All flows start at 0 s: ns-3.37's TcpRateLinux::SkbSent crashes (SIGSEGV) for CUBIC flows started apart.
    args = [str(exe), f"--cc={cc}", f"--rate={RATE_BPS}", f"--delay={DELAY_S}", f"--queue={case.queue_packets}",
            f"--loss={case.loss}", f"--flows={case.flows}", f"--duration={duration_s}", f"--warmup={warmup_s}",
            f"--run={seed}", f"--recovery={recovery}"]  # fmt: skip
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarise(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Mean and half-range over the runs of goodput (Mbit/s, all flows), utilisation and Jain's index."""
    out: dict[str, float] = {}
    for key, values in (
        ("goodput", [sum(r["goodput_bps"]) / 1e6 for r in runs]),
        ("util", [r["utilisation"] for r in runs]),
        ("jain", [jain(r["goodput_bps"]) for r in runs]),
    ):
        out[key] = statistics.fmean(values)
        out[key + "_spread"] = (max(values) - min(values)) / 2
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="runs per case and simulator (seeds 1..N)")
    ap.add_argument("--duration", type=float, default=40.0, help="simulated seconds per run")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    ap.add_argument("--cc", default="newreno,cubic", help="comma-separated: newreno, cubic")
    ap.add_argument("--cases", default="", help="comma-separated case numbers (1-5; default all)")
    ap.add_argument("--ns3-skip", action="store_true", help="run netlab alone (ns-3 not installed)")
    ap.add_argument(
        "--ns3-like-cubic",
        action="store_true",
        help="add netlab rows with bench/ns3_like_cubic.py (ns-3.37's CUBIC behaviour) to the cubic cases",
    )
    ap.add_argument("--ns3-recovery", default="prr", choices=["prr", "classic"], help="ns-3's recovery")
    ap.add_argument("--build-dir", type=Path, default=Path("/tmp/netlab-bench-ns3"), help="where ns-3's binary goes")
    args = ap.parse_args(argv)
    exe = None if args.ns3_skip else build_ns3(args.build_dir)
    cases = [CASES[int(k) - 1] for k in args.cases.split(",")] if args.cases else list(CASES)
    t0 = time.perf_counter()
    rows = []
    cols = f"{'goodput Mbit/s':>16} {'util':>12} {'Jain':>12}"
    print(f"{'case':20} {'cc':8} {'sim':7} {cols}")
    for case in cases:
        for cc in args.cc.split(","):
            sims: list[tuple[str, Any]] = [("netlab", cc)]
            if args.ns3_like_cubic and cc == "cubic":
                from ns3_like_cubic import Ns3LikeCubic

                sims.append(("netlab~", Ns3LikeCubic()))
            sims += [] if exe is None else [("ns-3", exe)]
            for sim, binary in sims:
                runs = []
                for seed in range(1, args.seeds + 1):
                    if not isinstance(binary, Path):
                        runs.append(run_netlab(case, binary, seed, args.duration, args.warmup))
                    else:
                        runs.append(run_ns3(binary, case, cc, seed, args.duration, args.warmup, args.ns3_recovery))
                s = summarise(runs)
                rows.append({"case": case.name, "cc": cc, "sim": sim, **{k: round(v, 4) for k, v in s.items()}})
                print(
                    f"{case.name:20} {cc:8} {sim:7} {s['goodput']:9.3f} ±{s['goodput_spread']:5.3f} "
                    f"{s['util']:6.3f} ±{s['util_spread']:4.3f} {s['jain']:6.3f} ±{s['jain_spread']:4.3f}",
                    flush=True,
                )
    print(f"{args.seeds} runs per row, {args.duration:g} s simulated ({args.warmup:g} s warm-up), "
          f"{time.perf_counter() - t0:.1f} s wall" + ("" if exe else "; ns-3 skipped (--ns3-skip)"))  # fmt: skip
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
