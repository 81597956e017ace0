"""Mail scripted at or after ``run.until`` is counted and reported, never silently dropped (YAML and CSV alike).

A warning, not an error: a day's trace replayed for its first hour (``run.until: 1h``) is a run users make on
purpose, and refusing it would make them cut the trace by hand. What must not happen is the old silence, a
summary saying "1 submissions" when 2 were scripted.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from mail_helpers import BASE, send

import netlab
from netlab.cli import main
from netlab.errors import NetlabWarning


def _yaml(tmp_path: Path, send_value: object) -> Path:
    data = copy.deepcopy(BASE)
    data["mail"]["send"] = send_value
    data["run"] = {"until": "60s", "bin": "1000s"}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(params=["yaml", "csv"])
def late_scenario(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Two messages to bob, at 1 s and at 120 s, with run.until = 60 s, scripted in YAML or in a CSV send file."""
    if request.param == "yaml":
        return _yaml(tmp_path, [send(["bob@b.test"], at=1.0), send(["bob@b.test"], at=120.0)])
    (tmp_path / "day.csv").write_text("at,from,to\n1,alice@a.test,bob@b.test\n120,alice@a.test,bob@b.test\n")
    return _yaml(tmp_path, {"file": "day.csv"})


def test_mail_after_until_is_counted_and_warned(late_scenario: Path) -> None:
    with pytest.warns(NetlabWarning, match=r"1 of 2 scripted .* run.until = 60 s .*mail.send\[1\] at 120 s"):
        res = netlab.run(netlab.load_scenario(late_scenario))
    mail = res.summary["mail"]
    assert mail["submissions"] == 1 and mail["scripted_after_until"] == 1
    assert list(res.messages.status) == ["delivered"]


def test_the_cli_summary_says_what_was_not_submitted(late_scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(late_scenario)]) == 0
    out, err = capsys.readouterr()
    assert "not submitted: 1 scripted messages at or after run.until" in out
    assert err.startswith("netlab: warning: mail.send: 1 of 2 scripted messages") and "Traceback" not in err


def test_no_until_no_warning(tmp_path: Path, recwarn: pytest.WarningsRecorder) -> None:
    data = copy.deepcopy(BASE)
    data["mail"]["send"] = [send(["bob@b.test"], at=1.0), send(["bob@b.test"], at=120.0)]
    res = netlab.run(netlab.load_scenario(_write(tmp_path, data)))
    assert res.summary["mail"]["submissions"] == 2 and res.summary["mail"]["scripted_after_until"] == 0
    assert not [w for w in recwarn if issubclass(w.category, NetlabWarning)]


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
