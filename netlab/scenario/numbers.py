"""Every number of a scenario finite and of its type, whichever way the scenario was made.

A file's numbers are checked where they are read (with the line); a scenario built in Python passes through
:func:`check_numbers` when :class:`~netlab.Scenario` is constructed, which walks its specs (flows and their laws,
routing, faults, run, mail) and refuses, naming the key path:

* NaN anywhere (it compares false with everything, so a NaN time or probability passes every range check);
* -inf anywhere, and +inf except in rates (``inf`` is a pure delay) and times (``stop`` defaults to inf; each
  spec says which of its times may be infinite);
* a float where the field is a whole number (``count=1e20``: 1e20 is not a count).

The topology is not walked (a 10,000-router one would cost the walk its time): :class:`~netlab.LinkSpec` and
:class:`~netlab.NodeSpec` check their own numbers.

>>> from netlab.workload.spec import FlowSpec
>>> check_numbers(FlowSpec("f", "a", "b", start_s=float("nan")), "flows[0]")
Traceback (most recent call last):
...
netlab.errors.ConfigError: flows[0].start: expected a finite number, got nan
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from netlab.errors import ConfigError
from netlab.scenario.fields import field_key, field_unit, type_hints, union_members

__all__ = ["check_number", "check_numbers"]

_INFINITE_UNITS = ("rate", "time")


def check_number(value: object, path: str, *, infinite: bool = False) -> None:
    """Refuse NaN, -inf and (unless *infinite*) +inf at key *path*."""
    if isinstance(value, float) and not math.isfinite(value) and not (infinite and value == math.inf):
        raise ConfigError(f"{path}: expected a finite number, got {value!r}")


def check_numbers(obj: object, path: str, unit: str | None = None, whole: bool = False) -> None:
    """Walk *obj* (a spec dataclass, a tuple or mapping of them, or a number) and raise a ConfigError naming the
    key path of the first number that is not finite or a float where a whole number belongs."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return
    if isinstance(obj, float):
        if whole:
            raise ConfigError(f"{path}: expected a whole number, got {obj!r}")
        check_number(obj, path, infinite=unit in _INFINITE_UNITS)
    elif isinstance(obj, tuple | list):
        for i, v in enumerate(obj):
            check_numbers(v, f"{path}[{i}]", unit, whole)
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            check_numbers(v, f"{path}.{k}" if path else str(k), unit, whole)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        hints = type_hints(type(obj))
        for f in dataclasses.fields(obj):
            members, _ = union_members(hints.get(f.name, Any))
            is_whole = int in members and float not in members
            key = field_key(f)
            check_numbers(getattr(obj, f.name), f"{path}.{key}" if path else key, field_unit(f), is_whole)
