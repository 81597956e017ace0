"""Benchmark: many concurrent TCP transfers over the grid6 topology, against grid6.py's packet-hops per second.

The topology is bench/grid6.py's (6x6 grid, 10 Mbit/s links with 1 ms delay, no queue limit), built by its own
``build_scenario``; routing is hop count. ``--connections`` transfers of ``--size`` bytes each run between
seeded random pairs of distinct nodes, starting at uniform random times in ``[0, --spread)`` seconds. Each
server reads its message with one ``recv_exactly``, checks it byte for byte (a shared random block behind a
per-connection header) and closes; the client closes after sending. Conservation is checked at the end.

Prints the figures of this run (segments and packet-hops per wall-clock second of the event loop, every
segment and ACK counted, each hop one SimPy event), then runs ``bench/grid6.py`` as a subprocess in the same
invocation and prints the ratio of packet-hops per second, transfer / grid6 (target >= 0.5), and one JSON line.

Usage: python bench/transfer.py [--connections N] [--size BYTES] [--spread S] [--seed S] [--grid6-packets N]
       [--congestion none|newreno|cubic]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import simpy

import netlab
from netlab.network.network import Network
from netlab.transport import TcpConfig, TransportStack, connections_table

HERE = Path(__file__).resolve().parent


def _grid6() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_bench_grid6", HERE / "grid6.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_transfers(connections: int, size: int, spread_s: float, seed: int, congestion: str = "none") -> dict[str, Any]:
    """Run the transfers; return the figures (and raise if a byte went wrong or conservation fails)."""
    t0 = time.perf_counter()
    scenario, _info = _grid6().build_scenario(packets=20, seed=seed)  # only its topology is used
    env = simpy.Environment()
    net = Network(env, scenario.topology, seed=seed)
    net.attach(netlab.ShortestHops())
    stack = TransportStack(net, TcpConfig(congestion=congestion))
    names = sorted(net.nodes)
    rng = random.Random(seed)
    block = rng.randbytes(size)
    listeners = {name: stack.listen(name, 80) for name in names}
    finished = []
    bad = []

    def handle(conn: Any) -> Any:
        head = yield conn.recv_exactly(8)
        body = yield conn.recv_exactly(size - 8)
        i = int.from_bytes(head, "big")
        if body != block[8:]:
            bad.append(i)
        conn.close()

    def serve(listener: Any) -> Any:
        while True:
            conn = yield listener.accept()
            env.process(handle(conn))

    def client(i: int, src: str, dst: str, start: float) -> Any:
        yield env.timeout(start)
        conn = yield stack.connect(src, (dst, 80)).connected
        conn.send(i.to_bytes(8, "big") + block[8:])
        conn.close()
        yield conn.closed
        finished.append(env.now)

    for listener in listeners.values():
        env.process(serve(listener))
    for i in range(connections):
        src, dst = rng.sample(names, 2)
        env.process(client(i, src, dst, rng.uniform(0.0, spread_s)))
    setup_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    env.run()
    run_s = time.perf_counter() - t1
    net.check_conservation()
    if bad or len(finished) != connections:
        raise SystemExit(f"transfer benchmark: {len(bad)} corrupted, {connections - len(finished)} unfinished")
    df = connections_table(stack)
    segments = int(df["segments_sent"].sum())
    hops = sum(link.packets for link in net.links)
    # Peak number of connections open at once (from the open and close times).
    edges = sorted([(t, 1) for t in df["opened_s"]] + [(t, -1) for t in df["closed_s"]])
    open_now = peak = 0
    for _t, d in edges:
        open_now += d
        peak = max(peak, open_now)
    return {
        "congestion": congestion,
        "connections": connections,
        "size_bytes": size,
        "spread_s": spread_s,
        "seed": seed,
        "segments": segments,
        "data_segments": int(df["data_segments_sent"].sum()),
        "retransmissions": int(df["retransmissions"].sum()),
        "timeouts": int(df["timeouts"].sum()),
        "packet_hops": hops,
        "peak_open_connection_ends": peak,
        "sim_time_s": round(max(finished), 6),
        "mean_completion_s": round(float(df.loc[df["role"] == "client", "completion_s"].mean()), 6),
        "setup_s": round(setup_s, 3),
        "run_s": round(run_s, 3),
        "segments_per_s": round(segments / run_s),
        "hops_per_s": round(hops / run_s),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=2000)
    ap.add_argument("--size", type=int, default=100_000, help="bytes per transfer")
    ap.add_argument("--spread", type=float, default=10.0, help="start times uniform in [0, spread) seconds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--congestion",
        default=TcpConfig().congestion_control_name,
        help="congestion control: none, newreno, cubic (default: TcpConfig's)",
    )
    ap.add_argument("--grid6-packets", type=int, default=200_000, help="packets of the grid6.py comparison run")
    args = ap.parse_args(argv)
    out = run_transfers(args.connections, args.size, args.spread, args.seed, args.congestion)
    print(f"congestion control: {args.congestion}")
    print(
        f"transfers: {out['connections']} x {out['size_bytes']} B over grid6, starts in [0, {out['spread_s']:g}) s: "
        f"{out['segments']} segments ({out['data_segments']} with data, {out['retransmissions']} retransmitted), "
        f"{out['packet_hops']} packet-hops, {out['sim_time_s']:.3f} s simulated, {out['run_s']:.3f} s wall"
    )
    print(f"transfers: {out['segments_per_s']:,} segments/s, {out['hops_per_s']:,} packet-hops/s")
    proc = subprocess.run([sys.executable, str(HERE / "grid6.py"), "--packets", str(args.grid6_packets)],
                          capture_output=True, text=True, check=True)  # fmt: skip
    grid6 = json.loads(proc.stdout.strip().splitlines()[-1])
    ratio = out["hops_per_s"] / grid6["hops_per_s"]
    print(f"grid6.py:  {grid6['hops_per_s']:,} packet-hops/s ({grid6['packet_hops']} hops in {grid6['run_s']} s)")
    print(f"ratio transfer/grid6 packet-hops per second: {ratio:.2f} (target >= 0.5)")
    print(json.dumps({**out, "grid6_hops_per_s": grid6["hops_per_s"], "ratio": round(ratio, 3)}))


if __name__ == "__main__":
    main()
