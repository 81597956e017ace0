"""Writing spec dataclasses as YAML-ready data, the inverse of :mod:`netlab.scenario.decode`: compact
output leaves out defaults and writes unit strings and shorthands (:class:`~netlab.scenario.dialect.FlowMap`
and ``FlowSeq`` mark what the dumper writes on one line); a class of the user's own is written
``module:Class(key=value, ...)`` (:func:`call_text`).

>>> from netlab.topology.spec import LinkSpec
>>> dump_fields(LinkSpec("a", "b", rate_bps=10e6), compact=True)
{'a': 'a', 'b': 'b', 'rate': '10Mbps'}
>>> call_text("k_shortest_least_loaded", {"k": 2, "per": "flow"})
'k_shortest_least_loaded(k=2, per=flow)'
"""

from __future__ import annotations

import dataclasses
import enum
import math
import typing
from collections.abc import Mapping
from typing import Any

import yaml

from netlab.errors import ConfigError
from netlab.scenario.dialect import Dumper, FlowMap, FlowSeq
from netlab.scenario.fields import (
    default_of,
    field_key,
    field_unit,
    is_required,
    type_hints,
    union_members,
)
from netlab.scenario.quantities import format_quantity
from netlab.scenario.registry import Kind, kinds_of, ref_of

__all__ = ["call_text", "dump_fields", "dump_value", "inline", "ref_text"]


def dump_fields(obj: Any, compact: bool, base: Mapping[str, Any] | None = None, keep_first: bool = False) -> Any:
    """The fields of dataclass *obj* as ``{key: value}``.

    *compact* leaves out values equal to the default (or to *base*, field name -> value) and writes units.
    """
    out = FlowMap()
    cls: type = type(obj)
    hints = type_hints(cls)
    for i, f in enumerate(dataclasses.fields(obj)):
        value = getattr(obj, f.name)
        default = base[f.name] if base and f.name in base else default_of(f)
        required = is_required(cls, f) or (keep_first and i == 0)
        if compact and not required and value == default:
            continue
        out[field_key(f)] = dump_value(value, hints[f.name], field_unit(f), compact)
    return out


def dump_value(value: Any, tp: Any, unit: str | None, compact: bool) -> Any:
    """One field value as YAML-ready data (see :func:`dump_fields`)."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return value.value  # Role.HOST is written "host", as the file had it
    kinds = kinds_of(tp) or kinds_of(value=value)
    if kinds is not None and kinds.call and isinstance(value, str):
        return value  # a name, as the field's default (congestion: none)
    if kinds is not None:
        name = kinds.name_of(value)
        if name is None:  # a law of the user's own
            return ref_text(value, kinds.kind)
        if kinds.call:
            return call_text(name, dump_fields(value, compact=True))
        body = dump_fields(value, compact, keep_first=True)
        if not compact:
            return {name: body}
        if len(body) == 1:  # only the first field: the shorthand
            (first,) = body.values()
            return first if name == kinds.bare else FlowMap({name: first})
        return FlowMap({name: body})
    if dataclasses.is_dataclass(value):
        return dump_fields(value, compact)
    members, _ = union_members(tp)
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


def ref_text(obj: Any, kind: Kind) -> str:
    """*obj*, an instance of a class of the user's own, as ``module:Class(key=value, ...)`` (the fields that
    differ from their defaults), which the reader turns back into an equal object."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise ConfigError(f"cannot write {kind.what} {obj!r} to YAML: a class of your own is written as "
                          "module:Class(key=value, ...) from its dataclass fields, "
                          "and this is no dataclass")  # fmt: skip
    try:
        ref = ref_of(type(obj), kind)
    except ConfigError as exc:
        raise ConfigError(f"cannot write {kind.what} {obj!r} to YAML: {exc}") from None
    return call_text(ref, dump_fields(obj, compact=True))


def call_text(name: str, body: Mapping[str, Any]) -> str:
    """``name(key=value, ...)`` with each value as one line of YAML (just ``name`` without values)."""
    if not body:
        return name
    return f"{name}({', '.join(f'{k}={inline(v)}' for k, v in body.items())})"


def inline(value: Any) -> str:
    """*value* as YAML on one line (``10Mbps``, ``[a, b]``, ``{x: 1}``)."""
    text: str = yaml.dump(value, Dumper=Dumper, default_flow_style=True, width=1_000_000)
    return text.strip().removesuffix("...").strip()
