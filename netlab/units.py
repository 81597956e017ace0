"""SI quantities: rates in bit/s, sizes in bytes, times in seconds.

Case-sensitive, as DESIGN.md fixes them: ``b`` is a bit and ``B`` a byte; ``k``/``K`` is 1000 and ``Ki`` 1024.
A string must carry its unit (``"10Mbps"``, ``"64KiB"``, ``"2ms"``); a bare number is taken in the base unit
(bit/s, bytes, seconds). ``"10M"`` is refused: mega *what*?

>>> parse_rate("10Mbps"), parse_size("64KB"), parse_size("64KiB"), parse_time("2ms")
(10000000.0, 64000, 65536, 0.002)
>>> parse_rate("inf")
inf
"""

from __future__ import annotations

import math
import re

from netlab.errors import UnitError

__all__ = ["NUMBER", "format_rate", "format_size", "format_time", "parse_rate", "parse_size", "parse_time"]

SimTime = float

_PREFIX = {
    "": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "Ki": 1024.0, "Mi": 1024.0**2, "Gi": 1024.0**3, "Ti": 1024.0**4,
}  # fmt: skip
_TIME = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
# Atomic (Python 3.11): once the digits are read they are never given back, so a long digit string without a unit
# fails in linear time; `[0-9]*\.?[0-9]+` tried every split of it (100,000 digits took about 10 minutes).
NUMBER = r"(?>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?>[eE][-+]?[0-9]+)?"
"""A non-negative decimal number as a regular expression (``15``, ``1.5``, ``.5``, ``2e-3``), linear to match."""
_NUM = rf"({NUMBER})"
_RATE_RE = re.compile(rf"^{_NUM}\s*(|k|K|M|G|T|Ki|Mi|Gi|Ti)(bps|b/s|Bps|B/s)$")
_SIZE_RE = re.compile(rf"^{_NUM}\s*(|k|K|M|G|T|Ki|Mi|Gi|Ti)(B|b|bytes|bits)$")
_TIME_RE = re.compile(rf"^{_NUM}\s*(ns|us|µs|ms|s|min|h|d)$")


def _number(value: object, what: str, example: str, infinite: bool = False) -> float | None:
    """A bare int/float (not bool) is taken in the base unit; anything else but str is an error.

    NaN is refused everywhere; +inf only where *infinite* (the quantity also takes the string ``"inf"``).
    """
    if isinstance(value, bool):
        raise UnitError(f"expected {what} like {example!r}, got {value!r}")
    if isinstance(value, int | float):
        try:
            num = float(value)
        except OverflowError:  # an int beyond float range (10**400)
            raise UnitError(f"expected {what} like {example!r}, got a number too large: {_short(value)}") from None
        if not math.isfinite(num) and not (infinite and num == math.inf):
            # NaN compares false with everything: a NaN time would pass every check and schedule nothing
            raise UnitError(f"expected {what} like {example!r}, got {value!r} (not a finite number)")
        return num
    if not isinstance(value, str):
        raise UnitError(f"expected {what} like {example!r}, got {_short(value)}")
    return None


def _short(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to *limit* characters: an error must not print a 100 MB value."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 15]}... ({len(text)} characters)"


def _magnitude(text: str, what: str, example: str) -> float:
    """The number in a quantity string, refused when it overflows to infinity (``"1e999s"``)."""
    num = float(text)
    if not math.isfinite(num):
        raise UnitError(f"expected {what} like {example!r}, got a number too large: {_short(text)}")
    return num


def _explain(text: str, what: str, example: str, pattern: re.Pattern[str] | None = None) -> UnitError:
    hint = ""
    if re.fullmatch(rf"{_NUM}\s*(k|K|M|G|T|Ki|Mi|Gi|Ti)?", text.strip()):
        hint = " (a number with a prefix but no unit is ambiguous: say bps, B or s)"
    elif pattern is not None and text.startswith("-") and pattern.match(text[1:].strip()):
        hint = " (negative: it must be zero or more)" if what != "a rate" else " (negative: it must be more than zero)"
    return UnitError(f"expected {what} like {example!r}, got {_short(text)}{hint}")


def parse_rate(value: object) -> float:
    """Parse a rate into bit/s: ``"10Mbps"`` -> 1e7, ``"1MBps"`` -> 8e6 (bytes/s), ``"inf"`` -> inf.

    A bare number is bit/s. Rates must be positive.
    """
    num = _number(value, "a rate", "10Mbps", infinite=True)
    if num is None:
        text = str(value).strip()
        if text in ("inf", "infinite", "infinity"):
            return math.inf
        m = _RATE_RE.match(text)
        if not m:
            raise _explain(text, "a rate", "10Mbps", _RATE_RE)
        num = _magnitude(m.group(1), "a rate", "10Mbps") * _PREFIX[m.group(2)] * (8.0 if m.group(3)[0] == "B" else 1.0)
    if not num > 0:
        raise UnitError(f"expected a positive rate, got {value!r}")
    return num


def parse_size(value: object) -> int:
    """Parse a size into whole bytes: ``"64KB"`` -> 64000, ``"64KiB"`` -> 65536, ``"8kb"`` -> 1000.

    A bare number is bytes. Sizes in bits must come to whole bytes.
    """
    num = _number(value, "a size", "1500B")
    if num is None:
        text = str(value).strip()
        m = _SIZE_RE.match(text)
        if not m:
            raise _explain(text, "a size", "1500B", _SIZE_RE)
        num = _magnitude(m.group(1), "a size", "1500B") * _PREFIX[m.group(2)]
        if m.group(3) in ("b", "bits"):
            num /= 8.0
    if num < 0 or not math.isfinite(num) or abs(num - round(num)) > 1e-9:
        raise UnitError(f"expected a whole, non-negative number of bytes, got {value!r}")
    return round(num)


def parse_time(value: object) -> float:
    """Parse a duration into seconds: ``"2ms"`` -> 0.002, ``"1.5s"`` -> 1.5, ``"5min"`` -> 300. Bare = seconds."""
    num = _number(value, "a time", "2ms", infinite=True)
    if num is None:
        text = str(value).strip()
        if text in ("inf", "infinity"):
            return math.inf
        m = _TIME_RE.match(text)
        if not m:
            raise _explain(text, "a time", "2ms", _TIME_RE)
        num = _magnitude(m.group(1), "a time", "2ms") * _TIME[m.group(2)]
    if num < 0:
        raise UnitError(f"expected a non-negative time, got {value!r}")
    return num


def _fmt(value: float, units: list[tuple[float, str]]) -> str:
    for scale, name in units:
        if abs(value) >= scale:
            return f"{value / scale:.6g}{name}"
    return f"{value:.6g}{units[-1][1]}"


def format_rate(bps: float) -> str:
    """``1e7`` -> ``"10Mbps"`` (round-trips through :func:`parse_rate`)."""
    if math.isinf(bps):
        return "inf"
    return _fmt(bps, [(1e12, "Tbps"), (1e9, "Gbps"), (1e6, "Mbps"), (1e3, "kbps"), (1.0, "bps")])


def format_size(nbytes: int) -> str:
    """``1500`` -> ``"1500B"``: sizes are written in plain bytes so they round-trip exactly."""
    return f"{int(nbytes)}B"


def format_time(seconds: float) -> str:
    """``0.002`` -> ``"2ms"`` (round-trips through :func:`parse_time` to 6 significant digits)."""
    if math.isinf(seconds):
        return "inf"
    if seconds == 0:
        return "0s"
    return _fmt(seconds, [(1.0, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")])
