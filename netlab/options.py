"""The vocabulary of netlab's spec dataclasses: fields that carry their scenario-file metadata, string choices
that are enums, and the did-you-mean that names the closest valid choice (:mod:`netlab._text`'s).

Every spec (``NodeSpec``, ``FlowSpec``, ``MailSpec``, a routing strategy ...) declares its fields with
:func:`option`: the YAML *key* (``rate`` for ``rate_bps``), the *unit* kind, a *doc* line for the reference page,
and a default, or none: a field without one is required, and the class refuses to be made without it
(``NodeSpec()`` is a TypeError), exactly as the scenario reader reports ``missing required key 'name'``.
A field that may be absent says so in its type (``str | None``) and its default (``None``).

>>> import dataclasses
>>> @dataclasses.dataclass(frozen=True)
... class Pipe:
...     name: str = option(doc="unique name")
...     rate_bps: float = option(1e6, key="rate", unit="rate", doc="bit/s")
>>> Pipe("p"), dataclasses.fields(Pipe)[1].metadata["key"]
(Pipe(name='p', rate_bps=1000000.0), 'rate')
>>> Pipe()
Traceback (most recent call last):
...
TypeError: Pipe.__init__() missing 1 required positional argument: 'name'
>>> class Colour(Choice):
...     RED = "red"
...     BLUE = "blue"
>>> Colour("red"), Colour("red") == "red"
('red', True)
>>> Colour.parse("blu", "paint")
Traceback (most recent call last):
...
netlab.errors.ConfigError: paint must be one of red, blue, got 'blu'; did you mean 'blue'?

A spec decorated with :func:`key_aliases` takes each option under its scenario-file key too, the value read as the
file reads it (units parsed), so a line of YAML and a line of Python say the same thing:

>>> @key_aliases
... @dataclasses.dataclass(frozen=True)
... class Wire:
...     rate_bps: float = option(1e6, key="rate", unit="rate", doc="bit/s")
>>> Wire(rate="10Mbps") == Wire(rate_bps=10e6)
True
>>> Wire(rate="10Mbps", rate_bps=1e6)
Traceback (most recent call last):
...
TypeError: Wire() got both 'rate' (the scenario-file key) and 'rate_bps' (the Python name) of one option; give one
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Callable
from typing import Any, Self, TypeVar

from netlab._text import did_you_mean
from netlab.errors import ConfigError

__all__ = ["Choice", "did_you_mean", "key_aliases", "option"]

_MISSING: Any = dataclasses.MISSING
_Class = TypeVar("_Class", bound=type)


def option(
    default: Any = _MISSING,
    *,
    key: str | None = None,
    unit: str | None = None,
    doc: str = "",
    default_factory: Any = _MISSING,
    kw_only: bool = False,
) -> Any:
    """A dataclass field with the scenario-format metadata: its YAML *key* (default: the field name), *unit*
    kind (``rate``, ``size``, ``time``, ``packet_rate``; fields named ``*_s``, ``*_bps``, ``*_bytes`` get one by
    their suffix), and *doc* for the reference page. Without *default* or *default_factory* the field is
    required. *kw_only* lets a required field follow fields with defaults (it is then passed by keyword)."""
    meta = {"key": key, "unit": unit, "doc": doc}
    if kw_only:
        return dataclasses.field(default=default, default_factory=default_factory, metadata=meta, kw_only=True)
    return dataclasses.field(default=default, default_factory=default_factory, metadata=meta)


def key_aliases(cls: _Class) -> _Class:
    """Let the constructor of dataclass *cls* take each option whose scenario-file key differs from its Python
    name under that key too: ``FlowSpec(..., stop="30s")`` is ``FlowSpec(..., stop_s=30.0)``. A value given under
    the key is read as a scenario file reads it (``"30s"``, ``"10Mbps"``, ``"200/s"`` parsed by the field's unit;
    a bad one is a ConfigError naming the key and what was expected); one given under the Python name is passed
    on as it is. Both names at once is a TypeError, as Python's own duplicate arguments are.

    Apply it above ``@dataclass`` (it wraps the generated ``__init__``). Type checkers keep seeing the dataclass's
    own signature, with the Python names and their exact types: the keys are a convenience for notebooks and
    untyped code, and a checked program is not told a key-named call is fine when mypy cannot check its value
    (``"30s"`` for a float). A class with nothing to alias is returned unchanged. A ``@dataclass`` subclass gets
    an ``__init__`` of its own, so it takes the keys only if it is decorated too; ``dataclasses.replace`` passes
    every option by its Python name, so give it Python names (``replace(spec, stop_s=2.0)``)."""
    fields = dataclasses.fields(cls)
    aliases = {f.metadata["key"]: f for f in fields if f.init and f.metadata.get("key") not in (None, f.name)}
    if not aliases:
        return cls
    clash = sorted(aliases.keys() & {f.name for f in fields})
    if clash:  # a key that is also another field's name could not say which it means
        raise TypeError(f"{cls.__qualname__}: scenario-file keys {clash} are also Python field names")
    positional = [f.name for f in fields if f.init and not f.kw_only]
    init: Callable[..., None] | None = vars(cls).get("__init__")  # the one @dataclass generated
    if init is None:
        raise TypeError(f"key_aliases: {cls.__qualname__} has no __init__ of its own (apply it above @dataclass)")

    index = {name: i for i, name in enumerate(positional)}

    @functools.wraps(init)
    def init_with_keys(self: Any, *args: Any, **kwargs: Any) -> None:
        if kwargs and not aliases.keys().isdisjoint(kwargs):
            kwargs = _by_python_name(type(self), aliases, positional[: len(args)], kwargs)
        strings = []  # file strings ("30s") given under a Python name, which takes a number
        for key, f in aliases.items():
            i = index.get(f.name, len(args))
            value = kwargs.get(f.name) if i >= len(args) else args[i]
            if isinstance(value, str):
                strings.append((key, f, value))
        try:
            init(self, *args, **kwargs)
        except TypeError:  # a comparison of the string failed: say what was meant
            for key, f, value in strings:
                _string_for_a_number(type(self), key, f, value)
            raise
        # a class whose own checks refuse it has said so (a ConfigError); one that kept the string must not
        for key, f, value in strings:
            _string_for_a_number(type(self), key, f, value)

    # mypy refuses an assignment to a method, and the dataclass's own signature is the one it should keep seeing
    setattr(cls, "__init__", init_with_keys)  # noqa: B010
    return cls


def _by_python_name(cls: type, aliases: dict[str, dataclasses.Field[Any]], positional: list[str],
                    kwargs: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """*kwargs* with every key-named option renamed to its field and its value read as a scenario file's."""
    # imported here: the reader imports the specs, which import this module
    from netlab.scenario.decode import Ctx, convert
    from netlab.scenario.fields import field_unit, type_hints

    out = {name: value for name, value in kwargs.items() if name not in aliases}
    for key, value in kwargs.items():
        f = aliases.get(key)
        if f is None:
            continue
        if f.name in kwargs:
            raise TypeError(f"{cls.__qualname__}() got both {key!r} (the scenario-file key) and {f.name!r} (the "
                            "Python name) of one option; give one")  # fmt: skip
        if f.name in positional:
            raise TypeError(f"{cls.__qualname__}() got {key!r} and a positional argument for {f.name!r}, the "
                            "same option; give one")  # fmt: skip
        out[f.name] = convert(value, type_hints(cls)[f.name], field_unit(f), Ctx(f"{cls.__qualname__}()", key))
    return out


def _string_for_a_number(cls: type, key: str, f: dataclasses.Field[Any], value: str) -> None:
    """If option *f* is a quantity (``stop_s``), its Python name takes a number, not the string *value*
    (``"30s"``): a TypeError that says so and names the *key* that reads the string; else return."""
    from netlab.scenario.fields import field_unit
    from netlab.scenario.quantities import UNIT_NAMES

    unit = field_unit(f)
    if unit in UNIT_NAMES:
        raise TypeError(
            f"{cls.__qualname__}(): {f.name} takes a number ({UNIT_NAMES[unit]}), got {value!r}; "
            f"the scenario-file key reads the string: {key}={value!r}"
        )


class Choice(enum.StrEnum):
    """A string that must be one of a few (a node's role, a fault's action). Members equal their strings
    (``Role.HOST == "host"``), so code comparing with literals keeps working; the repr is the plain string, so
    a spec's repr reads as it did (``NodeSpec(name='a', role='host', ...)``)."""

    def __repr__(self) -> str:
        return repr(self.value)

    @classmethod
    def parse(cls, value: object, what: str, error: type[ConfigError] = ConfigError) -> Self:
        """*value* as a member of *cls* (a member or its string), or an *error* naming *what*."""
        try:
            return cls(value)  # type: ignore[arg-type]  # anything may come in; a non-member is the ValueError
        except ValueError:
            names = [m.value for m in cls]
            hint = did_you_mean(value, names)
            hint = hint if hint.startswith("; did you mean") else ""  # the choices are named already
            raise error(f"{what} must be one of {', '.join(names)}, got {value!r}{hint}") from None
