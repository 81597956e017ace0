"""Every CSV file a scenario names (packet traces, mail send files) is read by one reader: a clear error, naming
the file, the line and the column, for unknown, duplicated and missing columns, an empty or binary file and a
short row; a UTF-8 byte-order mark is read past."""

from __future__ import annotations

import copy
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from mail_helpers import BASE
from test_fuzz import attempt

import netlab
from netlab.cli import main
from netlab.scenario.csvfile import CsvReader

TRACE_YAML = """name: t
nodes: [{name: a, role: host}, {name: b, role: host}]
links: [[a, b]]
flows: [{name: f, src: a, dst: b, arrivals: {trace: {file: t.csv}}}]
run: {until: 10s}
"""


def _trace(tmp_path: Path, content: bytes) -> Path:
    (tmp_path / "t.csv").write_bytes(content)
    path = tmp_path / "s.yaml"
    path.write_text(TRACE_YAML)
    return path


def _send(tmp_path: Path, content: bytes) -> Path:
    (tmp_path / "t.csv").write_bytes(content)
    data = copy.deepcopy(BASE)
    data["mail"]["send"] = {"file": "t.csv"}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


CASES = [
    # (trace file, send file, expected error for both)
    (b"time_s,size_byts\n0.1,100\n", b"at,from,to,subjet\n1,alice@a.test,bob@b.test,x\n",
     r"t.csv:1: column '(size_byts|subjet)': unknown column; did you mean '(size_bytes|subject)'\?"),
    (b"time_s,time_s\n0.1,0.2\n", b"at,from,to,to\n1,alice@a.test,bob@b.test,carol@b.test\n",
     r"t.csv:1: column '(time_s|to)' named twice \(columns (1 and 2|3 and 4)\)"),
    (b"size_bytes\n100\n", b"at,from\n1,alice@a.test\n", r"t.csv:1: missing column '(time_s|to)'"),
    (b"", b"", r"s.yaml:\d+: .*file: .*t.csv: the file is empty"),
    (b"  \n\n", b"\n", r"s.yaml:\d+: .*file: .*t.csv: the file is empty"),
    (b"time_s,size_bytes\n", b"at,from,to\n", r"s.yaml:\d+: .*file: .*t.csv: a header line and no rows"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", b"PK\x03\x04\x00\x00", r"t.csv: not a text CSV file \(a NUL byte at offset"),
    (b"time_s\n\xff\xfe0.1\n", b"at,from,to\n\xff1,a,b\n",
     r"t.csv: not UTF-8 text \(byte 0xff at offset \d+, line 2\)"),
    (b"time_s,size_bytes\n0.1,100\n0.2\n", b"at,from,to\n1,alice@a.test,bob@b.test\n2,alice@a.test\n",
     r"t.csv:3: (2|1) cells, but the header has (3|2) columns .*; missing (to|size_bytes)"),
    (b"time_s,size_bytes\n0.1,100,7\n", b"at,from,to\n1,alice@a.test,bob@b.test,x\n",
     r"t.csv:2: (3|4) cells, more than the (2|3) columns"),
]  # fmt: skip


@pytest.mark.parametrize("kind", ["trace", "send"])
@pytest.mark.parametrize(("trace", "send", "message"), CASES)
def test_bad_csv_files_name_file_line_and_column(
    tmp_path: Path, kind: str, trace: bytes, send: bytes, message: str
) -> None:
    path = (_trace if kind == "trace" else _send)(tmp_path, trace if kind == "trace" else send)
    with pytest.raises(netlab.ConfigError, match=message):
        netlab.load_scenario(path)


@pytest.mark.parametrize("kind", ["trace", "send"])
def test_a_byte_order_mark_is_read_past(tmp_path: Path, kind: str) -> None:
    bom = b"\xef\xbb\xbf"
    if kind == "trace":
        s = netlab.load_scenario(_trace(tmp_path, bom + b"time_s,size_bytes\n0.1,100\n0.5,200\n"))
        assert s.flows[0].arrivals.times_s == (0.1, 0.5) and s.flows[0].arrivals.sizes_bytes == (100, 200)
    else:
        s = netlab.load_scenario(_send(tmp_path, bom + b"at,from,to\n1,alice@a.test,bob@b.test\n"))
        assert s.mail is not None and s.mail.send[0].to == ("bob@b.test",)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"time_s\nsoon\n", r"t.csv:2: column 'time_s': expected a time in seconds, got 'soon'"),
        (b"time_s\nnan\n", r"t.csv:2: column 'time_s': expected a finite time >= 0 s, got 'nan'"),
        (b"time_s\n0.1\n-1\n", r"t.csv:3: column 'time_s': expected a finite time >= 0 s, got '-1'"),
        (b"time_s,size_bytes\n0.1,1.5\n", r"t.csv:2: column 'size_bytes': expected a whole number of bytes >= 1"),
        (b"time_s,size_bytes\n0.1,\n", r"t.csv:2: column 'size_bytes': expected a whole number of bytes >= 1, got ''"),
    ],
)
def test_bad_trace_cells_name_line_and_column(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(netlab.ConfigError, match=message):
        netlab.load_scenario(_trace(tmp_path, content))


def test_the_cli_answers_a_bad_csv_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _trace(tmp_path, b"time_s,size_byts\n0.1,100\n")
    assert main(["topo", "validate", str(path)]) == 2
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("netlab: error: ") == 2 and "Traceback" not in err and "t.csv:1: column 'size_byts'" in err


READER = CsvReader("test file", required=("a",), optional=("b", "c"))


@given(st.binary(max_size=200))
def test_any_bytes_give_a_table_or_a_config_error(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("csv") / "x.csv"
    path.write_bytes(data)
    table, err = attempt(READER.read, path, netlab.ConfigError)
    if err is not None:
        assert isinstance(err, netlab.ConfigError) and str(err)  # a message, never an empty error
        return
    assert "a" in table.columns and table.rows
    assert all(set(row.cells) == set(table.columns) for row in table.rows)


@given(st.lists(st.lists(st.sampled_from(["a", "b", "c", "d", "", " a", '"x,y"', "1", "\n"]), max_size=4),
                max_size=6))  # fmt: skip
def test_any_table_of_cells_gives_a_table_or_an_error_with_the_line(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]]
) -> None:
    path = tmp_path_factory.mktemp("csv") / "x.csv"
    path.write_text("\n".join(",".join(r) for r in rows))
    table, err = attempt(READER.read, path, netlab.ConfigError)
    if err is not None:
        assert str(path) in str(err)
        return
    lines = [r.line for r in table.rows]
    assert lines == sorted(lines) and all(len(r.cells) == len(table.columns) for r in table.rows)


def test_the_reader_says_what_it_expects() -> None:
    assert repr(READER) == "CsvReader('test file', required=('a',), optional=('b', 'c'))"
    assert READER.header == "a[,b][,c]"
    assert set(string.ascii_lowercase[:3]) == {*READER.required, *READER.optional}
