"""Results: tables and their columns, pickling, save and load back, the CLI's run command."""

from __future__ import annotations

import json
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


# ------------------------------------------------------------------------------------- lossless save and load

SEED = Path(__file__).parents[1] / "topologies" / "seed.yaml"


@pytest.fixture(scope="module")
def seed_run() -> netlab.Results:
    # 15 minutes: enough mail for mailbox UIDs such as "1.10" and empty strings in the error and DSN columns
    return netlab.run(netlab.load_scenario(SEED).override("run.until=15min", "run.record_packets=true"))


def _all_tables(res: netlab.Results) -> dict[str, pd.DataFrame]:
    out = {name: getattr(res, name) for name in ("flows", "links", "link_bins", "drops", "packets")}
    return out | res.tables


def _assert_same(back: pd.DataFrame, df: pd.DataFrame, name: str) -> None:
    assert back.equals(df), name
    assert list(back.dtypes) == list(df.dtypes) and list(back.columns) == list(df.columns), name
    assert back.index.equals(df.index), name


def test_every_table_of_the_seed_run_round_trips_exactly(seed_run: netlab.Results, tmp_path: Path) -> None:
    res = seed_run
    back = netlab.load_results(res.save(tmp_path / "seed"))
    tables = _all_tables(res)
    mail = {"messages", "mail_hops", "maillog", "connections", "mailboxes", "mail_queues", "mail_attempts"}
    assert mail <= set(tables)
    assert sorted(back.tables) == sorted(res.tables)
    for name, df in tables.items():
        _assert_same(_all_tables(back)[name], df, name)
    assert back.summary == res.summary and back.meta == res.meta and back.scenario == res.scenario
    # what CSV used to lose: UIDs that look like numbers, empty strings
    uids = back.mailboxes["mailbox_uid"]
    assert uids.str.endswith(".10").any()
    assert not back.mailboxes.duplicated(["server", "user", "mailbox", "mailbox_uid"]).any()
    assert (back.mail_hops["error"] == "").any() and back.mail_hops["error"].notna().all()
    assert (tmp_path / "seed" / "messages.csv").is_file()  # the spreadsheet copy stays


def test_csv_alone_loses_what_parquet_keeps(seed_run: netlab.Results, tmp_path: Path) -> None:
    # an old (CSV-only, format 1) save still loads, with CSV's losses, which is why Parquet is the format now
    out = seed_run.save(tmp_path / "old")
    for p in out.glob("*.parquet"):
        p.unlink()
    meta = json.loads((out / "meta.json").read_text())
    del meta["format"]
    (out / "meta.json").write_text(json.dumps(meta))
    old = netlab.load_results(out)
    assert len(old.mailboxes) == len(seed_run.mailboxes)
    assert old.mailboxes["mailbox_uid"].dtype == "float64"  # "1.10" became 1.1, the same as "1.1"
    assert old.mailboxes.duplicated(["server", "user", "mailbox", "mailbox_uid"]).any()
    pd.testing.assert_frame_equal(old.flows, seed_run.flows, check_dtype=False)


def test_save_without_csv_and_damaged_files(seed_run: netlab.Results, tmp_path: Path) -> None:
    out = seed_run.save(tmp_path / "pq", csv=False)
    assert not list(out.glob("*.csv")) and (out / "maillog.parquet").is_file()
    (out / "maillog.parquet").write_bytes(b"not parquet")
    with pytest.raises(netlab.ConfigError, match=r"maillog\.parquet: not a readable Parquet table"):
        netlab.load_results(out)
    (out / "maillog.parquet").unlink()
    with pytest.raises(netlab.ConfigError, match="lists the table 'maillog'"):
        netlab.load_results(out)
    meta = json.loads((out / "meta.json").read_text())
    (out / "meta.json").write_text(json.dumps(meta | {"format": 99}))
    with pytest.raises(netlab.ConfigError, match="format 99 by a newer netlab"):
        netlab.load_results(out)


def test_every_table_of_a_comparison_round_trips_exactly(tmp_path: Path) -> None:
    s = netlab.load_scenario(SEED).override("run.until=120s")
    comp = netlab.compare(
        s, {"1": "shortest_hops", "least": "least_loaded"}, replications=2, progress=False, workers=1
    )  # fmt: skip  (a label "1" that CSV would read as a number)
    back = netlab.load_comparison(comp.save(tmp_path / "cmp"))
    for name in comp._TABLES:
        assert len(getattr(comp, name)) or name == "link_bins", name
        _assert_same(getattr(back, name), getattr(comp, name), name)
    assert back.meta == comp.meta and back.scenario == comp.scenario
    _assert_same(pd.DataFrame(back.table()), pd.DataFrame(comp.table()), "table")
