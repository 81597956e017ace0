"""Every CSV file a scenario names (packet traces, mail send files) is read by one reader: a clear error, naming
the file, the line and the column, for unknown, duplicated and missing columns, an empty or binary file and a
short row; a UTF-8 byte-order mark is read past."""

from __future__ import annotations

import copy
import re
import string
from pathlib import Path
from typing import Any

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
    # blank lines and a quoted nothing: no header line (found by the property below; it escaped as StopIteration)
    (b'  \n"\n', b'\n  \n""\n', r"s.yaml:\d+: .*file: .*t.csv: no header line; expected a header line"),
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


@pytest.mark.parametrize("kind", ["trace", "send"])
def test_a_line_of_spaces_before_the_header_is_read_past(tmp_path: Path, kind: str) -> None:
    # A line of spaces is blank between rows; before the header it was read as a header naming column ''
    # (found by test_a_trace_file_is_read_exactly_or_refused_naming_a_defective_line).
    if kind == "trace":
        s = netlab.load_scenario(_trace(tmp_path, b"  \r\n\ntime_s\n0.1\n"))
        assert s.flows[0].arrivals.times_s == (0.1,)
    else:
        s = netlab.load_scenario(_send(tmp_path, b" \nat,from,to\n1,alice@a.test,bob@b.test\n"))
        assert s.mail is not None and s.mail.send[0].to == ("bob@b.test",)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"time_s\nsoon\n", r"t.csv:2: column 'time_s': expected a time in seconds, got 'soon'"),
        (b"time_s\nnan\n", r"t.csv:2: column 'time_s': expected a finite time >= 0 s, got 'nan'"),
        # float() reads these, a typo and another script's digits: '1_0' would have been 10 s
        (b"time_s\n1_0\n", r"t.csv:2: column 'time_s': expected a time in seconds, got '1_0'"),
        ("time_s\n\u0661\n".encode(), r"t.csv:2: column 'time_s': expected a time in seconds, got '\u0661'"),
        (b"time_s\n0.1\n-1\n", r"t.csv:3: column 'time_s': expected a finite time >= 0 s, got '-1'"),
        (b"time_s,size_bytes\n0.1,1.5\n", r"t.csv:2: column 'size_bytes': expected a whole number of bytes >= 1"),
        (b"time_s,size_bytes\n0.1,\n", r"t.csv:2: column 'size_bytes': expected a whole number of bytes >= 1, got ''"),
        # out of order: the Trace's own check could only name the scenario's line (found by the property below)
        (
            b"time_s\n0.5\n0\n",
            r"t.csv:3: column 'time_s': expected times in order \(non-decreasing\), got '0' after 0.5",
        ),
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


# ------------------------------------------------------------------ the scenario's CSV readers fed random files
# Whatever a trace or send file holds, loading its scenario gives a correct read or a ConfigError naming the file
# (t.csv), never another exception. The structured properties below also know what they wrote: a file with no
# defect must be read exactly, one with a defect refused, naming the file, a defective line and a column of it.
BOM = b"\xef\xbb\xbf"
CSV_BYTES = st.one_of(
    st.binary(max_size=120),
    st.builds(lambda pre, body: pre + body, st.sampled_from([b"", BOM, b"time_s\n", b"at,from,to\n",
                                                               BOM + b"time_s,size_bytes\n"]),
              st.binary(max_size=60)),
    st.text(alphabet=st.sampled_from(list("time_sizebyt,at,from\"\r\n 0.5-1@\x00\ufeff\u2028")), max_size=80).map(
        str.encode),
)  # fmt: skip


@pytest.mark.parametrize("kind", ["trace", "send"])
@given(data=CSV_BYTES)
def test_any_bytes_as_a_trace_or_send_file_give_a_scenario_or_an_error_naming_the_file(
    tmp_path_factory: pytest.TempPathFactory, kind: str, data: bytes
) -> None:
    path = (_trace if kind == "trace" else _send)(tmp_path_factory.mktemp("csv"), data)
    s, err = attempt(netlab.load_scenario, path)
    if err is not None:
        assert isinstance(err, netlab.ConfigError) and "t.csv" in str(err)
    elif kind == "trace":
        times = s.flows[0].arrivals.times_s
        assert times and list(times) == sorted(times) and all(t >= 0 for t in times)
    else:
        assert s.mail is not None and s.mail.send


# Cells by column: (text, value it reads as) for good ones, (text, None) for defective ones.
TRACE_CELLS = {
    "time_s": [("0", 0.0), ("0.5", 0.5), (" 1.25 ", 1.25), ("1e-3", 0.001), ("2", 2.0), ("", None), ("soon", None),
               ("nan", None), ("-1", None), ("inf", None), ('"1,5"', None)],
    "size_bytes": [("1", 1), ("100", 100), (" 1500 ", 1500), ("0", None), ("1.5", None), ("-3", None), ("", None),
                   ("1e3", None), ("x", None)],
}  # fmt: skip
TRACE_COLUMNS = ["time_s", "size_bytes", "time", "size_byts", "TIME_S"]


def _csv_text(draw: st.DrawFn, header: list[str], rows: list[list[str]]) -> tuple[bytes, dict[int, int]]:
    """The file's bytes (a BOM, blank lines and CRLF ends drawn) and the line of each row (-1: the header)."""
    end = draw(st.sampled_from(["\n", "\r\n"]))
    lines, at = [], {}
    for i, cells in enumerate([header, *rows]):
        while draw(st.integers(0, 5)) == 5:  # a blank line now and then (also before the header)
            lines.append(draw(st.sampled_from(["", "  "])))
        lines.append(",".join(cells))
        at[i - 1] = len(lines)
    text = end.join(lines) + draw(st.sampled_from([end, ""]))
    return (BOM if draw(st.booleans()) else b"") + text.encode(), at


@st.composite
def trace_files(draw: st.DrawFn) -> tuple[bytes, set[int], tuple[float, ...] | None, tuple[int, ...] | None]:
    """A trace file, the lines it has a defect on, and the times and sizes a correct read gives (None: defect)."""
    header = draw(st.lists(st.sampled_from(TRACE_COLUMNS), min_size=1, max_size=3))
    good_header = "time_s" in header and set(header) <= {"time_s", "size_bytes"} and len(set(header)) == len(header)
    rows: list[list[str]] = []
    bad_rows: set[int] = set()
    times: list[float] = []
    sizes: list[int] = []
    for _ in range(draw(st.integers(0, 4))):
        i = len(rows)  # the index this row gets
        n = draw(st.sampled_from([len(header)] * 4 + [len(header) - 1 or 2, len(header) + 1]))
        cells = []
        for col in (header + header)[:n]:
            text, value = draw(st.sampled_from(TRACE_CELLS.get(col, TRACE_CELLS["time_s"])))
            cells.append(text)
            if col == "time_s" and value is not None and n == len(header):
                if times and value < times[-1]:
                    bad_rows.add(i)  # out of order
                times.append(value)
            if col in TRACE_CELLS and value is None:
                bad_rows.add(i)
            if col == "size_bytes" and value is not None:
                sizes.append(int(value))
        if n == 1 and not cells[0].strip():
            bad_rows.discard(i)  # one empty cell is a blank line, skipped: not written, to keep the books simple
            continue
        if n != len(header):
            bad_rows.add(i)  # short or long
        rows.append(cells)
    data, at = _csv_text(draw, header, rows)
    defects = ({at[-1]} if not good_header else set()) | {at[i] for i in bad_rows}
    ok = good_header and rows and not bad_rows
    return data, defects, (tuple(times) if ok else None), (tuple(sizes) if ok and "size_bytes" in header else None)


LINE = re.compile(r"t\.csv:(\d+): ")


def _assert_names_a_defect(err: netlab.NetlabError | None, defects: set[int]) -> None:
    """A refusal names t.csv, and a line it names is one with a defect."""
    assert isinstance(err, netlab.ConfigError) and "t.csv" in str(err)
    m = LINE.search(str(err))
    assert m is None or int(m.group(1)) in defects, (str(err), defects)


@given(trace_files())
def test_a_trace_file_is_read_exactly_or_refused_naming_a_defective_line(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[bytes, set[int], Any, Any]
) -> None:
    data, defects, times, sizes = case
    s, err = attempt(netlab.load_scenario, _trace(tmp_path_factory.mktemp("csv"), data))
    if times is None:
        _assert_names_a_defect(err, defects)
        return
    assert err is None, str(err)
    assert s.flows[0].arrivals.times_s == times and s.flows[0].arrivals.sizes_bytes == sizes


# A send file's cells: (text, what the field reads as) or (text, None) for a defect. The users are BASE's.
SEND_CELLS: dict[str, list[tuple[str, Any]]] = {
    "at": [("0", 0.0), ("5", 5.0), ("1min", 60.0), (" 2.5 ", 2.5), ("soon", None), ("-1", None), ("nan", None)],
    "from": [("alice@a.test", "alice@a.test"), ("zed@q.test", None), ("bob@b.test", None), ("", None)],
    "to": [("bob@b.test", ("bob@b.test",)), ("bob@b.test carol@b.test", ("bob@b.test", "carol@b.test")),
           ("bob@b.test;carol@b.test", ("bob@b.test", "carol@b.test")), ("", None), ("x@@y", None)],
    "subject": [("hi", "hi"), ("", "Hello"), (" a b ", "a b")],
    "body_size": [("100", 100), ("2KiB", 2048), ("", None), ("x", None), ("-5", None), ("1.5", None)],
    "headers": [("true", True), ("false", False), ("", True), ("maybe", None), ("[", None)],
}  # fmt: skip
SEND_FIELDS = {"at": "at_s", "from": "sender", "to": "to", "subject": "subject", "body_size": "body_bytes",
               "headers": "headers"}  # fmt: skip
SEND_COLUMNS = [*SEND_CELLS, "subjet", "frm"]


@st.composite
def send_files(draw: st.DrawFn) -> tuple[bytes, set[int], list[dict[str, Any]] | None]:
    """A send file, the lines it has a defect on, and the fields each message reads as (None: a defect)."""
    header = draw(st.lists(st.sampled_from(SEND_COLUMNS), min_size=1, max_size=5))
    good_header = {"at", "from", "to"} <= set(header) <= set(SEND_CELLS) and len(set(header)) == len(header)
    rows, bad_rows, messages = [], set(), []
    for _ in range(draw(st.integers(0, 3))):
        i = len(rows)
        n = draw(st.sampled_from([len(header)] * 4 + [len(header) - 1 or 2, len(header) + 1]))
        cells, fields = [], {}
        for col in (header + header)[:n]:
            text, value = draw(st.sampled_from(SEND_CELLS.get(col, SEND_CELLS["subject"])))
            if col == "body_size" and not text:
                value = ...  # empty: no generated body, the field keeps its default
            cells.append(text)
            if col in SEND_CELLS and value is None:
                bad_rows.add(i)
            elif col in SEND_FIELDS and value is not ...:
                fields[SEND_FIELDS[col]] = value
        if n == 1 and not cells[0].strip():
            bad_rows.discard(i)  # a blank line, skipped: not written
            continue
        if n != len(header):
            bad_rows.add(i)
        rows.append(cells)
        messages.append(fields)
    data, at = _csv_text(draw, header, rows)
    defects = ({at[-1]} if not good_header else set()) | {at[i] for i in bad_rows}
    return data, defects, (messages if good_header and rows and not bad_rows else None)


DATA_ROW = re.compile(r"\(data row (\d+) of t\.csv\)")


@given(send_files())
def test_a_send_file_is_read_exactly_or_refused_naming_a_defective_line_or_row(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[bytes, set[int], Any]
) -> None:
    data, defects, messages = case
    s, err = attempt(netlab.load_scenario, _send(tmp_path_factory.mktemp("csv"), data))
    if messages is None:
        _assert_names_a_defect(err, defects)
        return
    assert err is None, str(err)
    assert s.mail is not None and len(s.mail.send) == len(messages)
    for got, want in zip(s.mail.send, messages, strict=True):
        assert {k: getattr(got, k) for k in want} == want


# ------------------------------------------------------------------ the results tables' CSV reader
RESULT_HEADERS = st.sampled_from([b"flow,tx_packets\n", b"a,a\n", BOM + b"x\n"])


@given(st.one_of(CSV_BYTES, st.builds(lambda h, b: h + b, RESULT_HEADERS, st.binary(max_size=60))))
def test_any_bytes_as_a_saved_results_table_give_a_table_or_an_error_naming_the_file(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    # Results saved before Parquet (format 1), comparisons and sweeps are read back from CSV by read_table.
    from netlab.results import read_table

    d = tmp_path_factory.mktemp("res")
    (d / "flows.csv").write_bytes(data)
    table, err = attempt(read_table, d, "flows")
    if err is not None:
        assert isinstance(err, netlab.ConfigError) and f"{d / 'flows.csv'}: a damaged results table" in str(err)
    else:
        assert table is None or hasattr(table, "columns")
