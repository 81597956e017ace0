"""The cwnd plot: one line per connection from the cwnd results table, recovery shaded."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest
from tcp_helpers import bulk

from netlab.plots.transport import plot_cwnd
from netlab.transport import TcpConfig
from netlab.transport.stats import CWND_COLUMNS, cwnd_table


def test_cwnd_table_and_plot() -> None:
    r = bulk(2, TcpConfig(congestion="cubic", trace=True), queue_packets=40, until_s=8, warmup_s=1)
    table = cwnd_table(r.stack)
    assert list(table.columns) == list(CWND_COLUMNS)
    assert set(table["connection"]) == {c.flow for c in r.clients}  # receivers send no data: no rows
    assert {"slow_start", "avoidance", "recovery"} <= set(table["state"])
    assert (table.groupby("connection")["time_s"].diff().dropna() >= 0).all()
    ax = plot_cwnd(table, segments_of=1460)
    assert len(ax.get_legend().get_texts()) == 2
    assert ax.patches  # recovery periods shaded
    with pytest.raises(ValueError, match="no cwnd rows"):
        plot_cwnd(table, ["nope"])


def test_none_records_no_window() -> None:
    r = bulk(1, TcpConfig(congestion="none", trace=True), until_s=2, warmup_s=1)
    assert cwnd_table(r.stack).empty
    c = r.clients[0]
    assert (c.congestion_events, c.peak_cwnd_bytes, c.cwnd_bytes) == (0, 0, float("inf"))
