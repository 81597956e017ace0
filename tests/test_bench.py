"""The benchmark scripts measure netlab itself: no benchmark-only fast path, flat memory, a working compare.py.

No timing assertions here (machines are noisy); bench/compare.py reports speed. Nothing here reads the shared
reference scripts: the check values below are the published grid6-sp70 figures for seed 7, 20,000 packets.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

import netlab

ROOT = Path(__file__).resolve().parents[1]
GRID6 = ROOT / "bench" / "grid6.py"
COMPARE = ROOT / "bench" / "compare.py"
SEED7_20K = {"packet_hops": 77510, "sim_time_s": 3.432695, "mean_delay_ms": 7.385435}


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _figures(summary: dict[str, object]) -> dict[str, object]:
    return {
        "packet_hops": summary["packet_hops"],
        "sim_time_s": round(float(summary["sim_time_s"]), 6),  # type: ignore[arg-type]
        "mean_delay_ms": round(1e3 * float(summary["mean_delay_s"]), 6),  # type: ignore[arg-type]
    }


def test_grid6_script_is_plain_netlab_run() -> None:
    """The script's figures are the published ones, and netlab.run() on its scenario gives the same, repeatably."""
    proc = subprocess.run([sys.executable, str(GRID6), "--packets", "20000", "--seed", "7"],
                          capture_output=True, text=True, check=True, cwd=ROOT)  # fmt: skip
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {k: out[k] for k in SEED7_20K} == SEED7_20K
    assert out["packets"] == 20000 and out["paths_sha256"] == "a1252ddd323375d2"

    scenario, info = _load(GRID6).build_scenario(20000, 7)
    assert info["paths_sha256"] == out["paths_sha256"]
    first, second = netlab.run(scenario), netlab.run(scenario)
    assert _figures(first.summary) == SEED7_20K
    assert first.summary["counted_delivered"] == 20000
    assert first.summary["stop_reason"] == "stop_after_delivered"
    for table in ("flows", "links", "link_bins", "drops"):
        pd.testing.assert_frame_equal(getattr(first, table), getattr(second, table))
    assert first.summary == second.summary
    assert int(first.flows["rx_packets"].sum()) == 20000


# Runs in a fresh interpreter so earlier tests' allocations do not blur the peak. tracemalloc starts after the
# scenario is built, so the peak covers netlab.run(): network, event loop, statistics and the Results tables.
_MEMORY_CHILD = """
import dataclasses, importlib.util, json, sys, tracemalloc
import netlab
spec = importlib.util.spec_from_file_location("grid6", sys.argv[1])
grid6 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(grid6)
base, info = grid6.build_scenario(1, 3)
flows = tuple(dataclasses.replace(f, arrivals=netlab.Poisson(info["lambda_pps"])) for f in base.flows)
out = []
for n, record in ((20000, False), (80000, False), (80000, True)):
    run = netlab.RunSpec(stop_after_delivered=n, bin_s=1e6, record_packets=record)
    scenario = dataclasses.replace(base, flows=flows, run=run)
    tracemalloc.start()
    res = netlab.run(scenario)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out.append({"n": n, "record": record, "delivered": res.summary["counted_delivered"], "peak": peak})
    del res
print(json.dumps(out))
"""


def test_memory_does_not_grow_with_delivered_packets() -> None:
    """Traced peak memory of a run is flat in the number of delivered packets when per-packet records are off.

    Workload: grid6 with ``netlab.Poisson`` arrivals (a pre-computed trace would grow with N by itself), one
    statistics bin for the whole run (``link_bins`` is a time series: by design it grows with *simulated time*,
    one row per link per ``run.bin``, about 0.16 MB per simulated second here with the default 1 s bins).

    Bound: from 20k to 80k packets the traced peak (about 1.4 MB) may grow by less than 20 %. Anything kept per
    delivered packet costs at least one small object (>= 56 bytes for a tuple or float), i.e. >= 3.4 MB for the
    60,000 extra packets, well over 200 %; 20 % (< 5 bytes per extra packet) leaves room for allocator noise only.
    The third run, with ``record_packets`` on, shows that this measurement does see per-packet retention.
    """
    proc = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(GRID6)],
                          capture_output=True, text=True, check=True, cwd=ROOT)  # fmt: skip
    small, large, recorded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (small["delivered"], large["delivered"], recorded["delivered"]) == (20000, 80000, 80000)
    growth = large["peak"] / small["peak"] - 1.0
    assert growth < 0.20, f"traced peak grew {growth:.1%}: {small['peak']} -> {large['peak']} bytes"
    assert recorded["peak"] > 3 * large["peak"], "record_packets should make memory grow with packets"


def test_compare_help() -> None:
    proc = subprocess.run([sys.executable, str(COMPARE), "--help"], capture_output=True, text=True, check=True)
    for option in ("--packets", "--reps", "--ref", "--peer-venv", "--no-peer", "--memory"):
        assert option in proc.stdout


def test_compare_flags_disagreeing_figures() -> None:
    compare = _load(COMPARE)
    run = {"packet_hops": 779553, "sim_time_s": 34.295186, "mean_delay_ms": 7.429922}
    assert compare.check_agreement({"a": [run], "b": [dict(run)]}, 200_000, 1) == []
    wrong = {**run, "mean_delay_ms": 7.43}
    assert len(compare.check_agreement({"a": [run], "b": [run, wrong]}, 200_000, 1)) == 1
    # Other N/seed: no published values, so the runs must agree with each other.
    assert compare.check_agreement({"a": [wrong], "b": [wrong]}, 1000, 2) == []


def test_mail_bench_runs_and_reports_its_breakdown() -> None:
    """bench/mail.py end to end at a tiny size: its report lines, the sampled breakdown and the engine+TCP floor
    (nothing timed is asserted)."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "mail.py"), "-n", "30", "--no-grid6", "--breakdown"],
                         capture_output=True, text=True, check=True, timeout=300).stdout  # fmt: skip
    assert "mail: 30 messages" in out and "links per packet" in out
    assert "wall time by part: " in out and "engine + TCP alone: " in out
    mail = _load(ROOT / "bench" / "mail.py")
    (value, parts) = mail.sampled(lambda: sum(i * i for i in range(2_000_000)), interval_s=0.001)
    assert value > 0 and sum(parts.values()) > 0


def test_scale_bench_runs_and_fits_its_exponent() -> None:
    """bench/scale.py end to end at small sizes (each in its own process): its table, the same packet-hops as a
    plain run of its scenario, and the fitted exponent (nothing timed is asserted)."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "scale.py"), "--sizes", "1000,1500", "--json"],
                         capture_output=True, text=True, check=True, timeout=600).stdout  # fmt: skip
    rows = json.loads(out.strip().splitlines()[-1])
    assert [r["routers"] for r in rows] == [1000, 1500] and "setup time grows like routers^" in out
    scale = _load(ROOT / "bench" / "scale.py")
    assert rows[0]["packet_hops"] == netlab.run(scale.packet_scenario(1000)).summary["packet_hops"] == 58426
    assert scale.growth_exponent([{"routers": 10, "t": 2.0}, {"routers": 100, "t": 200.0}], "t") == pytest.approx(2.0)


@pytest.mark.parametrize(("shares", "index"), [([1, 1, 1, 1], 1.0), ([1, 0, 0, 0], 0.25), ([3, 1], 0.8)])
def test_tcp_bench_jain_index(shares: list[float], index: float) -> None:
    """Jain's index (sum x)^2 / (n sum x^2): 1 for equal shares, 1/n when one flow takes all."""
    spec = importlib.util.spec_from_file_location("_bench_tcp", ROOT / "bench" / "tcp.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["_bench_tcp"] = module  # its frozen dataclass looks its module up there
    spec.loader.exec_module(module)
    assert module.jain(shares) == pytest.approx(index)


def test_tcp_bench_runs_netlab_alone_with_ns3_skip() -> None:
    """bench/tcp.py --ns3-skip on the 4-flow case, short: a row per simulator run, the link busy after warm-up."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "tcp.py"), "--ns3-skip", "--seeds", "1", "--cases",
                          "5", "--cc", "newreno", "--duration", "8", "--warmup", "3"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert "ns-3 skipped (--ns3-skip)" in out.stdout
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    assert [(r["case"], r["cc"], r["sim"]) for r in rows] == [("4 flows, 1 BDP", "newreno", "netlab")]
    # Four flows in slow start and then congestion avoidance keep a 1-BDP buffer from emptying: the link is busy.
    assert rows[0]["util"] > 0.9
    assert rows[0]["goodput"] == pytest.approx(rows[0]["util"] * 10 * 1460 / 1500, rel=0.05)


def test_tcp_bench_ns3_like_cubic_grows_slower_at_one_percent_loss() -> None:
    """bench/tcp.py --ns3-like-cubic adds a `netlab~` row (ns-3.37's CUBIC variant: no Reno-friendly region) that
    explains the measured CUBIC gap to ns-3 at 1 % loss: at windows of about ten segments RFC 9438's Reno-friendly
    region makes netlab's CUBIC grow like Reno with alpha = 0.53 per RTT, which the cubic curve alone does not."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "tcp.py"), "--ns3-skip", "--seeds", "2", "--cases",
                          "4", "--cc", "cubic", "--ns3-like-cubic"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    rows = {r["sim"]: r for r in json.loads(out.stdout.strip().splitlines()[-1])}
    assert set(rows) == {"netlab", "netlab~"}
    assert rows["netlab~"]["goodput"] < 0.8 * rows["netlab"]["goodput"]
