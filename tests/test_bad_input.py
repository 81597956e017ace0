"""Inputs that used to end in a traceback or a vague error: each a netlab error naming where and what was expected,
and exit status 2 on the command line."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from mail_helpers import BASE, scenario, send

import netlab
from netlab.cli import main

DEMO = Path(__file__).resolve().parents[1] / "topologies" / "demo.yaml"


# ------------------------------------------------------------------ header injection (CR/LF in header values)
@pytest.mark.parametrize(
    ("message", "key"),
    [
        (send(["bob@b.test"], subject="hi\r\nBcc: eve@b.test"), "subject"),
        (send(["bob@b.test"], subject="hi\nX-Spam: no"), "subject"),
        (send(["bob@b.test"], subject="a\rb"), "subject"),
        (send(["bob@b.test"], subject="a\u2028b"), "subject"),
        (send(["bob@b.test\r\nBcc: eve@b.test"]), "to\\[0\\]"),
        (send(["bob@b.test\n"]), "to\\[0\\]"),
        ({"at": 0, "from": "alice@a.test\r\nX: y", "to": ["bob@b.test"]}, "from"),
        (send(["bob@b.test"], password="pw\r\nQUIT"), "password"),
        (send(["bob@b.test"], password="pw\x00"), "password"),
    ],
)
def test_line_breaks_in_header_values_are_refused_at_load_time(message: dict[str, Any], key: str) -> None:
    with pytest.raises(netlab.ConfigError, match=rf"mail.send\[0\]: {key}: .* holds a line break or NUL; .*header "
                                                 "injection"):  # fmt: skip
        scenario({"send": [message]})


def test_a_line_break_in_a_user_is_refused() -> None:
    users = copy.deepcopy(BASE["mail"]["users"])
    users[0]["password"] = "pw\nx"
    with pytest.raises(netlab.ConfigError, match=r"mail.users\[0\]: password: 'pw\\nx' holds a line break"):
        scenario({"users": users})


def test_a_header_injection_in_a_file_names_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = copy.deepcopy(BASE)
    data["mail"]["send"] = [send(["bob@b.test"], subject="hi\r\nBcc: eve@b.test")]
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:" in err and "mail.send[0]: subject:" in err and "Traceback" not in err


@pytest.mark.parametrize(("key", "value"), [("attachment", "1TB"), ("body_size", "200MB")])
def test_a_huge_generated_body_or_attachment_is_refused(key: str, value: str) -> None:
    with pytest.raises(netlab.ConfigError, match=rf"mail.send\[0\]: {key}: .* bytes is more than netlab generates"):
        scenario({"send": [send(["bob@b.test"], **{key: value})]})


# ------------------------------------------------------------------ files that crashed the loader or the plotter
def test_yaml_nested_thousands_deep_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert main(["topo", "validate", str(path)]) == 2
    assert "invalid YAML: nested too deeply" in capsys.readouterr().err


def test_a_topology_without_links_fails_validation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("name: t\nnodes: [a, b]\nlinks: []\n")
    assert main(["topo", "validate", str(path)]) == 2
    assert "a topology needs at least one link" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("ip_a", "ip_b", "message"),
    [
        ("10.0.0.300", "10.0.0.2", r"t.yaml:2: nodes\[0\]: node 'a': ip: expected an IPv4 address like '10.0.0.1'"),
        ("10.0.0.5", "10.0.0.5", r"t.yaml: nodes\[1\] \(b\).ip: 10.0.0.5 is already the address of 'a'"),
    ],
)
def test_ip_addresses_are_checked_by_topo_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ip_a: str, ip_b: str, message: str
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(f"name: t\nnodes: [{{name: a, role: host, ip: {ip_a}}}, {{name: b, role: host, ip: {ip_b}}}]\n"
                    "links: [[a, b]]\n")  # fmt: skip
    assert main(["topo", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("netlab: error: ") and __import__("re").search(message, err)


@pytest.mark.parametrize("value", [0, "0s"])
def test_a_resolver_that_cannot_wait_is_refused(value: object) -> None:
    with pytest.raises(netlab.ConfigError, match=r"mail.resolver_timeout: expected a positive, finite time"):
        scenario({"resolver_timeout": value})


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("saved") / "r"
    netlab.run(netlab.load_scenario(DEMO), run={"until": "4s"}).save(out)
    return out


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "meta.json").write_text("{"), r"meta.json: not a netlab result's metadata \(unreadable JSON"),
        (lambda d: (d / "meta.json").write_text("[1, 2]"), r"meta.json: not a netlab result's metadata"),
        (lambda d: (d / "links.parquet").write_bytes(b"\xff\xfe\x00garbage"), r"links.parquet: not a readable"),
        (lambda d: pd.DataFrame({"flow": ["x"], "oops": [1]}).to_parquet(d / "flows.parquet"), r"cannot be plotted"),
    ],
)
def test_plot_on_damaged_results_is_an_error(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: Any, message: str
) -> None:
    import shutil

    d = tmp_path / "r"
    shutil.copytree(saved, d)
    damage(d)
    assert main(["plot", str(d), "-o", str(tmp_path / "plots")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("netlab: error: ") and "Traceback" not in err
    assert __import__("re").search(message, err), err


def test_a_bad_scheduler_address_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("distributed")
    code = main(["compare", str(DEMO), "--strategies", "shortest_hops", "--reps", "1", "--scheduler",
                 "nonsense:::1", "-s", "run.until=3s"])  # fmt: skip
    assert code == 2
    assert "scheduler 'nonsense:::1': cannot connect to a Dask scheduler there" in capsys.readouterr().err


# ------------------------------------------------------------------ the Python API used wrongly
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: netlab.load_scenario(42), r"load_scenario: expected a file path \(str or pathlib.Path\), got 42"),
        (lambda: netlab.run(netlab.load_scenario(DEMO), routing=42),
         r"demo.yaml: routing: expected a routing strategy .*got 42"),
        (lambda: netlab.run(netlab.load_scenario(DEMO), routing=netlab.OspfCost),
         r"routing: expected a routing strategy .*<class"),
        (lambda: netlab.Scenario(42), r"topology: expected a netlab.Topology, got 42"),
        (lambda: netlab.Scenario(netlab.testing.two_hosts(), flows="f"), r"flows: expected a list of netlab.FlowSpec"),
        (lambda: netlab.Scenario(netlab.testing.two_hosts(), run={"until": 1}), r"run: expected a netlab.RunSpec"),
    ],
)  # fmt: skip
def test_api_misuse_names_the_argument(call: Any, message: str) -> None:
    with pytest.raises(netlab.ConfigError, match=message):
        call()
