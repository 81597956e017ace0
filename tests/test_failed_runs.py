"""A run is never thrown away: a failed check still gives its results; output paths are checked before the run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import netlab
import netlab.experiment.runner as runner
from netlab.cli import main
from netlab.testing import LeakyLink

DEMO = Path(__file__).resolve().parents[1] / "topologies" / "demo.yaml"


def _leaky_run(monkeypatch: pytest.MonkeyPatch) -> None:
    real = runner.Simulation

    def leaky(scenario: netlab.Scenario, **kw: object) -> runner.Simulation:
        return real(scenario, link_class=LeakyLink, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "Simulation", leaky)


def _scenario() -> netlab.Scenario:
    topo = netlab.Topology(
        (netlab.NodeSpec("a", "host"), netlab.NodeSpec("b", "host")),
        (netlab.LinkSpec("a", "b", rate_bps=10e6, delay_s=1e-3),),
    )
    flow = netlab.FlowSpec("f", "a", "b", arrivals=netlab.Poisson(100.0), count=20)
    return netlab.Scenario(topo, flows=(flow,), run=netlab.RunSpec(until_s=5.0))


def test_a_failed_conservation_check_keeps_the_results(monkeypatch: pytest.MonkeyPatch) -> None:
    _leaky_run(monkeypatch)
    with pytest.raises(netlab.ConservationError) as info:
        netlab.run(_scenario())
    res = info.value.results
    assert isinstance(res, netlab.Results)
    assert res.summary["injected"] == 20 and res.summary["delivered"] == 14
    assert res.flows.loc[0, "tx_packets"] == 20 and res.flows.loc[0, "rx_packets"] == 14
    assert res.summary["check_failed"] == [str(info.value)]


def test_the_error_says_where_the_counted_packets_are() -> None:
    topo = netlab.Topology(
        (netlab.NodeSpec("a", "host"), netlab.NodeSpec("b", "host")),
        (netlab.LinkSpec("a", "b", rate_bps=10e6, delay_s=0.05),),
    )
    flow = netlab.FlowSpec("f1", "a", "b", arrivals=netlab.Constant(1000.0), count=500)
    sim = runner.Simulation(netlab.Scenario(topo, flows=(flow,), run=netlab.RunSpec(until_s=1.0)))
    assert sim.net.where_in_flight() == "no packet is counted in flight"
    sim.env.run(until=0.02)  # 20 packets sent, none arrived (50 ms of propagation)
    assert sim.net.where_in_flight() == "counted in flight at a->b 20; by flow: f1 20"


def test_cli_saves_the_results_of_a_failed_run_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _leaky_run(monkeypatch)
    path = tmp_path / "s.yaml"
    path.write_text(_scenario().to_yaml())
    assert main(["run", str(path), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "run failed its checks: packet conservation violated" in err
    assert "packet conservation violated" in (tmp_path / "out" / "error.txt").read_text()
    back = netlab.load_results(tmp_path / "out")
    assert int(back.flows.loc[0, "rx_packets"]) == 14


@pytest.mark.parametrize("command", [["run", str(DEMO)], ["compare", str(DEMO), "--strategies", "shortest_hops"]])
def test_an_output_path_that_is_a_file_is_refused_before_the_run(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[object] = []
    monkeypatch.setattr(runner.Simulation, "execute", ran.append)
    taken = tmp_path / "taken"
    taken.write_text("not a directory")
    assert main([*command, "-o", str(taken)]) == 2
    assert f"-o/--out {taken}: is a file; expected a directory" in capsys.readouterr().err
    assert not ran  # refused before any work


def test_an_output_path_under_a_file_or_unwritable_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "f").write_text("x")
    assert main(["run", str(DEMO), "-o", str(tmp_path / "f" / "sub")]) == 2
    assert "is a file; expected a directory" in capsys.readouterr().err
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert main(["run", str(DEMO), "-o", str(locked / "out")]) == 2
        assert "is not writable" in capsys.readouterr().err


def test_topo_draw_refuses_a_folder_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topo", "draw", str(DEMO), "-o", str(tmp_path / "nope" / "t.png")]) == 2
    assert "does not exist" in capsys.readouterr().err
