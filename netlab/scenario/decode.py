"""Reading spec dataclasses from parsed YAML: one generic reader for every field type (quantities with units,
tuples, mappings, nested dataclasses, ``{kind: value}`` unions), with errors located by :class:`Ctx` as
``FILE:LINE: KEY.PATH: what was expected, got what``.

>>> from netlab.workload.spec import FlowSpec
>>> build(FlowSpec, {"name": "f", "src": "a", "dst": "b", "arrivals": {"poisson": "200/s"}}, Ctx("x.yaml")).arrivals
Poisson(rate_pps=200.0)
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from netlab.errors import ConfigError, UnitError
from netlab.mail.config import ScriptedMessage
from netlab.options import did_you_mean
from netlab.scenario.csvfile import CsvReader, CsvTable
from netlab.scenario.dialect import Loader
from netlab.scenario.fields import (
    field_unit,
    fields_by_key,
    is_required,
    python_name_warning,
    python_names,
    type_hints,
    union_members,
)
from netlab.scenario.quantities import parse_quantity
from netlab.scenario.registry import Kind, Kinds, is_ref, kinds_of, named_class, split_call
from netlab.units import NUMBER
from netlab.workload.spec import Trace

__all__ = ["Ctx", "build", "called", "construct", "convert", "instance", "read_list"]


@dataclass(frozen=True)
class Ctx:
    """Where a value sits: *where* (file name), key *path* (``links[3].rate``), *line* (1-based) and *base*
    (the directory relative file names are taken from). Parsed mappings and lists carry ``lines`` (key or
    index -> line); plain Python ones do not, and their children inherit the parent's line."""

    where: str
    path: str = ""
    line: int | None = None
    base: Path = Path()

    def key(self, key: object, parent: object) -> Ctx:
        """The context of ``parent[key]`` for a mapping *parent*."""
        line = getattr(parent, "lines", {}).get(key, self.line)
        return dataclasses.replace(self, path=f"{self.path}.{key}" if self.path else str(key), line=line)

    def at(self, index: int, parent: object) -> Ctx:
        """The context of ``parent[index]`` for a list *parent*."""
        lines = getattr(parent, "lines", None)
        line = lines[index] if lines and index < len(lines) else self.line
        return dataclasses.replace(self, path=f"{self.path}[{index}]", line=line)

    def location(self) -> str:
        """``FILE:LINE: PATH`` (``FILE:LINE`` at the top), as errors and warnings begin."""
        loc = self.where if self.line is None else f"{self.where}:{self.line}"
        return f"{loc}: {self.path}" if self.path else loc

    def error(self, message: str, cls: type[ConfigError] = ConfigError) -> ConfigError:
        """``cls("FILE:LINE: PATH: message")``, to raise."""
        return cls(f"{self.location()}: {message}")


def _show(value: object) -> str:
    """*value* for an error message, at most 60 characters, computed from a clipped copy: a huge value (an
    expanded alias, a long list) costs no more to show than a small one."""
    text = repr(_clip(value, 3))
    return text if len(text) <= 60 else text[:57] + "..."


def _clip(value: object, depth: int) -> object:
    if isinstance(value, str):
        return value if len(value) <= 60 else value[:60] + "..."
    if isinstance(value, list | tuple):
        items = [_clip(v, depth - 1) for v in value[:6]] if depth > 0 else ["..."]
        return [*items, "..."] if len(value) > len(items) else items
    if isinstance(value, Mapping):
        pairs = list(value.items())[:6] if depth > 0 else []
        out = {_clip(k, 0): _clip(v, depth - 1) for k, v in pairs}
        if len(value) > len(pairs):
            out["..."] = "..."
        return out
    return value


def convert(value: Any, tp: Any, unit: str | None, ctx: Ctx) -> Any:
    """Turn parsed YAML *value* into a value of annotation *tp* (parsing *unit* quantities), or raise at *ctx*."""
    members, nullable = union_members(tp)
    if value is None and nullable:
        return None
    kinds = kinds_of(tp)
    if kinds is not None:
        return _tagged(value, kinds, ctx)
    tp = members[0]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if value is None:
        raise ctx.error(f"expected {_describe(tp, unit)}, got null")
    if origin is tuple:
        if args and args[0] is ScriptedMessage and isinstance(value, Mapping) and "file" in value:
            return _send_file(value, ctx)
        if not isinstance(value, list | tuple):
            raise ctx.error(f"expected a list, got {_show(value)}")
        if len(args) == 2 and args[1] is Ellipsis:
            args = (args[0],) * len(value)
        elif len(value) != len(args):
            raise ctx.error(f"expected a list of {len(args)} items, got {_show(value)}")
        return tuple(convert(v, a, unit, ctx.at(i, value)) for i, (v, a) in enumerate(zip(value, args, strict=True)))
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ctx.error(f"expected a mapping, got {_show(value)}")
        return {convert(k, args[0], None, ctx): convert(v, args[1], unit, ctx.key(k, value)) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return build(typing.cast(type, tp), value, ctx)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise ctx.error(f"expected {_describe(tp, None)}, got {_show(value)}") from None
    if unit is not None:
        if unit == "size" and tp is float and isinstance(value, int | float) and not isinstance(value, bool):
            if not (value >= 0 and math.isfinite(value)):  # a mean size need not be whole bytes
                raise ctx.error(f"expected a non-negative size, got {value!r}", UnitError)
            return float(value)
        try:
            quantity = parse_quantity(unit, value)
        except UnitError as exc:
            raise ctx.error(str(exc), UnitError) from None
        return float(quantity) if tp is float else quantity
    return _scalar(value, tp, ctx)


def _scalar(value: Any, tp: Any, ctx: Ctx) -> Any:
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: (isinstance(value, int | float) and not isinstance(value, bool)) or value in ("inf", "-inf"),
        str: isinstance(value, str),
    }
    if tp is Any:
        return value
    if not ok.get(tp, False):
        raise ctx.error(f"expected {_describe(tp, None)}, got {_show(value)}")
    if tp is float:
        number = float(value)
        if not math.isfinite(number):  # NaN passes every range check; no plain number of a scenario is infinite
            raise ctx.error(f"expected a finite number, got {_show(value)}")
        return number
    return value


def _describe(tp: Any, unit: str | None) -> str:
    if unit is not None:
        return {"rate": "a rate like '10Mbps'", "size": "a size like '1500B'", "time": "a time like '2ms'",
                "packet_rate": "a packet rate like '200/s'"}[unit]  # fmt: skip
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(str(m.value) for m in tp)
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def _tagged(value: Any, kinds: Kinds, ctx: Ctx) -> Any:
    """``{kind: value}`` -> an instance of that kind; a bare scalar is ``kinds.bare`` (``size: 1000B``);
    ``module:Class(key=value)`` or ``{module:Class: {key: value}}`` a law of the user's own."""
    names = ", ".join(kinds.classes)
    if isinstance(value, kinds.kind.protocol) and not isinstance(value, str | Mapping):
        return value  # an object, from Python
    if isinstance(value, str) and is_ref(value.partition("(")[0].strip()):
        return called(value, kinds.classes, kinds.kind, ctx)
    if kinds.call and isinstance(value, str):  # cubic, cubic(beta=0.8)
        name = value.partition("(")[0].strip()
        if name not in kinds.classes:
            raise ctx.error(f"unknown {kinds.kind.what} {name!r}" + did_you_mean(name, kinds.classes))
        return called(value, kinds.classes, kinds.kind, ctx)
    if not isinstance(value, Mapping):
        if kinds.bare is None or isinstance(value, list | tuple):
            raise ctx.error(f"expected a mapping {{kind: ...}} with kind one of {names}, got {_show(value)}")
        return _shorthand(kinds.classes[kinds.bare], value, ctx)
    if len(value) != 1:
        raise ctx.error(f"expected exactly one key, the kind ({names}), got {_show(list(value))}")
    ((kind, inner),) = value.items()
    sub = ctx.key(kind, value)
    if is_ref(kind):
        cls = _load(kind, kinds.kind, sub)
        if isinstance(inner, Mapping) or not dataclasses.is_dataclass(cls):
            return instance(cls, inner or {}, kinds.kind, sub)
        return _shorthand(cls, inner, sub)
    if kind not in kinds.classes:
        raise sub.error(f"unknown {kinds.section} kind" + did_you_mean(kind, kinds.classes))
    cls = kinds.classes[kind]
    if cls is Trace and isinstance(inner, Mapping) and "file" in inner:
        return _trace_file(inner, sub)
    return build(cls, inner, sub) if isinstance(inner, Mapping) else _shorthand(cls, inner, sub)


def called(text: str, table: Mapping[str, type], kind: Kind, ctx: Ctx) -> Any:
    """An object from ``name``, ``name(key=value, ...)`` (a class of *table*) or ``module:Class(key=value)``."""
    try:
        name, params = split_call(text)
    except ConfigError as exc:
        raise ctx.error(str(exc)) from None
    cls = table[name] if name in table else _load(name, kind, ctx, table)
    return instance(cls, params, kind, ctx)


def _load(name: str, kind: Kind, ctx: Ctx, table: Mapping[str, type] | None = None) -> type:
    try:
        return named_class(name, table or {}, kind)
    except ConfigError as exc:
        raise ctx.error(str(exc)) from None


def instance(cls: type, params: Mapping[str, Any], kind: Kind, ctx: Ctx) -> Any:
    """An object of *cls*, a class a file names, from *params*: a dataclass reads them by its fields' metadata
    (YAML keys, units), any other class takes them as keyword arguments as YAML gave them. The object must
    have *kind*'s members (a routing strategy its ``detection_delay_s`` too)."""
    if dataclasses.is_dataclass(cls):
        obj = build(cls, params, ctx)
    elif not isinstance(params, Mapping):
        raise ctx.error(f"expected a mapping of arguments for {cls.__name__}, got {_show(params)}")
    else:
        obj = construct(cls, {str(k): v for k, v in params.items()}, ctx)
    missing = [m for m in (*kind.methods, *kind.attrs) if not hasattr(obj, m)]
    if missing or not isinstance(obj, kind.protocol):
        raise ctx.error(f"{cls.__name__} is not {kind.a}: it has no {(missing or ['...'])[0]}")
    return obj


def _shorthand(cls: type, value: Any, ctx: Ctx) -> Any:
    """``poisson: 200/s``: a scalar stands for the first field of *cls*."""
    f = dataclasses.fields(cls)[0]
    return construct(cls, {f.name: convert(value, type_hints(cls)[f.name], field_unit(f), ctx)}, ctx)


def _csv_file(spec: Mapping[str, Any], ctx: Ctx, reader: CsvReader) -> tuple[CsvTable, Ctx]:
    """``{file: NAME.csv}`` (relative to the scenario) read by *reader*, and the context of the ``file`` key (for
    errors about the file as a whole)."""
    for key in spec:
        if key != "file":
            raise ctx.key(key, spec).error("unknown key" + did_you_mean(key, ["file"]))
    fctx = ctx.key("file", spec)
    path = ctx.base / convert(spec["file"], str, None, fctx)
    return reader.read(path, fctx.error), fctx


_TRACE = CsvReader("trace file", required=("time_s",), optional=("size_bytes",))
_DECIMAL = re.compile(rf"[-+]?{NUMBER}")  # what a time_s cell may hold (ASCII digits, no underscores)


def _trace_file(spec: Mapping[str, Any], ctx: Ctx) -> Trace:
    """``trace: {file: t.csv}``: a CSV with columns ``time_s`` and (optionally) ``size_bytes``."""
    table, _ = _csv_file(spec, ctx, _TRACE)
    times: list[float] = []
    sizes: list[int] = []
    for row in table.rows:
        cell = row.cells["time_s"].strip()
        try:
            t = float(cell)
            if math.isfinite(t) and not _DECIMAL.fullmatch(cell):
                # float() also reads '1_0' (10) and other scripts' digits: a typo must not become a time
                raise ValueError(cell)
        except ValueError:
            raise row.error("time_s", f"expected a time in seconds, got {cell!r}") from None
        if not (t >= 0 and math.isfinite(t)):
            raise row.error("time_s", f"expected a finite time >= 0 s, got {cell!r}")
        if times and t < times[-1]:  # here, not in Trace: its message could not name the file's line
            raise row.error("time_s", f"expected times in order (non-decreasing), got {cell!r} after {times[-1]:g}")
        times.append(t)
        if "size_bytes" in table.columns:
            cell = row.cells["size_bytes"].strip()
            if not re.fullmatch(r"[0-9]+", cell) or int(cell) < 1:
                raise row.error("size_bytes", f"expected a whole number of bytes >= 1, got {cell!r}")
            sizes.append(int(cell))
    return typing.cast(Trace, construct(Trace, {"times_s": tuple(times), "sizes_bytes": tuple(sizes) if sizes else
                                                None}, ctx))  # fmt: skip


_SEND_TEXT_COLUMNS = frozenset({"from", "to", "subject", "body", "password"})
_SEND = CsvReader(
    "send file",
    required=("at", "from", "to"),
    optional=tuple(k for k in fields_by_key(ScriptedMessage) if k not in ("at", "from", "to")),
)


def _send_file(spec: Mapping[str, Any], ctx: Ctx) -> tuple[ScriptedMessage, ...]:
    """``send: {file: day.csv}``: one scripted message per CSV row, the columns named as the keys of ``send``
    entries (``at``, ``from``, ``to`` required; ``subject``, ``body`` or ``body_size``, ``attachment``,
    ``password``, ``headers`` optional; an empty cell takes the default). ``to`` lists recipients separated by
    spaces, commas or semicolons; other cells read as in YAML (``3600``, ``5min``, ``40KB``, ``true``). Errors name
    the CSV file, its line and the column."""
    table, _ = _csv_file(spec, ctx, _SEND)
    out = []
    for i, row in enumerate(table.rows):
        rctx = Ctx(str(table.path), f"send[{i}]", row.line, ctx.base)
        data: dict[str, Any] = {}
        for col, cell in row.cells.items():
            if not cell.strip():
                continue
            if col == "to":
                data[col] = [t for t in re.split(r"[\s,;]+", cell.strip()) if t]
            elif col in _SEND_TEXT_COLUMNS:
                data[col] = cell.strip()
            else:
                try:  # the scenario file's own scalar reading: 3600 -> int, 5min -> str, true -> bool
                    data[col] = yaml.load(cell, Loader=Loader)
                except yaml.YAMLError as exc:
                    raise rctx.key(col, row.cells).error(f"not a YAML scalar: {cell!r} ({exc})") from None
        out.append(build(ScriptedMessage, data, rctx))
    return tuple(out)


def build(cls: type, value: Any, ctx: Ctx, defaults: Mapping[str, Any] | None = None) -> Any:
    """An instance of dataclass *cls* from a mapping of YAML keys (*defaults*: field name -> value)."""
    if isinstance(value, cls):
        return value
    by_key = fields_by_key(cls)
    if not isinstance(value, Mapping):
        raise ctx.error(f"expected a mapping with keys {', '.join(by_key)}, got {_show(value)}")
    names = python_names(cls)
    given: dict[str, str] = {}  # YAML key -> the key it was written under (itself, or the Python field name)
    for key in value:
        if key in by_key:
            given[key] = key
        elif key in names and names[key] not in value:
            # The Python name (``stop_s``) in a file is the same option: accepted, pointing at the key (``stop``).
            python_name_warning(ctx.key(key, value).location(), key, names[key])
            given[names[key]] = key
        else:
            raise ctx.key(key, value).error("unknown key" + did_you_mean(key, by_key))
    hints, kwargs = type_hints(cls), {}
    for key, f in by_key.items():
        if key in given:
            kwargs[f.name] = convert(value[given[key]], hints[f.name], field_unit(f), ctx.key(given[key], value))
        elif defaults and f.name in defaults:
            kwargs[f.name] = defaults[f.name]
        elif is_required(cls, f):
            raise ctx.error(f"missing required key {key!r}")
    return construct(cls, kwargs, ctx)


def construct(cls: type, kwargs: Mapping[str, Any], ctx: Ctx) -> Any:
    """``cls(**kwargs)``, its own validation errors re-raised at *ctx* (same class)."""
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ctx.error(str(exc), type(exc)) from None
    except (TypeError, ValueError) as exc:
        raise ctx.error(str(exc)) from None


def read_list(data: Mapping[str, Any], key: str, root: Ctx, read: Any) -> list[Any]:
    """Read the list ``data[key]`` item by item (missing or null: no items)."""
    items = data.get(key) or []
    ctx = root.key(key, data)
    if not isinstance(items, list | tuple):
        raise ctx.error(f"expected a list, got {items!r:.60}")
    return [read(item, ctx.at(i, items)) for i, item in enumerate(items)]
