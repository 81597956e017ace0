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
import sys
import types
import typing
import warnings
from pathlib import Path
from typing import Any

__all__ = [
    "allows_none",
    "default_of",
    "field_key",
    "field_unit",
    "fields_by_key",
    "is_required",
    "python_name_warning",
    "python_names",
    "type_hints",
    "union_members",
]

_PACKAGE = str(Path(__file__).resolve().parents[1])

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


@functools.cache  # asked for every mapping a file decodes (10,000 nodes: 10,000 times), and a class never changes
def python_names(cls: type) -> dict[str, str]:
    """Python field name -> YAML key, for the fields of *cls* whose two differ (``stop_s`` -> ``stop``). A file or
    an override may use the Python name; it means the same option and warns (:func:`python_name_warning`)."""
    return {f.name: field_key(f) for f in dataclasses.fields(cls) if field_key(f) != f.name}


def python_name_warning(where: str, name: str, key: str) -> None:
    """Warn (DeprecationWarning) that *name*, a Python field name, was written where *where* (``FILE:LINE: PATH``)
    expects the YAML key *key*: accepted, but the key is what files, overrides, the writer and the reference
    page spell."""
    # attributed to the first caller outside netlab (the user's run(), override() or load_scenario() line);
    # Python 3.11 has no warn(skip_file_prefixes=...), so count the frames inside the package
    level, frame = 2, sys._getframe(1)  # stacklevel 2 is our caller
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        level, frame = level + 1, frame.f_back  # type: ignore[assignment]
    warnings.warn(f"{where}: {name!r} is the Python name of this option; a scenario file says {key!r}",
                  DeprecationWarning, stacklevel=level)  # fmt: skip


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
