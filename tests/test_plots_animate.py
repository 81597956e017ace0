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
from netlab.plots.animate import SEGMENTS, animate_message, message_frames
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
