"""Dask: a real dask.distributed LocalCluster on loopback gives the numbers of the sequential path.

Without dask the tests skip, and under CI=true a skip fails (tests/conftest.py): the dask extra is part of dev.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import netlab
from netlab.cli import main

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = str(ROOT / "topologies" / "compare.yaml")
STRATEGIES = ["shortest_hops", "least_loaded(mode=link_state, update_interval=1s)", "spray"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    # Loopback only, no dashboard (nothing listens beyond 127.0.0.1); two worker processes, one thread each.
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None) as c:  # fmt: skip
        yield c


@pytest.fixture(scope="module")
def short() -> netlab.Scenario:
    return netlab.load_scenario(SCENARIO).override("run.until=3s", "run.warmup=0.5s")


def test_dask_client_matches_sequential_and_local_processes(cluster: Any, short: netlab.Scenario) -> None:
    one = netlab.compare(short, STRATEGIES, replications=3, progress=False, workers=1)
    two = netlab.compare(short, STRATEGIES, replications=3, progress=False, workers=2)
    with distributed.Client(cluster) as client:
        on_dask = netlab.compare(short, STRATEGIES, replications=3, progress=False, client=client)
        assert client.status == "running"  # a client that was given is left open
    assert on_dask.meta["executor"].startswith("Dask(")
    for name in one._TABLES:
        pd.testing.assert_frame_equal(getattr(one, name), getattr(on_dask, name), check_exact=True)
        pd.testing.assert_frame_equal(getattr(two, name), getattr(on_dask, name), check_exact=True)


def test_dask_scheduler_address_for_sweep_and_cli(cluster: Any, short: netlab.Scenario, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    address = cluster.scheduler_address
    assert address.startswith("tcp://127.0.0.1:")
    args = (short, "load", [0.5, 1.5], ["shortest_hops", "ecmp"])
    local = netlab.sweep(*args, replications=2, progress=False, workers=1)
    pd.testing.assert_frame_equal(local, netlab.sweep(*args, replications=2, progress=False, scheduler=address),
                                  check_exact=True)  # fmt: skip
    cli = [
        "compare",
        SCENARIO,
        "--strategies",
        "shortest_hops,ecmp",
        "--reps",
        "2",
        "-q",
        "--set",
        "run.until=2s",
        "--set",
        "run.warmup=0.5s",
    ]
    assert main([*cli, "--scheduler", address, "-o", str(tmp_path / "dask")]) == 0
    assert main([*cli, "--workers", "1", "-o", str(tmp_path / "one")]) == 0
    capsys.readouterr()
    a, b = netlab.load_comparison(tmp_path / "one"), netlab.load_comparison(tmp_path / "dask")
    pd.testing.assert_frame_equal(a.summary, b.summary, check_exact=True)


def test_strategy_defined_in_the_session_runs_on_dask(cluster: Any, short: netlab.Scenario) -> None:
    class Local(netlab.ShortestHops):  # not importable by name: Dask ships it with cloudpickle
        pass

    with distributed.Client(cluster) as client:
        c = netlab.compare(short, {"local": Local()}, replications=2, progress=False, client=client)
    ref = netlab.compare(short, {"local": Local()}, replications=2, progress=False, workers=1)
    pd.testing.assert_frame_equal(ref.summary, c.summary, check_exact=True)
