"""bench/transfer.py runs, checks every byte and conservation, and reports its figures (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_transfer_benchmark_smoke() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "transfer.py"),
            "--connections",
            "40",
            "--size",
            "20000",
            "--spread",
            "1",
            "--grid6-packets",
            "2000",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["connections"] == 40 and out["data_segments"] >= 40 * 14
    assert out["packet_hops"] > out["segments"] > 0 and out["ratio"] > 0
    assert "ratio transfer/grid6" in proc.stdout
