"""Benchmark: the same comparison on four executors, for the README's "Scaling out" table.

``compare`` on ``topologies/geant.yaml`` with 3 strategies x 8 replications = 24 independent runs, executed
sequentially (``workers=1``), on 2 local processes, and on a Dask ``LocalCluster`` (loopback only) of 1 and of
2 workers. Prints each wall time, the speed-up against sequential, and whether every summary table is
identical to the sequential one (it must be: the executor changes where runs happen, never their numbers).

Usage: python bench/scaling.py [--reps 8] [--no-dask]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

import netlab

STRATEGIES = ["shortest_hops", "ecmp", "least_loaded(mode=link_state, update_interval=1s)"]
SCENARIO = Path(__file__).resolve().parents[1] / "topologies" / "geant.yaml"


def timed(reps: int, **executor: object) -> tuple[float, pd.DataFrame]:
    t0 = time.perf_counter()
    c = netlab.compare(netlab.load_scenario(str(SCENARIO)), STRATEGIES, replications=reps, progress=False, **executor)
    return time.perf_counter() - t0, c.summary


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--no-dask", action="store_true", help="only the sequential and local-process executors")
    args = ap.parse_args(argv)
    rows: list[tuple[str, float, pd.DataFrame]] = []
    rows.append(("workers=1 (this process)", *timed(args.reps, workers=1)))
    rows.append(("workers=2 (local processes)", *timed(args.reps, workers=2)))
    if not args.no_dask:
        from dask.distributed import Client, LocalCluster

        for n in (1, 2):
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                              dashboard_address=None) as cluster, Client(cluster) as client:  # fmt: skip
                rows.append((f"Dask, {n} worker{'s' * (n > 1)}", *timed(args.reps, client=client)))
    base_s, base = rows[0][1], rows[0][2]
    print(f"compare on {SCENARIO.name}: {len(STRATEGIES)} strategies x {args.reps} replications")
    print(f"{'executor':<30} {'wall s':>8} {'speed-up':>9}  identical tables")
    out = []
    for name, wall, summary in rows:
        same = summary.equals(base)
        print(f"{name:<30} {wall:>8.2f} {base_s / wall:>8.2f}x  {same}")
        out.append({"executor": name, "wall_s": round(wall, 2), "speedup": round(base_s / wall, 2), "identical": same})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
