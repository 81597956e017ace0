"""What a spec dataclass field says about its key in a scenario file: the YAML key, the unit kind, the resolved
type, whether it is required and its default. The field metadata is the single source of truth that the reader,
the writer, overrides and the reference page share.

>>> from netlab.topology.spec import LinkSpec
>>> [(field_key(f), field_unit(f)) for f in dataclasses.fields(LinkSpec)][2]
('rate', 'rate')
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any

__all__ = [
    "allows_none",
    "default_of",
    "field_key",
    "field_unit",
    "fields_by_key",
    "is_required",
    "type_hints",
    "union_members",
]

# Fields without ``unit`` metadata still follow the suffix convention of DESIGN.md (``_s``, ``_bps``,
# ``_bytes``), so e.g. ``Trace.times_s`` and ``EmpiricalSize.values_bytes`` accept "2ms" and "1500B" too.
_SUFFIX_UNITS = (("_bps", "rate"), ("_pps", "packet_rate"), ("_bytes", "size"), ("_s", "time"))


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
    """A field is required when it has no default (``option(doc=...)`` without one): the class cannot be made
    without it, and a scenario file must give its key."""
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def default_of(f: dataclasses.Field[Any]) -> Any:
    """The default value of *f* (calling its factory), or MISSING."""
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def union_members(tp: Any) -> tuple[list[Any], bool]:
    """The non-None members of a union annotation, and whether None was one of them."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        return [a for a in args if a is not type(None)], type(None) in args
    return [tp], False
