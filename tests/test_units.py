from __future__ import annotations

import math
import re
import time
from typing import Any

import pytest

from netlab import UnitError, parse_rate, parse_size, parse_time
from netlab.units import format_rate, format_size, format_time


@pytest.mark.parametrize(
    ("text", "bps"),
    [("10Mbps", 1e7), ("1Gbps", 1e9), ("64kbps", 64e3), ("64Kbps", 64e3), ("1Kibps", 1024.0), ("1MBps", 8e6),
     ("2.5 Mb/s", 2.5e6), (1e6, 1e6), ("inf", math.inf)],
)  # fmt: skip
def test_parse_rate(text: object, bps: float) -> None:
    assert parse_rate(text) == bps


@pytest.mark.parametrize(
    ("text", "nbytes"),
    [("64KB", 64_000), ("64KiB", 65_536), ("1500B", 1500), ("8kb", 1000), ("1MiB", 1_048_576), (40, 40)],
)
def test_parse_size(text: object, nbytes: int) -> None:
    assert parse_size(text) == nbytes


@pytest.mark.parametrize(("text", "s"), [("2ms", 0.002), ("1.5s", 1.5), ("5min", 300.0), ("250us", 250e-6), (3, 3.0)])
def test_parse_time(text: object, s: float) -> None:
    assert parse_time(text) == pytest.approx(s, rel=1e-15)


@pytest.mark.parametrize(
    ("fn", "bad", "match"),
    [
        (parse_rate, "10M", "ambiguous"),
        (parse_rate, "10 furlongs", "expected a rate"),
        (parse_rate, "0bps", "positive"),
        (parse_rate, "-1Mbps", "expected a rate"),
        (parse_size, "64K", "ambiguous"),
        (parse_size, "1.5B", "whole"),
        (parse_size, "10mB", "expected a size"),
        (parse_time, "2", "expected a time"),
        (parse_time, "2 parsecs", "expected a time"),
        (parse_time, -1, "non-negative"),
        (parse_rate, True, "expected a rate"),
    ],
)
def test_bad_quantities_are_refused_with_the_expectation(fn, bad, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnitError, match=match):
        fn(bad)


@pytest.mark.parametrize("bps", [1e7, 1e9, 64e3, 2.5e6, 1.0, math.inf])
def test_rate_round_trip(bps: float) -> None:
    assert parse_rate(format_rate(bps)) == bps


@pytest.mark.parametrize("s", [0.0, 0.002, 1.5, 250e-6, 60.0])
def test_time_round_trip(s: float) -> None:
    assert parse_time(format_time(s)) == pytest.approx(s, rel=1e-12)


def test_size_round_trip() -> None:
    assert parse_size(format_size(65_536)) == 65_536


@pytest.mark.parametrize("parse", [parse_rate, parse_size, parse_time])
@pytest.mark.parametrize("value", [float("nan"), -math.inf, 10**400, "1e999" + "x"])
def test_non_finite_and_out_of_range_numbers_are_refused_in_every_quantity(parse: Any, value: object) -> None:
    # NaN compares false with everything, so a NaN start or fault time used to pass every check (issue 12)
    suffix = {parse_rate: "bps", parse_size: "B", parse_time: "s"}[parse]
    value = value.replace("x", suffix) if isinstance(value, str) else value
    with pytest.raises(UnitError, match=r"not a finite number|too large"):
        parse(value)


@pytest.mark.parametrize(("parse", "text", "says"), [
    (parse_time, "-5ms", "negative: it must be zero or more"),
    (parse_size, "-3KB", "negative: it must be zero or more"),
    (parse_rate, "-1Mbps", "negative: it must be more than zero"),
])  # fmt: skip
def test_a_negative_quantity_is_called_negative(parse: Any, text: str, says: str) -> None:
    with pytest.raises(UnitError, match=re.escape(says)):
        parse(text)


def test_a_huge_value_is_shown_cut_short_in_the_error() -> None:
    t0 = time.perf_counter()
    with pytest.raises(UnitError) as info:
        parse_time("9" * 1_000_000)
    # linear in the length: measured 10 ms; the old number pattern backtracked over every split of the digits
    # (100,000 of them took about 10 minutes, a million would take hours)
    assert time.perf_counter() - t0 < 10.0
    assert len(str(info.value)) < 200 and "(100000 characters)" not in str(info.value)  # cut, with its length
    assert "characters)" in str(info.value)


@pytest.mark.parametrize(("parse", "value"), [(parse_rate, math.inf), (parse_time, math.inf)])
def test_infinity_stays_allowed_where_the_string_inf_is(parse: Any, value: float) -> None:
    assert parse(value) == math.inf


def test_a_long_packet_rate_without_a_unit_is_refused_in_linear_time() -> None:
    from netlab.scenario.quantities import parse_packet_rate

    t0 = time.perf_counter()
    with pytest.raises(UnitError):
        parse_packet_rate("9" * 1_000_000)
    assert time.perf_counter() - t0 < 10.0  # measured: about 10 ms; 20,000 digits took 23 s with the old pattern
