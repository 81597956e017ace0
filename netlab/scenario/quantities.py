"""Quantities in scenario files: the unit kinds (``rate``, ``size``, ``time``, ``packet_rate``), parsing a value
into base units and writing it back as a unit string when that reads back exactly.

>>> format_quantity("packet_rate", 200.0), parse_quantity("packet_rate", "200pps")
('200/s', 200.0)
"""

from __future__ import annotations

import math
import re

from netlab.errors import UnitError
from netlab.units import (
    NUMBER,
    format_rate,
    format_size,
    format_time,
    parse_rate,
    parse_size,
    parse_time,
)

__all__ = ["UNIT_NAMES", "format_quantity", "parse_packet_rate", "parse_quantity"]

#: How each unit kind reads in the reference page.
UNIT_NAMES = {"rate": "bit/s", "size": "bytes", "time": "s", "packet_rate": "packets/s"}

_PPS_RE = re.compile(rf"^({NUMBER})\s*(/s|pps)$")  # the units' linear number pattern


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
