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
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Self

from netlab._text import did_you_mean
from netlab.errors import ConfigError

__all__ = ["Choice", "did_you_mean", "option"]

_MISSING: Any = dataclasses.MISSING


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
