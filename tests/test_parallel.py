"""Executors: local processes give the numbers of the sequential path, in the same order; CLI flags."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

import netlab
from netlab.cli import main
from netlab.errors import ConfigError
from netlab.experiment.parallel import Dask, LocalProcesses, Mapper, Sequential, executor_for
from netlab.routing.static import ShortestHops

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = str(ROOT / "topologies" / "compare.yaml")
STRATEGIES = ["shortest_hops", "least_loaded(mode=link_state, update_interval=1s)", "spray"]


@pytest.fixture(scope="module")
def short() -> netlab.Scenario:
    return netlab.load_scenario(SCENARIO).override("run.until=3s", "run.warmup=0.5s")


def assert_same(a: netlab.Comparison, b: netlab.Comparison) -> None:
    """Every table equal to the last bit, rows in the same order."""
    for name in a._TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


def test_executor_for() -> None:
    assert isinstance(executor_for(), LocalProcesses) and executor_for().workers is None
    assert isinstance(executor_for(workers=1), Sequential)
    assert isinstance(executor_for(workers=3), LocalProcesses)
    assert isinstance(executor_for(scheduler="tcp://127.0.0.1:1"), Dask)
    assert isinstance(executor_for(mapper=map), Mapper)
    with pytest.raises(ConfigError, match="at most one of scheduler, client and mapper"):
        executor_for(scheduler="tcp://x:1", mapper=map)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ConfigError, match="workers must be"):
            LocalProcesses(bad)  # type: ignore[arg-type]


def test_local_processes_match_sequential(short: netlab.Scenario) -> None:
    one = netlab.compare(short, STRATEGIES, replications=3, progress=False, workers=1)
    two = netlab.compare(short, STRATEGIES, replications=3, progress=False, workers=2)
    assert one.meta["executor"] == "Sequential()" and two.meta["executor"] == "LocalProcesses(workers=2)"
    assert_same(one, two)
    default = netlab.compare(short, STRATEGIES[:1], replications=2, progress=False)  # one process per CPU
    assert_same(netlab.compare(short, STRATEGIES[:1], replications=2, progress=False, workers=1), default)


def test_sweep_runs_every_point_on_one_pool(short: netlab.Scenario) -> None:
    args = (short, "load", [0.5, 1.5], ["shortest_hops", "least_loaded"])
    one = netlab.sweep(*args, replications=2, progress=False, workers=1)
    two = netlab.sweep(*args, replications=2, progress=False, workers=2)
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    p95 = one[one.metric == "packet_delay_p95_s"].set_index(["value", "strategy"])["mean"]
    assert p95[(1.5, "shortest_hops")] > p95[(0.5, "shortest_hops")]


@dataclasses.dataclass
class Detour(ShortestHops):
    """A strategy whose class lives in a test module: workers import it by name."""

    note: str = "detour"


def test_strategy_defined_outside_netlab(short: netlab.Scenario) -> None:
    one = netlab.compare(short, {"mine": Detour()}, replications=2, progress=False, workers=1)
    assert_same(one, netlab.compare(short, {"mine": Detour()}, replications=2, progress=False, workers=2))


def test_progress_is_counted_per_finished_job() -> None:
    done: list[int] = []
    out = LocalProcesses(2).run(abs, [-3, 1, -2, 5], lambda: done.append(1))
    assert out == [3, 1, 2, 5] and len(done) == 4


def test_a_failing_job_raises_its_error() -> None:
    with pytest.raises(TypeError):
        LocalProcesses(2).run(abs, [1, "x", 3])


def test_cli_workers_and_scheduler_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["compare", SCENARIO, "--strategies", "shortest_hops,ecmp", "--reps", "2", "-q",
            "--set", "run.until=2s", "--set", "run.warmup=0.5s"]  # fmt: skip
    assert main([*args, "--workers", "2", "-o", str(tmp_path / "two")]) == 0
    assert main([*args, "--workers", "1", "-o", str(tmp_path / "one")]) == 0
    out = capsys.readouterr().out
    assert "summary" in out
    a = netlab.load_comparison(tmp_path / "one")
    b = netlab.load_comparison(tmp_path / "two")
    pd.testing.assert_frame_equal(a.summary, b.summary, check_exact=True)
    assert b.meta["executor"] == "LocalProcesses(workers=2)"
    with pytest.raises(SystemExit):
        main([*args, "--workers", "0"])
    capsys.readouterr()


NOTEBOOK_LIKE = """
import pandas as pd, netlab
class Mine(netlab.ShortestHops):  # defined in __main__ with no file behind it, as in a notebook
    pass
s = netlab.load_scenario({path!r}).override("run.until=2s", "run.warmup=0.5s")
one = netlab.compare(s, {{"mine": Mine()}}, replications=2, progress=False, workers=1)
two = netlab.compare(s, {{"mine": Mine()}}, replications=2, progress=False, workers=2)
pd.testing.assert_frame_equal(one.summary, two.summary, check_exact=True)
print(two.meta["executor"])
"""


def test_strategy_defined_in_a_notebook_ships_by_value() -> None:
    import subprocess
    import sys

    pytest.importorskip("cloudpickle")
    code = NOTEBOOK_LIKE.format(path=SCENARIO)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "LocalProcesses(workers=2)"
