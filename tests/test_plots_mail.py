"""The message timeline: stages in order, covering submission to the mailbox, and a rendered figure."""

from __future__ import annotations

from itertools import pairwise

import matplotlib

matplotlib.use("Agg")

import pytest
from mail_helpers import run, send

import netlab
from netlab.plots.mail import message_stages, plot_message_timeline


def test_stages_cover_the_message_in_order() -> None:
    res, _ = run({"send": [send(["bob@b.test"])]})
    stages = message_stages(res)
    labels = [s[0] for s in stages]
    assert any(label.startswith("SMTP") for label in labels)
    assert labels[-1] in ("file into mailbox", "wait for the client")
    ends = [s[2] for s in stages]
    assert all(a[2] <= b[1] + 1e-9 for a, b in pairwise(stages))  # no overlap, in order
    row = res.messages.iloc[0]
    assert stages[0][1] >= row.submitted_s and ends[-1] >= row.delivered_s - 1e-9


def test_timeline_renders_and_refuses_runs_without_mail(two_hosts: netlab.Topology) -> None:
    res, _ = run({"send": [send(["bob@b.test"])]})
    ax = plot_message_timeline(res)
    assert len(ax.patches) >= 2
    ax.figure.savefig(__import__("io").BytesIO(), format="png")
    with pytest.raises(netlab.ConfigError, match="no mail"):
        message_stages(netlab.run(netlab.Scenario(two_hosts)))


def test_netlab_plot_draws_the_timeline_of_a_saved_mail_run(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from netlab.cli import main

    res, _ = run({"send": [send(["bob@b.test"])]})
    res.save(tmp_path)
    assert main(["plot", str(tmp_path)]) == 0
    assert (tmp_path / "message_timeline.png").stat().st_size > 5000
