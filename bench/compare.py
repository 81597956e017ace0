"""Side-by-side benchmark of netlab on grid6-sp70 against the bare-SimPy floor and the peer ns.py 0.4.3.

Runs, sequentially and interleaved (rep 1 of every implementation, then rep 2, ...), R repetitions of

* ``bench/grid6.py``                         netlab through its public API (this interpreter),
* ``simpy_floor.py --mode callback``         bare SimPy, callbacks only: the engine floor (this interpreter),
* ``peer_nspy.py --sink lean``               ns.py 0.4.3 (PyPI ``ns-py``) in a throwaway venv,

each as a subprocess printing one JSON line, checks that all of them report the same packet_hops / sim_time_s /
mean_delay_ms (and the published check values for seed 1, N = 200000), and prints a table of medians plus the
ratios netlab/floor (target >= 0.9) and netlab/ns.py (target >= 5), then one JSON summary line.

The reference scripts are read from ``--ref DIR`` (default ``<repo>/../shared/bench``); nothing else in netlab
reads that directory. ns.py is never a netlab dependency: on first use this script creates a venv (default
``~/.cache/netlab-bench/nspy-venv``, or ``--peer-venv PATH``) and pip-installs ``ns-py==0.4.3`` with the same
simpy and networkx versions as this interpreter. ``--no-peer`` skips ns.py.

``--memory`` instead runs netlab on a Poisson-arrival version of the workload (``netlab.Poisson``: no
pre-computed trace, whose size grows with N) at N = 50k, 100k, 200k and prints the peak RSS of each run: it
should stay flat. The trace-driven grid6.py is shown next to it for contrast (its input grows with N).

Usage: .venv/bin/python bench/compare.py [--packets N] [--seed S] [--reps R] [--ref DIR]
                                         [--peer-venv PATH | --no-peer] [--memory]
Machines are noisy: only ratios measured in one invocation mean anything, never absolute times across runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
DEFAULT_REF = Path(__file__).resolve().parents[2] / "shared" / "bench"
CHECK = {"packet_hops": 779553, "sim_time_s": 34.295186, "mean_delay_ms": 7.429922}  # seed 1, N = 200000
KEYS = tuple(CHECK)
PEER_PKG = "ns-py==0.4.3"


def run_json(cmd: list[str]) -> dict[str, Any]:
    """Run *cmd*, return the JSON object on the last line of its stdout."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peer_python(venv: Path) -> Path:
    """The venv's python, with ns.py 0.4.3 installed into it on first use."""
    py = venv / "bin" / "python"
    probe = "from importlib.metadata import version; print(version('ns.py'))"
    ok = (
        py.exists()
        and subprocess.run([py, "-c", probe], capture_output=True, text=True, check=False).stdout.strip() == "0.4.3"
    )
    if not ok:
        print(f"# creating the peer venv {venv} and installing {PEER_PKG} (first use only)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pins = [PEER_PKG, f"simpy=={version('simpy')}", f"networkx=={version('networkx')}"]
        subprocess.run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pins], check=True)
    return py


def median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def check_agreement(results: dict[str, list[dict[str, Any]]], packets: int, seed: int) -> list[str]:
    """Every run of every implementation must print the same model figures (and the check values, if known)."""
    problems = []
    first = next(iter(results.values()))[0]
    want = CHECK if (packets, seed) == (200_000, 1) else {k: first[k] for k in KEYS}
    for impl, runs in results.items():
        for i, r in enumerate(runs, 1):
            got = {k: r[k] for k in KEYS}
            if got != want:
                problems.append(f"{impl} rep {i}: {got} != {want}")
    return problems


def compare(args: argparse.Namespace) -> int:
    ref: Path = args.ref.resolve()
    common = ["--packets", str(args.packets), "--seed", str(args.seed)]
    cmds = {
        "netlab": [sys.executable, str(BENCH / "grid6.py"), *common],
        "simpy-floor": [sys.executable, str(ref / "simpy_floor.py"), "--mode", "callback", *common],
    }
    if args.no_peer:
        print("# ns.py skipped (--no-peer): no netlab/ns.py ratio")
    else:
        cmds["ns.py"] = [str(peer_python(args.peer_venv)), str(ref / "peer_nspy.py"), "--sink", "lean", *common]
    results: dict[str, list[dict[str, Any]]] = {impl: [] for impl in cmds}
    for rep in range(1, args.reps + 1):
        for impl, cmd in cmds.items():
            r = run_json(cmd)
            results[impl].append(r)
            print(f"# rep {rep} {impl:<11} run_s {r['run_s']:7.3f}  hops/s {r['hops_per_s']:>9,}", flush=True)

    problems = check_agreement(results, args.packets, args.seed)
    med = {impl: {"run_s": median(runs, "run_s"), "hops_per_s": median(runs, "hops_per_s"),
                  "peak_rss_kib": max(r["peak_rss_kib"] for r in runs)} for impl, runs in results.items()}  # fmt: skip
    nl = med["netlab"]["hops_per_s"]
    ratios = {"netlab/floor": nl / med["simpy-floor"]["hops_per_s"]}
    targets = {"netlab/floor": 0.9, "netlab/ns.py": 5.0}
    if "ns.py" in med:
        ratios["netlab/ns.py"] = nl / med["ns.py"]["hops_per_s"]

    print(f"\ngrid6-sp70, N={args.packets}, seed {args.seed}, {args.reps} reps, medians "
          f"(python {sys.version.split()[0]}, simpy {version('simpy')}, networkx {version('networkx')})")  # fmt: skip
    print(f"{'impl':<12} {'run_s':>8} {'hops/s':>11} {'peak RSS KiB':>13} {'netlab/impl':>12}")
    for impl, m in med.items():
        print(f"{impl:<12} {m['run_s']:>8.3f} {m['hops_per_s']:>11,.0f} {m['peak_rss_kib']:>13,} "
              f"{nl / m['hops_per_s']:>12.2f}")  # fmt: skip
    for name, value in ratios.items():
        verdict = "ok" if value >= targets[name] else "BELOW TARGET"
        print(f"{name:<13} {value:6.2f}  (target >= {targets[name]:g}: {verdict})")
    fig = {k: results["netlab"][0][k] for k in KEYS}
    print(f"model figures: {fig} " + ("agree across all runs" if not problems else "DISAGREE"))
    for p in problems:
        print(f"  MISMATCH {p}")
    summary = {"workload": "grid6-sp70", "packets": args.packets, "seed": args.seed, "reps": args.reps,
               "peer": not args.no_peer, "medians": med, "ratios": {k: round(v, 3) for k, v in ratios.items()},
               "targets": targets, "figures": fig, "agree": not problems}  # fmt: skip
    print(json.dumps(summary))
    return 1 if problems else 0


def poisson_child(packets: int, seed: int, bin_s: float | None) -> None:
    """In-process (run as a subprocess by --memory): grid6 with netlab.Poisson arrivals; prints one JSON line."""
    import netlab

    spec = importlib.util.spec_from_file_location("grid6", BENCH / "grid6.py")
    assert spec is not None and spec.loader is not None
    grid6 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(grid6)
    scenario, info = grid6.build_scenario(1, seed)  # 1 packet: a tiny trace, replaced just below
    flows = tuple(dataclasses.replace(f, arrivals=netlab.Poisson(info["lambda_pps"])) for f in scenario.flows)
    run = netlab.RunSpec(stop_after_delivered=packets, **({"bin_s": bin_s} if bin_s else {}))
    res = netlab.run(dataclasses.replace(scenario, flows=flows, run=run))
    s = res.summary
    print(json.dumps({"packets": s["counted_delivered"], "packet_hops": s["packet_hops"],
                      "sim_time_s": round(s["sim_time_s"], 6), "run_s": round(res.meta["run_s"], 3),
                      "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))  # fmt: skip


def memory(args: argparse.Namespace) -> int:
    """Peak RSS per run at growing N: Poisson arrivals (should be flat) next to the trace-driven grid6.py."""
    me = [sys.executable, str(Path(__file__).resolve())]
    print("peak RSS (KiB) per run; Poisson = netlab.Poisson arrivals, no per-packet records; 'one bin' = run.bin")
    print("longer than the run (link_bins is a time series: 120 links x one row per simulated second by default)")
    print(f"{'N':>8} {'sim_time_s':>10} {'Poisson':>9} {'Poisson, one bin':>17} {'grid6.py (trace)':>17}")
    rows = []
    for n in (50_000, 100_000, 200_000):
        p = run_json([*me, "--poisson-child", str(n), "--seed", str(args.seed)])
        p1 = run_json([*me, "--poisson-child", str(n), "--seed", str(args.seed), "--child-bin", "1e6"])
        t = run_json([sys.executable, str(BENCH / "grid6.py"), "--packets", str(n), "--seed", str(args.seed)])
        rows.append({"packets": n, "poisson": p["peak_rss_kib"], "poisson_one_bin": p1["peak_rss_kib"],
                     "trace": t["peak_rss_kib"]})  # fmt: skip
        print(f"{n:>8} {p['sim_time_s']:>10.3f} {p['peak_rss_kib']:>9,} {p1['peak_rss_kib']:>17,} "
              f"{t['peak_rss_kib']:>17,}")  # fmt: skip
    print(json.dumps({"workload": "grid6-sp70-poisson", "seed": args.seed, "peak_rss_kib": rows}))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[1:]))  # fmt: skip
    ap.add_argument("--packets", type=int, default=200_000, help="stop at the N-th delivery (default 200000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3, help="repetitions per implementation (default 3)")
    ap.add_argument("--ref", type=Path, default=DEFAULT_REF, help=f"reference scripts (default {DEFAULT_REF})")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    ap.add_argument("--peer-venv", type=Path, default=cache / "netlab-bench" / "nspy-venv",
                    help="venv for ns.py 0.4.3, created on first use (default %(default)s)")  # fmt: skip
    ap.add_argument("--no-peer", action="store_true", help="skip ns.py (no venv, no netlab/ns.py ratio)")
    ap.add_argument("--memory", action="store_true", help="peak RSS at N = 50k, 100k, 200k instead (Poisson)")
    ap.add_argument("--poisson-child", type=int, metavar="N", help=argparse.SUPPRESS)
    ap.add_argument("--child-bin", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.poisson_child:
        poisson_child(args.poisson_child, args.seed, args.child_bin)
        return 0
    if args.memory:
        return memory(args)
    if not (args.ref / "simpy_floor.py").is_file() or not (args.ref / "peer_nspy.py").is_file():
        ap.error(f"--ref {args.ref}: expected simpy_floor.py and peer_nspy.py there")
    return compare(args)


if __name__ == "__main__":
    sys.exit(main())
