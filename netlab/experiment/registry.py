"""The config edge: names for strategy and distribution classes, and how one dataclass field reads and writes.

Inside netlab, strategies and distributions are objects (``OspfCost(...)``, ``Poisson(200.0)``); only scenario
files and the command line name them by string. This module holds those name -> class tables and the per-field
codec (YAML key, unit, required or not) that the loader, the dumper, overrides and the reference page share, so
the dataclass field metadata stays the single source of truth.

>>> ROUTING["ospf"].__name__, ARRIVALS.name_of(Poisson(5.0)), did_you_mean("rat", ["rate", "delay"])
('OspfCost', 'poisson', "; did you mean 'rate'?")
>>> format_quantity("packet_rate", 200.0), parse_quantity("packet_rate", "200pps")
('200/s', 200.0)
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import functools
import math
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netlab.errors import ConfigError, UnitError
from netlab.routing.adaptive import KShortestLeastLoaded, LeastLoaded
from netlab.routing.multipath import Ecmp, Spray, WeightedSplit
from netlab.routing.static import ExplicitPaths, OspfCost, ShortestDelay, ShortestHops
from netlab.routing.widest import ShortestWidest, WidestShortest
from netlab.units import format_rate, format_size, format_time, parse_rate, parse_size, parse_time
from netlab.workload.spec import (
    Constant,
    EmpiricalSize,
    ExponentialSize,
    FixedSize,
    OnOff,
    Poisson,
    Trace,
)

__all__ = [
    "ARRIVALS",
    "ROUTING",
    "SIZES",
    "UNIT_NAMES",
    "Ctx",
    "FlowMap",
    "FlowSeq",
    "Kinds",
    "allows_none",
    "build",
    "construct",
    "convert",
    "default_of",
    "did_you_mean",
    "dump_fields",
    "dump_value",
    "field_key",
    "field_unit",
    "fields_by_key",
    "format_quantity",
    "is_required",
    "kinds_of",
    "parse_packet_rate",
    "parse_quantity",
    "type_hints",
]

#: Routing strategy name (``routing.strategy``) -> class.
ROUTING: dict[str, type] = {
    "shortest_hops": ShortestHops,
    "shortest_delay": ShortestDelay,
    "ospf": OspfCost,
    "explicit": ExplicitPaths,
    "least_loaded": LeastLoaded,
    "k_shortest_least_loaded": KShortestLeastLoaded,
    "ecmp": Ecmp,
    "spray": Spray,
    "weighted_split": WeightedSplit,
    "widest_shortest": WidestShortest,
    "shortest_widest": ShortestWidest,
}


@dataclass(frozen=True)
class Kinds:
    """A tagged union as written in a scenario: ``{kind: value}`` where *kind* names one of *classes*.

    *bare* is the kind a bare scalar stands for (``size: 1000B`` is ``{fixed: 1000B}``), or None.
    """

    section: str
    classes: dict[str, type]
    bare: str | None = None

    def name_of(self, obj: object) -> str:
        """The kind name of *obj* (exact class match; a subclass is not silently written as its base)."""
        for name, cls in self.classes.items():
            if type(obj) is cls:
                return name
        raise KeyError(type(obj).__name__)


ARRIVALS = Kinds("arrivals", {"poisson": Poisson, "constant": Constant, "on_off": OnOff, "trace": Trace})
SIZES = Kinds("size", {"fixed": FixedSize, "exponential": ExponentialSize, "empirical": EmpiricalSize}, bare="fixed")

#: How each unit kind reads in the reference page.
UNIT_NAMES = {"rate": "bit/s", "size": "bytes", "time": "s", "packet_rate": "packets/s"}

# Fields without ``unit`` metadata still follow the suffix convention of DESIGN.md (``_s``, ``_bps``,
# ``_bytes``), so e.g. ``Trace.times_s`` and ``EmpiricalSize.values_bytes`` accept "2ms" and "1500B" too.
_SUFFIX_UNITS = (("_bps", "rate"), ("_pps", "packet_rate"), ("_bytes", "size"), ("_s", "time"))
_NUM = r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
_PPS_RE = re.compile(rf"^({_NUM})\s*(/s|pps)$")


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of *choices*, else ``"; expected one of a, b, c"``."""
    options = sorted(str(c) for c in choices)
    close = difflib.get_close_matches(str(word), options, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    if len(options) > 12:  # a 1,000-node topology: name a few, not all
        options = [*options[:12], "..."]
    return "; expected one of " + ", ".join(options) if options else ""


def field_key(f: dataclasses.Field[Any]) -> str:
    """The YAML key of field *f*: its ``key`` metadata, else its name."""
    return f.metadata.get("key") or f.name


def field_unit(f: dataclasses.Field[Any]) -> str | None:
    """The unit kind of *f* (``rate``, ``size``, ``time``, ``packet_rate``) or None."""
    if f.metadata.get("unit"):
        return str(f.metadata["unit"])
    for suffix, unit in _SUFFIX_UNITS:
        if f.name.endswith(suffix):
            return unit
    return None


@functools.cache
def type_hints(cls: type) -> dict[str, Any]:
    """Resolved field annotations of *cls* (the specs use ``from __future__ import annotations``)."""
    return typing.get_type_hints(cls)


def fields_by_key(cls: type) -> dict[str, dataclasses.Field[Any]]:
    """YAML key -> field, in declaration order."""
    return {field_key(f): f for f in dataclasses.fields(cls)}


def allows_none(tp: Any) -> bool:
    """True if the annotation *tp* admits None (``X | None``)."""
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp)


def is_required(cls: type, f: dataclasses.Field[Any]) -> bool:
    """A field is required when it has no usable default.

    ``option(doc=...)`` gives a default of None, so a None default on a field whose type does not admit None
    means "required" (e.g. ``NodeSpec.name``, ``Poisson.rate_pps``).
    """
    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
        return True
    return f.default is None and not allows_none(type_hints(cls)[f.name])


def default_of(f: dataclasses.Field[Any]) -> Any:
    """The default value of *f* (calling its factory), or MISSING."""
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def parse_packet_rate(value: object) -> float:
    """Packets per second from ``"200/s"``, ``"200pps"`` or a bare number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        num = float(value)
    else:
        m = _PPS_RE.match(str(value).strip()) if isinstance(value, str) else None
        if m is None:
            raise UnitError(f"expected a packet rate like '200/s' or '200pps', got {value!r}")
        num = float(m.group(1))
    if not (num > 0 and math.isfinite(num)):
        raise UnitError(f"expected a positive, finite packet rate, got {value!r}")
    return num


_PARSERS = {"rate": parse_rate, "size": parse_size, "time": parse_time, "packet_rate": parse_packet_rate}


def parse_quantity(unit: str, value: object) -> float | int:
    """Parse *value* as a quantity of kind *unit* into base units (UnitError if it is not one)."""
    return _PARSERS[unit](value)


def format_quantity(unit: str, value: float) -> str | float:
    """*value* as a unit string (``'10Mbps'``, ``'2ms'``, ``'1500B'``, ``'200/s'``) when that reads back exactly,
    else the plain number in base units, so a dump never rounds anything away."""
    if unit == "packet_rate":
        text = f"{value:g}/s"
    elif unit == "size":
        if value != int(value):
            return value
        text = format_size(int(value))
    else:
        text = (format_rate if unit == "rate" else format_time)(value)
    try:
        return text if parse_quantity(unit, text) == value else value
    except UnitError:
        return value


# -- the field codec: one generic reader and writer for every spec dataclass ------------------------------------


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

    def error(self, message: str, cls: type[ConfigError] = ConfigError) -> ConfigError:
        """``cls("FILE:LINE: PATH: message")``, to raise."""
        loc = self.where if self.line is None else f"{self.where}:{self.line}"
        return cls(f"{loc}: {self.path}: {message}" if self.path else f"{loc}: {message}")


class FlowMap(dict):  # type: ignore[type-arg]
    """A mapping the YAML dumper writes on one line (``{a: h1, b: r1}``)."""


class FlowSeq(list):  # type: ignore[type-arg]
    """A list the YAML dumper writes on one line (``[r1, r2]``)."""


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _members(tp: Any) -> tuple[list[Any], bool]:
    """The non-None members of a union annotation, and whether None was one of them."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        return [a for a in args if a is not type(None)], type(None) in args
    return [tp], False


def kinds_of(tp: Any = None, *, value: Any = None) -> Kinds | None:
    """The :class:`Kinds` whose classes make up the union annotation *tp*, or that holds the class of *value*."""
    members = _members(tp)[0] if tp is not None else []
    for kinds in (ARRIVALS, SIZES):
        classes = list(kinds.classes.values())
        if (members and all(m in classes for m in members) and len(members) == len(classes)) or type(value) in classes:
            return kinds
    return None


def convert(value: Any, tp: Any, unit: str | None, ctx: Ctx) -> Any:
    """Turn parsed YAML *value* into a value of annotation *tp* (parsing *unit* quantities), or raise at *ctx*."""
    members, nullable = _members(tp)
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
    return float(value) if tp is float else value


def _describe(tp: Any, unit: str | None) -> str:
    if unit is not None:
        return {"rate": "a rate like '10Mbps'", "size": "a size like '1500B'", "time": "a time like '2ms'",
                "packet_rate": "a packet rate like '200/s'"}[unit]  # fmt: skip
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def _tagged(value: Any, kinds: Kinds, ctx: Ctx) -> Any:
    """``{kind: value}`` -> an instance of that kind; a bare scalar is ``kinds.bare`` (``size: 1000B``)."""
    names = ", ".join(kinds.classes)
    if isinstance(value, tuple(kinds.classes.values())):
        return value
    if not isinstance(value, Mapping):
        if kinds.bare is None or isinstance(value, list | tuple):
            raise ctx.error(f"expected a mapping {{kind: ...}} with kind one of {names}, got {_show(value)}")
        return _shorthand(kinds.classes[kinds.bare], value, ctx)
    if len(value) != 1:
        raise ctx.error(f"expected exactly one key, the kind ({names}), got {_show(list(value))}")
    ((kind, inner),) = value.items()
    sub = ctx.key(kind, value)
    if kind not in kinds.classes:
        raise sub.error(f"unknown {kinds.section} kind" + did_you_mean(kind, kinds.classes))
    cls = kinds.classes[kind]
    if cls is Trace and isinstance(inner, Mapping) and "file" in inner:
        return _trace_file(inner, sub)
    return build(cls, inner, sub) if isinstance(inner, Mapping) else _shorthand(cls, inner, sub)


def _shorthand(cls: type, value: Any, ctx: Ctx) -> Any:
    """``poisson: 200/s``: a scalar stands for the first field of *cls*."""
    f = dataclasses.fields(cls)[0]
    return construct(cls, {f.name: convert(value, type_hints(cls)[f.name], field_unit(f), ctx)}, ctx)


def _trace_file(spec: Mapping[str, Any], ctx: Ctx) -> Trace:
    """``trace: {file: t.csv}``: a CSV with columns ``time_s`` and (optionally) ``size_bytes``."""
    for key in spec:
        if key != "file":
            raise ctx.key(key, spec).error("unknown key" + did_you_mean(key, ["file"]))
    fctx = ctx.key("file", spec)
    path = ctx.base / convert(spec["file"], str, None, fctx)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError:
        raise fctx.error(f"no such trace file {str(path)!r}") from None
    if not rows or "time_s" not in rows[0]:
        raise fctx.error(f"{path}: expected a CSV with a header line time_s[,size_bytes]")
    try:
        times = tuple(float(r["time_s"]) for r in rows)
        sizes = tuple(int(r["size_bytes"]) for r in rows) if "size_bytes" in rows[0] else None
    except (TypeError, ValueError) as exc:
        raise fctx.error(f"{path}: bad number in the trace ({exc})") from None
    return typing.cast(Trace, construct(Trace, {"times_s": times, "sizes_bytes": sizes}, ctx))


def build(cls: type, value: Any, ctx: Ctx, defaults: Mapping[str, Any] | None = None) -> Any:
    """An instance of dataclass *cls* from a mapping of YAML keys (*defaults*: field name -> value)."""
    if isinstance(value, cls):
        return value
    by_key = fields_by_key(cls)
    if not isinstance(value, Mapping):
        raise ctx.error(f"expected a mapping with keys {', '.join(by_key)}, got {_show(value)}")
    for key in value:
        if key not in by_key:
            raise ctx.key(key, value).error("unknown key" + did_you_mean(key, by_key))
    hints, kwargs = type_hints(cls), {}
    for key, f in by_key.items():
        if key in value:
            kwargs[f.name] = convert(value[key], hints[f.name], field_unit(f), ctx.key(key, value))
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


def dump_fields(obj: Any, compact: bool, base: Mapping[str, Any] | None = None, keep_first: bool = False) -> Any:
    """The fields of dataclass *obj* as ``{key: value}``.

    *compact* leaves out values equal to the default (or to *base*, field name -> value) and writes units.
    """
    out = FlowMap()
    hints = type_hints(type(obj))
    for i, f in enumerate(dataclasses.fields(obj)):
        value = getattr(obj, f.name)
        default = base[f.name] if base and f.name in base else default_of(f)
        required = is_required(type(obj), f) or (keep_first and i == 0)
        if compact and not required and value == default:
            continue
        out[field_key(f)] = dump_value(value, hints[f.name], field_unit(f), compact)
    return out


def dump_value(value: Any, tp: Any, unit: str | None, compact: bool) -> Any:
    """One field value as YAML-ready data (see :func:`dump_fields`)."""
    if value is None:
        return None
    kinds = kinds_of(value=value)
    if kinds is not None:
        name, body = kinds.name_of(value), dump_fields(value, compact, keep_first=True)
        if not compact:
            return {name: body}
        if len(body) == 1:  # only the first field: the shorthand
            (first,) = body.values()
            return first if name == kinds.bare else FlowMap({name: first})
        return FlowMap({name: body})
    if dataclasses.is_dataclass(value):
        return dump_fields(value, compact)
    members, _ = _members(tp)
    args = typing.get_args(members[0])
    if isinstance(value, tuple):
        return FlowSeq(dump_value(v, args[0] if args else Any, unit, compact) for v in value)
    if isinstance(value, Mapping):
        return {str(k): dump_value(v, args[1] if args else Any, unit, compact) for k, v in value.items()}
    if compact and unit is not None and isinstance(value, int | float) and not isinstance(value, bool):
        return format_quantity(unit, value)
    if compact and isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if compact and isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)  # weights [7, 4, 1], not [7.0, 4.0, 1.0]; read back as floats by the field type
    return value
