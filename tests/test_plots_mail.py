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


# ------------------------------------------------------------------------------------ mail delivery CDF

SEED = __import__("pathlib").Path(__file__).parents[1] / "topologies" / "seed.yaml"


@pytest.fixture(scope="module")
def mx_down() -> netlab.Comparison:
    # both of beta's MXs down from the start: mail for beta stays queued at relay-a; the rest is delivered
    s = netlab.load_scenario(SEED).override(
        "run.until=300s", "faults=[{at: 0s, node: mx-b1, action: down}, {at: 0s, node: mx-b2, action: down}]"
    )
    return netlab.compare(s, ["shortest_hops", "least_loaded"], replications=2, workers=1, progress=False)


def test_comparison_keeps_every_mail_pair(mx_down: netlab.Comparison) -> None:
    mail = mx_down.mail
    assert set(mail["strategy"]) == {"shortest_hops", "least_loaded"} and set(mail["replication"]) == {0, 1}
    counts = mail.groupby(["strategy", "status"]).size()
    assert counts[("shortest_hops", "queued")] > 0 and counts[("shortest_hops", "delivered")] > 0
    done = mail[mail["status"] == "delivered"]
    assert done["delivery_s"].gt(0).all() and mail.loc[mail["status"] != "delivered", "delivery_s"].isna().all()
    runs = mx_down.runs.set_index(["strategy", "replication"])["mail_delivered"]
    assert done.groupby(["strategy", "replication"]).size().to_dict() == runs.to_dict()


def test_delivery_cdf_ends_at_the_delivered_share(mx_down: netlab.Comparison) -> None:
    from netlab.plots.mail import plot_mail_delivery_cdf

    ax = plot_mail_delivery_cdf(mx_down)
    lines = [line for line in ax.get_lines() if line.get_label().startswith(("shortest_hops", "least_loaded"))]
    assert len(lines) == 2 and ax.get_xscale() == "log"
    for line in lines:
        label = str(line.get_label())
        mine = mx_down.mail[mx_down.mail["strategy"] == label.split(":")[0]]
        share = (mine["status"] == "delivered").mean()
        assert line.get_ydata()[-1] == pytest.approx(share) and share < 1  # the gap: the queued pairs
        assert f"{(mine['status'] == 'queued').sum()} queued" in label
    assert "log scale" in ax.get_xlabel()


def test_run_and_compare_plot_draw_the_mail_figures(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from netlab.cli import main

    assert main(["run", str(SEED), "-o", str(tmp_path / "r"), "--plot", "--set", "run.until=120s"]) == 0
    for png in ("mail_delivery_cdf.png", "message_timeline.png"):
        assert (tmp_path / "r" / png).stat().st_size > 5000, png
    assert main(["compare", str(SEED), "--strategies", "shortest_hops,least_loaded", "--reps", "1", "-q",
                 "-j", "1", "-o", str(tmp_path / "c"), "--plot", "--set", "run.until=120s"]) == 0  # fmt: skip
    assert (tmp_path / "c" / "mail_delivery_cdf.png").stat().st_size > 5000
    capsys.readouterr()
