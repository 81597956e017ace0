"""The one reader of the CSV files a scenario names (packet traces, mail send files): a header of known columns,
then rows, every error naming the file, the line and the column.

Refused with a :class:`~netlab.ConfigError`: a file that is not UTF-8 text (a NUL byte, an undecodable byte, with
its offset), an empty file or one with only a header, an unknown (misspelled) column with a did-you-mean, a column
named twice, a missing required column, a row with fewer or more cells than the header (with its line), and a file
larger than :data:`MAX_BYTES`. A UTF-8 byte-order mark (what spreadsheet programs write) is read past. Blank lines
are skipped.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> _ = p.write_bytes(b"\\xef\\xbb\\xbftime_s,size_bytes\\n0.5,100\\n")
>>> table = CsvReader("trace file", required=("time_s",), optional=("size_bytes",)).read(p, ConfigError)
>>> table.columns, [(r.line, r.cells) for r in table.rows]
(('time_s', 'size_bytes'), [(2, {'time_s': '0.5', 'size_bytes': '100'})])
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from netlab.errors import ConfigError
from netlab.options import did_you_mean

__all__ = ["MAX_BYTES", "CsvReader", "CsvRow", "CsvTable"]

#: The largest CSV file read (a day of mail at one message a second is about 5 MB).
MAX_BYTES = 200_000_000


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One data row: the *line* it ends on (1-based, as an editor shows it) and its cells by column."""

    path: Path
    line: int
    cells: dict[str, str]

    def error(self, column: str | None, message: str) -> ConfigError:
        """``FILE:LINE: column C: message``, to raise."""
        where = f"{self.path}:{self.line}: " + (f"column {column!r}: " if column else "")
        return ConfigError(where + message)


@dataclass(frozen=True, slots=True)
class CsvTable:
    """A CSV file read: its *columns* (as the header names them) and its data *rows*."""

    path: Path
    columns: tuple[str, ...]
    rows: tuple[CsvRow, ...]


class CsvReader:
    """Reads a CSV file whose header must name *required* columns and may name *optional* ones.

    *what* names the file in errors (``trace file``); errors about the file as a whole are made by the callable
    given to :meth:`read` (the scenario's ``file:`` key with its line), errors inside it name the CSV's own line.
    """

    __slots__ = ("optional", "required", "what")

    def __init__(self, what: str, *, required: Sequence[str], optional: Sequence[str] = ()) -> None:
        self.what = what
        self.required = tuple(required)
        self.optional = tuple(optional)

    def __repr__(self) -> str:
        return f"CsvReader({self.what!r}, required={self.required}, optional={self.optional})"

    @property
    def header(self) -> str:
        """The header the reader expects, as a CSV line (optional columns in brackets)."""
        return ",".join(self.required) + "".join(f"[,{c}]" for c in self.optional)

    def read(self, path: Path, file_error: Callable[[str], ConfigError]) -> CsvTable:
        """The table in *path*; *file_error(message)* makes the error for a problem of the whole file."""
        try:
            size = path.stat().st_size
            if size > MAX_BYTES:
                raise file_error(f"{path}: {size:,} bytes, more than the {MAX_BYTES:,} a {self.what} may have")
            data = path.read_bytes()
        except OSError:
            raise file_error(f"no such {self.what} {str(path)!r}") from None
        nul = data.find(b"\0")
        if nul >= 0:
            line = data.count(b"\n", 0, nul) + 1
            raise file_error(f"{path}: not a text CSV file (a NUL byte at offset {nul}, line {line}); expected a "
                             f"header line {self.header}")  # fmt: skip
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise file_error(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}, line "
                             f"{line})") from None  # fmt: skip
        if not text.strip():
            raise file_error(f"{path}: the file is empty; expected a header line {self.header} and rows")
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = next(reader, None)
            while header is not None and _blank(header):  # blank lines before the header, as between rows
                header = next(reader, None)
            if header is None:  # only blank lines and quotes around nothing (a lone '"')
                raise file_error(f"{path}: no header line; expected a header line {self.header} and rows")
            header_line = reader.line_num
            columns = tuple(c.strip() for c in header)
            self._check_header(path, header_line, columns)
            rows = []
            for cells in reader:
                if _blank(cells):
                    continue
                row = CsvRow(path, reader.line_num, dict(zip(columns, cells, strict=False)))
                if len(cells) < len(columns):
                    lacking = ", ".join(columns[len(cells) :])
                    raise row.error(None, f"{len(cells)} cells, but the header has {len(columns)} columns "
                                          f"({', '.join(columns)}); missing {lacking}")  # fmt: skip
                if len(cells) > len(columns):
                    raise row.error(None, f"{len(cells)} cells, more than the {len(columns)} columns of the header "
                                          f"({', '.join(columns)})")  # fmt: skip
                rows.append(row)
        except csv.Error as exc:
            raise ConfigError(f"{path}:{reader.line_num}: not a CSV row ({exc})") from None
        if not rows:
            raise file_error(f"{path}: a header line and no rows")
        return CsvTable(path, columns, tuple(rows))

    def _check_header(self, path: Path, line: int, columns: tuple[str, ...]) -> None:
        known = (*self.required, *self.optional)
        seen: dict[str, int] = {}
        for i, c in enumerate(columns, 1):
            if c in seen:
                raise ConfigError(f"{path}:{line}: column {c!r} named twice (columns {seen[c]} and {i})")
            seen[c] = i
            if c not in known:
                raise ConfigError(f"{path}:{line}: column {c!r}: unknown column{did_you_mean(c, known)}; a "
                                  f"{self.what} has the columns {', '.join(known)}")  # fmt: skip
        missing = [c for c in self.required if c not in seen]
        if missing:
            raise ConfigError(f"{path}:{line}: missing column {', '.join(map(repr, missing))}; expected a header "
                              f"line naming at least {', '.join(self.required)}")  # fmt: skip


def _blank(cells: list[str]) -> bool:
    """A blank line: no cells, or one of only spaces (skipped before the header and between rows alike)."""
    return not cells or (len(cells) == 1 and not cells[0].strip())
