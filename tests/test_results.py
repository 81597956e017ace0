"""Results: tables and their columns, pickling, save and load back, the CLI's run command."""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pytest

import netlab
from netlab.cli import main


def _scenario(topo: netlab.Topology, **run: object) -> netlab.Scenario:
    flows = (
        netlab.FlowSpec("f", "a", "b", arrivals=netlab.Poisson(500.0), size=netlab.ExponentialSize(800.0), stop_s=2.0),
        netlab.FlowSpec("g", "b", "a", arrivals=netlab.Constant(100.0), size=netlab.FixedSize(1000), count=50),
    )
    return netlab.Scenario(topo, flows=flows, run=netlab.RunSpec(**run), seed=3, name="two")  # type: ignore[arg-type]


def test_flow_table_is_flowmonitor_like(two_hosts: netlab.Topology) -> None:
    res = netlab.run(_scenario(two_hosts))
    f = res.flows.set_index("flow")
    assert f.loc["g", "tx_packets"] == f.loc["g", "rx_packets"] == 50
    assert f.loc["g", "delay_mean_s"] == pytest.approx(0.002)  # idle link: 1 ms serialisation + 1 ms delay
    assert f.loc["g", "jitter_mean_s"] == pytest.approx(0.0, abs=1e-12)
    assert f.loc["f", "tx_bytes"] == f.loc["f", "rx_bytes"]
    assert res.summary["stop_reason"] == "idle"
    assert res.summary["injected"] == res.summary["delivered"] == int(f["tx_packets"].sum())
    assert {"utilisation", "queue_mean_packets", "drops_queue_full"} <= set(res.links.columns)


def test_results_pickle(two_hosts: netlab.Topology) -> None:
    res = netlab.run(_scenario(two_hosts))
    back = pickle.loads(pickle.dumps(res))
    pd.testing.assert_frame_equal(back.flows, res.flows)
    assert back.scenario == res.scenario
    assert pickle.loads(pickle.dumps(res.scenario)) == res.scenario


def test_save_and_load_round_trip(two_hosts: netlab.Topology, tmp_path: Path) -> None:
    res = netlab.run(_scenario(two_hosts, record_packets=True))
    res.save(tmp_path / "out")
    back = netlab.load_results(tmp_path / "out")
    for name in ("flows", "links", "link_bins", "packets"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(res, name), check_dtype=False)
    assert back.summary == res.summary
    assert back.meta["seed"] == 3
    assert back.scenario == res.scenario


def test_per_packet_records_only_when_asked(two_hosts: netlab.Topology) -> None:
    assert netlab.run(_scenario(two_hosts)).packets is None
    res = netlab.run(_scenario(two_hosts, record_packets=True))
    assert len(res.packets) == res.summary["delivered"]
    assert set(res.packets["status"]) == {"delivered"}


def test_load_results_of_a_wrong_directory(tmp_path: Path) -> None:
    with pytest.raises(netlab.ConfigError, match=r"no meta\.json"):
        netlab.load_results(tmp_path)


def test_run_overrides_objects_and_dotted(two_hosts: netlab.Topology) -> None:
    s = _scenario(two_hosts)
    assert netlab.run(s, seed=4).meta["seed"] == 4
    assert netlab.run(s, routing=netlab.OspfCost()).meta["routing"].startswith("OspfCost")
    with pytest.raises(netlab.ConfigError, match="unknown scenario field"):
        netlab.run(s, sede=4)


def test_endless_run_is_refused(two_hosts: netlab.Topology) -> None:
    s = netlab.Scenario(two_hosts, flows=(netlab.FlowSpec("f", "a", "b"),))
    with pytest.raises(netlab.ConfigError, match="never end"):
        netlab.run(s)


def test_cli_run_prints_summary_and_saves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo = Path(__file__).parents[1] / "topologies" / "demo.yaml"
    assert main(["run", str(demo), "-o", str(tmp_path / "r"), "--plot", "--set", "run.until=5s"]) == 0
    out = capsys.readouterr().out
    assert "conservation checked" in out and "busiest links" in out
    assert (tmp_path / "r" / "flows.csv").is_file()
    for png in ("link_utilisation.png", "flow_delays.png"):
        assert (tmp_path / "r" / png).stat().st_size > 5000


def test_cli_run_reports_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml" in capsys.readouterr().err
