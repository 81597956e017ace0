"""animate_message: one message's segments move hop by hop along the topology, and the animation exports to a
standalone HTML page with matplotlib's to_jshtml (no ffmpeg)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

import netlab
from netlab.plots.animate import SEGMENTS, animate_links, animate_message, link_frames, message_frames
from netlab.plots.compare import node_positions
from netlab.plots.mail import message_stages

SEED = Path(__file__).parents[1] / "topologies" / "seed.yaml"


@pytest.fixture(scope="module")
def seed_run() -> netlab.Results:
    return netlab.run(netlab.load_scenario(SEED).override("run.until=120s"))


def test_frames_follow_each_smtp_hop_from_client_to_server(seed_run: netlab.Results) -> None:
    assert seed_run.scenario is not None
    pos = node_positions(seed_run.scenario.topology)
    frames = message_frames(seed_run, frames_per_stage=5)
    stages = message_stages(seed_run)
    assert len(frames) == 5 * len(stages)
    smtp = [s for s in stages if s[0].startswith("SMTP ")]
    assert len(smtp) >= 3  # pc -> MSA -> relay -> MX on the seed scenario
    for i, (label, start, end) in enumerate(stages):
        mine = frames[5 * i : 5 * i + 5]
        assert all(f.stage == label and f.stage_index == i and len(f.points) == SEGMENTS for f in mine)
        assert mine[0].time_s == start and mine[-1].time_s == pytest.approx(end)
        if label.startswith("SMTP "):
            client, _, server = label.removeprefix("SMTP ").partition(" -> ")
            assert all(math.dist(p, pos[client]) < 1e-9 for p in mine[0].points)  # all segments at the client
            assert all(math.dist(p, pos[server]) < 1e-9 for p in mine[-1].points)  # all arrived at the server
            assert math.dist(mine[2].points[0], pos[client]) > 1e-6  # and in between, on their way
    times = [f.time_s for f in frames]
    assert times == sorted(times)


def test_animation_exports_to_standalone_html(seed_run: netlab.Results, tmp_path: Path) -> None:
    anim = animate_message(seed_run, frames_per_stage=2)
    html = anim.to_jshtml()
    (tmp_path / "message.html").write_text(html)
    assert html.count("data:image/png;base64") == 2 * len(message_stages(seed_run))  # one embedded frame each
    assert "<script" in html and "animation" in html.lower()
    plt.close(anim._fig)


def test_animation_refuses_results_without_mail_or_scenario(two_hosts: netlab.Topology,
                                                            seed_run: netlab.Results) -> None:  # fmt: skip
    with pytest.raises(netlab.ConfigError, match="no mail"):
        message_frames(netlab.run(netlab.Scenario(two_hosts)))
    with pytest.raises(netlab.ConfigError, match="frames_per_stage"):
        message_frames(seed_run, frames_per_stage=1)


def test_link_frames_colour_each_edge_by_its_busier_direction() -> None:
    res = netlab.run(netlab.load_scenario(SEED).override("run.until=20s", "run.bin=2s"))
    edges, starts, util = link_frames(res)
    bins = res.link_bins
    assert starts == sorted(set(bins.bin_start_s)) and util.shape == (10, len(edges))
    for i, t in enumerate(starts):
        for j, (a, b) in enumerate(edges):
            both = bins[
                (bins.bin_start_s == t) & (((bins.src == a) & (bins.dst == b)) | ((bins.src == b) & (bins.dst == a)))
            ]
            assert util[i, j] == pytest.approx(both.utilisation.max())
    assert util.max() > 0.1  # the bulk flow loads some edge
    anim = animate_links(res)
    try:
        assert anim._fig.axes[1].get_ylabel().startswith("utilisation")  # the colour bar
        assert anim.to_jshtml().count("data:image/png;base64") == 10  # a frame per bin, no ffmpeg
    finally:
        plt.close(anim._fig)


def test_cli_animate_links_writes_one_frame_per_bin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import matplotlib as mpl

    from netlab.cli import main

    out = tmp_path / "links.html"
    limit = mpl.rcParams["animation.embed_limit"]
    assert main(["animate", str(SEED), "--links", "-o", str(out), "--set", "run.until=12s", "--set", "run.bin=3s"]) == 0
    assert mpl.rcParams["animation.embed_limit"] == limit  # raised for the export only: main() runs in-process too
    html = out.read_text()
    assert html.count("data:image/png;base64") == 4 and "<script" in html
    assert "(4 frames)" in capsys.readouterr().out


def test_cli_animate_message_of_saved_results(seed_run: netlab.Results, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from netlab.cli import main

    saved = seed_run.save(tmp_path / "run")
    mid = str(seed_run.messages[seed_run.messages.status == "delivered"].message_id.iloc[0])
    out = tmp_path / "message.html"
    assert main(["animate", str(saved), "--message", mid.strip("<>"), "-o", str(out)]) == 0  # <> optional
    stages = message_stages(netlab.load_results(saved), mid)
    assert out.read_text().count("data:image/png;base64") == 12 * len(stages)  # 12 frames per stage
    capsys.readouterr()


def test_cli_animate_unknown_message_is_a_clear_error(seed_run: netlab.Results, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from netlab.cli import main

    saved = seed_run.save(tmp_path / "run")
    out = tmp_path / "m.html"
    assert main(["animate", str(saved), "--message", "<nope@x>", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "netlab: error: --message: unknown message id '<nope@x>'" in err and "e.g. <" in err
    assert not out.exists()
    with pytest.raises(SystemExit) as exc:  # neither --message nor --links: argparse's usage error
        main(["animate", str(saved), "-o", str(out)])
    assert exc.value.code == 2
    capsys.readouterr()


def test_cli_animate_links_with_a_rcpt_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from netlab.cli import main

    assert main(["animate", str(SEED), "--links", "--rcpt", "bob@x", "-o", str(tmp_path / "a.html")]) == 2
    assert "--rcpt: chooses the recipient of --message" in capsys.readouterr().err
