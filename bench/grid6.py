"""Benchmark: the grid6-sp70 workload (see ../shared/bench/workload.py) on netlab, through its public API.

6x6 grid, 10 Mbit/s links with 1 ms delay, 1000-byte packets, 20 Poisson flows pinned to
``networkx.shortest_path(G, src, dst)`` with the explicit-path strategy, arrivals replayed from the reference
streams ``random.Random(1000*seed + i).expovariate(lambda)``, stop at the N-th delivered packet, default
statistics on. Prints one JSON line with the keys of the reference scripts.

Check values (seed 1, 200,000 packets): packet_hops 779553, sim_time_s 34.295186, mean_delay_ms 7.429922.

Usage: python bench/grid6.py [--packets N] [--seed S]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import resource
import time
from collections import Counter
from importlib.metadata import version
from itertools import pairwise

import networkx as nx

import netlab

GRID, RATE_BPS, PROP_S, PKT_BYTES, N_FLOWS, FLOW_SEED, TARGET_UTIL = 6, 10e6, 1e-3, 1000, 20, 42, 0.70


def _name(node: tuple[int, int]) -> str:
    return f"n{node[0]}_{node[1]}"


def build_scenario(packets: int = 200_000, seed: int = 1) -> tuple[netlab.Scenario, dict[str, object]]:
    """The grid6-sp70 workload as a netlab scenario (same graph, paths, rates and arrival streams)."""
    G = nx.grid_2d_graph(GRID, GRID)
    nodes = sorted(G.nodes())
    rng = random.Random(FLOW_SEED)
    paths = []
    for _ in range(N_FLOWS):
        src, dst = rng.sample(nodes, 2)
        paths.append(nx.shortest_path(G, src, dst))
    load = Counter((a, b) for p in paths for a, b in pairwise(p))
    k_max = max(load.values())
    lam = TARGET_UTIL / (k_max * PKT_BYTES * 8.0 / RATE_BPS)
    # Enough arrivals per flow to reach the N-th delivery: the run stops there, so extra times cost only memory.
    horizon = 1.2 * packets / (N_FLOWS * lam) + 1.0
    flows = []
    for i, p in enumerate(paths):
        expo = random.Random(1000 * seed + i).expovariate
        t, times = 0.0, []
        while t <= horizon:
            t = t + expo(lam)
            times.append(t)
        flows.append(netlab.FlowSpec(f"f{i}", _name(p[0]), _name(p[-1]), arrivals=netlab.Trace(tuple(times)),
                                     size=netlab.FixedSize(PKT_BYTES)))  # fmt: skip
    topo = netlab.Topology(
        tuple(netlab.NodeSpec(_name(n), "host") for n in nodes),
        tuple(netlab.LinkSpec(_name(a), _name(b), rate_bps=RATE_BPS, delay_s=PROP_S) for a, b in G.edges()),
    )
    routing = netlab.ExplicitPaths(paths={f"f{i}": tuple(_name(n) for n in p) for i, p in enumerate(paths)})
    scenario = netlab.Scenario(topo, flows=tuple(flows), routing=routing, seed=seed, name="grid6-sp70",
                               run=netlab.RunSpec(stop_after_delivered=packets))  # fmt: skip
    sig = hashlib.sha256(json.dumps(paths).encode()).hexdigest()[:16]  # as workload.py's PATHS_SHA256
    return scenario, {"lambda_pps": round(lam, 6), "k_max": k_max, "paths_sha256": sig}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    scenario, info = build_scenario(args.packets, args.seed)
    build_s = time.perf_counter() - t0
    res = netlab.run(scenario)
    s, m = res.summary, res.meta
    out = {
        "impl": f"netlab-{version('netlab-sim')}",  # the distribution's name (the import name is netlab)
        "mode": "explicit-paths",
        "packets": s["counted_delivered"],
        "seed": args.seed,
        "packet_hops": s["packet_hops"],
        "sim_time_s": round(s["sim_time_s"], 6),
        "mean_delay_ms": round(1e3 * s["mean_delay_s"], 6),
        "setup_s": round(build_s + m["setup_s"], 3),
        "run_s": round(m["run_s"], 3),
        "hops_per_s": round(s["packet_hops"] / m["run_s"]),
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "python": platform.python_version(),
        "simpy": version("simpy"),
        "networkx": version("networkx"),
        **info,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
