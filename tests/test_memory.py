"""Memory that scales with what the user asked for: link statistics bounded by default, a warning when a chosen
``run.bin`` overflows its limit, and a run too large for ``run.max_memory`` refused before anything is built."""

from __future__ import annotations

import gc
import itertools
import math
import warnings
from typing import Any

import pytest
from mail_helpers import run, users

import netlab
from netlab.errors import MemoryLimitError, NetlabWarning, UnitError
from netlab.experiment import runner
from netlab.experiment.memory import BIN_ROW_BYTES, TREE_NODE_BYTES, estimate_memory
from netlab.experiment.runner import Simulation
from netlab.mail.mailbox.inbox import POP3_TIMEOUT_S
from netlab.mail.tracker import FinalCounts
from netlab.transport.connection import Connection
from netlab.transport.stack import TransportStack
from netlab.transport.stats import ClosedConnection


def line(n: int, *, until: float | None = 100.0, **run: object) -> netlab.Scenario:
    """h0 - r1 - ... - h{n-1} at 10 Mbit/s, one 100 packet/s flow end to end."""
    names = ["h0", *(f"r{i}" for i in range(1, n - 1)), f"h{n - 1}"]
    nodes = tuple(netlab.NodeSpec(x, "host" if x[0] == "h" else "router") for x in names)
    links = tuple(netlab.LinkSpec(a, b, rate_bps=1e7, delay_s=1e-3) for a, b in itertools.pairwise(names))
    flow = netlab.FlowSpec("f", names[0], names[-1], arrivals=netlab.Constant(100.0), stop_s=until or 20.0)
    return netlab.Scenario(netlab.Topology(nodes, links), flows=(flow,),
                           run=netlab.RunSpec(until_s=until, **run))  # type: ignore[arg-type]  # fmt: skip


def test_default_bins_are_one_second_while_the_table_is_small() -> None:
    res = netlab.run(line(3, until=5.0))
    assert res.meta["bin_s"] == 1.0
    assert sorted(set(res.link_bins["bin_start_s"])) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert len(res.link_bins) == 4 * 5  # 4 directed links x 5 bins


@pytest.mark.parametrize("limit", [200, 90, 41])
def test_default_bins_widen_until_links_times_bins_fits(limit: int) -> None:
    """100 s over 4 links is 400 rows at 1 s: the width doubles until the table fits, nothing is lost."""
    res = netlab.run(line(3, max_link_bins=limit))
    end, width, bins = res.summary["sim_time_s"], res.meta["bin_s"], res.link_bins
    expected = 1.0
    while (math.floor(end / expected) + 1) * 4 > limit:  # bin boundaries 0, w, 2w, ... up to the end, 4 links
        expected *= 2
    assert width == expected > 1 and len(bins) == 4 * math.ceil(end / width) <= limit
    starts = sorted(set(bins["bin_start_s"]))
    assert starts == [k * width for k in range(len(starts))]  # one grid, from 0
    assert (bins["bin_end_s"] - bins["bin_start_s"]).max() == width
    totals = bins.groupby("link", sort=False)[["packets", "bytes", "drops"]].sum()
    whole = res.links.set_index("link")[["packets", "bytes", "drops"]]
    assert totals.loc[whole.index].equals(whole)  # the bins add up to the run's totals
    narrow = netlab.run(line(3))
    assert res.links.equals(narrow.links) and res.flows.equals(narrow.flows)  # only the statistics' grain changed


def test_a_chosen_bin_is_kept_and_an_overflow_warns_up_front() -> None:
    with pytest.warns(NetlabWarning, match=r"link_bins would hold 404 rows \(4 links x 101 bins of 1 s.*"
                      r"run.max_link_bins = 100: set run.bin wider"):  # fmt: skip
        res = netlab.run(line(3, bin_s=1.0, max_link_bins=100))
    assert res.meta["bin_s"] == 1.0 and len(res.link_bins) == 400


def test_a_chosen_bin_that_overflows_in_a_run_of_unknown_length_warns_when_it_does() -> None:
    with pytest.warns(NetlabWarning, match=r"link_bins holds 44 rows .* run.max_link_bins = 40"):
        res = netlab.run(line(3, until=None, bin_s=1.0, max_link_bins=40))
    assert res.meta["bin_s"] == 1.0 and len(res.link_bins) == 4 * 20  # kept: 20 bins of the 20 s run


def test_no_warning_within_the_limit() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        netlab.run(line(3, bin_s=10.0, max_link_bins=100))


def test_a_run_too_large_for_max_memory_fails_before_the_network_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*_a: object, **_k: object) -> None:
        raise AssertionError("the network was built")

    monkeypatch.setattr(runner, "Network", no_network)
    s = line(40).override("run.max_memory=1MB")
    with pytest.raises(MemoryLimitError) as err:
        Simulation(s)
    msg = str(err.value)
    assert "more than run.max_memory = 1.0 MB" in msg and "raise run.max_memory" in msg
    assert "network" in msg and "(40 nodes, 78 links)" in msg and "run.bin" in msg
    assert isinstance(err.value, netlab.ConfigError)


def test_the_machine_is_the_default_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("netlab.experiment.memory.memory_limit", lambda _s: 10**6)
    with pytest.raises(MemoryLimitError, match=r"more than this machine's 1.0 MB of memory \(run.max_memory\)"):
        Simulation(line(3))


def test_the_estimate_counts_what_the_scenario_asks_for() -> None:
    base = estimate_memory(line(20), in_use=0)
    parts = {name: b for name, b, _ in base.parts}
    assert parts["routing trees"] == 2 * 20 * TREE_NODE_BYTES  # two hosts, twenty nodes
    assert parts["link statistics"] == 38 * 101 * BIN_ROW_BYTES  # 38 links, 100 s in 1 s bins
    wide = {n: b for n, b, _ in estimate_memory(line(20, bin_s=10.0), in_use=0).parts}
    assert wide["link statistics"] == 38 * 11 * BIN_ROW_BYTES
    capped = {n: b for n, b, _ in estimate_memory(line(20, max_link_bins=1000), in_use=0).parts}
    assert capped["link statistics"] == 1000 * BIN_ROW_BYTES
    records = {n: w for n, _, w in estimate_memory(line(20, record_packets=True), in_use=0).parts}
    assert records["packet records"] == "10,000 packets"  # 100 packet/s for 100 s
    assert base.total == sum(parts.values())


@pytest.mark.parametrize(("text", "error"), [("run.max_memory=2G", UnitError),
                                             ("run.max_memory=0B", netlab.ConfigError),
                                             ("run.max_link_bins=0", netlab.ConfigError)])  # fmt: skip
def test_bad_limits_are_refused(text: str, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"run\.max_(memory|link_bins)|size"):
        line(3).override(text)


# ---------------------------------------------------------------------- a mail run keeps no per-message state
def _day(count: int) -> dict[str, object]:
    """*count* messages from alice to bob (POP3 every 30 s) and carol (IMAP IDLE), both deleting what they fetch."""
    fetch = {"bob": {"protocol": "pop3", "interval": "30s", "delete": True},
             "carol": {"protocol": "imap", "idle": True, "delete": True}}  # fmt: skip
    day = {"count": count, "mean_interval": "10min", "recipients": ["bob@b.test", "carol@b.test"], "spam_fraction": 0}
    return {"users": users(**fetch), "workload": day}


def _run_tracking_connections(
    monkeypatch: pytest.MonkeyPatch, count: int
) -> tuple[netlab.Results, Any, int, list[Any]]:
    """The mail run of :func:`_day`: its results, mail system, how many connections it opened, and those of them
    still alive after it (found by the garbage collector: a connection has slots, no weak references)."""
    ids: list[int] = []
    opened = TransportStack._opened

    def tracked(stack: TransportStack, conn: Connection) -> None:
        ids.append(id(conn))
        opened(stack, conn)

    monkeypatch.setattr(TransportStack, "_opened", tracked)
    res, system = run(_day(count))
    gc.collect()
    # an id is reused only by an object made after the first one was freed: a live Connection with one of these ids
    # is a connection of this run
    mine = set(ids)
    alive = [o for o in gc.get_objects() if type(o) is Connection and id(o) in mine]
    return res, system, len(ids), alive


@pytest.mark.parametrize("count", [6, 24])
def test_a_mail_run_lets_every_closed_connection_go(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """Once a connection is CLOSED only its row of ``connections`` stays. The connection object lives on only while
    a timer it armed is still pending (at most the POP3 server's 10-minute autologout or the SMTP 600 s data
    timeout), so what is alive after the run is the open ones and those closed in its last 10 minutes, however
    many messages went through: not one object per connection ever made."""
    res, system, opened, alive = _run_tracking_connections(monkeypatch, count)
    m = res.messages
    assert len(m) >= count and (m.status == "delivered").all()  # every pair final, and fetched and deleted:
    assert res.summary["mail"]["delivered_ends"]["retrieved_and_deleted"] == len(m)
    assert opened == len(res.connections) > 10 * count  # SMTP twice per message, both ends; POP3 every 30 s
    end = res.summary["sim_time_s"]
    still_open = sorted(res.connections.flow[res.connections.state != "CLOSED"])
    assert sorted(c.flow for c in alive if c.state != "CLOSED") == still_open
    recent = res.connections[res.connections.closed_s >= end - POP3_TIMEOUT_S]
    assert {c.flow for c in alive if c.state == "CLOSED"} <= set(recent.flow)
    assert len(res.connections[res.connections.closed_s < end - POP3_TIMEOUT_S]) > 10  # and those were let go
    hops = system.tracker.hops
    assert all(h.conn is None or isinstance(h.conn, FinalCounts) for h in hops)  # not the connection
    assert res.mail_hops.segments.sum() > 0 and res.mail_hops.segments.tolist() == [
        0 if h.conn is None else h.conn.segments_sent + h.conn.segments_received for h in hops
    ]


def test_letting_closed_connections_go_changes_no_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same run keeping every connection object gives the same tables, value for value."""
    lean, lean_system = run(_day(6))
    assert all(isinstance(c, ClosedConnection) for c in lean_system.stack.connections if c.state == "CLOSED")
    init = TransportStack.__init__

    def keeping(self: TransportStack, *a: Any, keep_closed: bool = True, **k: Any) -> None:
        init(self, *a, keep_closed=True, **k)

    monkeypatch.setattr(TransportStack, "__init__", keeping)
    kept, system = run(_day(6))
    assert all(isinstance(c, Connection) for c in system.stack.connections)
    for name in ("connections", "messages", "mail_hops", "maillog", "fetch_sessions"):
        assert getattr(kept, name).equals(getattr(lean, name)), name


@pytest.mark.parametrize("value", ["no", 0, None])
def test_keep_closed_must_be_true_or_false(value: object) -> None:
    import simpy

    from netlab.network.network import Network

    net = Network(simpy.Environment(), line(3).topology)
    with pytest.raises(netlab.ConfigError, match=r"keep_closed must be True or False, not"):
        TransportStack(net, keep_closed=value)  # type: ignore[arg-type]
